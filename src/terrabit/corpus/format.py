"""The corpus format v1 (``spec/corpus-v1.md``): names, schemas, metadata and checks.

Everything a writer and a reader must agree on lives here: file names, the shard and
manifest schemas (the summary columns come from :mod:`terrabit.corpus.summary`), the
``terrabit`` key-value metadata and its checks against the spec. The ``geo`` (GeoParquet
1.1) metadata and its checks live in :mod:`terrabit.geoparquet` and are re-exported here
(``BBOX_FIELDS``, ``GEO_KEY``, ``crs84_projjson``, ``geo_metadata``,
``validate_geo_metadata``).

Examples
--------
>>> from terrabit.corpus import format as fmt
>>> fmt.FORMAT_VERSION, fmt.MANIFEST_NAME
('1.6', 'manifest.parquet')
>>> fmt.shard_schema(128, time=True).names
['id', 'geometry', 'bbox', 'embedding', 'datetime']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit.corpus import pages
from terrabit.corpus.summary import summary_fields
from terrabit.errors import CorpusIntegrityError
from terrabit.geoparquet import (
    BBOX_FIELDS,
    GEO_KEY,
    bbox_type,
    crs84_projjson,
    geo_metadata,
    validate_geo_metadata,
)

__all__ = [
    "BBOX_FIELDS",
    "CHECKSUM_ALGORITHM",
    "CHUNKS_KEY",
    "CODE_ZSTD_LEVEL",
    "DATA_PAGE_BYTES",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_ROW_GROUP_ROWS",
    "DIGEST_KEY",
    "DIGEST_PLACEHOLDER",
    "FORMAT_VERSION",
    "GEO_KEY",
    "MANIFEST_NAME",
    "METADATA_KEY",
    "PAGES_KEY",
    "RESERVED_COLUMNS",
    "SHARDS_DIR",
    "SORT_KEY_PRECISION",
    "ZSTD_LEVEL",
    "check_corpus_metadata",
    "check_seal",
    "chunk_checksum",
    "chunk_placeholder",
    "chunk_ranges",
    "crs84_projjson",
    "fill_chunk_checksums",
    "fixed_codes",
    "geo_metadata",
    "manifest_schema",
    "page_index_regions",
    "read_chunk_checksums",
    "read_page_bytes",
    "read_page_index_digests",
    "seal",
    "sha256_hex",
    "shard_parquet_options",
    "shard_path",
    "shard_schema",
    "validate_geo_metadata",
    "version_tuple",
]

FORMAT_VERSION = "1.6"
"""The format version this package writes (``MAJOR.MINOR``)."""

MANIFEST_NAME = "manifest.parquet"
SHARDS_DIR = "shards"
METADATA_KEY = b"terrabit"
"""Manifest key-value metadata key holding the corpus metadata JSON."""
SORT_KEY_PRECISION = 12
"""Characters of the in-shard sort key (the geohash of a row's anchor point)."""
DEFAULT_MAX_ROWS = 100_000
DEFAULT_ROW_GROUP_ROWS = 256
CHECKSUM_ALGORITHM = "sha256"
CHUNKS_KEY = b"terrabit.chunks"
"""Shard key-value metadata key holding the column-chunk checksums (format 1.1)."""
PAGES_KEY = b"terrabit.pages"
"""Shard key-value metadata key holding the location and SHA-256 of the page index
(format 1.2)."""
DIGEST_KEY = b"terrabit.sha256"
"""Manifest key-value metadata key holding the manifest's own digest (format 1.6):
``sha256:<hex>`` of every byte of the file as written with :data:`DIGEST_PLACEHOLDER` in
the value's place (:func:`seal`, :func:`check_seal`)."""
DIGEST_PLACEHOLDER = b"sha256:" + b"~" * 64
"""The value written under :data:`DIGEST_KEY` before the digest is known; same length."""
CHUNK_DIGEST_BYTES = 8
"""Bytes of SHA-256 kept per column chunk (16 hex characters)."""
RESERVED_COLUMNS = ("id", "geometry", "bbox", "embedding", "datetime", "rerank", "rabitq")
"""Shard columns with a meaning in the spec; ``--keep`` columns may not use these names."""

_REQUIRED_METADATA = (
    "format_version",
    "codec",
    "dims",
    "code_size",
    "rows",
    "shards",
    "bytes",
    "columns",
)


def shard_path(geohash: str) -> str:
    """The path of a cell's shard, relative to the corpus root.

    Examples
    --------
    >>> shard_path("9q8")
    'shards/9q8.parquet'
    """
    return f"{SHARDS_DIR}/{geohash}.parquet"


def shard_schema(
    code_size: int,
    *,
    time: bool = False,
    rerank_code_size: int | None = None,
    rabitq_width: int | None = None,
    extra: Sequence[pa.Field] = (),
) -> pa.Schema:
    """The Arrow schema of a shard (without the ``geo`` metadata).

    Parameters
    ----------
    code_size : int
        Bytes per ``embedding`` code.
    time : bool, default False
        Whether the ``datetime`` column is present.
    rerank_code_size : int, optional
        Bytes per ``rerank`` code; no ``rerank`` column when ``None``.
    rabitq_width : int, optional
        Bytes per row of the ``rabitq`` factors column (format 1.4; 6 for float16, 12
        for float32: :mod:`terrabit.corpus.factors`); no such column when ``None``.
    extra : sequence of pyarrow.Field
        Pass-through columns, appended in order.

    Examples
    --------
    >>> shard_schema(16, rerank_code_size=128).field("rerank").type
    FixedSizeBinaryType(fixed_size_binary[128])
    >>> shard_schema(16, rabitq_width=6).names[-1]
    'rabitq'
    """
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("geometry", pa.binary(), nullable=False),
        pa.field("bbox", bbox_type(pa.float32(), nullable=False), nullable=False),
        pa.field("embedding", pa.binary(code_size), nullable=False),
    ]
    if time:
        fields.append(pa.field("datetime", pa.timestamp("us", tz="UTC")))
    if rerank_code_size is not None:
        fields.append(pa.field("rerank", pa.binary(rerank_code_size), nullable=False))
    if rabitq_width is not None:
        fields.append(pa.field("rabitq", pa.binary(rabitq_width), nullable=False))
    fields.extend(extra)
    return pa.schema(fields)


