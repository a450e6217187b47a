"""Input side of publish: check the input files' columns, read validated batches.

The files are found and opened by :mod:`terrabit.corpus.input_files`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from terrabit.corpus.format import RESERVED_COLUMNS
from terrabit.corpus.input_files import (
    STREAM_BUFFER,
    InputPath,
    find_inputs,
    open_input,
    open_parquet,
)
from terrabit.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = [
    "Batch",
    "InputSet",
    "first_items",
    "prefetch",
    "string_hashes",
]

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_T = TypeVar("_T")

_HASH_MULT = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def string_hashes(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string (vectorised; equal strings, equal hashes).

    A positional polynomial over the UTF-8 bytes plus the length, finished with the
    splitmix64 mixer. Used to find candidate duplicate ids in one pass; colliding
    hashes are then compared exactly.

    Examples
    --------
    >>> h = string_hashes(pa.array(["a", "bc", "a", ""]))
    >>> bool(h[0] == h[2]), bool(h[0] != h[1]), len(set(h.tolist()))
    (True, True, 3)
    """
    arr = pc.cast(values, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if arr.null_count:
        arr = arr.fill_null("")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    starts = (offsets[:-1] - offsets[0]).astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    h = lengths.astype(np.uint64) * _MIX2
    if len(data):
        owner = np.repeat(np.arange(n), lengths)
        pos = np.arange(len(data), dtype=np.int64) - starts[owner]
        powers = np.cumprod(np.full(int(lengths.max()), _HASH_MULT, dtype=np.uint64))
        with np.errstate(over="ignore"):
            terms = (data.astype(np.uint64) + np.uint64(1)) * powers[pos]
        nonempty = lengths > 0
        h[nonempty] += np.add.reduceat(terms, starts[nonempty])
    with np.errstate(over="ignore"):
        h ^= h >> np.uint64(30)
        h *= _MIX1
        h ^= h >> np.uint64(27)
        h *= _MIX2
        h ^= h >> np.uint64(31)
    return h


def prefetch(items: Iterable[_T], depth: int = 2) -> Iterator[_T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (order kept).

    Parquet decoding and numpy release the GIL, so reading the next batch overlaps with
    encoding this one. An exception in the producer is raised in the consumer; closing
    the consumer stops the producer.

    Examples
    --------
    >>> list(prefetch(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put((False, item)):
                    return
            put((True, None))
        except BaseException as exc:  # handed to the consumer
            put((True, exc))

    worker = threading.Thread(target=run, name="terrabit-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            done, item = box.get()
            if done:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        worker.join()


def first_items(values: Sequence[Any], n: int = 10) -> str:
    """The first ``n`` values, for error messages, and how many more there are.

    Examples
    --------
    >>> first_items(["a", "b", "c"], 2)
    "'a', 'b' (and 1 more)"
    """
    shown = ", ".join(repr(v) for v in list(values)[:n])
    more = f" (and {len(values) - n} more)" if len(values) > n else ""
    return f"{shown}{more}"


@dataclass
class Batch:
    """Validated rows of one input batch, ready to encode."""

    ids: pa.Array
    wkb: pa.Array | None  # little-endian ISO WKB in CRS84 (when embeddings are read)
    bounds: _F64  # [n, 4] of the kept rows
    embedding: _F32 | None
    time: pa.Array | None
    keep: dict[str, pa.Array] = field(default_factory=dict)
    dropped: int = 0
    all_bounds: _F64 | None = None  # [n_in, 4], NaN rows for bad geometries


class InputSet:
    """The input files of one publish, with their columns checked against each other."""

    def __init__(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        *,
        id_col: str = "id",
        geometry_col: str = "geometry",
        embedding_col: str = "embedding",
        time_col: str | None = None,
        keep: Sequence[str] = (),
        drop_invalid: bool = False,
        lon_col: str | None = None,
        lat_col: str | None = None,
    ) -> None:
        if (lon_col is None) != (lat_col is None):
            raise InvalidInputError(
                "pass both lon_col and lat_col (point footprints) or neither (WKB geometry)",
                params=("lon_col", "lat_col"),
            )
        self.paths = find_inputs(inputs)
        self.id_col = id_col
        self.geometry_col = geometry_col
        self.lon_col = lon_col
        self.lat_col = lat_col
        self.packed = False  # embeddings already packed binary codes, used as is
        self.embedding_col = embedding_col
        self.keep = list(keep)
        self.drop_invalid = drop_invalid
        self.files = [open_parquet(p) for p in self.paths]
        self.rows = sum(f.metadata.num_rows for f in self.files)
        first = self.files[0].schema_arrow
        self.time_col = time_col
        if time_col is None and "datetime" in first.names:
            self.time_col = "datetime"
        self._transformers: list[Any] = []
        dims: dict[int, list[str]] = {}
        for path, pfile in zip(self.paths, self.files, strict=True):
            schema = pfile.schema_arrow
            self._check_columns(path, schema)
            d = self._fixed_dims(path, schema.field(embedding_col).type)
            if d is not None:
                dims.setdefault(d, []).append(path.name)
            self._transformers.append(
                None if lon_col is not None else self._transformer(path, pfile)
            )
        kinds = {self._is_packed(f.schema_arrow.field(embedding_col).type) for f in self.files}
        if len(kinds) > 1:
            raise InvalidInputError(
                "some inputs hold float embeddings and others packed binary codes; publish "
                "them separately"
            )
        self.packed = kinds.pop()
        if len(dims) > 1:
            parts = "; ".join(
                f"{d} in {first_items(names, 3)}" for d, names in sorted(dims.items())
            )
            raise InvalidInputError(
                f"input files disagree on the embedding dimension ({parts}); publish files of "
                "one model and dimension together"
            )
        self.dims: int | None = next(iter(dims), None)
        self.keep_fields = [first.field(name) for name in self.keep]
        # what one Dask task reads (see subset): the row groups of each file (None: all)
        # and the names of the files' bounds caches
        self.row_groups: list[list[int] | None] = [None] * len(self.paths)
        self.cache_names = [f"{i:06d}" for i in range(len(self.paths))]

    # ------------------------------------------------------------- distribution
    def subset(self, index: int, row_groups: Sequence[int] | None = None) -> InputSet:
        """The input set of file ``index`` alone (only ``row_groups`` of it, when given),
        with every setting of this one (the dimension, the time column, the packing): what
        one Dask task reads. Its bounds cache has a name of its own. It pickles without its
        open files, which are reopened (one metadata read) where it is unpickled.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> a = write_input(tmp / "a.parquet", rows=5, dims=8)
        >>> b = write_input(tmp / "b.parquet", rows=70, dims=8, seed=1, row_group_rows=20)
        >>> one = InputSet([a, b]).subset(1, [2, 3])
        >>> one.paths[0].name, one.rows, one.cache_names
        ('b.parquet', 30, ['000001-000002'])
        """
        part = copy.copy(self)
        meta = self.files[index].metadata
        part.paths = [self.paths[index]]
        part.files = [self.files[index]]
        part._transformers = [self._transformers[index]]
        part.keep = list(self.keep)
        if row_groups is None:
            part.row_groups = [None]
            part.cache_names = [self.cache_names[index]]
            part.rows = meta.num_rows
        else:
            groups = [int(g) for g in row_groups]
            part.row_groups = [groups]
            part.cache_names = [f"{self.cache_names[index]}-{groups[0] if groups else 0:06d}"]
            part.rows = sum(meta.row_group(g).num_rows for g in groups)
        return part

    def pieces(self, rows: int) -> list[tuple[str, InputSet]]:
        """``(name, subset)`` of the pieces a publish encodes one at a time: consecutive
        row groups of one file holding at least ``rows`` rows (the last of a file may hold
        fewer; a file of one row group, or of at most ``rows`` rows, is one piece).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> b = write_input(tmp / "b.parquet", rows=70, dims=8, seed=1, row_group_rows=20)
        >>> [(part.rows, part.cache_names[0]) for _, part in InputSet([b]).pieces(30)]
        [(40, '000000-000000'), (30, '000000-000002')]
        """
        out: list[tuple[str, InputSet]] = []
        for i, (path, pfile) in enumerate(zip(self.paths, self.files, strict=True)):
            meta = pfile.metadata
            if meta.num_row_groups <= 1 or meta.num_rows <= rows:
                out.append((repr(str(path)), self.subset(i)))
                continue
            group: list[int] = []
            held = 0
            for g in range(meta.num_row_groups):
                group.append(g)
                held += meta.row_group(g).num_rows
                if held >= rows or g == meta.num_row_groups - 1:
                    name = f"{str(path)!r} (row groups {group[0]}-{group[-1]})"
                    out.append((name, self.subset(i, group)))
                    group, held = [], 0
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["files"] = None
        state["_transformers"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.files = [open_parquet(p) for p in self.paths]
        self._transformers = [
            None if self.lon_col is not None else self._transformer(p, f)
            for p, f in zip(self.paths, self.files, strict=True)
        ]

    # ----------------------------------------------------------------- checks
    def _check_columns(self, path: InputPath, schema: pa.Schema) -> None:
        named = [("id_col", self.id_col), ("embedding_col", self.embedding_col)]
        if self.lon_col is not None and self.lat_col is not None:
            named += [("lon_col", self.lon_col), ("lat_col", self.lat_col)]
        else:
            named.append(("geometry_col", self.geometry_col))
        if self.time_col is not None:
            named.append(("time_col", self.time_col))
        named += [("keep", name) for name in self.keep]
        missing = [(param, col) for param, col in named if col not in schema.names]
        if missing:
            what = ", ".join(f"{col!r} ({param})" for param, col in missing)
            raise InvalidInputError(
                f"{path.name}: no column {what}; the file has columns {schema.names}; "
                "name the right ones with id_col/geometry_col/embedding_col/time_col/keep",
                params=("id_col", "geometry_col", "embedding_col", "time_col", "keep",
                        *(param for param, _ in missing)),
            )  # fmt: skip
        clash = [name for name in self.keep if name in RESERVED_COLUMNS]
        if clash:
            raise InvalidInputError(
                f"keep={clash} would clash with corpus columns {list(RESERVED_COLUMNS)}; "
                "rename those input columns first",
                params=("keep",),
            )
        if self.lon_col is not None and self.lat_col is not None:
            for param, name in (("lon_col", self.lon_col), ("lat_col", self.lat_col)):
                ctype = schema.field(name).type
                if not (pa.types.is_floating(ctype) or pa.types.is_integer(ctype)):
                    raise InvalidInputError(
                        f"{path.name}: {param} column {name!r} is {ctype}, not a number of degrees",
                        params=(param,),
                    )
            return_geometry = False
        else:
            return_geometry = True
        gtype = schema.field(self.geometry_col).type if return_geometry else pa.binary()
        if not (pa.types.is_binary(gtype) or pa.types.is_large_binary(gtype)):
            raise InvalidInputError(
                f"{path.name}: geometry column {self.geometry_col!r} is {gtype}, not WKB "
                "binary; write the geometry as WKB (GeoParquet) or name another column with "
                "geometry_col",
                params=("geometry_col",),
            )
        if self.time_col is not None:
            ttype = schema.field(self.time_col).type
            if not (pa.types.is_timestamp(ttype) or pa.types.is_date(ttype)):
                raise InvalidInputError(
                    f"{path.name}: time column {self.time_col!r} is {ttype}, not a timestamp"
                )

    @staticmethod
    def _is_packed(etype: pa.DataType) -> bool:
        return bool(
            pa.types.is_fixed_size_binary(etype)
            or pa.types.is_binary(etype)
            or pa.types.is_large_binary(etype)
        )

    def _fixed_dims(self, path: InputPath, etype: pa.DataType) -> int | None:
        if pa.types.is_fixed_size_binary(etype):
            return 8 * int(etype.byte_width)
        if self._is_packed(etype):
            return None
        if (
            pa.types.is_fixed_size_list(etype)
            or pa.types.is_list(etype)
            or (pa.types.is_large_list(etype))
        ):
            if not pa.types.is_floating(etype.value_type):
                raise InvalidInputError(
                    f"{path.name}: embedding column {self.embedding_col!r} holds "
                    f"{etype.value_type}, not floats; publish float embeddings"
                )
            return int(etype.list_size) if pa.types.is_fixed_size_list(etype) else None
        raise InvalidInputError(
            f"{path.name}: embedding column {self.embedding_col!r} is {etype}; expected a "
            "list or fixed-size list of floats, or packed binary codes (fixed_size_binary)"
        )

    def _transformer(self, path: InputPath, pfile: pq.ParquetFile) -> Any:
        raw = (pfile.schema_arrow.metadata or {}).get(b"geo")
        if raw is None:
            return None
        try:
            meta = json.loads(raw)
            crs = meta["columns"][self.geometry_col].get("crs")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if crs is None:
            return None
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        try:
            source = CRS.from_user_input(crs)
        except CRSError as exc:
            raise InvalidInputError(
                f"{path.name}: unreadable CRS in the geo metadata: {exc}"
            ) from exc
        if source.equals(CRS.from_string("OGC:CRS84"), ignore_axis_order=True):
            return None
        return Transformer.from_crs(source, "OGC:CRS84", always_xy=True)

    # ------------------------------------------------------------------ reading
    def batch_rows(self) -> int:
        """Rows per batch so that a float batch stays near 32 MB (cache friendly)."""
        d = self.dims or 1024
        return int(max(1024, min(65536, (32 << 20) // (4 * d))))

    def iter_batches(
        self, *, embeddings: bool, extra: bool, cache: Path | None = None
    ) -> Iterator[Batch]:
        """Validated batches of every file in order (geometry always; the rest on demand).

        With ``cache``, the first pass (``embeddings=False``) records each row's geometry
        bounds there (NaN for a bad geometry) and later passes read them back instead of
        parsing the WKB again.
        """
        for i, (path, pfile) in enumerate(zip(self.paths, self.files, strict=True)):
            cols = [self.id_col, *self._geometry_cols()]
            if embeddings:
                cols.append(self.embedding_col)
            if extra:
                if self.time_col is not None:
                    cols.append(self.time_col)
                cols.extend(self.keep)
            cols = list(dict.fromkeys(cols))
            cache_file = None if cache is None else cache / f"bounds-{self.cache_names[i]}.f64"
            reading = cache_file is not None and embeddings
            offset = 0
            # a fresh reader per pass, without pre-buffering: a pre-buffering reader keeps
            # every column chunk it has read, i.e. the whole input, until it is dropped
            reader = pq.ParquetFile(
                open_input(path),
                pre_buffer=False,
                buffer_size=STREAM_BUFFER,
                metadata=pfile.metadata,
            )
            batches = reader.iter_batches(
                batch_size=self.batch_rows(),
                row_groups=self.row_groups[i],
                columns=cols,
                use_threads=False,
            )
            for rb in batches:
                cached = None
                if reading:
                    assert cache_file is not None
                    cached = np.fromfile(
                        cache_file, dtype=np.float64, count=4 * len(rb), offset=offset
                    ).reshape(-1, 4)
                    offset += cached.nbytes
                batch = self._validate(
                    path, rb, i, embeddings=embeddings, extra=extra, cached=cached
                )
                if cache_file is not None and not embeddings:
                    with cache_file.open("ab") as fh:
                        fh.write(np.ascontiguousarray(batch.all_bounds).tobytes())
                yield batch

    def _geometry_cols(self) -> list[str]:
        if self.lon_col is not None and self.lat_col is not None:
            return [self.lon_col, self.lat_col]
        return [self.geometry_col]

    def _point_bounds(self, rb: pa.RecordBatch) -> _F64:
        """Bounds of the lon/lat points; NaN rows for null or out-of-range points."""
        assert self.lon_col is not None and self.lat_col is not None
        xy = [
            np.asarray(
                pc.cast(rb.column(c), pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64
            )
            for c in (self.lon_col, self.lat_col)
        ]
        bounds = np.column_stack([xy[0], xy[1], xy[0], xy[1]])
        with np.errstate(invalid="ignore"):
            broken = ~np.isfinite(bounds).all(axis=1)
            broken |= (np.abs(xy[0]) > 180) | (np.abs(xy[1]) > 90)
        bounds[broken] = np.nan
        return bounds

    def _geometry(
        self, path: InputPath, col: pa.Array, file_index: int
    ) -> tuple[npt.NDArray[np.object_], _F64]:
        """Parse (and reproject) WKB; bounds with NaN rows for bad geometries."""
        wkb = col.to_numpy(zero_copy_only=False)
        geoms = np.empty(len(wkb), dtype=object)
        null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        try:
            geoms[~null] = shapely.from_wkb(wkb[~null], on_invalid="ignore")
        except Exception as exc:  # pragma: no cover - shapely raises for odd input types
            raise InvalidInputError(f"{path.name}: unreadable WKB geometry: {exc}") from exc
        transformer = self._transformers[file_index]
        if transformer is not None:
            geoms = shapely.transform(
                geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            )
        broken = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        bounds = shapely.bounds(geoms)
        with np.errstate(invalid="ignore"):
            broken |= ~np.isfinite(bounds).all(axis=1)
            broken |= (bounds[:, 0] < -180) | (bounds[:, 2] > 180)
            broken |= (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
        bounds[broken] = np.nan
        return geoms, bounds

    def _wkb_out(self, col: pa.Array, file_index: int) -> pa.Array:
        """The geometry as little-endian ISO WKB in CRS84: passed through when it already
        is (2D, no SRID), else parsed, reprojected and rewritten."""
        col = pc.cast(col, pa.binary())
        if self._transformers[file_index] is None and len(col):
            arr = col.fill_null(b"") if col.null_count else col
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
                arr.offset : arr.offset + len(arr) + 1
            ]
            data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
            starts = offsets[:-1]
            if (np.diff(offsets) >= 5).all():
                kind = data[starts + 1].astype(np.uint32) | (
                    data[starts + 2].astype(np.uint32) << 8
                )
                kind |= (data[starts + 3].astype(np.uint32) << 16) | (
                    data[starts + 4].astype(np.uint32) << 24
                )
                if (data[starts] == 1).all() and ((kind >= 1) & (kind <= 7)).all():
                    return col
        geoms, _ = self._geometry(Path("-"), col, file_index)
        return pa.array(shapely.to_wkb(geoms, byte_order=1, flavor="iso"), pa.binary())

    def _validate(
        self,
        path: InputPath,
        rb: pa.RecordBatch,
        file_index: int,
        *,
        embeddings: bool,
        extra: bool,
        cached: _F64 | None = None,
    ) -> Batch:
        ids = rb.column(self.id_col)
        if ids.null_count:
            raise InvalidInputError(
                f"{path.name}: {ids.null_count} rows have a null id; every row needs an id"
            )
        ids = pc.cast(ids, pa.string())
        bad = np.zeros(len(rb), dtype=bool)
        reasons: list[str] = []

        points = self.lon_col is not None
        gcol = None if points else rb.column(self.geometry_col)
        if cached is not None:
            bounds = cached
        elif gcol is None:
            bounds = self._point_bounds(rb)
        else:
            _, bounds = self._geometry(path, gcol, file_index)
        all_bounds = bounds
        broken = np.isnan(bounds[:, 0])
        if broken.any():
            bad |= broken
            reasons.append(
                f"{int(broken.sum())} rows have a missing, empty, unreadable or out-of-range "
                f"geometry (ids {first_items(_ids_at(ids, broken))})"
            )

        X: _F32 | None = None
        wkb = None
        if embeddings:
            X, invalid, why = self._embedding(path, rb.column(self.embedding_col), ids)
            if invalid.any():
                bad |= invalid
                reasons.append(why)
            wkb = _point_wkb(bounds) if gcol is None else self._wkb_out(gcol, file_index)
            if gcol is not None:
                wkb = self._valid_footprints(path, wkb, ids, bad)
        if bad.any() and not self.drop_invalid:
            raise InvalidInputError(
                f"{path.name}: " + "; ".join(reasons) + "; fix the input or pass "
                "drop_invalid=True to drop such rows (they are counted)",
                params=("drop_invalid",),
            )
        keep_mask = ~bad
        time = None
        keep: dict[str, pa.Array] = {}
        if extra:
            if self.time_col is not None:
                time = rb.column(self.time_col)
            keep = {name: rb.column(name) for name in self.keep}
        if bad.any():
            mask = pa.array(keep_mask)
            ids = ids.filter(mask)
            bounds = bounds[keep_mask]
            wkb = None if wkb is None else wkb.filter(mask)
            X = None if X is None else X[keep_mask]
            time = None if time is None else time.filter(mask)
            keep = {k: v.filter(mask) for k, v in keep.items()}
        return Batch(ids, wkb, bounds, X, time, keep, dropped=int(bad.sum()), all_bounds=all_bounds)

    def _valid_footprints(
        self, path: InputPath, wkb: pa.Array, ids: pa.Array, bad: npt.NDArray[np.bool_]
    ) -> pa.Array:
        """``wkb`` with its invalid footprints (OGC validity: a self-intersecting ring, …)
        repaired by ``shapely.make_valid`` (a warning says how many and which), or — with
        ``drop_invalid`` — marked in ``bad`` to be dropped and counted."""
        geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False), on_invalid="ignore")
        invalid = ~bad & ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
        if not invalid.any():
            return wkb
        which = first_items(_ids_at(ids, invalid))
        if self.drop_invalid:
            bad |= invalid
            log.warning(
                "%s: dropped %d invalid (self-intersecting) footprints (ids %s)",
                path.name,
                int(invalid.sum()),
                which,
            )
            return wkb
        fixed = shapely.make_valid(geoms[invalid])
        out = np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object).copy()
        out[invalid] = shapely.to_wkb(fixed, byte_order=1, flavor="iso")
        log.warning(
            "%s: repaired %d invalid (self-intersecting) footprints with make_valid (ids %s); "
            "pass --drop-invalid to drop them instead",
            path.name,
            int(invalid.sum()),
            which,
        )
        return pa.array(out, pa.binary())

    def _codes(
        self, path: InputPath, col: pa.Array, ids: pa.Array, invalid: npt.NDArray[np.bool_]
    ) -> tuple[Any, npt.NDArray[np.bool_], str]:
        """Packed binary codes ``[n, code_size]`` uint8, used as they are."""
        n = len(col)
        if pa.types.is_fixed_size_binary(col.type):
            size = int(col.type.byte_width)
        else:
            lengths = pc.binary_length(col).fill_null(-1).to_numpy()
            if self.dims is None and (lengths >= 0).any():
                self.dims = 8 * int(lengths[lengths >= 0][0])
            size = (self.dims or 0) // 8
            wrong = (lengths != size) & ~invalid
            if wrong.any():
                raise InvalidInputError(
                    f"{path.name}: packed codes of mixed sizes: expected {size} bytes per row "
                    f"(the first row's), but ids {first_items(_ids_at(ids, wrong))} differ"
                )
            col = col.fill_null(b"\0" * size).cast(pa.binary(size))
        col = col.fill_null(b"\0" * size) if col.null_count else col
        data = np.frombuffer(col.buffers()[1], dtype=np.uint8)
        codes = data[col.offset * size : (col.offset + n) * size].reshape(n, size)
        why = ""
        if invalid.any():
            why = (
                f"{int(invalid.sum())} rows have a null embedding "
                f"(ids {first_items(_ids_at(ids, invalid))})"
            )
        return codes, invalid, why

    def _embedding(
        self, path: InputPath, col: pa.Array, ids: pa.Array
    ) -> tuple[_F32, npt.NDArray[np.bool_], str]:
        n = len(col)
        invalid = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool).copy()
        if self.packed:
            return self._codes(path, col, ids, invalid)
        if pa.types.is_fixed_size_list(col.type):
            d = col.type.list_size
            flat = (
                col.flatten() if not col.null_count else pc.list_flatten(col.fill_null([0.0] * d))
            )
            X = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(n, d)
        else:
            lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
            lengths = np.where(invalid, -1, lengths)
            if self.dims is None:
                valid_lengths = lengths[~invalid]
                self.dims = int(valid_lengths[0]) if len(valid_lengths) else None
            d = self.dims or 0
            wrong = (lengths != d) & ~invalid
            if wrong.any():
                rows = first_items(
                    [
                        f"{i} ({n_})"
                        for i, n_ in zip(_ids_at(ids, wrong), lengths[wrong], strict=True)
                    ]
                )
                raise InvalidInputError(
                    f"{path.name}: embeddings of mixed dimensions: expected {d} values per row "
                    f"(the first row's), but ids {rows} differ; publish one dimension at a time"
                )
            X = np.zeros((n, d), dtype=np.float32)
            ok = ~invalid
            if ok.any():
                X[ok] = np.asarray(
                    pc.list_flatten(col.filter(pa.array(ok))).to_numpy(zero_copy_only=False),
                    dtype=np.float32,
                ).reshape(-1, d)
        invalid |= _non_finite_rows(X)
        why = ""
        if invalid.any():
            why = (
                f"{int(invalid.sum())} rows have a null, NaN or infinite embedding "
                f"(ids {first_items(_ids_at(ids, invalid))})"
            )
        return X, invalid, why


def _point_wkb(bounds: _F64) -> pa.Array:
    """Little-endian ISO WKB points at ``bounds[:, 0], bounds[:, 1]`` (21 bytes each)."""
    n = len(bounds)
    rec = np.zeros(
        n, dtype=np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
    )
    rec["order"] = 1
    rec["kind"] = 1
    rec["x"] = bounds[:, 0]
    rec["y"] = bounds[:, 1]
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(21), n, [None, pa.py_buffer(rec)])
    return fixed.cast(pa.binary())


def _ids_at(ids: pa.Array, mask: npt.NDArray[np.bool_]) -> list[Any]:
    """The ids of the rows where ``mask`` is set (for messages; converted only then)."""
    return list(ids.filter(pa.array(mask)).to_pylist())


def _non_finite_rows(X: _F32) -> npt.NDArray[np.bool_]:
    """Rows holding a NaN or an infinity: a row sum (BLAS) is finite for the others,
    except when it overflows, so only rows with a non-finite sum are checked exactly."""
    if X.size == 0:
        return np.zeros(len(X), dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        sums = X @ np.ones(X.shape[1], dtype=X.dtype)
        suspect = np.flatnonzero(~np.isfinite(sums))
        out = np.zeros(len(X), dtype=bool)
        if len(suspect):
            out[suspect] = ~np.isfinite(X[suspect]).all(axis=1)
    return out
