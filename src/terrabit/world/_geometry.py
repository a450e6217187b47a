"""Lon/lat box helpers shared by the AEF tiles and the zones: the UTM-range check and the
densified ring used to reproject a box's outline."""

from __future__ import annotations

from typing import Any

import numpy as np

from terrabit._validation import check_bbox
from terrabit.errors import RegionError

__all__ = ["UTM_LAT_RANGE", "check_utm_bbox", "densified_ring"]

#: Latitudes covered by the UTM zones, degrees (``miny``, ``maxy`` of a UTM region).
UTM_LAT_RANGE = (-80.0, 84.0)


def check_utm_bbox(bbox: Any, *, name: str = "bbox") -> tuple[float, float, float, float]:
    """:func:`~terrabit._validation.check_bbox` with ``minx < maxx`` and latitudes in UTM range.

    Examples
    --------
    >>> check_utm_bbox((-66.1, 45.2, -66.0, 45.3))
    (-66.1, 45.2, -66.0, 45.3)
    >>> check_utm_bbox((-66.0, 85.0, -65.9, 85.1))
    Traceback (most recent call last):
    ...
    terrabit.errors.RegionError: bbox latitudes must lie in [-80, 84] (the UTM range); got \
miny=85.0, maxy=85.1, pass a bbox between 80°S and 84°N
    """
    minx, miny, maxx, maxy = check_bbox(bbox, name=name, allow_antimeridian=False)
    low, high = UTM_LAT_RANGE
    if not (low <= miny and maxy <= high):
        raise RegionError(
            f"{name} latitudes must lie in [{low:g}, {high:g}] (the UTM range); got "
            f"miny={miny}, maxy={maxy}, pass a bbox between 80°S and 84°N"
        )
    return (minx, miny, maxx, maxy)


def densified_ring(
    minx: float, miny: float, maxx: float, maxy: float, n: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """The outline of a box as ``4 * n`` points (``n`` a side, counterclockwise, not closed).

    Reprojecting these points (rather than the 4 corners) bounds the box's curved image.

    Examples
    --------
    >>> xs, ys = densified_ring(0.0, 0.0, 1.0, 2.0, n=2)
    >>> xs.tolist(), ys.tolist()
    ([0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 1.0])
    """
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    xs = np.concatenate(
        [minx + (maxx - minx) * t, np.full(n, maxx), maxx - (maxx - minx) * t, np.full(n, minx)]
    )
    ys = np.concatenate(
        [np.full(n, miny), miny + (maxy - miny) * t, np.full(n, maxy), maxy - (maxy - miny) * t]
    )
    return xs, ys