ZSTD_LEVEL = 5
"""ZSTD level of the shard columns other than the codes (level 9 gives ~0.5% fewer
bytes for 1.5x the time)."""
CODE_ZSTD_LEVEL = 12
"""ZSTD level of ``embedding`` and ``rerank``: from level 12 ZSTD parses small inputs
optimally and takes 3-byte matches, which is what codes of neighbouring patches share
(1024-bit world codes in 32-row pages: 97 instead of 108 bytes; it costs about 9% of
publish time)."""
DATA_PAGE_BYTES = 4096
"""Target size of a data page before compression: 32 rows of 1024-bit codes, so that a
region read fetches only the pages of a row group that hold its rows (format 1.2)."""
WRITE_BATCH_ROWS = 32
"""Rows the Parquet writer encodes between two page-size checks."""


def _leaf_paths(name: str, type_: pa.DataType) -> list[str]:
    """The Parquet leaf column paths of an Arrow field (as pyarrow writes them).

    Examples
    --------
    >>> _leaf_paths("bbox", pa.struct([("xmin", pa.float32()), ("ymin", pa.float32())]))
    ['bbox.xmin', 'bbox.ymin']
    >>> _leaf_paths("tags", pa.list_(pa.string()))
    ['tags.list.element']
    """
    if pa.types.is_struct(type_):
        return [p for f in type_ for p in _leaf_paths(f"{name}.{f.name}", f.type)]
    if pa.types.is_map(type_):
        return [
            *_leaf_paths(f"{name}.key_value.key", type_.key_type),
            *_leaf_paths(f"{name}.key_value.value", type_.item_type),
        ]
    if (
        pa.types.is_list(type_)
        or pa.types.is_large_list(type_)
        or pa.types.is_fixed_size_list(type_)
    ):
        return _leaf_paths(f"{name}.list.element", type_.value_type)
    return [name]


