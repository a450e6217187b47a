"""The map and reduce steps of :func:`~terrabit.corpus.publish`, shared by its engines.

Both engines (the local one in :mod:`terrabit.corpus.writer`, the Dask one in
:mod:`terrabit.corpus.distributed`) run the same steps on a :class:`PublishJob` (the
fitted codecs, the settings and the staging journal):

* **count**: :func:`count_batch` gives the precision-5 cells of a batch's rows;
  :func:`check_duplicates` refuses repeated ids; :func:`choose_cells` picks the adaptive
  cells (a cell with more than ``max_rows`` rows splits into its 32 children);
* **map** (input piece -> per-cell parts): :func:`route` encodes one validated batch and
  appends its rows to their cells' :class:`PartFiles` (Arrow IPC files with the columns
  of :func:`part_schema`);
* **reduce** (cell -> shards): :func:`read_parts` reads one cell's parts back and
  :func:`reduce_cell` sorts them by (geohash key, id), splits the cell while it holds
  more than ``max_rows`` rows and writes its shards (:func:`terrabit.corpus.shards.write_shard`),
  returning their manifest rows. The result does not depend on the order of the parts.

Examples
--------
>>> import numpy as np
>>> counts = np.zeros(32**COUNT_PRECISION, dtype=np.uint32)
>>> counts[[0, 1, 32**4]] = [3, 2, 4]
>>> choose_cells(counts, max_rows=5)
[('0', 0, 1048576), ('1', 1048576, 2097152)]
>>> choose_cells(counts, max_rows=4)[:2]
[('00000', 0, 1), ('00001', 1, 2)]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from terrabit import geohash
from terrabit.codecs import Codec
from terrabit.codecs.rabitq import codes_and_factors
from terrabit.corpus import factors, shards
from terrabit.corpus import format as fmt
from terrabit.corpus._inputs import Batch, InputSet, first_items, string_hashes
from terrabit.corpus.input_files import open_input
from terrabit.corpus.shards import BOUNDS_COLUMNS, SORT_KEY_COLUMN, anchor
from terrabit.corpus.staging import Staging
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import bbox_column

__all__ = [
    "COUNT_PRECISION",
    "Cell",
    "PartFiles",
    "PublishJob",
    "check_duplicates",
    "choose_cells",
    "count_batch",
    "part_schema",
    "read_parts",
    "reduce_cell",
    "remove_parts",
    "route",
]

#: The geohash precision of the count: rows are counted in 32**5 cells.
COUNT_PRECISION = 5
Cell = tuple[str, int, int]
"""A cell of the plan: ``(geohash, first precision-5 code, end precision-5 code)``."""


# ------------------------------------------------------------------------------- count


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


def choose_cells(counts: npt.NDArray[np.uint32], max_rows: int) -> list[tuple[str, int, int]]:
    """Adaptive cells from precision-5 counts: ``(geohash, first code5, end code5)``."""
    codes = np.flatnonzero(counts)
    csum = np.concatenate([[0], np.cumsum(counts[codes], dtype=np.int64)])
    cells: list[tuple[str, int, int]] = []

    def visit(code: int, precision: int) -> None:
        span = 32 ** (COUNT_PRECISION - precision)
        start, end = code * span, (code + 1) * span
        lo, hi = np.searchsorted(codes, [start, end])
        n = int(csum[hi] - csum[lo])
        if n == 0:
            return
        if n > max_rows and precision < COUNT_PRECISION:
            for child in range(32):
                visit(code * 32 + child, precision + 1)
            return
        cells.append((_int_hash(code, precision), start, end))

    for top in range(32):
        visit(top, 1)
    return cells


def count_batch(batch: Batch) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct precision-5 cells of a batch's anchor points and their row counts."""
    lon, lat = anchor(batch.bounds)
    codes = _hash_ints(geohash.encode(lon, lat, precision=COUNT_PRECISION), COUNT_PRECISION)
    uniq, n = np.unique(codes, return_counts=True)
    return uniq, n.astype(np.int64)


def check_duplicates(inputs: InputSet, hashes: npt.NDArray[np.uint64]) -> None:
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


