"""``publish``: float embeddings (GeoParquet) -> a static corpus (``spec/corpus-v1.md``).

Publishing streams with bounded memory, in three steps:

1. **sample and count** — the codec (and the rerank codec) is fitted once on a seeded
   sample of rows drawn from randomly chosen row groups; then a pass over the geometry
   column alone counts rows per precision-5 geohash cell (a dense 2^25 counter) and
   hashes the ids to find duplicates. The adaptive cells are chosen from the counts.
2. **map** — a second pass reads batches of every column, validates them, encodes the
   embeddings and appends each batch's rows to per-cell Arrow part files (buffered up to
   ``buffer_bytes``).
3. **reduce** — each cell's parts are sorted by the 12-character geohash of the row's
   anchor point (then id) and split further while above ``max_rows``; each shard's rows
   are written in (Hilbert key of the anchor, id) order (:mod:`terrabit.hilbert`) as one
   GeoParquet shard; the manifest comes last.

Everything is written inside a temporary sibling folder that replaces the output only on
success, so an interrupted publish leaves the old corpus (or nothing), never a manifest
that lies; the same inputs, options and seed give the same bytes.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_input(tmp / "in.parquet", rows=300, dims=32, seed=0)
>>> result = publish([tmp / "in.parquet"], tmp / "corpus", max_rows=100)
>>> result.rows, result.shards > 1
(300, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from terrabit import __version__, geohash
from terrabit._progress import progress_bar
from terrabit.codecs import Codec, parse
from terrabit.corpus import format as fmt
from terrabit.corpus import summary
from terrabit.corpus._inputs import (
    STREAM_BUFFER,
    Batch,
    InputPath,
    InputSet,
    URLInput,
    first_items,
    open_input,
    prefetch,
    string_hashes,
)
from terrabit.corpus.options import ENGINES, PublishOptions
from terrabit.corpus.sinks import Sink, open_sink
from terrabit.corpus.staging import Staging
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import bbox_column
from terrabit.kernels import hilbert

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["ENGINES", "PublishOptions", "PublishResult", "publish"]

log = logging.getLogger(__name__)

_COUNT_PRECISION = 5
#: Input rows per piece: what one Dask task, or one step of the local map, encodes (a
#: resumed publish re-encodes at most the pieces since the last flush of part files).
PIECE_ROWS = 1 << 17
#: The local map flushes its buffer (and journals the pieces) at least this often.
_FLUSH_SECONDS = 20.0
_WRITE_THREADS = 2
_KEY = "__key"
_EXACT = ("__xmin", "__ymin", "__xmax", "__ymax")  # exact float64 bounds, parts only


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` wrote (the ``--json`` output of ``terrabit publish``)."""

    rows: int
    shards: int
    bytes: int
    bytes_per_row: float
    seconds: float
    dropped: int
    path: str
    engine: str = "local"
    dask_workers: int = 0  # workers of the Dask cluster when the engine is dask
    resumed: bool = False  # continued an unfinished publish (``resume=True``)
    task_failures: list[str] = dataclasses.field(default_factory=list)  # Dask attempts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- helpers


