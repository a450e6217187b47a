"""Embedding raster tiles as inputs: tile indexes (which tiles cover an area, read with
bbox and year filters), tile paths, and the GDAL settings to read remote tiles.

Zonal statistics (:mod:`terrabit.zonal`) and pixel corpora (:mod:`terrabit.pixels`) both
read tiles through this module.

An AEF-style index is a table with one row per tile: ``path`` (relative to the index or
absolute, a local path or a URL), ``crs``, ``year`` and the tile's WGS84 footprint
(``wgs84_west/south/east/north`` columns, or a geometry). It may be GeoParquet, GeoPackage
or CSV, a local file or a URL (``http(s)://``, ``s3://``). GeoParquet and CSV are
filtered on the ``wgs84_*`` and ``year`` columns (parquet pushes the filter down to row
groups: over a URL only the footer and the row groups whose statistics meet the filter
are fetched, by Range requests, so a large index is never read whole); a GeoPackage is
read with a bbox filter (its spatial index; over HTTP through GDAL's ``/vsicurl/``).

Examples
--------
>>> import tempfile
>>> from terrabit.world.aef import write_aef_tiles
>>> info = write_aef_tiles(tempfile.mkdtemp(), seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
...                        years=[2024], tile_px=128)
>>> tiles = read_tile_index(info["index"], bbox=(-66.004, 45.275, -65.998, 45.278), year=2024)
>>> len(tiles), sorted(tiles["crs"])
(2, ['EPSG:32619', 'EPSG:32620'])
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import numpy as np
import pandas as pd

from terrabit.errors import InvalidInputError, RegionError, TerrabitError

T = TypeVar("T")

__all__ = [
    "REMOTE_GDAL",
    "TILE_COLUMNS",
    "TileReadError",
    "check_tile_source",
    "gdal_env",
    "read_tile_index",
    "read_with_retries",
    "resolve_tile_path",
    "tiles_from_rasters",
]

#: Columns of the tile table returned by :func:`read_tile_index`.
TILE_COLUMNS = ("path", "crs", "year", "wgs84_west", "wgs84_south", "wgs84_east", "wgs84_north")
_BOUNDS = ("wgs84_west", "wgs84_south", "wgs84_east", "wgs84_north")


#: GDAL settings for tiles read over ``http(s)://`` or ``s3://`` (``/vsicurl/``, ``/vsis3/``):
#: no directory listing on open, retries with back-off, timeouts; a user's own GDAL
#: environment variables of the same names win.
REMOTE_GDAL = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_TIMEOUT": "60",
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "VSI_CACHE": "TRUE",
}


def _is_url(path: str) -> bool:
    return "://" in path


def gdal_env(path: str) -> contextlib.AbstractContextManager[Any]:
    """The GDAL environment to read the tile ``path`` in: :data:`REMOTE_GDAL` for a URL
    (less any variable the user set), nothing for a local file.

    Examples
    --------
    >>> with gdal_env("/data/tile.tif"):
    ...     pass
    """
    if not _is_url(path):
        return contextlib.nullcontext()
    import rasterio

    return rasterio.Env(**{k: v for k, v in REMOTE_GDAL.items() if k not in os.environ})


def check_tile_source(index: object, rasters: object) -> None:
    """Refuse a run given neither or both of a tile ``index`` and ``rasters`` (zonal
    statistics and pixel corpora take tiles either way).

    Examples
    --------
    >>> check_tile_source("index.parquet", None)
    >>> check_tile_source(None, [])
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: no tiles given; pass index (a table of tiles) or \
rasters (raster files)
    """
    if index is None and not rasters:
        raise InvalidInputError(
            "no tiles given; pass index (a table of tiles) or rasters (raster files)",
            params=("index", "rasters"),
        )
    if index is not None and rasters:
        raise InvalidInputError(
            "pass either index or rasters, not both", params=("index", "rasters")
        )


class TileReadError(TerrabitError, OSError):
    """A tile could not be read after retries."""


#: Seconds before the first retry of an unreadable tile; each further retry waits longer.
RETRY_SLEEP_S = 0.2


def read_with_retries(path: str, read: Callable[[], T], *, retries: int) -> T:
    """``read()`` of the tile at ``path``, retried ``retries`` times with back-off when it
    fails with an OS or GDAL error (a flaky network, a tile being replaced); terrabit's own
    errors (bad input) are raised at once. zonal statistics and pixel pooling read tiles so.

    Raises
    ------
    TileReadError
        Still failing after ``retries`` extra attempts (the last cause chained).

    Examples
    --------
    >>> calls = []
    >>> def flaky() -> str:
    ...     calls.append(1)
    ...     if len(calls) < 2:
    ...         raise OSError("connection reset")
    ...     return "pixels"
    >>> read_with_retries("t.tif", flaky, retries=1), len(calls)
    ('pixels', 2)
    >>> read_with_retries("t.tif", lambda: open("/no/such/tile.tif"), retries=0)
    Traceback (most recent call last):
    ...
    terrabit.corpus.tiles.TileReadError: cannot read tile 't.tif' after 1 attempts: \