# --------------------------------------------------------------------------------- map


class PartFiles:
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
) -> tuple[pa.RecordBatch, npt.NDArray[np.int64], bool]:
    assert batch.embedding is not None
    n = len(batch.ids)
    lon, lat = anchor(batch.bounds)
    keys = _hash_ints(
        geohash.encode(lon, lat, precision=fmt.SORT_KEY_PRECISION), fmt.SORT_KEY_PRECISION
    )
    code5 = keys >> (5 * (fmt.SORT_KEY_PRECISION - COUNT_PRECISION))
    fac: npt.NDArray[np.float32] | None = None
    codes: npt.NDArray[Any]
    if packed:
        codes = batch.embedding
    elif factors.COLUMN in schema.names:
        codes, fac = codes_and_factors(codec, batch.embedding)
    else:
        codes = codec.encode(batch.embedding)
    bbox = bbox_column(batch.bounds, type=schema.field("bbox").type)
    arrays: dict[str, pa.Array] = {
        SORT_KEY_COLUMN: pa.array(keys.astype(np.uint64)),
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
    if fac is not None:
        _check_factors(fac, batch)
        arrays[factors.COLUMN] = factors.factors_array(fac)
    arrays.update(batch.keep)
    for j, name in enumerate(BOUNDS_COLUMNS):
        arrays[name] = pa.array(batch.bounds[:, j])
    columns = [arrays[name] for name in schema.names]
    fits = fac is None or factors.fits_float16(fac)
    return pa.RecordBatch.from_arrays(columns, schema=schema), code5, fits


def _check_factors(fac: npt.NDArray[np.float32], batch: Batch) -> None:
    """Refuse rows whose ``rabitq`` factors overflow float32 (embeddings near 1e19)."""
    bad = np.flatnonzero(~np.isfinite(fac).all(axis=1))
    if bad.size:
        raise InvalidInputError(
            f"rows {first_items(batch.ids.take(pa.array(bad)).to_pylist())} have rabitq "
            "correction factors beyond float32 (embedding values too large); "
            "scale the embeddings down, or publish with codec 'norm+rabitq'",
            params=("codec",),
        )


def route(
    batch: Batch,
    parts: PartFiles,
    starts: npt.NDArray[np.int64],
    *,
    codec: Codec,
    rerank: Codec | None,
    packed: bool,
) -> bool:
    """Encode one validated batch and append its rows to their cells' parts; whether its
    ``rabitq`` factors (if any) all fit float16 (:func:`terrabit.corpus.factors.fits_float16`)."""
    rb, code5, fits = _row_batch(batch, codec, rerank, parts.schema, packed=packed)
    cell_idx = np.searchsorted(starts, code5, side="right") - 1
    order = np.argsort(cell_idx, kind="stable")
    sorted_idx = cell_idx[order]
    rb = rb.take(pa.array(order))
    bounds = np.flatnonzero(np.diff(sorted_idx)) + 1
    for lo, hi in zip(
        np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]]), strict=True
    ):
        parts.add(int(sorted_idx[lo]), rb.slice(int(lo), int(hi - lo)))
    return fits


def part_schema(shard: pa.Schema) -> pa.Schema:
    """The part files' schema: the sort key, the shard's columns, the exact bounds."""
    return pa.schema(
        [
            pa.field(SORT_KEY_COLUMN, pa.uint64()),
            *shard,
            *(pa.field(n, pa.float64()) for n in BOUNDS_COLUMNS),
        ]
    )


# ------------------------------------------------------------------------------ reduce


def read_parts(paths: Sequence[Path], schema: pa.Schema) -> pa.Table:
    """One cell's part files as one table (one chunk per column)."""
    tables = []
    for path in paths:
        with pa.memory_map(str(path)) as source:
            tables.append(ipc.open_file(source).read_all())
    return pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()


