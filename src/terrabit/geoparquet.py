"""GeoParquet 1.1: ``geo`` metadata, its checks, covering bbox columns and an atomic writer.

One place for what every terrabit GeoParquet file (world patches, AEF tile index, zones,
corpus shards) must agree on: a WKB ``geometry`` primary column in ``OGC:CRS84``
(lon/lat on WGS 84) described by GeoParquet 1.1.0 ``geo`` metadata, optionally with a
``bbox`` covering column ``struct<xmin, ymin, xmax, ymax>`` that lets readers prune row
groups by their statistics.

Examples
--------
>>> geo = geo_metadata((0.0, 0.0, 1.0, 1.0), ["Polygon"])
>>> geo["version"], geo["primary_column"], geo["columns"]["geometry"]["encoding"]
('1.1.0', 'geometry', 'WKB')
>>> import pyarrow as pa
>>> schema = pa.schema([("geometry", pa.binary()), ("bbox", bbox_type())])
>>> validate_geo_metadata(geo, schema)
[]
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit._arrow import array
from terrabit._atomic import atomic_file
from terrabit._validation import check_choice
from terrabit.errors import InvalidInputError

__all__ = [
    "BBOX_FIELDS",
    "CRS84",
    "GEOMETRY_TYPES",
    "GEOPARQUET_VERSION",
    "GEO_KEY",
    "GeoParquetWriter",
    "bbox_column",
    "bbox_type",
    "crs84_projjson",
    "geo_metadata",
    "open_parquet",
    "validate_geo_metadata",
    "write_geoparquet",
]

GEOPARQUET_VERSION = "1.1.0"
"""The GeoParquet version written."""
GEO_KEY = b"geo"
"""Parquet key-value metadata key of the GeoParquet metadata JSON."""
CRS84 = "OGC:CRS84"
"""The CRS of every terrabit geometry: longitude, latitude on WGS 84."""
BBOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")
"""Fields of a covering ``bbox`` struct column, in order."""
GEOMETRY_TYPES = frozenset(
    f"{base}{suffix}"
    for base in (
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    )
    for suffix in ("", " Z")  # GeoParquet 1.1 allows only 2D and " Z" names
)
"""The ``geometry_types`` names GeoParquet 1.1 allows."""


# ------------------------------------------------------------------------------- CRS


@functools.cache
def _projjson_text(crs: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidInputError(
            f"crs {crs!r} is not a CRS pyproj knows ({exc}); pass e.g. 'OGC:CRS84' or 'EPSG:4326'"
        ) from exc
    return json.dumps(parsed.to_json_dict(), sort_keys=True)


def crs84_projjson() -> dict[str, Any]:
    """PROJJSON of ``OGC:CRS84`` (a fresh dict, keys sorted at every level).

    Examples
    --------
    >>> crs84_projjson()["id"]
    {'authority': 'OGC', 'code': 'CRS84'}
    """
    parsed: dict[str, Any] = json.loads(_projjson_text(CRS84))
    return parsed


def _crs_value(crs: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if crs is None:
        return None
    if isinstance(crs, str):
        parsed: dict[str, Any] = json.loads(_projjson_text(crs))
        return parsed
    if isinstance(crs, Mapping):
        return json.loads(json.dumps(crs))
    raise InvalidInputError(
        f"crs must be a CRS string such as 'OGC:CRS84', a PROJJSON dict or None; "
        f"got {type(crs).__name__}"
    )


# -------------------------------------------------------------------------- metadata


def geo_metadata(
    bbox: Sequence[float] | npt.NDArray[np.floating[Any]],
    geometry_types: Sequence[str],
    *,
    covering: bool = True,
    crs: str | Mapping[str, Any] | None = CRS84,
    edges: str | None = None,
    orientation: str | None = None,
) -> dict[str, Any]:
    """GeoParquet 1.1.0 ``geo`` metadata of a file with one WKB ``geometry`` column.

    Serialize it with ``json.dumps(...).encode()`` under the key :data:`GEO_KEY`.

    Parameters
    ----------
    bbox : 4 or 6 finite numbers
        Extent of all geometries, ``(xmin, ymin, xmax, ymax)``.
    geometry_types : sequence of str
        GeoParquet geometry type names (:data:`GEOMETRY_TYPES`); written sorted and
        without repeats. Empty means "any type".
    covering : bool, default True
        Declare the covering column ``bbox`` (see :func:`bbox_type`).
    crs : str, PROJJSON dict or None, default ``"OGC:CRS84"``
        A string is resolved to PROJJSON by pyproj; ``None`` writes ``"crs": null``
        (an unknown CRS).
    edges : {"planar", "spherical"}, optional
        Written only when given (GeoParquet's default is planar).
    orientation : {"counterclockwise"}, optional
        Written only when given: polygons' exterior rings are counterclockwise.

    Returns
    -------
    dict
        Keys in the order ``version``, ``primary_column``, ``columns``; the column's keys
        ``encoding``, ``geometry_types``, ``crs``, [``edges``], [``orientation``],
        ``bbox``, [``covering``].

    Examples
    --------
    >>> geo = geo_metadata((0, 0, 1, 1), ["Polygon", "Point", "Polygon"])
    >>> geo["columns"]["geometry"]["geometry_types"]
    ['Point', 'Polygon']
    >>> geo["columns"]["geometry"]["covering"]["bbox"]["xmin"]
    ['bbox', 'xmin']
    >>> "covering" in geo_metadata((0, 0, 1, 1), ["Point"], covering=False)["columns"]["geometry"]
    False
    """
    if isinstance(geometry_types, str):
        raise InvalidInputError(
            f"geometry_types must be a list of names, e.g. ['Polygon']; got {geometry_types!r}"
        )
    types = sorted(set(geometry_types))
    unknown = [t for t in types if t not in GEOMETRY_TYPES]
    if unknown:
        raise InvalidInputError(
            f"geometry_types has unknown names {unknown}; use GeoParquet names such as "
            "'Point', 'Polygon', 'MultiPolygon' or 'Polygon Z'"
        )
    try:
        box = [float(v) for v in bbox]
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"bbox must be 4 or 6 numbers; got {bbox!r}") from exc
    if len(box) not in (4, 6) or not all(math.isfinite(v) for v in box):
        raise InvalidInputError(
            f"bbox must be 4 or 6 finite numbers (xmin, ymin, [zmin,] xmax, ymax[, zmax]); "
            f"got {box}"
        )
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": types,
        "crs": _crs_value(crs),
    }
    if edges is not None:
        column["edges"] = check_choice("edges", edges, ("planar", "spherical"))
    if orientation is not None:
        column["orientation"] = check_choice("orientation", orientation, ("counterclockwise",))
    column["bbox"] = box
    if covering:
        column["covering"] = {"bbox": {name: ["bbox", name] for name in BBOX_FIELDS}}
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {"geometry": column},
    }


def _struct_leaf(schema: pa.Schema, path: Sequence[Any]) -> pa.DataType | None:
    if len(path) != 2 or not all(isinstance(p, str) for p in path):
        return None
    idx = schema.get_field_index(path[0])
    if idx < 0 or not pa.types.is_struct(schema.field(idx).type):
        return None
    struct = schema.field(idx).type
    j = struct.get_field_index(path[1])
    return None if j < 0 else struct.field(j).type


def validate_geo_metadata(geo: Any, schema: pa.Schema) -> list[str]:
    """Check ``geo`` metadata against the GeoParquet 1.1 rules; return the problems found.

    The checks follow the GeoParquet 1.1.0 specification and its JSON schema
    (``format-specs/schema.json``; re-implemented here because no validator package
    installs without conflicts): a
    ``version`` string, a ``primary_column`` that is one of ``columns``, and for each
    geometry column: it exists and is binary, ``encoding`` is ``"WKB"``,
    ``geometry_types`` is a list of unique names matching
    ``^(GeometryCollection|(Multi)?(Point|LineString|Polygon))( Z)?$``, ``crs`` is
    absent, null or a PROJJSON object, ``edges`` and ``orientation`` take their allowed
    values, ``bbox`` has 4 or 6 finite numbers, and a ``covering.bbox``
    names float/double leaves ``[column, "xmin"]`` … of one struct column.

    Examples
    --------
    >>> schema = pa.schema([("geometry", pa.binary()), ("bbox", bbox_type())])
    >>> validate_geo_metadata(geo_metadata((0, 0, 1, 1), ["Polygon"]), schema)
    []
    >>> validate_geo_metadata({"version": "1.1.0", "primary_column": "geom", "columns": {}},
    ...                       schema)
    ["primary_column 'geom' is not one of the columns described in 'columns'"]
    """
    if not isinstance(geo, Mapping):
        return ["geo metadata is not a JSON object"]
    problems: list[str] = []
    version = geo.get("version")
    if not isinstance(version, str) or not version.startswith("1."):
        problems.append(f"version must be a '1.x' string, got {version!r}")
    columns = geo.get("columns")
    if not isinstance(columns, Mapping) or (not columns and geo.get("primary_column") is None):
        return [*problems, "columns must be an object describing the geometry columns"]
    primary = geo.get("primary_column")
    if primary not in columns:
        problems.append(
            f"primary_column {primary!r} is not one of the columns described in 'columns'"
        )
    for name, meta in columns.items():
        idx = schema.get_field_index(name)
        if idx < 0:
            problems.append(f"geometry column {name!r} is not in the file's schema")
        elif not (
            pa.types.is_binary(schema.field(idx).type)
            or pa.types.is_large_binary(schema.field(idx).type)
        ):
            problems.append(f"geometry column {name!r} must be binary (WKB)")
        if not isinstance(meta, Mapping):
            problems.append(f"columns[{name!r}] is not an object")
            continue
        if meta.get("encoding") != "WKB":
            problems.append(f"columns[{name!r}].encoding must be 'WKB'")
        types = meta.get("geometry_types")
        if not isinstance(types, list) or len(set(types)) != len(types):
            problems.append(f"columns[{name!r}].geometry_types must be a list of unique names")
        else:
            unknown = [t for t in types if t not in GEOMETRY_TYPES]
            if unknown:
                problems.append(f"columns[{name!r}].geometry_types has unknown {unknown}")
        if meta.get("edges", "planar") not in ("planar", "spherical"):
            problems.append(f"columns[{name!r}].edges must be 'planar' or 'spherical'")
        if meta.get("orientation", "counterclockwise") != "counterclockwise":
            problems.append(f"columns[{name!r}].orientation must be 'counterclockwise'")
        crs = meta.get("crs", None)
        if crs is not None and not isinstance(crs, Mapping):
            problems.append(f"columns[{name!r}].crs must be PROJJSON (an object) or null")
        box = meta.get("bbox")
        if box is not None and (
            not isinstance(box, list)
            or len(box) not in (4, 6)
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in box)
        ):
            problems.append(f"columns[{name!r}].bbox must be 4 or 6 finite numbers")
        covering = meta.get("covering")
        if covering is not None:
            cov = covering.get("bbox") if isinstance(covering, Mapping) else None
            if not isinstance(cov, Mapping) or set(cov) != set(BBOX_FIELDS):
                problems.append(f"columns[{name!r}].covering.bbox must name {BBOX_FIELDS}")
                continue
            parents = {p[0] if isinstance(p, list) and p else None for p in cov.values()}
            if len(parents) != 1:
                problems.append(f"columns[{name!r}].covering.bbox must use one struct column")
            for key, path in cov.items():
                leaf = _struct_leaf(schema, path if isinstance(path, list) else [])
                if leaf is None or not pa.types.is_floating(leaf):
                    problems.append(
                        f"columns[{name!r}].covering.bbox.{key} = {path!r} is not a "
                        "float/double field of a struct column"
                    )
                elif isinstance(path, list) and path[1] != key:
                    problems.append(f"covering.bbox.{key} points at {path[1]!r}")
    return problems


# -------------------------------------------------------------------- covering column


def bbox_type(value_type: pa.DataType | None = None, *, nullable: bool = True) -> pa.StructType:
    """The covering column's type ``struct<xmin, ymin, xmax, ymax>``.

    Parameters
    ----------
    value_type : pyarrow float32 or float64, default float64
        float32 halves the column; :func:`bbox_column` then rounds outward.
    nullable : bool, default True
        Nullability of the four fields.

    Examples
    --------
    >>> bbox_type(pa.float32(), nullable=False)
    StructType(struct<xmin: float not null, ymin: float not null, xmax: float not null, \
ymax: float not null>)
    """
    kind = pa.float64() if value_type is None else value_type
    if kind not in (pa.float32(), pa.float64()):
        raise InvalidInputError(
            f"a covering bbox column holds float32 or float64 values; got {kind}"
        )
    return pa.struct([pa.field(name, kind, nullable=nullable) for name in BBOX_FIELDS])


def _outward_f32(values: npt.NDArray[np.float64], *, down: bool) -> npt.NDArray[np.float32]:
    """Round to float32 towards -inf (``down``) or +inf, so the box still covers the geometry."""
    out = values.astype(np.float32)
    if down:
        fix = out.astype(np.float64) > values
        out[fix] = np.nextafter(out[fix], np.float32(-np.inf))
    else:
        fix = out.astype(np.float64) < values
        out[fix] = np.nextafter(out[fix], np.float32(np.inf))
    return out


def bbox_column(bounds: npt.ArrayLike, *, type: pa.StructType | None = None) -> pa.StructArray:
    """The covering column of an ``[n, 4]`` array of ``(xmin, ymin, xmax, ymax)`` rows.

    With float32 fields each box is rounded outward (mins down, maxes up) so it still
    contains its geometry; float64 keeps the values exactly.

    Parameters
    ----------
    bounds : array-like of float, shape ``[n, 4]``
        Per-row extents, e.g. ``shapely.bounds(geoms)``.
    type : pyarrow.StructType, optional
        A :func:`bbox_type` (default float64, nullable fields).

    Examples
    --------
    >>> col = bbox_column([[0.1, 0.1, 0.1, 0.1]], type=bbox_type(pa.float32()))
    >>> box = col.to_pylist()[0]
    >>> box["xmin"] < 0.1 < box["xmax"], box["ymin"] < 0.1 < box["ymax"]
    (True, True)
    >>> bbox_column([[0.1, 0.2, 0.3, 0.4]]).to_pylist()
    [{'xmin': 0.1, 'ymin': 0.2, 'xmax': 0.3, 'ymax': 0.4}]
    """
    kind = bbox_type() if type is None else type
    if [f.name for f in kind] != list(BBOX_FIELDS) or len({f.type for f in kind}) != 1:
        raise InvalidInputError(
            f"type must be a bbox_type() struct<xmin, ymin, xmax, ymax> of one float type; "
            f"got {kind}"
        )
    value_type = bbox_type(kind.field(0).type).field(0).type  # checks float32/float64
    values = np.asarray(bounds, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != 4:
        raise InvalidInputError(
            f"bounds must be an [n, 4] array of (xmin, ymin, xmax, ymax) rows; got shape "
            f"{values.shape}"
        )
    if value_type == pa.float32():
        leaves = [_outward_f32(values[:, j], down=j < 2) for j in range(4)]
        arrays = [array(leaf) for leaf in leaves]
    else:
        arrays = [array(values[:, j]) for j in range(4)]
    return pa.StructArray.from_arrays(arrays, fields=list(kind))


# --------------------------------------------------------------------------- writer


def open_parquet(file: Any, *, name: str | None = None) -> pq.ParquetFile:
    """``file`` (a path, or a seekable file object called ``name``) opened as a Parquet
    file, its footer read.

    Raises
    ------
    InvalidInputError
        The file is empty or is not Parquet (a text file named ``.parquet``, a truncated
        download); the message names it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "notes.parquet"
    >>> _ = bad.write_text("id,geometry\\n1,POINT (0 0)\\n")
    >>> open_parquet(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: input '.../notes.parquet' is not a Parquet file \
(Parquet magic bytes not found in footer); check the file, or convert it to GeoParquet \
(e.g. with `ogr2ogr -f Parquet`)
    """
    label = name if name is not None else str(file)
    try:
        return pq.ParquetFile(os.fspath(file) if isinstance(file, str | os.PathLike) else file)
    except (pa.ArrowInvalid, OSError) as exc:
        local = Path(file) if isinstance(file, str | os.PathLike) else None
        if local is not None and local.is_file() and local.stat().st_size == 0:
            raise InvalidInputError(
                f"input {label!r} is empty (0 bytes); remove it from the inputs or put the "
                "GeoParquet file it should be in its place"
            ) from exc
        reason = " ".join(str(exc).split()).split(". ")[0]
        raise InvalidInputError(
            f"input {label!r} is not a Parquet file ({reason}); check the file, or "
            "convert it to GeoParquet (e.g. with `ogr2ogr -f Parquet`)"
        ) from exc


def write_geoparquet(
    data: pa.Table | Mapping[str, pa.Array],
    path: str | os.PathLike[str],
    *,
    geometry: npt.ArrayLike,
    geometry_types: Sequence[str] | None = None,
    covering: bool = False,
    edges: str | None = None,
    orientation: str | None = None,
    compression: str = "zstd",
    overwrite: bool = True,
) -> Path:
    """Write ``data`` plus a WKB ``geometry`` column (CRS84) as GeoParquet 1.1, atomically.

    The geometries are written as 2-D ISO WKB, little-endian, after the columns of
    ``data``; the ``geo`` metadata bbox is their total extent (``[0, 0, 0, 0]`` for an
    empty file). The ``geo`` key is the file's only schema metadata (any metadata of a
    ``data`` table is dropped). :class:`GeoParquetWriter` writes the same file batch by
    batch.

    Parameters
    ----------
    data : pyarrow.Table or mapping of column name to array
        Attribute columns (no ``geometry`` column).
    path : path
        Output file; written under a temporary name, then renamed.
    geometry : array-like of shapely geometries
        One lon/lat geometry per row.
    geometry_types : sequence of str, optional
        Default: the distinct types of ``geometry``.
    covering : bool, default False
        Also write a float64 ``bbox`` covering column (last) and declare it.
    edges, orientation : str, optional
        As :func:`geo_metadata`; declare ``orientation="counterclockwise"`` only for
        polygons oriented so (``shapely.orient_polygons``): it is not enforced here.
    compression : str, default "zstd"
        Parquet compression codec.
    overwrite : bool, default True
        Replace an existing ``path``; else raise :class:`~terrabit.errors.OutputExistsError`.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, shapely
    >>> out = write_geoparquet({"name": pa.array(["a"])}, tempfile.mkdtemp() + "/a.parquet",
    ...                        geometry=[shapely.box(0, 0, 1, 1)], covering=True)
    >>> meta = json.loads(pq.read_schema(out).metadata[GEO_KEY])
    >>> meta["columns"]["geometry"]["bbox"], pq.read_schema(out).names
    ([0.0, 0.0, 1.0, 1.0], ['name', 'geometry', 'bbox'])
    """
    with GeoParquetWriter(
        path, geometry_types=geometry_types, covering=covering, edges=edges,
        orientation=orientation, compression=compression, overwrite=overwrite,
    ) as writer:  # fmt: skip
        writer.write(data, geometry=geometry)
    return Path(path)


class GeoParquetWriter:
    """Write a GeoParquet 1.1 file batch by batch, atomically, with bounded memory.

    Each :meth:`write` appends its rows (plus their WKB ``geometry``, and the ``bbox``
    covering with ``covering``) as one row group; leaving the ``with`` block writes the
    ``geo`` metadata (the extent and types of every geometry written) and renames the
    temporary file to ``path``. An error inside the block (or :meth:`abort`, or a block
    with no :meth:`write`) leaves no file. One write gives the bytes of
    :func:`write_geoparquet`, which takes the same options.

    The extent is known only once the last row is written, so the ``geo`` metadata goes
    into the footer at the end: as its own key and inside the serialized Arrow schema
    (``ARROW:schema``), whence pyarrow, GDAL and DuckDB read a file's schema metadata.

    Examples
    --------
    >>> import tempfile, shapely
    >>> path = tempfile.mkdtemp() + "/b.parquet"
    >>> with GeoParquetWriter(path, geometry_types=["Point"]) as out:
    ...     out.write({"v": pa.array([1])}, geometry=[shapely.Point(0, 1)])
    ...     out.write({"v": pa.array([2])}, geometry=[shapely.Point(3, -1)])
    >>> f = pq.ParquetFile(path)
    >>> geo = json.loads(f.schema_arrow.metadata[GEO_KEY])
    >>> f.num_row_groups, geo["columns"]["geometry"]["bbox"]
    (2, [0.0, -1.0, 3.0, 1.0])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        geometry_types: Sequence[str] | None = None,
        covering: bool = False,
        edges: str | None = None,
        orientation: str | None = None,
        compression: str = "zstd",
        overwrite: bool = True,
    ) -> None:
        self.path = Path(path)
        self._covering, self._edges, self._orientation = covering, edges, orientation
        self._given_types = geometry_types
        self._types: set[str] = set()
        self._bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self._compression = compression
        self._writer: pq.ParquetWriter | None = None
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_file(path, overwrite=overwrite))

    def __enter__(self) -> GeoParquetWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None and self._writer is not None:
            self._finish()
        else:
            self.abort()

    def write(self, data: pa.Table | Mapping[str, pa.Array], *, geometry: npt.ArrayLike) -> None:
        """Append ``data`` (attribute columns, the same each time) and one lon/lat shapely
        geometry per row as one row group."""
        geoms = np.asarray(geometry, dtype=object)
        if geoms.ndim != 1 or not all(isinstance(g, shapely.Geometry) for g in geoms):
            raise InvalidInputError(
                "geometry must be a 1-D sequence of shapely geometries, one per row"
            )
        covering = self._covering
        table = data if isinstance(data, pa.Table) else None
        names = table.column_names if table is not None else list(data)
        for taken in ("geometry", *(("bbox",) if covering else ())):
            if taken in names:
                raise InvalidInputError(
                    f"data already has a {taken!r} column; write_geoparquet adds it, so "
                    "rename or drop yours"
                )
        if table is not None:
            rows = table.num_rows
        else:
            rows = len(next(iter(data.values()))) if data else len(geoms)
        if rows != len(geoms):
            raise InvalidInputError(
                f"data has {rows} rows but geometry has {len(geoms)}; pass one geometry per row"
            )
        if len(geoms):
            self._types.update(g.geom_type for g in geoms)
            low, high = np.split(shapely.total_bounds(geoms), 2)
            self._bounds = np.concatenate(
                [np.minimum(self._bounds[:2], low), np.maximum(self._bounds[2:], high)]
            )
        wkb = shapely.to_wkb(geoms, output_dimension=2, byte_order=1, flavor="iso")
        extra: dict[str, pa.Array] = {"geometry": array(list(wkb), type=pa.binary())}
        if covering:
            extra["bbox"] = bbox_column(shapely.bounds(geoms).reshape(-1, 4))
        if table is None:
            table = pa.table({**data, **extra})
        else:
            for name, column in extra.items():
                table = table.append_column(name, column)
        table = table.replace_schema_metadata(None)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression=self._compression)
        self._writer.write_table(table)

    def abort(self) -> None:
        """Discard what was written: no file at ``path`` (an existing one is left as it is)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._stack.__exit__(_Aborted, _Aborted(), None)  # atomic_file removes its file

    def _finish(self) -> None:
        assert self._writer is not None
        types = sorted(self._types) if self._given_types is None else self._given_types
        bounds = self._bounds if np.isfinite(self._bounds).all() else np.zeros(4)
        geo = geo_metadata(
            bounds, types, covering=self._covering, edges=self._edges,
            orientation=self._orientation,
        )  # fmt: skip
        text = json.dumps(geo, sort_keys=True).encode()
        schema = self._writer.schema.with_metadata({GEO_KEY: text})
        self._writer.add_key_value_metadata(
            {GEO_KEY: text, _ARROW_SCHEMA_KEY: base64.b64encode(schema.serialize().to_pybytes())}
        )
        self._writer.close()
        self._writer = None
        self._stack.close()


#: Where Parquet files keep the serialized Arrow schema (and so the schema metadata).
_ARROW_SCHEMA_KEY = b"ARROW:schema"


class _Aborted(Exception):
    """Raised into :func:`~terrabit._atomic.atomic_file` to discard its temporary file."""
