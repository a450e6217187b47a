"""Census-block-like zones over the AEF region of the synthetic world.

The polygons a user would bring to summarise AEF rasters by (TIGER/Line blocks in the
real study): Voronoi cells of seeded settlement points, dense where the world's land
cover is urban (blocks of ~0.04 km²) and sparse in the country (~1 km²), clipped to the
land of ``global_land_mask``; the sea is split into a few all-water blocks (``ALAND == 0``)
and some rural blocks are merged into oversized ones (> ``oversized_km2``), so that the
filters of a real pipeline (drop all-water and > 25 km² blocks) have something to drop.

Attributes follow the land cover of the chosen year, so a model can find the signal:

``GEOID``
    15-character id ``SS CCC TTTTTT BBBB`` (state ``99``, a synthetic FIPS code; county
    ``001``; tracts are 2 km squares; block numbers start at 1000 in each tract).
``ALAND``, ``AWATER``
    Land and water area in m² (integers), from the land cover sampled on a ``cell_m`` grid
    in a Lambert azimuthal equal-area projection centred on the region; they sum to the
    polygon's equal-area area. Water is the sea and the ``water`` class.
``POP``, ``HOUSING``
    Seeded counts: ~3000 people/km² of urban land and ~25/km² of other land, times
    log-normal noise; ~2.4 people per housing unit.
``UR``
    ``"U"`` where at least half of the block's land is urban, else ``"R"``.

Geometries are written in CRS84 (lon/lat) as GeoParquet 1.1 with valid ``geo`` metadata;
areas are computed before the transform, in the equal-area projection.

Examples
--------
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "zones.parquet"
>>> info = write_zones(out, seed=0, aef_bbox=(-66.075, 45.26, -66.03, 45.28))
>>> info["zones"] > 20, info["urban"] > 0, info["rural"] > 0
(True, True, True)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS, Transformer

from terrabit.errors import InvalidInputError
from terrabit.geoparquet import write_geoparquet
from terrabit.world._geometry import check_utm_bbox, densified_ring
from terrabit.world._seeds import seed_int
from terrabit.world.landcover import CLASSES, YEARS, classify, is_land

__all__ = ["ZONE_COLUMNS", "write_zones"]

#: Attribute columns of the zones file (besides ``geometry``), in order.
ZONE_COLUMNS: tuple[str, ...] = ("GEOID", "POP", "HOUSING", "ALAND", "AWATER", "UR")

_URBAN_BLOCK_KM2 = 0.08  # mean block size in urban land
_RURAL_BLOCK_KM2 = 0.4  # ... in other land
_WATER_BLOCK_KM2 = 4.0  # ... at sea
_URBAN_DENSITY = 3000.0  # people per km² of urban land
_RURAL_DENSITY = 25.0  # people per km² of other land
_PEOPLE_PER_HOUSE = 2.4
_TRACT_M = 2000.0
_URBAN = CLASSES.index("urban")
_WATER = CLASSES.index("water")


def _laea(bbox: tuple[float, float, float, float]) -> CRS:
    lon0 = (bbox[0] + bbox[2]) / 2
    lat0 = (bbox[1] + bbox[3]) / 2
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs"
    )


def _polygonal(geom: Any) -> Any:
    """The polygonal part of ``geom`` (intersections may add stray lines or points)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