def reduce_cell(
    table: pa.Table,
    cell: str,
    root: Path,
    *,
    codec: Codec,
    max_rows: int,
    row_group_rows: int,
    keep: Sequence[str],
    rabitq_width: int | None = None,
) -> list[dict[str, Any]]:
    """Sort one cell's rows by (geohash key, id), split it while above ``max_rows`` and
    write its shards under ``root`` (each in Hilbert order); their manifest rows. The
    result does not depend on the order of the rows in ``table`` (ids are unique).
    ``rabitq_width`` is the factors column's width in the shards (the parts hold float32;
    6 narrows them to float16)."""
    if not table.num_rows:
        return []
    if rabitq_width is not None and rabitq_width != factors.WIDE:
        at = table.schema.get_field_index(factors.COLUMN)
        field = pa.field(factors.COLUMN, pa.binary(rabitq_width), nullable=False)
        table = table.set_column(at, field, factors.narrow(table.column(at)))
    order = pc.sort_indices(table, sort_keys=[(SORT_KEY_COLUMN, "ascending"), ("id", "ascending")])
    table = table.take(order)
    return [
        shards.write_shard(
            sub, sub_cell, root, codec=codec, row_group_rows=row_group_rows, keep=keep
        )
        for sub_cell, sub in _split(table, cell, max_rows)
    ]


def _split(table: pa.Table, cell: str, max_rows: int) -> list[tuple[str, pa.Table]]:
    """Split a sorted cell table into child cells while it holds more than ``max_rows``."""
    if table.num_rows <= max_rows or len(cell) >= fmt.SORT_KEY_PRECISION:
        return [(cell, table)]
    shift = 5 * (fmt.SORT_KEY_PRECISION - len(cell) - 1)
    child = (table.column(SORT_KEY_COLUMN).to_numpy() >> np.uint64(shift)) & np.uint64(31)
    bounds = np.searchsorted(child, np.arange(33, dtype=np.uint64))  # rows are sorted
    out: list[tuple[str, pa.Table]] = []
    for digit in range(32):
        lo, hi = int(bounds[digit]), int(bounds[digit + 1])
        if hi > lo:
            sub = table.slice(lo, hi - lo)
            out.extend(_split(sub, cell + geohash.ALPHABET[digit], max_rows))
    return out


def remove_parts(paths: Sequence[Path | str]) -> None:
    """Delete part files (those already gone are skipped): a cell's, once reduced.

    Examples
    --------
    >>> remove_parts(["/nonexistent/000001-000000.arrow"])
    """
    for path in paths:
        Path(path).unlink(missing_ok=True)


# --------------------------------------------------------------------------------- job


@dataclass
class PublishJob:
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

    def cells(self, count: Callable[[], list[Cell]]) -> list[Cell]:
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
        cells = count()
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

    def record_map(
        self, piece: int, files: dict[int, list[Path]], dropped: int, *, factors_f16: bool = True
    ) -> None:
        """Record piece ``piece`` as encoded: these part files (absolute paths) hold its
        rows (and maybe those of earlier unrecorded-file pieces of its group), and
        whether its ``rabitq`` factors all fit float16."""
        self.staging.save_json(
            f"map-{piece:06d}",
            {
                "files": {str(c): [str(p) for p in ps] for c, ps in files.items()},
                "dropped": dropped,
                "factors_f16": factors_f16,
            },
        )

    def rabitq_width(self, pieces: int) -> int | None:
        """The width of the shards' ``rabitq`` column once the ``pieces`` input pieces are
        all mapped (recorded): 6 (float16) when every piece's factors fit float16, else
        12 (float32); None for a codec without factors."""
        if factors.COLUMN not in self.part_schema.names:
            return None
        records = [self.staging.load_json(f"map-{i:06d}") for i in range(pieces)]
        fits = all(r is not None and r.get("factors_f16", True) for r in records)
        return 6 if fits else factors.WIDE

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
        self, cells: Iterable[int], parts: Mapping[int, Sequence[Path | str]]
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
                remove_parts(parts.get(i, []))
        return done, todo

    def finish_cell(self, i: int, rows: list[dict[str, Any]]) -> None:
        """Record cell ``i`` as finished with these manifest rows."""
        schema = fmt.manifest_schema()
        self.staging.save_table(f"cell-{i:06d}", pa.Table.from_pylist(rows, schema=schema))