[Errno 2] No such file or directory: '/no/such/tile.tif'
    """
    import rasterio.errors

    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            return read()
        except (OSError, rasterio.errors.RasterioError) as exc:
            if isinstance(exc, TerrabitError):
                raise
            last = exc
            if attempt < retries:
                time.sleep(RETRY_SLEEP_S * (attempt + 1))
    raise TileReadError(f"cannot read tile {path!r} after {retries + 1} attempts: {last}") from last


def resolve_tile_path(path: str, index: str) -> str:
    """Resolve a tile ``path`` listed in ``index`` (relative to the index's folder).

    Examples
    --------
    >>> resolve_tile_path("2020/19N/a.tiff", "https://host/aef/index.parquet")
    'https://host/aef/2020/19N/a.tiff'
    >>> resolve_tile_path("2020/19N/a.tiff", "s3://bucket/aef/index.parquet")
    's3://bucket/aef/2020/19N/a.tiff'
    >>> resolve_tile_path("/abs/a.tiff", "/data/index.parquet")
    '/abs/a.tiff'
    """
    if _is_url(path) or os.path.isabs(path):
        return path
    if _is_url(index):
        if index.split("://", 1)[0].lower() in ("http", "https"):
            return urljoin(index, path)
        return f"{index.split('?')[0].rsplit('/', 1)[0]}/{path}"  # s3://, gs://: no urljoin
    return os.fspath(Path(index).parent / path)


def _filter_expression(bbox: tuple[float, float, float, float] | None, year: int | None) -> Any:
    """A pyarrow filter on the ``wgs84_*`` and ``year`` columns, or ``None``."""
    import pyarrow.compute as pc

    terms = []
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        terms += [
            pc.field("wgs84_east") >= minx,
            pc.field("wgs84_west") <= maxx,
            pc.field("wgs84_north") >= miny,
            pc.field("wgs84_south") <= maxy,
        ]
    if year is not None:
        terms.append(pc.field("year") == year)
    expr = None
    for term in terms:
        expr = term if expr is None else expr & term
    return expr


def _check_columns(index: str, names: list[str], bbox: Any) -> list[str]:
    missing = [c for c in ("path", "crs", *(_BOUNDS if bbox else ())) if c not in names]
    if missing:
        raise InvalidInputError(
            f"tile index {index!r} lacks the column(s) {missing}; an AEF-style index "
            f"needs {list(TILE_COLUMNS)}"
        )
    return [c for c in TILE_COLUMNS if c in names]


def _read_remote_parquet(
    index: str, bbox: tuple[float, float, float, float] | None, year: int | None
) -> pd.DataFrame:
    """A parquet index at a URL, read by ranges: footer, then only the row groups whose
    statistics meet the filter (through :mod:`terrabit.corpus.sources`)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from terrabit.corpus.sources import open_source

    root, _, name = index.rpartition("/")
    try:
        with open_source(root) as source:
            handle = pa.PythonFile(source.open(name), mode="r")
            fragment = ds.ParquetFileFormat().make_fragment(handle)
            columns = _check_columns(index, fragment.physical_schema.names, bbox)
            expr = _filter_expression(bbox, year)
            if expr is not None:
                fragment = fragment.subset(expr)
            table = fragment.to_table(columns=columns, filter=expr)
    except FileNotFoundError as exc:
        raise InvalidInputError(
            f"tile index {index!r} does not exist ({exc}); check the URL"
        ) from exc
    except (OSError, pa.ArrowException) as exc:
        raise InvalidInputError(
            f"cannot read the tile index {index!r} ({exc}); check the URL, the network and, "
            "for s3://, the AWS_* credentials and endpoint variables"
        ) from exc
    return table.to_pandas()


def _read_parquet(
    index: str, bbox: tuple[float, float, float, float] | None, year: int | None
) -> pd.DataFrame:
    import pyarrow.parquet as pq

    if _is_url(index):
        return _read_remote_parquet(index, bbox, year)
    columns = _check_columns(index, pq.read_schema(index).names, bbox)
    try:
        table = pq.read_table(index, columns=columns, filters=_filter_expression(bbox, year))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the tile index {index!r} ({exc})") from exc
    return table.to_pandas()


def _read_vector(
    index: str, bbox: tuple[float, float, float, float] | None, year: int | None
) -> pd.DataFrame:
    import geopandas as gpd

    frame = gpd.read_file(index, bbox=bbox)
    if not all(c in frame.columns for c in _BOUNDS):
        bounds = frame.to_crs("OGC:CRS84").geometry.bounds if frame.crs else frame.geometry.bounds
        for col, src in zip(_BOUNDS, ("minx", "miny", "maxx", "maxy"), strict=True):
            frame[col] = bounds[src].to_numpy()
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if year is not None and "year" in out.columns:
        out = out[out["year"] == year]
    return out


def read_tile_index(
    index: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Read the tiles of ``index`` that intersect ``bbox`` (lon/lat) in ``year``.

    Parameters
    ----------
    index : path or URL
        ``.parquet`` (GeoParquet), ``.gpkg`` (or any vector format) or ``.csv``.
    bbox : (minx, miny, maxx, maxy), optional
        Keep tiles whose WGS84 footprint intersects it.
    year : int, optional
        Keep tiles of this year (the index must have a ``year`` column).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TILE_COLUMNS`; ``path`` resolved against the index's location.

    Raises
    ------
    RegionError
        When no tile matches, naming the area and year.
    """
    name = os.fspath(index)
    if not _is_url(name) and not Path(name).exists():
        raise InvalidInputError(
            f"tile index {name!r} does not exist; pass the index file of the tiles "
            "(e.g. aef/index.parquet written by `terrabit world`)"
        )
    suffix = Path(name.split("?")[0]).suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        frame = _read_parquet(name, bbox, year)
    elif suffix == ".csv":
        frame = pd.read_csv(name)
        if year is not None and "year" in frame.columns:
            frame = frame[frame["year"] == year]
        if bbox is not None:
            minx, miny, maxx, maxy = bbox
            keep = (
                (frame["wgs84_east"] >= minx)
                & (frame["wgs84_west"] <= maxx)
                & (frame["wgs84_north"] >= miny)
                & (frame["wgs84_south"] <= maxy)
            )
            frame = frame[keep]
    else:
        frame = _read_vector(name, bbox, year)
    for col in ("path", "crs", *_BOUNDS):
        if col not in frame.columns:
            raise InvalidInputError(
                f"tile index {name!r} lacks the column {col!r}; an AEF-style index needs "
                f"{list(TILE_COLUMNS)}"
            )
    if year is not None and "year" not in frame.columns:
        raise InvalidInputError(
            f"tile index {name!r} has no 'year' column, so it cannot filter by year {year}; "
            "leave out year",
            params=("year",),
        )
    if "year" not in frame.columns:
        frame = frame.assign(year=-1)
    if frame.empty:
        area = "anywhere" if bbox is None else f"bbox {tuple(round(v, 6) for v in bbox)}"
        when = "" if year is None else f" in year {year}"
        projected = bbox is not None and (
            max(abs(bbox[0]), abs(bbox[2])) > 180 or max(abs(bbox[1]), abs(bbox[3])) > 90
        )
        raise RegionError(
            f"the tile index {name!r} has no tile for {area}{when}; "
            + (
                "these coordinates lie outside ±180/±90, so they look projected (metres), "
                "not degrees: the polygons' CRS is declared wrongly; declare the true one "
                "in the file (e.g. `ogr2ogr -a_srs EPSG:32619 fixed.gpkg polygons.gpkg`) or, "
                "for a file that declares none, pass polygons_crs (e.g. 'EPSG:32619')"
                if projected
                else "check the year and that the polygons lie inside the index's coverage"
            ),
            params=("polygons_crs",) if projected else (),
        )
    frame = frame.loc[:, list(TILE_COLUMNS)].reset_index(drop=True)
    frame["path"] = [resolve_tile_path(str(p), name) for p in frame["path"]]
    frame["year"] = frame["year"].astype(np.int64)
    return frame


def tiles_from_rasters(paths: list[str]) -> pd.DataFrame:
    """A tile table (as :func:`read_tile_index`) for raster files given one by one.

    Examples
    --------
    >>> tiles_from_rasters([])
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: no raster given; pass at least one raster path
    """
    import rasterio
    from rasterio.warp import transform_bounds

    if not paths:
        raise InvalidInputError("no raster given; pass at least one raster path")
    rows = []
    for path in paths:
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise InvalidInputError(
                        f"raster {path!r} has no CRS; assign one (e.g. gdal_edit.py -a_srs) "
                        "before summarising it"
                    )
                west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
                rows.append((os.fspath(path), src.crs.to_string(), -1, west, south, east, north))
        except rasterio.errors.RasterioIOError as exc:
            raise InvalidInputError(f"cannot open raster {path!r}: {exc}") from exc
    return pd.DataFrame(rows, columns=list(TILE_COLUMNS))
