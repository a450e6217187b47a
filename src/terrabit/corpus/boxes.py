"""Tests of bboxes against query boxes, vectorized: the arithmetic of a region read.

Each function takes the four ``bbox`` fields as arrays (``xmin, ymin, xmax, ymax``, one
value per row or per row group) and a list of query boxes ``(minx, miny, maxx, maxy)``
in lon/lat degrees, and answers per row. :mod:`terrabit.corpus.manifest` prunes shards
with :func:`overlaps`, :class:`~terrabit.corpus.shard.Shard` prunes row groups with it,
and :mod:`terrabit.corpus.regionrows` tells the rows inside a region with all of them.

Examples
--------
>>> import numpy as np
>>> xmin, ymin = np.array([0.0, 10.0]), np.array([0.0, 10.0])
>>> xmax, ymax = np.array([1.0, 11.0]), np.array([1.0, 11.0])
>>> overlaps(xmin, ymin, xmax, ymax, [(0.5, 0.5, 2.0, 2.0)]).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from terrabit.region import Box

__all__ = ["bbox_leaves_needed", "covers_box", "inside_boxes", "overlaps", "spanned"]


def overlaps(
    xmin: npt.NDArray[Any],
    ymin: npt.NDArray[Any],
    xmax: npt.NDArray[Any],
    ymax: npt.NDArray[Any],
    boxes: list[Box],
) -> npt.NDArray[np.bool_]:
    """Whether each ``[xmin, xmax] x [ymin, ymax]`` meets one of ``boxes`` (edges
    touching count).

    Examples
    --------
    >>> one = np.array([0.0])
    >>> overlaps(one, one, one + 1, one + 1, [(1.0, 1.0, 2.0, 2.0)]).tolist()  # a corner
    [True]
    >>> overlaps(one, one, one + 1, one + 1, []).tolist()
    [False]
    """
    hit = np.zeros(len(xmin), dtype=bool)
    for qx0, qy0, qx1, qy1 in boxes:
        hit |= (xmin <= qx1) & (xmax >= qx0) & (ymin <= qy1) & (ymax >= qy0)
    return hit


def inside_boxes(
    xmin: npt.NDArray[Any],
    ymin: npt.NDArray[Any],
    xmax: npt.NDArray[Any],
    ymax: npt.NDArray[Any],
    boxes: Sequence[Box],
) -> npt.NDArray[np.bool_]:
    """Whether each ``[xmin, xmax] x [ymin, ymax]`` lies inside one of ``boxes``.

    Examples
    --------
    >>> xs = np.array([0.0, 0.0])
    >>> inside_boxes(xs, xs, xs + [1, 3], xs + 1, [(0.0, 0.0, 2.0, 2.0)]).tolist()
    [True, False]
    """
    inside = np.zeros(len(xmin), dtype=bool)
    for bx0, by0, bx1, by1 in boxes:
        inside |= (xmin >= bx0) & (xmax <= bx1) & (ymin >= by0) & (ymax <= by1)
    return inside


def covers_box(box: Box, geom: shapely.Geometry) -> bool:
    """Whether ``geom`` covers the whole of ``box``.

    Examples
    --------
    >>> covers_box((0.0, 0.0, 1.0, 1.0), shapely.box(-1, -1, 2, 2))
    True
    """
    return bool(shapely.covers(geom, shapely.box(*box)))


def spanned(
    lo: list[npt.NDArray[Any]], hi: list[npt.NDArray[Any]], boxes: list[Box]
) -> npt.NDArray[np.bool_]:
    """Rows whose bbox a box spans from side to side along one axis while meeting it
    along the other: a connected geometry (its projection on each axis is its bbox's
    whole interval) then meets the box.

    ``lo``/``hi`` bound each stored bbox field (``xmin, ymin, xmax, ymax``) from below
    and above: the stored value itself, or the row group's statistics for a field not
    read. The float32 bounds are rounded outward, so the true ones are taken one
    float32 step inside.

    Examples
    --------
    >>> xs = [np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([2.0])]
    >>> spanned(xs, xs, [(-1.0, 0.5, 2.0, 3.0)]).tolist()  # across x
    [True]
    >>> spanned(xs, xs, [(0.5, 0.5, 3.0, 3.0)]).tolist()  # a corner only
    [False]
    """
    up, down = np.float32(np.inf), np.float32(-np.inf)

    def inward(v: npt.NDArray[Any], to: np.float32) -> npt.NDArray[np.float64]:
        return np.nextafter(np.asarray(v, dtype=np.float32), to).astype(np.float64)

    x0, y0 = (np.asarray(v, dtype=np.float64) for v in lo[:2])
    x1, y1 = (np.asarray(v, dtype=np.float64) for v in hi[2:])
    ix0, iy0 = inward(hi[0], up), inward(hi[1], up)
    ix1, iy1 = inward(lo[2], down), inward(lo[3], down)
    out = np.zeros(np.broadcast(x0, y0, x1, y1, ix0, iy0, ix1, iy1).shape, dtype=bool)
    for qx0, qy0, qx1, qy1 in boxes:
        across_x = (qx0 <= x0) & (x1 <= qx1) & (iy0 <= qy1) & (iy1 >= qy0)
        across_y = (qy0 <= y0) & (y1 <= qy1) & (ix0 <= qx1) & (ix1 >= qx0)
        out |= across_x | across_y
    return out


def bbox_leaves_needed(
    mins: npt.NDArray[Any], maxs: npt.NDArray[Any], boxes: list[Box]
) -> tuple[int, ...]:
    """The bbox fields (indices into ``xmin, ymin, xmax, ymax``) a row group's rows must
    be read for to tell which meet ``boxes``: a field's test (``xmin <= maxx``,
    ``ymin <= maxy``, ``xmax >= minx``, ``ymax >= miny``) needs no read when the
    group's statistics (``mins``/``maxs``, one value per field) pass it for every row,
    for each box the group's extent meets.

    Examples
    --------
    >>> mins, maxs = np.array([0.0, 0.0, 1.0, 1.0]), np.array([4.0, 2.0, 5.0, 3.0])
    >>> bbox_leaves_needed(mins, maxs, [(0.5, 0.0, 3.0, 3.0)])  # cut on the right only
    (0,)
    >>> bbox_leaves_needed(mins, maxs, [(2.0, 2.5, 9.0, 9.0)])  # a corner
    (2, 3)
    """
    need: set[int] = set()
    for qx0, qy0, qx1, qy1 in boxes:
        if mins[0] > qx1 or mins[1] > qy1 or maxs[2] < qx0 or maxs[3] < qy0:
            continue  # the group's extent misses this box
        for k, cut in enumerate((maxs[0] > qx1, maxs[1] > qy1, mins[2] < qx0, mins[3] < qy0)):
            if cut:
                need.add(k)
    return tuple(sorted(need))