def _anchor(bounds: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    lon = (bounds[:, 0] + bounds[:, 2]) / 2.0
    lat = (bounds[:, 1] + bounds[:, 3]) / 2.0
    return lon, lat


def _hash_ints(hashes: npt.NDArray[np.str_], precision: int) -> npt.NDArray[np.int64]:
    """Geohash strings of one precision -> their integer values (base 32)."""
    chars = np.ascontiguousarray(hashes, dtype=f"<U{precision}").view(np.uint32)
    table = np.zeros(128, dtype=np.int64)
    table[[ord(c) for c in geohash.ALPHABET]] = np.arange(32)
    digits = table[chars.reshape(-1, precision)]
    weights = 32 ** np.arange(precision - 1, -1, -1, dtype=np.int64)
    return np.asarray(digits @ weights, dtype=np.int64)


def _int_hash(value: int, precision: int) -> str:
    return "".join(
        geohash.ALPHABET[(value >> (5 * (precision - 1 - i))) & 31] for i in range(precision)
    )


def _choose_cells(counts: npt.NDArray[np.uint32], max_rows: int) -> list[tuple[str, int, int]]:
    """Adaptive cells from precision-5 counts: ``(geohash, first code5, end code5)``."""
    codes = np.flatnonzero(counts)
    csum = np.concatenate([[0], np.cumsum(counts[codes], dtype=np.int64)])
    cells: list[tuple[str, int, int]] = []

    def visit(code: int, precision: int) -> None:
        span = 32 ** (_COUNT_PRECISION - precision)
        start, end = code * span, (code + 1) * span
        lo, hi = np.searchsorted(codes, [start, end])
        n = int(csum[hi] - csum[lo])
        if n == 0:
            return
        if n > max_rows and precision < _COUNT_PRECISION:
            for child in range(32):
                visit(code * 32 + child, precision + 1)
            return
        cells.append((_int_hash(code, precision), start, end))

    for top in range(32):
        visit(top, 1)
    return cells


def _display(path: InputPath) -> str:
    """``path`` relative to the working directory when under it (reproducible), else absolute
    (URLs as they are)."""
    if isinstance(path, URLInput):
        return path.url
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _created(paths: Sequence[InputPath]) -> str:
    """``SOURCE_DATE_EPOCH``, else the latest local input's mtime (URL inputs have none:
    the epoch 0 when every input is a URL), so re-publishing gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    local = [p.stat().st_mtime for p in paths if isinstance(p, Path)]
    stamp = float(epoch) if epoch else max(local, default=0.0)
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------ step 1: sample


def _sample(inputs: InputSet, n_sample: int, seed: int) -> npt.NDArray[np.float32]:
    """A seeded sample of valid embedding rows from randomly chosen row groups.

    Row groups are visited in a seeded random order and the first ``quota`` rows of each
    (``n_sample`` spread over the row groups, at least 1024) are read with a buffered
    stream, which decodes only the pages it needs; a seeded random ``n_sample`` of the
    rows read is kept. Reading costs about the sample's size, not whole row groups.
    """
    rng = np.random.default_rng(seed)
    groups = [(i, g) for i, f in enumerate(inputs.files) for g in range(f.num_row_groups)]
    order = rng.permutation(len(groups))
    quota = max(1024, -(-n_sample // max(len(groups), 1)))
    parts: list[npt.NDArray[np.float32]] = []
    have = 0
    for k in order:
        if have >= n_sample:
            break
        i, g = groups[int(k)]
        reader = pq.ParquetFile(
            open_input(inputs.paths[i]),
            pre_buffer=False,
            buffer_size=STREAM_BUFFER,
            metadata=inputs.files[i].metadata,
        )
        batches = reader.iter_batches(
            batch_size=min(quota, n_sample - have) if have else quota,
            row_groups=[g],
            columns=[inputs.embedding_col, inputs.id_col],
            use_threads=False,
        )
        rb = next(iter(batches), None)
        if rb is None or rb.num_rows == 0:
            continue
        X, invalid, _ = inputs._embedding(inputs.paths[i], rb.column(0), rb.column(1))
        if inputs.packed:  # packed sign bits -> +-1 vectors, which encode back to them
            X = np.unpackbits(np.asarray(X, dtype=np.uint8), axis=1).astype(np.float32) * 2 - 1
        parts.append(X[~invalid])
        have += int((~invalid).sum())
    if not have:
        raise InvalidInputError(
            "no valid embedding to fit the codec on: every sampled row has a null, NaN or "
            "infinite embedding; fix the input"
        )
    X = np.concatenate(parts)
    if len(X) > n_sample:
        X = X[np.sort(rng.choice(len(X), n_sample, replace=False))]
    return X


# ------------------------------------------------------------------------- step 1: count


def _count(
    inputs: InputSet, pieces: Sequence[InputSet], show: bool | None, cache: Path
) -> tuple[npt.NDArray[np.uint32], int]:
    """Rows per precision-5 cell over ``pieces`` (which record their bounds caches) and
    the valid row count; checks the ids of ``inputs`` for duplicates."""
    counts = np.zeros(32**_COUNT_PRECISION, dtype=np.uint32)
    id_hashes: list[npt.NDArray[np.uint64]] = []
    total = 0
    with progress_bar("publish: counting", inputs.rows, show=show) as bar:
        for piece in pieces:
            for batch in piece.iter_batches(embeddings=False, extra=False, cache=cache):
                uniq, n = _count_batch(batch)
                counts[uniq] += n.astype(np.uint32)
                id_hashes.append(string_hashes(batch.ids))
                total += len(batch.ids)
                bar.advance(len(batch.ids) + batch.dropped)
    _check_duplicates(inputs, np.concatenate(id_hashes) if id_hashes else np.zeros(0, np.uint64))
    return counts, total


def _count_batch(batch: Batch) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct precision-5 cells of a batch's anchor points and their row counts."""
    lon, lat = _anchor(batch.bounds)
    codes = _hash_ints(geohash.encode(lon, lat, precision=_COUNT_PRECISION), _COUNT_PRECISION)
    uniq, n = np.unique(codes, return_counts=True)
    return uniq, n.astype(np.int64)


def _check_duplicates(inputs: InputSet, hashes: npt.NDArray[np.uint64]) -> None:
    """Exact duplicate check of the ids whose 64-bit hashes collide (a second, rare pass)."""
    hashes = np.sort(hashes)
    dup_hash = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    if not len(dup_hash):
        return
    seen: dict[str, int] = {}
    for path, pfile in zip(inputs.paths, inputs.files, strict=True):
        reader = pq.ParquetFile(open_input(path), pre_buffer=False, metadata=pfile.metadata)
        for rb in reader.iter_batches(batch_size=65536, columns=[inputs.id_col]):
            ids = pc.cast(rb.column(0), pa.string())
            hit = np.isin(string_hashes(ids), dup_hash)
            for value in ids.filter(pa.array(hit)).to_pylist():
                seen[value] = seen.get(value, 0) + 1
    dups = sorted(k for k, v in seen.items() if v > 1)
    if dups:
        raise InvalidInputError(
            f"{len(dups)} ids occur more than once ({first_items(dups)}); ids must be unique "
            "across all inputs — deduplicate them or publish the files separately"
        )


# --------------------------------------------------------------------------- step 2: map


class _Parts:
    """Per-cell Arrow IPC part files, buffered in memory up to ``buffer_bytes``."""

    def __init__(
        self, root: Path, schema: pa.Schema, buffer_bytes: int, *, auto_flush: bool = True
    ) -> None:
        self.root = root
        self.schema = schema
        self.buffer_bytes = buffer_bytes
        self.auto_flush = auto_flush
        self.buffers: dict[int, list[pa.RecordBatch]] = {}
        self.buffered = 0
        self.files: dict[int, list[Path]] = {}
        self.seq = 0

    def add(self, cell: int, batch: pa.RecordBatch) -> None:
        self.buffers.setdefault(cell, []).append(batch)
        self.buffered += batch.nbytes
        if self.auto_flush and self.buffered >= self.buffer_bytes:
            self.flush()

    def flush(self) -> dict[int, list[Path]]:
        """Write the buffered rows to part files (one per cell); the files written."""
        written: dict[int, list[Path]] = {}
        for cell, batches in sorted(self.buffers.items()):
            path = self.root / f"{cell:06d}-{self.seq:06d}.arrow"
            with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, self.schema) as writer:
                for b in batches:
                    writer.write_batch(b)
            self.files.setdefault(cell, []).append(path)
            written.setdefault(cell, []).append(path)
            self.seq += 1
        self.buffers.clear()
        self.buffered = 0
        return written