class _Grid:
    """Land cover on a regular ``cell_m`` grid covering the region in the equal-area CRS."""

    def __init__(
        self,
        bbox: tuple[float, float, float, float],
        region: Any,
        to_lonlat: Transformer,
        *,
        cell_m: float,
        year: int,
        seed: int,
    ) -> None:
        from rasterio.transform import Affine

        minx, miny, maxx, maxy = region.bounds
        self.x0 = math.floor(minx / cell_m) * cell_m
        self.y1 = math.ceil(maxy / cell_m) * cell_m
        self.nx = math.ceil((maxx - self.x0) / cell_m)
        self.ny = math.ceil((self.y1 - miny) / cell_m)
        self.cell_m = cell_m
        self.transform = Affine(cell_m, 0.0, self.x0, 0.0, -cell_m, self.y1)
        jj, ii = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        self.x = self.x0 + (jj.ravel() + 0.5) * cell_m
        self.y = self.y1 - (ii.ravel() + 0.5) * cell_m
        lon, lat = (np.asarray(a) for a in to_lonlat.transform(self.x, self.y))
        self.inside = (lon >= bbox[0]) & (lon < bbox[2]) & (lat >= bbox[1]) & (lat < bbox[3])
        self.land = np.asarray(is_land(lon, lat), dtype=bool)
        cls = np.full(self.x.shape, -1, dtype=np.int16)
        sel = np.flatnonzero(self.inside & self.land)
        if sel.size:
            cls[sel] = classify(lon[sel], lat[sel], year=year, seed=seed)
        self.urban = cls == _URBAN
        self.dry = self.land & (cls != _WATER)  # land, not lake or river

    def cell_of(self, x: float, y: float) -> int:
        j = min(max(int((x - self.x0) // self.cell_m), 0), self.nx - 1)
        i = min(max(int((self.y1 - y) // self.cell_m), 0), self.ny - 1)
        return i * self.nx + j


def _settlements(grid: _Grid, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded settlement points ``[n, 2]`` on land and at sea (Bernoulli per grid cell)."""
    area_km2 = (grid.cell_m / 1000.0) ** 2
    rate = np.where(grid.urban, 1.0 / _URBAN_BLOCK_KM2, 1.0 / _RURAL_BLOCK_KM2) * area_km2
    out = []
    for mask, p in ((grid.inside & grid.land, rate), (grid.inside & ~grid.land, None)):
        cells = np.flatnonzero(mask)
        prob = p[cells] if p is not None else np.full(cells.size, area_km2 / _WATER_BLOCK_KM2)
        hit = cells[rng.random(cells.size) < prob]
        if hit.size == 0 and cells.size:
            hit = cells[[cells.size // 2]]
        jitter = (rng.random((hit.size, 2)) - 0.5) * grid.cell_m * 0.98
        out.append(np.column_stack([grid.x[hit], grid.y[hit]]) + jitter)
    return out[0], out[1]


def _voronoi_cells(points: np.ndarray, clip: Any, region: Any) -> list[Any]:
    """Voronoi cells of ``points`` (in input order) clipped to ``clip``."""
    if clip is None or clip.is_empty:
        return []
    if points.shape[0] == 0:  # slivers whose grid cells are centred outside the region
        return [clip]
    if points.shape[0] == 1:
        return [clip]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=region, ordered=True)
    parts = shapely.get_parts(cells)
    clipped = shapely.intersection(parts, clip)
    return [g for g in (_polygonal(c) for c in clipped) if g is not None]


def _merge_oversized(
    blocks: list[Any], urban_frac: np.ndarray, *, oversized_m2: float, n_oversized: int
) -> tuple[list[Any], list[bool]]:
    """Merge rural land blocks into up to ``n_oversized`` blocks larger than ``oversized_m2``."""
    areas = np.array([b.area for b in blocks])
    alive = np.ones(len(blocks), dtype=bool)
    big = np.zeros(len(blocks), dtype=bool)
    rural = urban_frac < 0.05
    if not rural.any():
        return blocks, [False] * len(blocks)
    tree = shapely.STRtree(blocks)
    centroids = shapely.centroid(np.array(blocks, dtype=object))
    urban_pts = centroids[~rural]
    for _ in range(n_oversized):
        candidates = np.flatnonzero(rural & alive & ~big)
        if candidates.size == 0:
            break
        if urban_pts.size:
            dist = shapely.distance(centroids[candidates, None], urban_pts[None, :]).min(axis=1)
        else:
            dist = areas[candidates]
        start = int(candidates[np.argmax(dist)])
        members = {start}
        geom = blocks[start]
        while geom.area < oversized_m2 * 1.02:
            near = tree.query(geom, predicate="intersects")
            near = [
                int(k) for k in near if k not in members and alive[k] and rural[k] and not big[k]
            ]
            if not near:
                break
            gc = geom.centroid
            pick = min(near, key=lambda k: (centroids[k].distance(gc), k))
            members.add(pick)
            geom = shapely.union(geom, blocks[pick])
        if geom.area <= oversized_m2:
            break  # not enough rural land left: leave the blocks as they are
        for k in members:
            alive[k] = False
        blocks.append(_polygonal(geom))
        alive = np.append(alive, True)
        big = np.append(big, geom.area > oversized_m2)
        rural = np.append(rural, True)
        areas = np.append(areas, geom.area)
        centroids = np.append(centroids, shapely.centroid(geom))
    keep = np.flatnonzero(alive)
    return [blocks[k] for k in keep], [bool(big[k]) for k in keep]


def _geoids(centroids: np.ndarray, origin: tuple[float, float]) -> list[str]:
    """``99 001 TTTTTT BBBB`` ids: tracts are ``_TRACT_M`` squares, blocks numbered from 1000."""
    x = shapely.get_x(centroids)
    y = shapely.get_y(centroids)
    tx = np.floor((x - origin[0]) / _TRACT_M).astype(np.int64)
    ty = np.floor((origin[1] - y) / _TRACT_M).astype(np.int64)
    tract_keys = sorted(set(zip(ty.tolist(), tx.tolist(), strict=True)))
    tract_no = {key: 100 * (i + 1) for i, key in enumerate(tract_keys)}
    order = np.lexsort((x, -y, tx, ty))
    counters: dict[int, int] = {}
    ids = [""] * len(x)
    for k in order:
        tract = tract_no[(int(ty[k]), int(tx[k]))]
        block = 1000 + counters.get(tract, 0)
        counters[tract] = counters.get(tract, 0) + 1
        ids[k] = f"99001{tract:06d}{block:04d}"
    return ids


def write_zones(
    path: Path | str,
    *,
    seed: int,
    aef_bbox: tuple[float, float, float, float],
    year: int | None = None,
    cell_m: float = 40.0,
    oversized_km2: float = 25.0,
    n_oversized: int = 1,
) -> dict[str, Any]:
    """Write census-block-like zones over ``aef_bbox`` as GeoParquet (CRS84), atomically.

    Parameters
    ----------
    path : path
        Output file (``.parquet``); replaced if it exists (the caller checks ``overwrite``).
    seed : int
        World seed: land cover, settlement points and counts follow it.
    aef_bbox : (minx, miny, maxx, maxy) in lon/lat
        The region, normally the AEF tiles' ``bbox``.
    year : int, optional
        Land-cover year of the attributes (default ``YEARS[0]``).
    cell_m : float
        Spacing in metres of the land-cover grid that areas and fractions are counted on.
    oversized_km2 : float
        Rural blocks are merged until one exceeds this area (if the region has the land).
    n_oversized : int
        How many oversized blocks to try to make.

    Returns
    -------
    dict
        ``zones``, ``path``, ``bbox``, ``year``, ``crs`` (``"OGC:CRS84"``), ``urban`` and
        ``rural`` (counts by ``UR``), ``water_only`` (``ALAND == 0``), ``oversized`` (area
        > ``oversized_km2``), ``population``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> info = write_zones(pathlib.Path(tempfile.mkdtemp()) / "z.parquet", seed=1,
    ...                    aef_bbox=(-66.07, 45.24, -66.05, 45.25))
    >>> info["crs"], info["zones"] == info["urban"] + info["rural"]
    ('OGC:CRS84', True)
    """
    bbox = check_utm_bbox(aef_bbox, name="aef_bbox")
    year = _check_options(year, cell_m, oversized_km2, n_oversized)
    laea = _laea(bbox)
    to_laea = Transformer.from_crs("OGC:CRS84", laea, always_xy=True)
    to_lonlat = Transformer.from_crs(laea, "OGC:CRS84", always_xy=True)
    ring = np.column_stack(to_laea.transform(*densified_ring(*bbox, n=64)))
    region = shapely.Polygon(ring)
    n_cells = region.area / float(cell_m) ** 2
    if n_cells > 4_000_000:
        raise InvalidInputError(
            f"aef_bbox {bbox} holds ~{n_cells:,.0f} cells of {cell_m:g} m; pass a smaller "
            "region or a larger cell_m"
        )
    grid = _Grid(bbox, region, to_lonlat, cell_m=float(cell_m), year=year, seed=seed)
    rng = np.random.default_rng(seed_int("zones", seed, year, bbox))
    land_pts, sea_pts = _settlements(grid, rng)

    land_poly = _land_polygon(grid, region)
    sea_poly = _polygonal(shapely.difference(region, land_poly)) if land_poly else region
    land_blocks = _voronoi_cells(land_pts, land_poly, region)
    sea_blocks = _voronoi_cells(sea_pts, sea_poly, region)

    land_stats = _cell_stats(grid, land_blocks)
    blocks, oversized = _merge_oversized(
        land_blocks,
        land_stats[2] / np.maximum(land_stats[1], 1),
        oversized_m2=oversized_km2 * 1e6,
        n_oversized=n_oversized,
    )
    blocks = blocks + sea_blocks
    oversized = oversized + [False] * len(sea_blocks)
    n_cells_b, n_dry, n_urban = _cell_stats(grid, blocks)
    is_sea = np.array([False] * (len(blocks) - len(sea_blocks)) + [True] * len(sea_blocks))

    areas = np.array([b.area for b in blocks])
    aland, awater, pop, housing, ur = _census(rng, areas, is_sea, n_cells_b, n_dry, n_urban)

    geoms = np.array(blocks, dtype=object)
    centroids = shapely.centroid(geoms)
    geoid = _geoids(centroids, (grid.x0, grid.y1))
    order = np.argsort(np.array(geoid), kind="stable")
    lonlat = shapely.transform(
        geoms[order],
        lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])),
    )
    columns = {
        "GEOID": pa.array([geoid[k] for k in order], type=pa.string()),
        "POP": pa.array(pop[order], type=pa.int64()),
        "HOUSING": pa.array(housing[order].astype(np.int64), type=pa.int64()),
        "ALAND": pa.array(aland[order], type=pa.int64()),
        "AWATER": pa.array(awater[order], type=pa.int64()),
        "UR": pa.array(ur[order].tolist(), type=pa.string()),
    }
    types = sorted({g.geom_type for g in lonlat})
    target = Path(path)
    write_geoparquet(columns, target, geometry=lonlat, geometry_types=types, edges="planar")
    return {
        "zones": len(blocks),
        "path": os.fspath(target),
        "bbox": bbox,
        "year": year,
        "crs": "OGC:CRS84",
        "urban": int(np.count_nonzero(ur == "U")),
        "rural": int(np.count_nonzero(ur == "R")),
        "water_only": int(np.count_nonzero(aland == 0)),
        "oversized": int(np.count_nonzero(areas > oversized_km2 * 1e6)),
        "population": int(pop.sum()),
    }


def _check_options(year: int | None, cell_m: float, oversized_km2: float, n_oversized: int) -> int:
    """Check :func:`write_zones`' options; return the year (default: the first)."""
    year = YEARS[0] if year is None else year
    if year not in YEARS:
        raise InvalidInputError(f"year must be one of {YEARS[0]}, {YEARS[1]}; got {year!r}")
    if not (isinstance(cell_m, int | float) and 5.0 <= cell_m <= 500.0):
        raise InvalidInputError(f"cell_m must be between 5 and 500 metres, got {cell_m!r}")
    if not (isinstance(oversized_km2, int | float) and oversized_km2 > 0):
        raise InvalidInputError(f"oversized_km2 must be a positive area, got {oversized_km2!r}")
    if isinstance(n_oversized, bool) or not isinstance(n_oversized, int) or n_oversized < 0:
        raise InvalidInputError(f"n_oversized must be an integer >= 0, got {n_oversized!r}")
    return year


def _census(
    rng: np.random.Generator,
    areas: np.ndarray,
    is_sea: np.ndarray,
    n_cells: np.ndarray,
    n_dry: np.ndarray,
    n_urban: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Census-like attributes of the blocks: ALAND, AWATER, POP, HOUSING and UR."""
    land_frac = np.where(is_sea, 0.0, n_dry / np.maximum(n_cells, 1))
    aland = np.rint(areas * land_frac).astype(np.int64)
    awater = np.rint(areas).astype(np.int64) - aland
    urban_frac = n_urban / np.maximum(n_dry, 1)
    urban_km2 = aland / 1e6 * urban_frac
    expected = _URBAN_DENSITY * urban_km2 + _RURAL_DENSITY * (aland / 1e6 - urban_km2)
    noise = rng.lognormal(0.0, 0.35, size=len(areas))
    pop = rng.poisson(expected * noise).astype(np.int64)
    housing = rng.poisson(pop / _PEOPLE_PER_HOUSE * rng.lognormal(0.0, 0.1, len(areas)))
    ur = np.where(urban_frac >= 0.5, "U", "R")
    return aland, awater, pop, housing, ur


def _land_polygon(grid: _Grid, region: Any) -> Any:
    """Union of the grid's land cells (``global_land_mask``), clipped to the region."""
    from rasterio import features

    land = grid.land.reshape(grid.ny, grid.nx).astype(np.uint8)
    shapes = [
        shapely.geometry.shape(geom)
        for geom, value in features.shapes(land, mask=land.astype(bool), transform=grid.transform)
        if value == 1
    ]
    if not shapes:
        return None
    return _polygonal(shapely.intersection(shapely.union_all(shapes), region))


def _cell_stats(grid: _Grid, blocks: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: grid cells whose centre it holds, of which dry land, of which urban."""
    from rasterio import features

    n = len(blocks)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    ids = features.rasterize(
        ((b, k) for k, b in enumerate(blocks)),
        out_shape=(grid.ny, grid.nx),
        transform=grid.transform,
        fill=-1,
        dtype="int32",
    ).ravel()
    ok = ids >= 0
    cells = np.bincount(ids[ok], minlength=n)
    dry = np.bincount(ids[ok & grid.dry], minlength=n)
    urban = np.bincount(ids[ok & grid.urban], minlength=n)
    # blocks too small to hold a cell centre take the cell under their representative point
    for k in np.flatnonzero(cells == 0):
        pt = blocks[k].representative_point()
        c = grid.cell_of(pt.x, pt.y)
        cells[k] = 1
        dry[k] = int(grid.dry[c])
        urban[k] = int(grid.urban[c])
    return cells, dry, urban
