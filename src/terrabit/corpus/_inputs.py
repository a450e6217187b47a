"""Input side of publish: find the files, check their columns, read validated batches."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from terrabit.corpus.format import RESERVED_COLUMNS
from terrabit.errors import InvalidInputError

__all__ = ["Batch", "InputSet", "find_inputs", "first_items"]

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]


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


def find_inputs(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand files, folders (``*.parquet`` below them) and globs to a sorted file list."""
    found: set[Path] = set()
    for item in inputs:
        text = os.fspath(item)
        if "://" in text:
            raise InvalidInputError(
                f"input {text!r} is a URL; publish reads local files only for now — "
                "download it first"
            )
        path = Path(text)
        if path.is_dir():
            found.update(p for p in path.rglob("*.parquet") if p.is_file())
        elif path.is_file():
            found.add(path)
        elif any(ch in text for ch in "*?["):
            matches = [Path(p) for p in glob.glob(text, recursive=True)]
            if not matches:
                raise InvalidInputError(f"input glob {text!r} matches no file")
            found.update(p for p in matches if p.is_file())
        else:
            raise InvalidInputError(
                f"input {text!r} does not exist; pass GeoParquet files, folders or globs"
            )
    if not found:
        raise InvalidInputError(
            "no input files: the inputs hold no *.parquet file; pass GeoParquet files, "
            "folders or globs"
        )
    return sorted(p.resolve() for p in found)


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
    ) -> None:
        self.paths = find_inputs(inputs)
        self.id_col = id_col
        self.geometry_col = geometry_col
        self.embedding_col = embedding_col
        self.keep = list(keep)
        self.drop_invalid = drop_invalid
        self.files = [pq.ParquetFile(p) for p in self.paths]
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
            self._transformers.append(self._transformer(path, pfile))
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

    # ----------------------------------------------------------------- checks
    def _check_columns(self, path: Path, schema: pa.Schema) -> None:
        named = {
            "--id-col": self.id_col,
            "--geometry-col": self.geometry_col,
            "--embedding-col": self.embedding_col,
        }
        if self.time_col is not None:
            named["--time-col"] = self.time_col
        for name in self.keep:
            named[f"--keep {name}"] = name
        missing = [(opt, col) for opt, col in named.items() if col not in schema.names]
        if missing:
            what = ", ".join(f"{col!r} ({opt})" for opt, col in missing)
            raise InvalidInputError(
                f"{path.name}: no column {what}; the file has columns {schema.names}; "
                "name the right ones with --id-col/--geometry-col/--embedding-col/"
                "--time-col/--keep"
            )
        clash = [name for name in self.keep if name in RESERVED_COLUMNS]
        if clash:
            raise InvalidInputError(
                f"--keep {clash} would clash with corpus columns {list(RESERVED_COLUMNS)}; "
                "rename those input columns first"
            )
        gtype = schema.field(self.geometry_col).type
        if not (pa.types.is_binary(gtype) or pa.types.is_large_binary(gtype)):
            raise InvalidInputError(
                f"{path.name}: geometry column {self.geometry_col!r} is {gtype}, not WKB "
                "binary; write the geometry as WKB (GeoParquet) or pass --geometry-col"
            )
        if self.time_col is not None:
            ttype = schema.field(self.time_col).type
            if not (pa.types.is_timestamp(ttype) or pa.types.is_date(ttype)):
                raise InvalidInputError(
                    f"{path.name}: time column {self.time_col!r} is {ttype}, not a timestamp"
                )

    def _fixed_dims(self, path: Path, etype: pa.DataType) -> int | None:
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
            "list or fixed-size list of floats (pre-packed binary codes are not supported)"
        )

    def _transformer(self, path: Path, pfile: pq.ParquetFile) -> Any:
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
        """Rows per batch so that a float batch stays near 64 MB."""
        d = self.dims or 1024
        return int(max(1024, min(65536, (64 << 20) // (4 * d))))

    def iter_batches(
        self, *, embeddings: bool, extra: bool, cache: Path | None = None
    ) -> Iterator[Batch]:
        """Validated batches of every file in order (geometry always; the rest on demand).

        With ``cache``, the first pass (``embeddings=False``) records each row's geometry
        bounds there (NaN for a bad geometry) and later passes read them back instead of
        parsing the WKB again.
        """
        for i, (path, pfile) in enumerate(zip(self.paths, self.files, strict=True)):
            cols = [self.id_col, self.geometry_col]
            if embeddings:
                cols.append(self.embedding_col)
            if extra:
                if self.time_col is not None:
                    cols.append(self.time_col)
                cols.extend(self.keep)
            cols = list(dict.fromkeys(cols))
            cache_file = None if cache is None else cache / f"bounds-{i:06d}.f64"
            reading = cache_file is not None and embeddings
            offset = 0
            # a fresh reader per pass, without pre-buffering: a pre-buffering reader keeps
            # every column chunk it has read, i.e. the whole input, until it is dropped
            reader = pq.ParquetFile(path, pre_buffer=False, metadata=pfile.metadata)
            for rb in reader.iter_batches(batch_size=self.batch_rows(), columns=cols):
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

    def _geometry(
        self, path: Path, col: pa.Array, file_index: int
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
        path: Path,
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
        id_list = ids.to_numpy(zero_copy_only=False)
        bad = np.zeros(len(rb), dtype=bool)
        reasons: list[str] = []

        gcol = rb.column(self.geometry_col)
        if cached is None:
            _, bounds = self._geometry(path, gcol, file_index)
        else:
            bounds = cached
        all_bounds = bounds
        broken = np.isnan(bounds[:, 0])
        if broken.any():
            bad |= broken
            reasons.append(
                f"{int(broken.sum())} rows have a missing, empty, unreadable or out-of-range "
                f"geometry (ids {first_items(id_list[broken].tolist())})"
            )

        X: _F32 | None = None
        if embeddings:
            X, invalid, why = self._embedding(path, rb.column(self.embedding_col), id_list)
            if invalid.any():
                bad |= invalid
                reasons.append(why)
        if bad.any() and not self.drop_invalid:
            raise InvalidInputError(
                f"{path.name}: " + "; ".join(reasons) + "; fix the input or pass --drop-invalid "
                "to drop such rows (they are counted)"
            )
        keep_mask = ~bad
        wkb = self._wkb_out(gcol, file_index) if embeddings else None
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

    def _embedding(
        self, path: Path, col: pa.Array, id_list: npt.NDArray[Any]
    ) -> tuple[_F32, npt.NDArray[np.bool_], str]:
        n = len(col)
        invalid = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool).copy()
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
                    [f"{i} ({n_})" for i, n_ in zip(id_list[wrong], lengths[wrong], strict=True)]
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
        with np.errstate(invalid="ignore", over="ignore"):
            invalid |= ~np.isfinite(X).all(axis=1)
        why = (
            f"{int(invalid.sum())} rows have a null, NaN or infinite embedding "
            f"(ids {first_items(id_list[invalid].tolist())})"
        )
        return X, invalid, why