def shard_parquet_options(schema: pa.Schema, *, keep: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword options of :class:`pyarrow.parquet.ParquetWriter` for a shard of this
    schema: ZSTD, statistics only on the ``bbox`` fields (and ``datetime``) that readers
    prune on, byte-stream-split ``bbox`` floats, dictionaries only for pass-through
    columns (``keep``), and (format 1.2) the page index, page CRCs and data pages of
    about :data:`DATA_PAGE_BYTES`.

    ``rabitq`` (the factors, format 1.4) is PLAIN too, at :data:`ZSTD_LEVEL`.
    ``embedding`` and ``rerank`` stay ZSTD-compressed, at :data:`CODE_ZSTD_LEVEL`:
    codes of real (spatially clustered) embeddings compress — 97 instead of 128 bytes
    per 1024-bit code in 32-row pages on the world corpus — so storing them raw would
    break the 148 B/row budget; random codes cost a few bytes per page more than raw.

    Examples
    --------
    >>> opts = shard_parquet_options(shard_schema(128, time=True))
    >>> opts["write_statistics"]
    ['bbox.xmin', 'bbox.ymin', 'bbox.xmax', 'bbox.ymax', 'datetime']
    >>> opts["write_page_index"], opts["write_page_checksum"], opts["data_page_size"]
    (True, True, 4096)
    >>> opts["compression_level"]["embedding"], opts["compression_level"]["bbox.xmin"]
    (12, 5)
    """
    columns = schema.names
    stats = [f"bbox.{name}" for name in BBOX_FIELDS]
    if "datetime" in columns:
        stats.append("datetime")
    encoding = {name: "BYTE_STREAM_SPLIT" for name in stats[:4]}
    levels: dict[str, int] = {}
    for field in schema:
        code = field.name in ("embedding", "rerank") and field.name not in keep
        for leaf in _leaf_paths(field.name, field.type):
            levels[leaf] = CODE_ZSTD_LEVEL if code else ZSTD_LEVEL
        if code or (field.name == "rabitq" and field.name not in keep):
            encoding[field.name] = "PLAIN"
    return {
        "compression": "zstd",
        "compression_level": levels,
        "use_dictionary": list(keep),
        "write_statistics": stats,
        "column_encoding": encoding,
        "write_page_index": True,
        "write_page_checksum": True,
        "data_page_size": DATA_PAGE_BYTES,
        "write_batch_size": WRITE_BATCH_ROWS,
    }


def manifest_schema() -> pa.Schema:
    """The Arrow schema of ``manifest.parquet``: since format 1.6 a GeoParquet 1.1 file,
    each shard's extent a WKB polygon (``geometry``) with its ``bbox`` covering.

    Examples
    --------
    >>> manifest_schema().names[:4]
    ['path', 'geohash', 'rows', 'bytes']
    """
    return pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("geohash", pa.string(), nullable=False),
            pa.field("rows", pa.int64(), nullable=False),
            pa.field("bytes", pa.int64(), nullable=False),
            *(pa.field(name, pa.float64(), nullable=False) for name in BBOX_FIELDS),
            pa.field("tmin", pa.timestamp("us", tz="UTC")),
            pa.field("tmax", pa.timestamp("us", tz="UTC")),
            pa.field("checksum", pa.string(), nullable=False),
            pa.field("footer_checksum", pa.string(), nullable=False),
            *summary_fields(),
            pa.field("geometry", pa.binary()),
            pa.field("bbox", bbox_type()),
        ]
    )


def check_corpus_metadata(meta: Any, *, where: str = "manifest.parquet") -> dict[str, Any]:
    """Check the ``terrabit`` manifest metadata (keys present, a version this code reads).

    Examples
    --------
    >>> meta = {"format_version": "1.3", "codec": {}, "dims": 8, "code_size": 1,
    ...         "rows": 0, "shards": 0, "bytes": 0, "columns": []}
    >>> check_corpus_metadata(meta)["format_version"]
    '1.3'
    >>> check_corpus_metadata({**meta, "format_version": "2.0"})
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusIntegrityError: manifest.parquet: format version '2.0' is newer \
than this terrabit reads (1.x); upgrade terrabit
    """
    if not isinstance(meta, Mapping):
        raise CorpusIntegrityError(f"{where}: the 'terrabit' metadata is not a JSON object")
    missing = [k for k in _REQUIRED_METADATA if k not in meta]
    if missing:
        raise CorpusIntegrityError(
            f"{where}: the 'terrabit' metadata lacks {missing}; republish the corpus with "
            "`terrabit publish`"
        )
    version = str(meta["format_version"])
    major = version.split(".", 1)[0]
    if major != FORMAT_VERSION.split(".", 1)[0]:
        raise CorpusIntegrityError(
            f"{where}: format version {version!r} is newer than this terrabit reads "
            f"({FORMAT_VERSION.split('.')[0]}.x); upgrade terrabit"
            if major.isdigit() and int(major) > 1
            else f"{where}: unknown format version {version!r}; this terrabit reads 1.x"
        )
    return dict(meta)


def version_tuple(version: str) -> tuple[int, ...]:
    """A format version's numbers, to compare (``(0,)`` for text that is not one).

    Examples
    --------
    >>> version_tuple("1.6") >= (1, 6), version_tuple("x")
    (True, (0,))
    """
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def fixed_codes(column: pa.ChunkedArray | pa.Array, size: int) -> np.ndarray:
    """A ``fixed_size_binary[size]`` column as ``uint8 [n, size]`` (zero-copy when one chunk);
    a ``binary`` column of ``size``-byte values (the manifest's summary codes since 1.6) is
    converted first.

    Examples
    --------
    >>> import pyarrow as pa
    >>> fixed_codes(pa.array([b"ab", b"cd"], pa.binary(2)), 2).tolist()
    [[97, 98], [99, 100]]
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_fixed_size_binary(arr.type):
        try:
            arr = arr.cast(pa.binary(size))
        except pa.ArrowInvalid as exc:
            raise CorpusIntegrityError(f"codes are not {size} bytes each ({exc})") from exc
    n = len(arr)
    if n == 0:
        return np.zeros((0, size), dtype=np.uint8)
    buf = arr.buffers()[1]
    data = np.frombuffer(buf, dtype=np.uint8, count=(arr.offset + n) * size)
    return data[arr.offset * size :].reshape(n, size)


def sha256_hex(data: bytes) -> str:
    """``"sha256:" + hexdigest`` of ``data``, the form of manifest checksums.

    Examples
    --------
    >>> sha256_hex(b"")[:15]
    'sha256:e3b0c442'
    """
    return f"{CHECKSUM_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def chunk_checksum(data: bytes | memoryview) -> str:
    """The checksum of one column chunk: the first 8 bytes of its SHA-256, in hex.

    Examples
    --------
    >>> chunk_checksum(b"")
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).digest()[:CHUNK_DIGEST_BYTES].hex()


def chunk_placeholder(n_chunks: int) -> bytes:
    """The value written under :data:`CHUNKS_KEY` before the checksums are known: one
    ``~`` per hex digit, replaced in place by :func:`fill_chunk_checksums`.

    Examples
    --------
    >>> chunk_placeholder(2)
    b'~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~'
    """
    return b"~" * (2 * CHUNK_DIGEST_BYTES * n_chunks)


def chunk_ranges(md: pq.FileMetaData) -> list[tuple[int, int]]:
    """``(offset, length)`` of every column chunk, row group by row group, leaf by leaf.

    A chunk starts at its dictionary page when it has one, else at its first data page,
    and spans ``total_compressed_size`` bytes (page headers included).
    """
    out: list[tuple[int, int]] = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for j in range(rg.num_columns):
            col = rg.column(j)
            start = col.data_page_offset
            if col.has_dictionary_page and col.dictionary_page_offset:
                start = min(start, col.dictionary_page_offset)
            out.append((int(start), int(col.total_compressed_size)))
    return out


def fill_chunk_checksums(data: bytes, placeholder: bytes) -> bytes:
    """Replace ``placeholder`` in the footer of the Parquet file ``data`` with the
    checksums of its column chunks (same length, so the footer stays valid) and, when
    the file has a page index, add :data:`PAGES_KEY` (its location and SHA-256) to the
    footer's key-value metadata (format 1.2; the footer grows, nothing else moves)."""
    footer_len = int.from_bytes(data[-8:-4], "little")
    footer_at = len(data) - 8 - footer_len
    md = pq.read_metadata(pa.BufferReader(data))
    ranges = chunk_ranges(md)
    value = "".join(chunk_checksum(data[o : o + n]) for o, n in ranges).encode()
    at = data.find(placeholder, footer_at)
    # the Thrift varint length before the value may end in "~" (0x7e) itself: the
    # placeholder is the last len(placeholder) bytes of the run of "~"
    end = at + len(placeholder)
    while at >= 0 and data[end : end + 1] == placeholder[:1]:
        at, end = at + 1, end + 1
    if len(value) != len(placeholder) or at < 0 or data.find(placeholder, end) >= 0:
        raise RuntimeError("internal error: the chunk checksum placeholder is not unique")
    data = data[:at] + value + data[at + len(value) :]
    footer = data[footer_at:-8]
    regions = page_index_regions(footer)
    if not regions:
        return data
    digests: dict[str, Any] = {
        kind: [start, length, sha256_hex(data[start : start + length])]
        for kind, (start, length) in regions.items()
    }
    digests["page_bytes"] = DATA_PAGE_BYTES
    blob = json.dumps(digests, separators=(",", ":"), sort_keys=True).encode()
    footer = pages.append_key_value(footer, PAGES_KEY, blob)
    return data[:footer_at] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


def seal(data: bytes) -> bytes:
    """Replace :data:`DIGEST_PLACEHOLDER` in the footer of the Parquet file ``data`` with
    the SHA-256 of the whole file as it is (placeholder included): the manifest's own
    digest (format 1.6). Same length, so the footer stays valid.

    Examples
    --------
    >>> import io
    >>> out = io.BytesIO()
    >>> w = pq.ParquetWriter(out, pa.schema([("x", pa.int64())]))
    >>> w.write_table(pa.table({"x": [1]}))
    >>> w.add_key_value_metadata({DIGEST_KEY: DIGEST_PLACEHOLDER})
    >>> w.close()
    >>> sealed = seal(out.getvalue())
    >>> check_seal(sealed, where="m.parquet")
    True
    >>> check_seal(sealed[:4] + b"Q" + sealed[5:], where="m.parquet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusIntegrityError: m.parquet: its bytes do not match its own digest...
    """
    footer_at = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = data.find(DIGEST_PLACEHOLDER, footer_at)
    if at < 0 or data.find(DIGEST_PLACEHOLDER, at + 1) >= 0:
        raise RuntimeError("internal error: the manifest digest placeholder is not unique")
    value = sha256_hex(data).encode()
    return data[:at] + value + data[at + len(value) :]


def check_seal(data: bytes, *, where: str) -> bool:
    """Check the digest :func:`seal` wrote into the Parquet file ``data``: every byte of
    the file, footer included, before any of it is trusted. ``False`` when the file
    carries no digest (manifests before format 1.6; the caller decides by the version).

    Raises
    ------
    CorpusIntegrityError
        The footer cannot be read, the digest is malformed, or the bytes differ from it.
    """
    fix = "the manifest is damaged — restore it from a copy or republish the corpus"
    try:
        md = pq.read_metadata(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorpusIntegrityError(
            f"{where} is not a readable Parquet file ({exc})", fix=fix
        ) from exc
    value = (md.metadata or {}).get(DIGEST_KEY)
    if value is None:
        return False
    footer_at = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = data.find(value, footer_at) if len(value) == len(DIGEST_PLACEHOLDER) else -1
    if at < 0 or not value.startswith(f"{CHECKSUM_ALGORITHM}:".encode()):
        raise CorpusIntegrityError(
            f"{where}: its digest ({DIGEST_KEY.decode()}) is malformed", fix=fix
        )
    unsealed = data[:at] + DIGEST_PLACEHOLDER + data[at + len(value) :]
    if sha256_hex(unsealed).encode() != value:
        raise CorpusIntegrityError(
            f"{where}: its bytes do not match its own digest ({DIGEST_KEY.decode()})", fix=fix
        )
    return True


def page_index_regions(footer: bytes | memoryview) -> dict[str, tuple[int, int]]:
    """``{"offset_index": (start, length), "column_index": (start, length)}``: the byte
    ranges spanning every chunk's OffsetIndex and every chunk's ColumnIndex, from the
    Thrift footer (without its length and ``PAR1``); kinds the file lacks are left out.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> pq.write_table(pa.table({"x": [1, 2]}), buf, write_page_index=True)
    >>> data = buf.getvalue()
    >>> sorted(page_index_regions(data[-8 - int.from_bytes(data[-8:-4], "little") : -8]))
    ['column_index', 'offset_index']
    """
    spans: dict[str, list[tuple[int, int]]] = {"offset_index": [], "column_index": []}
    for row in pages.page_index_locations(footer):
        for loc in row:
            if loc.offset_index_offset >= 0 and loc.offset_index_length > 0:
                spans["offset_index"].append((loc.offset_index_offset, loc.offset_index_length))
            if loc.column_index_offset >= 0 and loc.column_index_length > 0:
                spans["column_index"].append((loc.column_index_offset, loc.column_index_length))
    out = {}
    for kind, items in spans.items():
        if items:
            start = min(o for o, _ in items)
            out[kind] = (start, max(o + n for o, n in items) - start)
    return out


def read_page_bytes(md: pq.FileMetaData) -> int | None:
    """The writer's data page size target recorded under :data:`PAGES_KEY` (a hint: a
    column chunk smaller than that before compression holds a single page), or
    ``None``."""
    raw = (md.metadata or {}).get(PAGES_KEY)
    try:
        value = json.loads(raw) if raw is not None else None
        if isinstance(value, dict) and "page_bytes" in value:
            return int(value["page_bytes"])
    except (ValueError, TypeError):
        pass
    return None


def read_page_index_digests(md: pq.FileMetaData) -> dict[str, tuple[int, int, str]] | None:
    """The page-index regions and their SHA-256 recorded under :data:`PAGES_KEY`
    (``{kind: (start, length, "sha256:…")}``), or ``None`` for a shard without them
    (formats 1.0 and 1.1).

    Raises
    ------
    CorpusIntegrityError
        The value is malformed.
    """
    raw = (md.metadata or {}).get(PAGES_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        out = {
            str(kind): (int(item[0]), int(item[1]), str(item[2]))
            for kind, item in value.items()
            if isinstance(item, list)
        }
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise CorpusIntegrityError(f"{PAGES_KEY.decode()} is malformed ({exc})") from exc
    if "offset_index" not in out:
        raise CorpusIntegrityError(f"{PAGES_KEY.decode()} lacks the offset_index region")
    return out


def read_chunk_checksums(md: pq.FileMetaData) -> list[str] | None:
    """The column-chunk checksums of a shard footer (in :func:`chunk_ranges` order), or
    ``None`` for a shard written without them (format 1.0).

    Raises
    ------
    CorpusIntegrityError
        The value is malformed (its length does not match the chunks).
    """
    raw = (md.metadata or {}).get(CHUNKS_KEY)
    if raw is None:
        return None
    width = 2 * CHUNK_DIGEST_BYTES
    n = md.num_row_groups * md.num_columns
    if len(raw) != width * n:
        raise CorpusIntegrityError(
            f"{CHUNKS_KEY.decode()} holds {len(raw)} characters, expected {width * n}"
        )
    text = raw.decode("ascii", errors="replace")
    return [text[i : i + width] for i in range(0, len(text), width)]
