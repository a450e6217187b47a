"""A ``(lon, lat)`` exemplar that no footprint contains snaps to the nearest row.

Distances are in metres on a local equirectangular projection around the point (exact
enough at the few kilometres a snap covers), from the point to the nearest part of each
footprint. The rows considered are those meeting a box ``snap_m`` (default
:data:`PROBE_M`) around the point; the nearest wins, then a row inside the time filter,
then the smallest id. The default tolerance is :data:`SNAP_FOOTPRINTS` footprint sizes
(the median larger side of those rows' boxes), or :data:`SNAP_POINT_M` when the
footprints are points (a table of points published with ``--lon-col/--lat-col``).

Examples
--------
>>> round(float(metres_to_degrees(1000.0, 60.0)[0]), 5)  # longitude degrees at 60 N
0.01799
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from terrabit._arrow import to_numpy
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError

__all__ = [
    "PROBE_M",
    "SNAP_FOOTPRINTS",
    "SNAP_POINT_M",
    "check_snap",
    "metres_to_degrees",
    "nearest_row",
]

#: The default tolerance: this many footprint sizes.
SNAP_FOOTPRINTS = 3
#: The default tolerance for point footprints, in metres.
SNAP_POINT_M = 1000.0
#: Without ``snap_m``, rows within this many metres are considered (the tolerance never
#: exceeds it).
PROBE_M = 10_000.0
_M_PER_DEGREE = 6371008.8 * math.pi / 180


def check_snap(snap_m: Any) -> float | None:
    """``snap_m`` as a float (None: the default rule); a one-line error unless positive.

    Examples
    --------
    >>> check_snap(250), check_snap(None)
    (250.0, None)
    """
    if snap_m is None:
        return None
    try:
        value = float(snap_m)
        ok = not isinstance(snap_m, bool) and math.isfinite(value) and value > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(
            f"snap_m must be a positive distance in metres (how far a point exemplar may lie "
            f"from the row it takes), got {snap_m!r}",
            params=("snap_m",),
        )
    return value


def metres_to_degrees(metres: float, lat: float) -> tuple[float, float]:
    """``(lon, lat)`` degrees spanning ``metres`` at latitude ``lat``."""
    dlat = metres / _M_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-9)
    return min(dlon, 180.0), dlat


def _probe_box(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    dlon, dlat = metres_to_degrees(metres, lat)
    west, east = lon - dlon, lon + dlon
    if dlon >= 180.0:
        west, east = -180.0, 180.0
    elif west < -180.0:
        west += 360.0  # west > east: the box crosses the antimeridian
    elif east > 180.0:
        east -= 360.0
    return west, max(lat - dlat, -90.0), east, min(lat + dlat, 90.0)


def _local(geoms: np.ndarray, lon: float, lat: float) -> np.ndarray:
    """The geometries in metres east/north of ``(lon, lat)`` (equirectangular)."""
    scale = math.cos(math.radians(lat)) * _M_PER_DEGREE

    def to_metres(xy: np.ndarray) -> np.ndarray:
        dx = (xy[:, 0] - lon + 180.0) % 360.0 - 180.0
        return np.column_stack([dx * scale, (xy[:, 1] - lat) * _M_PER_DEGREE])

    return np.asarray(shapely.transform(geoms, to_metres))


def nearest_row(
    corpus: Corpus,
    lon: float,
    lat: float,
    *,
    snap_m: float | None,
    columns: list[str],
    in_time: Any,
) -> tuple[pa.Table, int, float]:
    """The row nearest to ``(lon, lat)`` within the tolerance: its table (``columns``
    of the rows near the point), index and distance in metres.

    ``in_time`` maps a table of rows to a bool array (inside the search's time filter).

    Raises
    ------
    InvalidInputError
        No row within the tolerance (the message says how far the nearest was, and names
        ``snap_m``).
    """
    key = f"{lon:g},{lat:g}"
    table = corpus.read(_probe_box(lon, lat, snap_m or PROBE_M), columns=columns)
    if table.num_rows == 0:
        raise InvalidInputError(
            f"no patch at {key}: no row's footprint contains the point and no row lies "
            f"within {snap_m or PROBE_M:g} m; pick a point on a patch, pass an id, or raise "
            "snap_m",
            params=("snap_m",),
        )
    geoms = _local(shapely.from_wkb(to_numpy(table.column("geometry"))), lon, lat)
    dist = shapely.distance(geoms, shapely.Point(0.0, 0.0))
    if snap_m is None:
        bounds = shapely.bounds(geoms)
        size = float(
            np.median(np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]))
        )
        limit = min(SNAP_FOOTPRINTS * size, PROBE_M) if size > 0 else SNAP_POINT_M
    else:
        limit = snap_m
    ids = table.column("id").to_pylist()
    timely = np.asarray(in_time(table), dtype=bool)
    best = min(range(table.num_rows), key=lambda j: (float(dist[j]), not timely[j], ids[j]))
    if dist[best] > limit:
        rule = "" if snap_m is not None else " (the default: 3 footprint sizes, 1 km for points)"
        raise InvalidInputError(
            f"no patch at {key}: no row's footprint contains the point, and the nearest row "
            f"({ids[best]}) lies {float(dist[best]):.0f} m away, beyond snap_m={limit:g} "
            f"m{rule}; pick a point on a patch, pass an id, or raise snap_m",
            params=("snap_m",),
        )
    return table, best, float(dist[best])
