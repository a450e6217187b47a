"""Polygons for zonal statistics: read any vector file, check the CRS, repair, filter.

Examples
--------
>>> import geopandas as gpd, shapely
>>> bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-intersecting
>>> frame = gpd.GeoDataFrame({"ALAND": [0, 5]}, geometry=[shapely.box(0, 0, .01, .01), bow],
...                          crs="EPSG:4326")
>>> kept, counts = prepare_polygons(frame, drop_water=True, max_area_km2=None)
>>> len(kept), counts["repaired"], counts["dropped_water"]
(1, 1, 1)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import shapely

from terrabit.errors import InvalidInputError

__all__ = ["prepare_polygons", "read_polygons"]

_EQUAL_AREA = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global (equal area)


def read_polygons(path: str | os.PathLike[str], *, polygons_crs: str | None = None) -> Any:
    """Read a vector file (GeoParquet, GeoPackage, zipped shapefile, …) as a GeoDataFrame.

    Parameters
    ----------
    path : path or URL
        Anything :func:`geopandas.read_file` reads; ``.parquet`` via ``read_parquet``.
    polygons_crs : str, optional
        CRS to assign when the file declares none (``--polygons-crs``).

    Raises
    ------
    InvalidInputError
        If the file cannot be read or has no CRS and ``polygons_crs`` is not given.
    """
    import geopandas as gpd

    name = os.fspath(path)
    try:
        if name.lower().endswith((".parquet", ".geoparquet")):
            frame = gpd.read_parquet(name)
        else:
            frame = gpd.read_file(name)
    except Exception as exc:  # pyogrio/pyarrow raise many types
        raise InvalidInputError(
            f"cannot read polygons from {name!r} ({exc}); pass a vector file geopandas "
            "reads (GeoParquet, GeoPackage, shapefile or zipped shapefile)"
        ) from exc
    if frame.crs is None:
        if polygons_crs is None:
            raise InvalidInputError(
                f"polygons {name!r} have no CRS; pass polygons_crs (e.g. EPSG:4326) or set "
                "it with geopandas `gdf.set_crs(...)` and save the file again",
                params=("polygons_crs",),
            )
        frame = frame.set_crs(polygons_crs)
    return frame


def prepare_polygons(
    frame: Any, *, drop_water: bool, max_area_km2: float | None
) -> tuple[Any, dict[str, int]]:
    """Repair invalid geometries and drop the all-water and oversized polygons.

    Parameters
    ----------
    frame : GeoDataFrame with a CRS
    drop_water : bool
        Drop rows with ``ALAND == 0`` (the frame must have an ``ALAND`` column).
    max_area_km2 : float, optional
        Drop polygons larger than this (area on an equal-area projection); ``None``
        keeps all.

    Returns
    -------
    (GeoDataFrame, dict)
        The kept polygons (index reset) and counts: ``input``, ``repaired``, ``empty``,
        ``dropped_water``, ``dropped_oversized``, ``kept``.
    """
    if frame.crs is None:
        raise InvalidInputError(
            "polygons have no CRS; set it with geopandas `gdf.set_crs(...)` or read them with "
            "read_polygons(..., polygons_crs=...)"
        )
    counts = {"input": len(frame)}
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = np.array([g is None for g in geoms], dtype=bool)
    geoms = np.where(missing, shapely.Polygon(), geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        polys = [_polygonal(g) for g in fixed]
        geoms[invalid] = polys
    counts["repaired"] = int(invalid.sum())
    frame = frame.set_geometry(list(geoms), crs=frame.crs)
    empty = shapely.is_empty(geoms) | missing
    counts["empty"] = int(empty.sum())
    keep = ~empty
    water = np.zeros(len(frame), dtype=bool)
    if drop_water:
        if "ALAND" not in frame.columns:
            raise InvalidInputError(
                "drop_water needs an ALAND column (land area; 0 marks all-water blocks) "
                f"but the polygons have {list(frame.columns)[:10]}; leave out drop_water",
                params=("drop_water",),
            )
        water = (frame["ALAND"].to_numpy() == 0) & keep
        keep &= ~water
    counts["dropped_water"] = int(water.sum())
    big = np.zeros(len(frame), dtype=bool)
    if max_area_km2 is not None:
        if not max_area_km2 > 0:
            raise InvalidInputError(
                f"max_area_km2 must be positive, got {max_area_km2}", params=("max_area_km2",)
            )
        # polygons whose "degrees" are metres (a CRS declared wrongly) project to inf: their
        # area is NaN, never oversized, and the index names the mistake (one line, no warning)
        with np.errstate(invalid="ignore", over="ignore"):
            area = frame.geometry.to_crs(_EQUAL_AREA).area.to_numpy() / 1e6
        big = (area > max_area_km2) & keep
        keep &= ~big
    counts["dropped_oversized"] = int(big.sum())
    out = frame[keep].reset_index(drop=True)
    counts["kept"] = len(out)
    return out, counts


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def equal_area_km2(frame: Any) -> np.ndarray:
    """Area of each polygon in km² on an equal-area projection.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 0.01, 0.01)], crs="EPSG:4326")
    >>> round(float(equal_area_km2(f)[0]), 2)
    1.23
    """
    return np.asarray(frame.geometry.to_crs(_EQUAL_AREA).area.to_numpy() / 1e6, dtype=np.float64)