def _row_batch(
    batch: Batch, codec: Codec, rerank: Codec | None, schema: pa.Schema, *, packed: bool = False
) -> tuple[pa.RecordBatch, npt.NDArray[np.int64]]:
    assert batch.embedding is not None
    n = len(batch.ids)
    lon, lat = _anchor(batch.bounds)
    keys = _hash_ints(
        geohash.encode(lon, lat, precision=fmt.SORT_KEY_PRECISION), fmt.SORT_KEY_PRECISION
    )
    code5 = keys >> (5 * (fmt.SORT_KEY_PRECISION - _COUNT_PRECISION))
    codes = batch.embedding if packed else codec.encode(batch.embedding)
    bbox = bbox_column(batch.bounds, type=schema.field("bbox").type)
    arrays: dict[str, pa.Array] = {
        _KEY: pa.array(keys.astype(np.uint64)),
        "id": batch.ids,
        "geometry": batch.wkb,
        "bbox": bbox,
        "embedding": pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(codec.code_size), n, [None, pa.py_buffer(np.ascontiguousarray(codes))]
        ),
    }
    if "datetime" in schema.names:
        assert batch.time is not None
        arrays["datetime"] = pc.cast(batch.time, pa.timestamp("us", tz="UTC"))
    if rerank is not None:
        rcodes = rerank.encode(batch.embedding)
        arrays["rerank"] = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(rerank.code_size), n, [None, pa.py_buffer(np.ascontiguousarray(rcodes))]
        )
    arrays.update(batch.keep)
    for j, name in enumerate(_EXACT):
        arrays[name] = pa.array(batch.bounds[:, j])
    columns = [arrays[name] for name in schema.names]
    return pa.RecordBatch.from_arrays(columns, schema=schema), code5


def _route(
    batch: Batch,
    parts: _Parts,
    starts: npt.NDArray[np.int64],
    *,
    codec: Codec,
    rerank: Codec | None,
    packed: bool,
) -> None:
    """Encode one validated batch and append its rows to their cells' parts."""
    rb, code5 = _row_batch(batch, codec, rerank, parts.schema, packed=packed)
    cell_idx = np.searchsorted(starts, code5, side="right") - 1
    order = np.argsort(cell_idx, kind="stable")
    sorted_idx = cell_idx[order]
    rb = rb.take(pa.array(order))
    bounds = np.flatnonzero(np.diff(sorted_idx)) + 1
    for lo, hi in zip(
        np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]]), strict=True
    ):
        parts.add(int(sorted_idx[lo]), rb.slice(int(lo), int(hi - lo)))


def _part_schema(shard: pa.Schema) -> pa.Schema:
    """The part files' schema: the sort key, the shard's columns, the exact bounds."""
    return pa.schema(
        [pa.field(_KEY, pa.uint64()), *shard, *(pa.field(n, pa.float64()) for n in _EXACT)]
    )


# ------------------------------------------------------------------------ step 3: reduce


def _read_parts(paths: Sequence[Path], schema: pa.Schema) -> pa.Table:
    """One cell's part files as one table (one chunk per column)."""
    tables = []
    for path in paths:
        with pa.memory_map(str(path)) as source:
            tables.append(ipc.open_file(source).read_all())
    return pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()


def _reduce_cell(
    table: pa.Table,
    cell: str,
    root: Path,
    *,
    codec: Codec,
    max_rows: int,
    row_group_rows: int,
    keep: Sequence[str],
) -> list[dict[str, Any]]:
    """Sort one cell's rows by (geohash key, id), split it while above ``max_rows`` and
    write its shards under ``root`` (each in Hilbert order); their manifest rows. The
    result does not depend on the order of the rows in ``table`` (ids are unique)."""
    if not table.num_rows:
        return []
    order = pc.sort_indices(table, sort_keys=[(_KEY, "ascending"), ("id", "ascending")])
    table = table.take(order)
    return [
        _write_shard(sub, sub_cell, root, codec=codec, row_group_rows=row_group_rows, keep=keep)
        for sub_cell, sub in _split(table, cell, max_rows)
    ]


