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
('1.1', 'manifest.parquet')
>>> fmt.shard_schema(128, time=True).names
['id', 'geometry', 'bbox', 'embedding', 'datetime']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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
    "DEFAULT_MAX_ROWS",
    "DEFAULT_ROW_GROUP_ROWS",
    "FORMAT_VERSION",
    "GEO_KEY",
    "MANIFEST_NAME",
    "METADATA_KEY",
    "RESERVED_COLUMNS",
    "SHARDS_DIR",
    "SORT_KEY_PRECISION",
    "ZSTD_LEVEL",
    "check_corpus_metadata",
    "chunk_checksum",
    "chunk_placeholder",
    "chunk_ranges",
    "crs84_projjson",
    "fill_chunk_checksums",
    "geo_metadata",
    "manifest_schema",
    "read_chunk_checksums",
    "sha256_hex",
    "shard_parquet_options",
    "shard_path",
    "shard_schema",
    "validate_geo_metadata",
]

FORMAT_VERSION = "1.1"
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
CHUNK_DIGEST_BYTES = 8
"""Bytes of SHA-256 kept per column chunk (16 hex characters)."""
RESERVED_COLUMNS = ("id", "geometry", "bbox", "embedding", "datetime", "rerank")
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
    extra : sequence of pyarrow.Field
        Pass-through columns, appended in order.

    Examples
    --------
    >>> shard_schema(16, rerank_code_size=128).field("rerank").type
    FixedSizeBinaryType(fixed_size_binary[128])
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
    fields.extend(extra)
    return pa.schema(fields)


ZSTD_LEVEL = 5
"""ZSTD level of shard columns (level 9 gives ~0.5% fewer bytes for 1.5x the time)."""


def shard_parquet_options(columns: Sequence[str], *, keep: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword options of :class:`pyarrow.parquet.ParquetWriter` for a shard with these
    columns: ZSTD, statistics only on the ``bbox`` fields (and ``datetime``) that readers
    prune on, byte-stream-split ``bbox`` floats, dictionaries only for pass-through
    columns (``keep``).

    Examples
    --------
    >>> opts = shard_parquet_options(["id", "geometry", "bbox", "embedding", "datetime"])
    >>> opts["write_statistics"]
    ['bbox.xmin', 'bbox.ymin', 'bbox.xmax', 'bbox.ymax', 'datetime']
    """
    stats = [f"bbox.{name}" for name in BBOX_FIELDS]
    if "datetime" in columns:
        stats.append("datetime")
    return {
        "compression": "zstd",
        "compression_level": ZSTD_LEVEL,
        "use_dictionary": list(keep),
        "write_statistics": stats,
        "column_encoding": {name: "BYTE_STREAM_SPLIT" for name in stats[:4]},
    }


def manifest_schema(code_size: int) -> pa.Schema:
    """The Arrow schema of ``manifest.parquet``.

    Examples
    --------
    >>> manifest_schema(128).names[:4]
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
            *summary_fields(code_size),
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
    checksums of its column chunks (same length, so the footer stays valid)."""
    footer_len = int.from_bytes(data[-8:-4], "little")
    footer_at = len(data) - 8 - footer_len
    md = pq.read_metadata(pa.BufferReader(data))
    ranges = chunk_ranges(md)
    value = "".join(chunk_checksum(data[o : o + n]) for o, n in ranges).encode()
    at = data.find(placeholder, footer_at)
    if len(value) != len(placeholder) or at < 0 or data.find(placeholder, at + 1) >= 0:
        raise RuntimeError("internal error: the chunk checksum placeholder is not unique")
    return data[:at] + value + data[at + len(value) :]


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
