"""The Hilbert curve on lon/lat: the in-shard sort key of corpus format 1.3.

A point's key is the index along a Hilbert curve of order :data:`ORDER` of the cell of a
``2**ORDER x 2**ORDER`` grid over ``[-180, 180] x [-90, 90]`` that holds it. Unlike the
Z (Morton) curve of a geohash, the Hilbert curve never jumps: consecutive keys are
neighbouring cells, so a run of rows sorted by key (a row group, a data page) is
spatially compact, and a region cuts fewer runs. Keys sharing their top ``2k`` bits
lie in one cell of the level-``k`` quadtree, as geohash keys do, so row groups can
still be cut on coarse cells.

Examples
--------
>>> keys([-180.0, 180.0, 0.0], [-90.0, -90.0, 0.0]).tolist()  # start, end, centre
[0, 1152921504606846975, 576460752303423488]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["ORDER", "cells", "keys"]

ORDER = 30
"""Bits per axis: cells of 360 / 2**30 degrees (about 4 cm of longitude at the equator);
keys fill 60 bits."""


def cells(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Grid cell of each point: ``floor((lon + 180) / 360 * 2**ORDER)`` and
    ``floor((lat + 90) / 180 * 2**ORDER)`` in float64, clipped to ``[0, 2**ORDER - 1]``.

    Examples
    --------
    >>> cells([-180.0, 180.0], [0.0, 90.0])
    (array([         0, 1073741823]), array([ 536870912, 1073741823]))
    """
    side = float(1 << ORDER)
    x = np.floor((np.asarray(lon, dtype=np.float64) + 180.0) / 360.0 * side)
    y = np.floor((np.asarray(lat, dtype=np.float64) + 90.0) / 180.0 * side)
    top = (1 << ORDER) - 1
    return np.clip(x, 0, top).astype(np.int64), np.clip(y, 0, top).astype(np.int64)


@njit(cache=True, nogil=True)
def _xy2d(x: npt.NDArray[np.int64], y: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.uint64]:
    out = np.empty(len(x), dtype=np.uint64)
    for i in range(len(x)):
        xi, yi, d = x[i], y[i], 0
        s = n >> 1
        while s > 0:
            rx = 1 if xi & s else 0
            ry = 1 if yi & s else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:  # rotate the quadrant so the curve stays continuous
                if rx == 1:
                    xi = n - 1 - xi
                    yi = n - 1 - yi
                xi, yi = yi, xi
            s >>= 1
        out[i] = d
    return out


def keys(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Hilbert keys (``uint64``, below ``2**60``) of points in lon/lat degrees.

    The index is the classic ``xy2d`` of the grid cell (:func:`cells`): for ``s`` from
    ``2**(ORDER-1)`` down to 1, add ``s*s*((3*rx) ^ ry)`` where ``rx``/``ry`` are the
    ``s`` bits of ``x``/``y``, then, when ``ry == 0``, reflect (``x, y = n-1-x, n-1-y``
    if ``rx == 1``) and swap ``x`` and ``y`` (``n = 2**ORDER``).

    Examples
    --------
    >>> k = keys([10.0, 10.0001, -70.0], [45.0, 45.0, -30.0])
    >>> int(k[1]) - int(k[0]) < abs(int(k[2]) - int(k[0]))  # near points, near keys
    True
    """
    x, y = cells(lon, lat)
    out: npt.NDArray[np.uint64] = _xy2d(x, y, 1 << ORDER)
    return out
