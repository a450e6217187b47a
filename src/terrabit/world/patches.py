"""The patch grid of the synthetic world and its GeoParquet 1.1 writer.

Patches sit on a fixed global grid of ~2.56 km cells (the footprint of a Clay v1.5
Sentinel-2 chip: 256 px at 10 m). Rows of cells have a constant latitude step
``CELL_DEG = 2.56 / 111.32`` degrees; a row at latitude ``phi`` holds
``floor(360 cos(phi) / CELL_DEG)`` cells, so the longitude step is widened by about
``1 / cos(phi)`` and rounded so that each row closes exactly at the antimeridian. A cell
id is its global row-major index (``0 .. N_CELLS - 1``), so sorting by id sorts by
latitude row, then longitude: spatially compact row groups.

A patch file holds the columns of a Clay v1.5 corpus: ``id`` (string), ``geometry``
(WKB polygon footprint), ``datetime`` (timestamp, UTC), ``embedding``
(``fixed_size_list<float32>[dim]``), ``label`` (class name), ``year`` (int16), plus the
GeoParquet 1.1 ``bbox`` covering column ``struct<xmin, ymin, xmax, ymax>``. Clay itself
stores ``embedding`` as ``list<float>``; we chose the fixed-size list because it states
the dimension in the schema and reads zero-copy into a 2-D array. Readers of user data
must accept both.

Every patch file's schema metadata carries :data:`WORLD_KEY` (:func:`world_marker`: the
generator, its version, seed, size and dimension), and so does ``labelled.npz``, so that a
reader (``terrabit evaluate``) can tell the synthetic world from real embeddings.

Examples
--------
>>> import numpy as np
>>> lon, lat = cell_centres(np.array([0, N_CELLS - 1]))
>>> bool(lat[0] < -89.9 and lat[1] > 89.9)
True
>>> cell_of(lon, lat).tolist() == [0, N_CELLS - 1]
True
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from terrabit import geoparquet
from terrabit.errors import InvalidInputError, RegionError
from terrabit.world.landcover import is_land

__all__ = [
    "CELL_DEG",
    "CELL_KM",
    "N_CELLS",
    "N_ROWS",
    "WORLD_KEY",
    "cell_bounds",
    "cell_centres",
    "cell_of",
    "extent",
    "geo_metadata",
    "patch_schema",
    "patch_table",
    "sample_cells",
    "world_marker",
]

#: Key of the world marker in a patch file's schema metadata and a member of ``labelled.npz``.
WORLD_KEY = "terrabit_world"

#: Side of a patch, km (256 px at 10 m).
CELL_KM = 2.56
#: Latitude step of the grid, degrees.
CELL_DEG = CELL_KM / 111.32
#: Number of latitude rows (the sliver above the last full row at the north pole is unused).
N_ROWS = int(180.0 // CELL_DEG)
_ROW_LAT = -90.0 + (np.arange(N_ROWS) + 0.5) * CELL_DEG
_ROW_NCOLS = np.maximum(1, np.floor(360.0 * np.cos(np.radians(_ROW_LAT)) / CELL_DEG)).astype(
    np.int64
)
_ROW_DLON = 360.0 / _ROW_NCOLS
_ROW_START = np.concatenate([[0], np.cumsum(_ROW_NCOLS)]).astype(np.int64)
#: Number of cells on the globe.
N_CELLS = int(_ROW_START[-1])
_ENUMERATE_LIMIT = 4_000_000  # a bbox with fewer candidate cells is enumerated in full
_MAX_DRAWS = 200_000_000

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def _rows_cols(cells: Any) -> tuple[IntArray, IntArray]:
    c = np.asarray(cells, dtype=np.int64)
    if c.size and (c.min() < 0 or c.max() >= N_CELLS):
        bad = np.flatnonzero((c < 0) | (c >= N_CELLS))
        raise InvalidInputError(
            f"cell ids must lie in 0..{N_CELLS - 1}; bad rows {bad[:10].tolist()}"
        )
    rows = np.searchsorted(_ROW_START, c, side="right") - 1
    return rows, c - _ROW_START[rows]


def cell_centres(cells: Any) -> tuple[FloatArray, FloatArray]:
    """Centre ``(lon, lat)`` of each cell id, degrees.

    Examples
    --------
    >>> import numpy as np
    >>> lon, lat = cell_centres(np.array([N_CELLS // 2]))
    >>> bool(abs(lat[0]) < 0.03)
    True
    """
    rows, cols = _rows_cols(cells)
    lon = -180.0 + (cols + 0.5) * _ROW_DLON[rows]
    return np.asarray(lon, dtype=np.float64), np.asarray(_ROW_LAT[rows], dtype=np.float64)


def cell_bounds(cells: Any) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Footprint ``(xmin, ymin, xmax, ymax)`` of each cell id, degrees.

    Examples
    --------
    >>> import numpy as np
    >>> x0, y0, x1, y1 = cell_bounds(np.array([N_CELLS // 2]))
    >>> round(float(y1[0] - y0[0]) * 111.32, 2)
    2.56
    """
    rows, cols = _rows_cols(cells)
    dlon = _ROW_DLON[rows]
    xmin = -180.0 + cols * dlon
    ymin = _ROW_LAT[rows] - CELL_DEG / 2
    return (
        np.asarray(xmin, dtype=np.float64),
        np.asarray(ymin, dtype=np.float64),
        np.asarray(
            np.where(cols + 1 == _ROW_NCOLS[rows], 180.0, -180.0 + (cols + 1) * dlon),
            dtype=np.float64,
        ),
        np.asarray(ymin + CELL_DEG, dtype=np.float64),
    )


def cell_of(lon: Any, lat: Any) -> IntArray:
    """Cell id holding each point (the inverse of :func:`cell_centres`).

    Examples
    --------
    >>> import numpy as np
    >>> int(cell_of(np.array([0.0]), np.array([0.0]))[0]) > 0
    True
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    rows = np.clip(np.floor((lat_a + 90.0) / CELL_DEG).astype(np.int64), 0, N_ROWS - 1)
    cols = np.floor((lon_a + 180.0) / _ROW_DLON[rows]).astype(np.int64)
    cols = np.clip(cols, 0, _ROW_NCOLS[rows] - 1)
    return np.asarray(_ROW_START[rows] + cols, dtype=np.int64)


def _segments(bbox: tuple[float, float, float, float] | None) -> tuple[IntArray, IntArray]:
    """(first cell id, count) of each run of cells whose centre lies in ``bbox``."""
    if bbox is None:
        return _ROW_START[:-1].copy(), _ROW_NCOLS.copy()
    minx, miny, maxx, maxy = bbox
    row_lat = _ROW_LAT
    rows = np.flatnonzero((row_lat >= miny) & (row_lat <= maxy))
    spans = [(minx, maxx)] if minx < maxx else [(minx, 180.0), (-180.0, maxx)]
    starts: list[IntArray] = []
    counts: list[IntArray] = []
    for lo, hi in spans:
        dlon = _ROW_DLON[rows]
        c_lo = np.maximum(np.ceil((lo + 180.0) / dlon - 0.5), 0).astype(np.int64)
        c_hi = np.minimum(np.floor((hi + 180.0) / dlon - 0.5), _ROW_NCOLS[rows] - 1)
        count = np.maximum(c_hi.astype(np.int64) - c_lo + 1, 0)
        starts.append(_ROW_START[rows] + c_lo)
        counts.append(count)
    start = np.concatenate(starts)
    count = np.concatenate(counts)
    keep = count > 0
    order = np.argsort(start[keep], kind="stable")
    return start[keep][order], count[keep][order]


def _cells_at(start: IntArray, cum: IntArray, k: IntArray) -> IntArray:
    seg = np.searchsorted(cum, k, side="right") - 1
    return np.asarray(start[seg] + (k - cum[seg]), dtype=np.int64)


def _land(cells: IntArray) -> NDArray[np.bool_]:
    lon, lat = cell_centres(cells)
    return is_land(lon, lat)


def sample_cells(
    n_places: int, *, seed: int, bbox: tuple[float, float, float, float] | None = None
) -> IntArray:
    """``n_places`` distinct land cells, uniform over the land in ``bbox``, sorted by id.

    A cell is on land when its centre is, per ``global_land_mask``. Deterministic for
    ``(n_places, seed, bbox)``. ``bbox`` selects cells whose centre lies inside it;
    ``minx > maxx`` crosses the antimeridian.

    Raises
    ------
    RegionError
        When ``bbox`` holds no land, or fewer land cells than ``n_places``.

    Examples
    --------
    >>> cells = sample_cells(5, seed=0, bbox=(5.0, 45.0, 10.0, 48.0))
    >>> lon, lat = cell_centres(cells)
    >>> bool(((lon >= 5) & (lon <= 10) & (lat >= 45) & (lat <= 48)).all())
    True
    """
    if n_places < 1:
        raise InvalidInputError(f"n_places must be at least 1, got {n_places}")
    start, count = _segments(bbox)
    cum = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    total = int(cum[-1])
    where = f"bbox {bbox}" if bbox is not None else "the globe"
    if total == 0:
        raise RegionError(f"{where} holds no cell centre of the {CELL_KM} km grid; widen the bbox")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, 401])
    if total <= max(_ENUMERATE_LIMIT, 2 * n_places):
        cells = _cells_at(start, cum, np.arange(total, dtype=np.int64))
        land = cells[_land(cells)]
        _check_enough(land.size, n_places, where, exact=True)
        pick = rng.choice(land.size, size=n_places, replace=False)
        return np.sort(land[pick])
    found = np.empty(0, dtype=np.int64)
    drawn = 0
    while found.size < n_places:
        need = n_places - found.size
        batch = int(min(max(4 * need, 10_000), 5_000_000))
        cand = _cells_at(start, cum, rng.integers(0, total, size=batch, dtype=np.int64))
        drawn += batch
        cand = cand[_land(cand)]
        merged = np.concatenate([found, cand])
        _, first = np.unique(merged, return_index=True)
        found = merged[np.sort(first)]
        if drawn >= _MAX_DRAWS and found.size < n_places:
            _check_enough(found.size, n_places, where, exact=False)
    return np.sort(found[:n_places])


def _check_enough(available: int, n_places: int, where: str, *, exact: bool) -> None:
    if available == 0:
        raise RegionError(f"{where} holds no land; choose a bbox that covers land")
    if available < n_places:
        qualifier = "only" if exact else "too few (about"
        close = "" if exact else ")"
        raise RegionError(
            f"{where} holds {qualifier} {available}{close} land cells of {CELL_KM} km but "
            f"{n_places} places were asked for (n / 2: each place appears once per year); "
            "lower n or widen the bbox",
            params=("n",),
        )


# --------------------------------------------------------------------------- GeoParquet


def world_marker(
    *, seed: int, patches: int, dim: int, bbox: tuple[float, float, float, float] | None
) -> str:
    """The world marker (:data:`WORLD_KEY`): JSON naming the generator and its settings.

    Examples
    --------
    >>> json.loads(world_marker(seed=0, patches=200, dim=64, bbox=None))["generator"]
    'terrabit world'
    """
    from terrabit import __version__

    meta = {
        "generator": "terrabit world",
        "synthetic": True,
        "terrabit": __version__,
        "seed": int(seed),
        "patches": int(patches),
        "dim": int(dim),
        "bbox": None if bbox is None else [float(v) for v in bbox],
    }
    return json.dumps(meta, sort_keys=True)


def patch_schema(dim: int, *, geo: bytes | None = None, world: str | None = None) -> pa.Schema:
    """The Arrow schema of a patch file of ``dim``-dimensional embeddings.

    ``geo`` is the GeoParquet metadata, ``world`` the :func:`world_marker`.

    Examples
    --------
    >>> patch_schema(64).field("embedding").type
    FixedSizeListType(fixed_size_list<item: float>[64])
    """
    schema = pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("geometry", pa.binary(), nullable=False),
            pa.field("datetime", pa.timestamp("ms", tz="UTC"), nullable=False),
            pa.field("embedding", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("label", pa.string(), nullable=False),
            pa.field("year", pa.int16(), nullable=False),
            pa.field("bbox", geoparquet.bbox_type(), nullable=False),
        ]
    )
    meta: dict[str | bytes, str | bytes] = {}
    if geo is not None:
        meta[geoparquet.GEO_KEY] = geo
    if world is not None:
        meta[WORLD_KEY] = world
    return schema.with_metadata(meta) if meta else schema


def geo_metadata(bbox: tuple[float, float, float, float]) -> bytes:
    """GeoParquet 1.1 ``geo`` metadata for a patch file whose extent is ``bbox``, as JSON bytes.

    Polygon footprints in CRS84, counterclockwise, with the ``bbox`` covering column
    (:func:`terrabit.geoparquet.geo_metadata`).

    Examples
    --------
    >>> import json
    >>> meta = json.loads(geo_metadata((0.0, 0.0, 1.0, 1.0)))
    >>> meta["version"], meta["columns"]["geometry"]["covering"]["bbox"]["xmin"]
    ('1.1.0', ['bbox', 'xmin'])
    """
    meta = geoparquet.geo_metadata(bbox, ["Polygon"], orientation="counterclockwise")
    return json.dumps(meta, sort_keys=True).encode()


def patch_table(
    cells: IntArray,
    years: NDArray[np.integer[Any]],
    labels: NDArray[np.str_],
    embedding: NDArray[np.float32],
    *,
    seed: int,
    schema: pa.Schema,
) -> pa.Table:
    """One batch of patch rows as an Arrow table of :func:`patch_schema`.

    ``id`` is ``"<cell id, 8 digits>-<year>"``; ``datetime`` is a seeded day of June to
    August of ``year`` (noon UTC).

    Examples
    --------
    >>> import numpy as np
    >>> t = patch_table(np.array([7]), np.array([2023]), np.array(["forest"]),
    ...                 np.zeros((1, 64), np.float32), seed=0, schema=patch_schema(64))
    >>> t.column("id").to_pylist()
    ['00000007-2023']
    """
    n = cells.shape[0]
    dim = embedding.shape[1]
    xmin, ymin, xmax, ymax = cell_bounds(cells)
    wkb = shapely.to_wkb(shapely.box(xmin, ymin, xmax, ymax, ccw=True), byte_order=1)
    ids = np.char.add(np.char.zfill(cells.astype(str), 8), np.char.add("-", years.astype(str)))
    key = cells.astype(np.uint64) * np.uint64(4099) + years.astype(np.uint64)
    rng_day = _day_of_summer(key, seed)
    uniq, inverse = np.unique(years, return_inverse=True)
    june1 = np.array([f"{y}-06-01" for y in uniq], dtype="datetime64[D]").astype(np.int64)
    epoch_day = june1[inverse] + rng_day
    millis = epoch_day * 86_400_000 + 12 * 3_600_000
    flat = pa.array(np.ascontiguousarray(embedding, dtype=np.float32).reshape(-1))
    bbox = geoparquet.bbox_column(np.column_stack([xmin, ymin, xmax, ymax]))
    columns = [
        pa.array(ids.tolist(), type=pa.string()),
        pa.array(wkb, type=pa.binary()),
        pa.array(millis, type=pa.timestamp("ms", tz="UTC")),
        pa.FixedSizeListArray.from_arrays(flat, dim),
        pa.array(labels.tolist(), type=pa.string()),
        pa.array(years.astype(np.int16), type=pa.int16()),
        bbox,
    ]
    assert all(len(c) == n for c in columns)
    return pa.Table.from_arrays(columns, schema=schema)


def _day_of_summer(key: NDArray[np.uint64], seed: int) -> IntArray:
    with np.errstate(over="ignore"):
        z = key * np.uint64(0x9E3779B97F4A7C15) + np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(29))
    return np.asarray(z % np.uint64(92), dtype=np.int64)


def extent(cells: IntArray) -> tuple[float, float, float, float]:
    """The bbox of the footprints of ``cells`` (ordinary min/max: no antimeridian wrap).

    Examples
    --------
    >>> import numpy as np
    >>> x0, y0, x1, y1 = extent(np.array([0, 1]))
    >>> x0 < x1 and y0 < y1
    True
    """
    if cells.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    xmin, ymin, xmax, ymax = cell_bounds(cells)
    return (float(xmin.min()), float(ymin.min()), float(xmax.max()), float(ymax.max()))