def _split(table: pa.Table, cell: str, max_rows: int) -> list[tuple[str, pa.Table]]:
    """Split a sorted cell table into child cells while it holds more than ``max_rows``."""
    if table.num_rows <= max_rows or len(cell) >= fmt.SORT_KEY_PRECISION:
        return [(cell, table)]
    shift = 5 * (fmt.SORT_KEY_PRECISION - len(cell) - 1)
    child = (table.column(_KEY).to_numpy() >> np.uint64(shift)) & np.uint64(31)
    bounds = np.searchsorted(child, np.arange(33, dtype=np.uint64))  # rows are sorted
    out: list[tuple[str, pa.Table]] = []
    for digit in range(32):
        lo, hi = int(bounds[digit]), int(bounds[digit + 1])
        if hi > lo:
            sub = table.slice(lo, hi - lo)
            out.extend(_split(sub, cell + geohash.ALPHABET[digit], max_rows))
    return out


def _row_groups(keys: npt.NDArray[np.uint64], max_rows: int) -> list[tuple[int, int]]:
    """Row-group boundaries of a sorted shard, aligned to coarse space-filling-curve cells.

    Each group holds ``max_rows // 2`` to ``max_rows`` rows (the last one may hold
    fewer) and ends where the sort keys of consecutive rows share the shortest common
    bit prefix within that window — the boundary of the largest quadtree cell (Hilbert
    keys nest like a quadtree) — so a group's bounding box stays compact.

    Examples
    --------
    >>> keys = np.array([0, 1, 2, 3, 1 << 40, (1 << 40) + 1], dtype=np.uint64)
    >>> _row_groups(keys, 5)
    [(0, 4), (4, 6)]
    """
    n = len(keys)
    if n <= max_rows:
        return [(0, n)]
    k = keys.astype(np.uint64)
    # bit length of XOR of neighbours: high = a coarse cell boundary between rows j-1, j
    xor = k[1:] ^ k[:-1]
    level = np.zeros(n, dtype=np.int64)  # level[j]: boundary before row j
    nz = xor > 0
    level[1:][nz] = np.floor(np.log2(xor[nz].astype(np.float64))).astype(np.int64) + 1
    groups: list[tuple[int, int]] = []
    start = 0
    low = max(1, max_rows // 2)
    while n - start > max_rows:
        window = level[start + low : start + max_rows + 1]
        # the largest boundary; among equals, the farthest (largest group)
        cut = start + low + int(len(window) - 1 - np.argmax(window[::-1]))
        groups.append((start, cut))
        start = cut
    groups.append((start, n))
    return groups


def _write_shard(
    table: pa.Table,
    cell: str,
    root: Path,
    *,
    codec: Codec,
    row_group_rows: int,
    keep: Sequence[str],
) -> dict[str, Any]:
    exact = [table.column(name).to_numpy() for name in _EXACT]
    extent = (
        float(exact[0].min()),
        float(exact[1].min()),
        float(exact[2].max()),
        float(exact[3].max()),
    )
    # rows in (Hilbert key of the anchor, id) order; row groups cut on coarse curve cells
    keys = hilbert.keys(*_anchor(np.column_stack(exact)))
    by = pa.table({"key": keys, "id": table.column("id")})
    order = pc.sort_indices(by, sort_keys=[("key", "ascending"), ("id", "ascending")])
    groups = _row_groups(keys[order.to_numpy()], row_group_rows)
    table = table.drop_columns([_KEY, *_EXACT]).replace_schema_metadata(None).take(order)
    type_names = _wkb_types(table.column("geometry").combine_chunks())
    rel = fmt.shard_path(cell)
    target = root / rel
    tmp = target.with_name(f".{target.name}.tmp")
    data = _write_parquet(
        table,
        {fmt.GEO_KEY: json.dumps(fmt.geo_metadata(extent, type_names)).encode()},
        groups=groups,
        checksums=True,
        **fmt.shard_parquet_options(table.schema, keep=keep),
    )
    with tmp.open("wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    footer_len = int.from_bytes(data[-8:-4], "little")
    row: dict[str, Any] = {
        "path": rel,
        "geohash": cell,
        "rows": table.num_rows,
        "bytes": len(data),
        "xmin": extent[0],
        "ymin": extent[1],
        "xmax": extent[2],
        "ymax": extent[3],
        "tmin": None,
        "tmax": None,
        "checksum": fmt.sha256_hex(data),
        "footer_checksum": fmt.sha256_hex(data[-8 - footer_len :]),
        **summary.EMPTY_SUMMARY,
    }
    if "datetime" in table.column_names:
        bounds_t = pc.min_max(table.column("datetime"))
        row["tmin"], row["tmax"] = bounds_t["min"].as_py(), bounds_t["max"].as_py()
    if codec.hamming:
        col = table.column("embedding").combine_chunks()
        codes = np.frombuffer(col.buffers()[1], dtype=np.uint8)[
            col.offset * codec.code_size : (col.offset + len(col)) * codec.code_size
        ].reshape(-1, codec.code_size)
        row.update(summary.shard_summary(codes))
    return row


def _write_parquet(
    table: pa.Table,
    metadata: dict[bytes, bytes],
    *,
    groups: Sequence[tuple[int, int]] | None = None,
    checksums: bool = False,
    **options: Any,
) -> bytes:
    """``table`` as Parquet bytes with ``metadata`` as the only key-value metadata (no
    ARROW:schema), one row group per ``(start, end)`` of ``groups`` (default: one), and
    with ``checksums``, the checksum of every column chunk under ``terrabit.chunks``
    (:func:`terrabit.corpus.format.fill_chunk_checksums`)."""
    if groups is None:
        groups = [(0, table.num_rows)]
    sink = pa.BufferOutputStream()
    writer = pq.ParquetWriter(sink, table.schema, store_schema=False, **options)
    placeholder = b""
    try:
        for start, end in groups:
            writer.write_table(table.slice(start, end - start), row_group_size=end - start)
        meta = dict(metadata)
        if checksums:
            n_chunks = len(groups) * sum(_leaf_count(f.type) for f in table.schema)
            placeholder = fmt.chunk_placeholder(n_chunks)
            meta[fmt.CHUNKS_KEY] = placeholder
        writer.add_key_value_metadata(meta)
    finally:
        writer.close()
    data = sink.getvalue().to_pybytes()
    if placeholder:
        data = fmt.fill_chunk_checksums(data, placeholder)
    return data


def _leaf_count(dtype: pa.DataType) -> int:
    """Parquet leaf columns of one Arrow type (nested types have several)."""
    if pa.types.is_struct(dtype):
        return sum(_leaf_count(dtype.field(i).type) for i in range(dtype.num_fields))
    if pa.types.is_map(dtype):
        return _leaf_count(dtype.key_type) + _leaf_count(dtype.item_type)
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _leaf_count(dtype.value_type)
    if pa.types.is_fixed_size_list(dtype) or pa.types.is_list_view(dtype):
        return _leaf_count(dtype.value_type)
    return 1


def _wkb_types(col: pa.Array) -> list[str]:
    """Distinct GeoParquet geometry type names of little-endian ISO WKB values."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + len(col)]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    code = np.zeros(len(offsets), dtype=np.uint32)
    for k in range(4):
        code |= data[offsets + 1 + k].astype(np.uint32) << np.uint32(8 * k)
    names = []
    for value in np.unique(code).tolist():
        suffix = " Z" if value // 1000 in (1, 3) else ""  # GeoParquet has no M types
        names.append(_TYPE_NAMES[value % 1000] + suffix)
    return sorted(set(names))


_TYPE_NAMES = {
    1: "Point",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


# ------------------------------------------------------------------------------ publish


def publish(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    options: PublishOptions | None = None,
    **overrides: Any,
) -> PublishResult:
    """Publish GeoParquet embeddings as a static corpus (``spec/corpus-v1.md``).

    Parameters
    ----------
    inputs : path, glob or folder, or a sequence of them
        GeoParquet files with an id, a WKB geometry (any CRS; reprojected to CRS84) or
        lon/lat columns, and a float embedding (list or fixed-size list) column or
        already-packed binary codes (``fixed_size_binary``/``binary``, MSB first; used as
        they are with ``codec="binary"``).
    out : path or URL
        The corpus to write: a local folder, or an object-store prefix (``s3://``,
        ``gs://``, ``az://``; staged locally, then uploaded with the manifest last). An
        existing corpus is replaced only with ``overwrite``; an existing non-empty folder
        (or prefix) that is not a corpus is refused.
    options : PublishOptions, optional
        The codec, cell, column and engine settings (default: all defaults), checked
        before any input is read.
    **overrides
        Fields of :class:`~terrabit.corpus.options.PublishOptions` replacing those of
        ``options``: ``publish(inputs, out, codec="int8", keep=["label"])``. With
        ``engine="dask"`` the count, the map (one task per input piece) and the reduce
        (one task per cell) run on a Dask cluster (:mod:`terrabit.corpus.distributed`);
        the codec is fitted and the manifest written here. Both engines write the same
        bytes. ``resume=True`` continues the unfinished publish of ``out`` (one that
        failed, was interrupted or killed) from its journal, skipping the count, the
        encoded inputs and the finished cells (:mod:`terrabit.corpus.staging`).

    Returns
    -------
    PublishResult

    Raises
    ------
    InvalidInputError
        Bad or inconsistent options (``params`` names them) or input (the message names
        the rows, columns or files).
    OutputExistsError
        ``out`` exists and ``overwrite`` was not given, or it is not a corpus.
    terrabit._cluster.SchedulerError
        The Dask scheduler cannot be reached (nothing is written).
    terrabit._cluster.ClusterError
        A Dask task failed after its retries (no corpus is written; the finished work
        is kept for ``resume``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus._fixture import write_input
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_input(tmp / "in.parquet", rows=50, dims=16, seed=1)
    >>> publish(tmp / "in.parquet", tmp / "c").to_dict()["rows"]
    50
    >>> publish(tmp / "in.parquet", tmp / "c8", PublishOptions(codec="int8")).rows
    50
    """
    started = time.perf_counter()
    opts = PublishOptions.build(options, **overrides)
    sink = open_sink(out, work_dir=opts.work_dir)
    sink.check(overwrite=opts.overwrite)
    with contextlib.ExitStack() as stack:
        client = None
        workers = 0
        if opts.engine == "dask":  # connect first: an unreachable scheduler writes nothing
            from terrabit.corpus import distributed as dist

            stack.enter_context(dist.quiet_logs())
            client = stack.enter_context(dist.connect(opts.scheduler or "local:2"))
            workers = int(dist.describe(client)["dask_workers"])
        result = _publish(inputs, sink, opts, client=client, started=started)
        return dataclasses.replace(result, engine=opts.engine, dask_workers=workers)
    raise AssertionError("unreachable")  # pragma: no cover


def _input_key(source: InputSet) -> list[dict[str, Any]]:
    """What identifies the inputs for a resume: names, row counts and footer sizes, and
    the size and modification time of local files."""
    out = []
    for path, pfile in zip(source.paths, source.files, strict=True):
        meta = pfile.metadata
        entry: dict[str, Any] = {
            "path": _display(path),
            "rows": meta.num_rows,
            "row_groups": meta.num_row_groups,
            "footer_bytes": meta.serialized_size,
        }
        if isinstance(path, Path):
            stat = path.stat()
            entry["size"] = stat.st_size
            entry["mtime_ns"] = stat.st_mtime_ns
        out.append(entry)
    return out


def _publish(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    sink: Sink,
    options: PublishOptions,
    *,
    client: Client | None,
    started: float,
) -> PublishResult:
    """:func:`publish` once its engine is up (``client`` is a ``distributed.Client`` for
    the Dask engine, else None)."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    source = InputSet(
        items,
        id_col=options.id_col,
        geometry_col=options.geometry_col,
        embedding_col=options.embedding_col,
        time_col=options.time_col,
        keep=options.keep,
        drop_invalid=options.drop_invalid,
        lon_col=options.lon_col,
        lat_col=options.lat_col,
    )
    codec, rerank = options.codec, options.rerank
    if source.packed and not options.is_plain_binary():
        raise InvalidInputError(
            f"embedding_col={options.embedding_col!r} holds packed binary codes, which are "
            f"published as they are: use codec='binary' (not {codec!r}) and no rerank, or "
            "publish float embeddings",
            params=("embedding_col", "codec", "rerank"),
        )
    if source.rows == 0:
        raise InvalidInputError(
            f"the input is empty: {len(source.paths)} file(s) with 0 rows; nothing to publish"
        )
    sample = _sample(source, options.sample_rows, options.seed)
    fitted = parse(codec).fit(sample)
    fitted_rerank = parse(rerank).fit(sample) if rerank else None
    del sample
    shard = fmt.shard_schema(
        fitted.code_size,
        time=source.time_col is not None,
        rerank_code_size=None if fitted_rerank is None else fitted_rerank.code_size,
        extra=source.keep_fields,
    )
    job = _Job(
        source=source,
        codec=fitted,
        rerank=fitted_rerank,
        part_schema=_part_schema(shard),
        max_rows=options.max_rows,
        row_group_rows=options.row_group_rows,
        buffer_bytes=options.buffer_bytes,
        show_progress=options.show_progress,
    )
    key = {
        "format_version": fmt.FORMAT_VERSION,
        "terrabit_version": __version__,
        "output": sink.display,
        "inputs": _input_key(source),
        "options": options.canonical(),
    }
    with Staging.begin(sink.staging_dir(), key, resume=options.resume) as staging:
        job.staging = staging
        try:
            if staging.load_json("plan") is None and staging.resumed:
                staging.clear()  # stopped while counting: nothing to keep
                staging.save_json("key", key)
            (staging.root / fmt.SHARDS_DIR).mkdir(exist_ok=True)
            if client is None:
                rows_out, dropped = _run_local(job)
            else:
                from terrabit.corpus import distributed as dist

                rows_out, dropped = dist.run_publish(client, job)
            _write_manifest(
                staging.root,
                rows_out,
                source,
                codec=fitted,
                rerank=fitted_rerank,
                columns=shard.names,
                max_rows=options.max_rows,
                row_group_rows=options.row_group_rows,
                seed=options.seed,
                sample_rows=options.sample_rows,
                dropped=dropped,
            )
            sink.finish(staging, rows_out, show=options.show_progress)
        except BaseException as exc:
            plan = staging.load_json("plan")
            if plan is None or isinstance(exc, InvalidInputError):  # nothing to resume
                staging.remove()
            else:
                done = len(staging.names("cell-"))
                log.warning(
                    "publish of %s stopped with %d of %d cells finished; the work is kept in "
                    "%s: rerun the same command with --resume to continue",
                    sink.display,
                    done,
                    len(plan["cells"]),
                    staging.root,
                )
            raise
    total_rows = sum(r["rows"] for r in rows_out)
    total_bytes = sum(r["bytes"] for r in rows_out)
    seconds = time.perf_counter() - started
    return PublishResult(
        rows=total_rows,
        shards=len(rows_out),
        bytes=total_bytes,
        bytes_per_row=round(total_bytes / max(total_rows, 1), 2),
        seconds=round(seconds, 3),
        dropped=dropped,
        path=sink.display,
        resumed=staging.resumed,
        task_failures=list(job.retried),
    )


@dataclass
class _Job:
    """One publish's fitted codecs and settings, shared by the engines."""

    source: InputSet
    codec: Codec
    rerank: Codec | None
    part_schema: pa.Schema
    max_rows: int
    row_group_rows: int
    buffer_bytes: int
    show_progress: bool | None
    staging: Staging = dataclasses.field(init=False)
    retried: list[str] = dataclasses.field(default_factory=list)  # failed Dask attempts

    @property
    def root(self) -> Path:
        return self.staging.root

    @property
    def work(self) -> Path:
        return self.staging.work

    def cells(self, count: Any) -> list[tuple[str, int, int]]:
        """The cells of the plan: recorded ones when resuming (their codecs must equal
        the refitted ones), else ``count()``'s, then recorded."""
        codecs = json.loads(
            json.dumps(
                {
                    "codec": self.codec.to_dict(),
                    "rerank": None if self.rerank is None else self.rerank.to_dict(),
                },
                sort_keys=True,
            )
        )
        plan = self.staging.load_json("plan")
        if plan is not None:
            if plan["codecs"] != codecs:
                raise InvalidInputError(
                    f"cannot continue the publish in {str(self.root)!r}: the codec fitted now "
                    "differs from the one it started with; rerun without resume=True",
                    params=("resume",),
                )
            return [(str(c), int(a), int(b)) for c, a, b in plan["cells"]]
        cells: list[tuple[str, int, int]] = count()
        self.staging.save_json("plan", {"cells": cells, "codecs": codecs})
        return cells

    def mapped(self, pieces: int) -> tuple[dict[int, list[Path]], int, list[int]]:
        """What the journal says of the map: ``({cell: part files}, dropped rows, pieces
        still to encode)``."""
        files: dict[int, list[Path]] = {}
        dropped = 0
        todo = []
        for i in range(pieces):
            record = self.staging.load_json(f"map-{i:06d}")
            if record is None:
                todo.append(i)
                continue
            dropped += int(record["dropped"])
            for cell, paths in record["files"].items():
                files.setdefault(int(cell), []).extend(Path(p) for p in paths)
        return files, dropped, todo

    def record_map(self, piece: int, files: dict[int, list[Path]], dropped: int) -> None:
        """Record piece ``piece`` as encoded: these part files (absolute paths) hold its
        rows (and maybe those of earlier unrecorded-file pieces of its group)."""
        self.staging.save_json(
            f"map-{piece:06d}",
            {
                "files": {str(c): [str(p) for p in ps] for c, ps in files.items()},
                "dropped": dropped,
            },
        )

    def finished(self, i: int) -> list[dict[str, Any]] | None:
        """The manifest rows of cell ``i`` if a run finished it (its shards checked
        against them), else None."""
        table = self.staging.load_table(f"cell-{i:06d}")
        if table is None:
            return None
        rows: list[dict[str, Any]] = table.to_pylist()
        for row in rows:
            path = self.root / row["path"]
            if not path.is_file() or fmt.sha256_hex(path.read_bytes()) != row["checksum"]:
                raise InvalidInputError(
                    f"cannot continue the publish in {str(self.root)!r}: its shard "
                    f"{row['path']!r} is missing or damaged; rerun without resume=True",
                    params=("resume",),
                )
        return rows

    def skip_finished(
        self, cells: Iterable[int], parts: dict[int, Any]
    ) -> tuple[dict[int, list[dict[str, Any]]], list[int]]:
        """``({cell: manifest rows}, cells to reduce)``: the cells a previous run finished
        (their part files, in ``parts``, are deleted) and the others, in order."""
        done: dict[int, list[dict[str, Any]]] = {}
        todo = []
        for i in cells:
            rows = self.finished(i)
            if rows is None:
                todo.append(i)
            else:
                done[i] = rows
                _unlink(parts.get(i, []))
        return done, todo

    def finish_cell(self, i: int, rows: list[dict[str, Any]]) -> None:
        """Record cell ``i`` as finished with these manifest rows."""
        schema = fmt.manifest_schema(self.codec.code_size)
        self.staging.save_table(f"cell-{i:06d}", pa.Table.from_pylist(rows, schema=schema))


def _run_local(job: _Job) -> tuple[list[dict[str, Any]], int]:
    """Count, map and reduce in this process, skipping what a resumed run finished; the
    manifest rows (in cell order) and the number of dropped rows.

    The map reads the input piece by piece (as the Dask engine's tasks do) into one
    buffer, flushed to part files only between pieces — when it holds ``buffer_bytes``,
    or :data:`_FLUSH_SECONDS` after the last flush; each flush records its pieces in the
    journal (``map-<piece>``, the files under the group's last piece), so a resumed run
    encodes only the pieces no flush recorded (at most about that long of work).
    """
    source, work = job.source, job.work
    pieces = [piece for _, piece in source.pieces(PIECE_ROWS)]

    def count() -> list[tuple[str, int, int]]:
        counts, counted = _count(source, pieces, job.show_progress, work)
        if counted == 0:
            raise InvalidInputError("every input row was dropped as invalid; nothing to publish")
        return _choose_cells(counts, job.max_rows)

    cells = job.cells(count)
    starts = np.array([c[1] for c in cells], dtype=np.int64)
    files, dropped, todo = job.mapped(len(pieces))
    with progress_bar("publish: encoding", source.rows, show=job.show_progress) as bar:
        skipped = source.rows - sum(pieces[i].rows for i in todo)
        if skipped:
            bar.advance(skipped)

        def batches() -> Any:
            for i in todo:
                read = pieces[i].iter_batches(embeddings=True, extra=True, cache=work)
                yield from ((i, b) for b in read)
                yield i, None  # the end of piece i

        group: list[tuple[int, int]] = []  # (piece, dropped rows) since the last flush
        flushed = time.monotonic()
        parts: _Parts | None = None
        lost = 0
        for i, batch in prefetch(batches(), depth=2):
            if parts is None:  # a new group of pieces: a clean folder of its own
                parts = _Parts(work / f"local-{i:06d}", job.part_schema, 0, auto_flush=False)
                shutil.rmtree(parts.root, ignore_errors=True)
                parts.root.mkdir()
            if batch is not None:
                lost += batch.dropped
                bar.advance(len(batch.ids) + batch.dropped)
                if len(batch.ids):
                    _route(batch, parts, starts, codec=job.codec, rerank=job.rerank,
                           packed=source.packed)  # fmt: skip
                continue
            group.append((i, lost))
            dropped, lost = dropped + lost, 0
            stale = time.monotonic() - flushed >= _FLUSH_SECONDS
            if parts.buffered >= job.buffer_bytes or stale or i == todo[-1]:
                written = parts.flush()
                for k, (piece, gone) in enumerate(group):
                    last = k == len(group) - 1
                    job.record_map(piece, written if last else {}, gone)
                for cell, paths in written.items():
                    files.setdefault(cell, []).extend(paths)
                group, parts, flushed = [], None, time.monotonic()

    written_cells, todo_cells = job.skip_finished(range(len(cells)), files)

    def reduce(i: int) -> list[dict[str, Any]]:
        rows = _reduce_cell(
            _read_parts(files.get(i, []), job.part_schema),
            cells[i][0],
            job.root,
            codec=job.codec,
            max_rows=job.max_rows,
            row_group_rows=job.row_group_rows,
            keep=source.keep,
        )
        job.finish_cell(i, rows)
        _unlink(files.get(i, []))
        return rows

    # two cells at a time: Parquet encoding and ZSTD release the GIL
    with (
        progress_bar("publish: writing shards", len(cells), show=job.show_progress) as bar,
        ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool,
    ):
        if written_cells:
            bar.advance(len(written_cells))
        for i, rows in zip(todo_cells, pool.map(reduce, todo_cells), strict=True):
            written_cells[i] = rows
            bar.advance()
    return [row for i in sorted(written_cells) for row in written_cells[i]], dropped


def _unlink(paths: Sequence[Path | str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _write_manifest(
    tmp: Path,
    rows_out: list[dict[str, Any]],
    source: InputSet,
    *,
    codec: Codec,
    rerank: Codec | None,
    columns: list[str],
    max_rows: int,
    row_group_rows: int,
    seed: int,
    sample_rows: int,
    dropped: int,
) -> None:
    """Write ``manifest.parquet`` (under a temporary name, then renamed): the last file."""
    total_rows = sum(r["rows"] for r in rows_out)
    total_bytes = sum(r["bytes"] for r in rows_out)
    manifest = pa.Table.from_pylist(rows_out, schema=fmt.manifest_schema(codec.code_size))
    manifest = manifest.sort_by("geohash")
    tmins = [r["tmin"] for r in rows_out if r["tmin"] is not None]
    tmaxs = [r["tmax"] for r in rows_out if r["tmax"] is not None]
    meta = {
        "format_version": fmt.FORMAT_VERSION,
        "codec": codec.to_dict(),
        "rerank_codec": None if rerank is None else rerank.to_dict(),
        "dims": int(codec.d_in),
        "code_size": int(codec.code_size),
        "rerank_code_size": None if rerank is None else rerank.code_size,
        "rows": total_rows,
        "shards": len(rows_out),
        "bytes": total_bytes,
        "bbox": [
            min(r["xmin"] for r in rows_out),
            min(r["ymin"] for r in rows_out),
            max(r["xmax"] for r in rows_out),
            max(r["ymax"] for r in rows_out),
        ],
        "tmin": min(tmins).isoformat() if tmins else None,
        "tmax": max(tmaxs).isoformat() if tmaxs else None,
        "columns": columns,
        "max_rows": max_rows,
        "row_group_rows": row_group_rows,
        "checksum_algorithm": fmt.CHECKSUM_ALGORITHM,
        "provenance": {
            "inputs": [_display(p) for p in source.paths],
            "created": _created(source.paths),
            "terrabit_version": __version__,
            "seed": seed,
            "sample_rows": sample_rows,
            "dropped_rows": dropped,
        },
    }
    mtmp = tmp / f".{fmt.MANIFEST_NAME}.tmp"
    mtmp.write_bytes(
        _write_parquet(
            manifest,
            {fmt.METADATA_KEY: json.dumps(meta, sort_keys=True).encode()},
            compression="zstd",
        )
    )
    os.replace(mtmp, tmp / fmt.MANIFEST_NAME)
