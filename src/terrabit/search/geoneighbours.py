"""The k nearest points on the ground, through a spatial grid: O(n·k), never O(n²).

:func:`geo_knn` finds, for every point, its ``k`` nearest other points by great-circle
distance. It is what the ``surprise`` and ``gradient`` views stand on.

How it works:

* Points go on the unit sphere, ``(x, y, z) = (cos φ cos λ, cos φ sin λ, sin φ)``. This is
  the cos(latitude) correction made exact: a degree of longitude shrinks by ``cos φ``
  by construction, there is no seam at the antimeridian (longitudes 179.9 and -179.9 are
  neighbours) and none at the poles. The straight-line (chord) distance ``c`` orders
  points exactly as the great-circle distance ``2 R asin(c / 2)`` does (haversine), which is
  what is returned, in metres (``R`` = 6,371,008.8 m, the mean Earth radius).
* The cube holding the points is cut into a grid of ``2**20`` cells a side; points are
  sorted once by the Morton key of their cell, so a cell of any coarser level ``l``
  (``2**l`` fine cells a side) is one contiguous run of the sorted points.
* Each point starts on the coarsest level at which its own cell holds at most
  ``max(4, k)`` points (the cell size follows the local density), then searches shells
  of cells outward (Chebyshev ring ``r = 0 … 3``) and stops once it holds ``k``
  candidates and the ``k``-th distance is below ``r·h`` plus its distance to its own
  cell's faces: every point not yet seen is at least that far. A point whose neighbours
  are farther restarts on a level 4× coarser, up to one cell holding everything, so the
  answer is exact whatever the data.
* Candidates are kept sorted by ``(distance, index)``: ties go to the lower index and the
  result does not depend on the order of the search or the number of threads.

Examples
--------
>>> import numpy as np
>>> from terrabit.search.geoneighbours import geo_knn
>>> lon = np.array([179.9, -179.9, 0.0, 0.1])
>>> lat = np.zeros(4)
>>> distances, indices = geo_knn(lon, lat, 1)
>>> indices[:, 0].tolist()
[1, 0, 3, 2]
>>> round(float(distances[0, 0]))  # 0.2 degrees of longitude on the equator
22239
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from terrabit.errors import InvalidInputError

__all__ = ["EARTH_RADIUS_M", "GEO_PAD_INDEX", "geo_knn"]

#: Mean Earth radius in metres (IUGG), the sphere the distances are measured on.
EARTH_RADIUS_M = 6_371_008.8
#: Index padding a row of :func:`geo_knn` when fewer than ``k`` other points exist (its
#: distance is ``inf``).
GEO_PAD_INDEX = -1

_BITS = 20  # fine grid: 2**20 cells a side over the extent of the points (Morton keys: 60 bits)
_FINE_CELLS = 1 << _BITS
_MAX_RING = 3  # shells searched on one level before moving 4x coarser
_LEVEL_STEP = 2  # 2**2 = 4x coarser per restart
_SLACK = 1e-12  # safety margin on the "nothing unseen is closer" bound (float rounding)
_MIN_CELL_TARGET = 4  # a point starts on the coarsest level where its cell holds <= max(4, k)
_SERIAL_MAX = 20_000  # fewer points than this: one thread (a parallel launch costs more)


# --------------------------------------------------------------------------- numba kernels


@njit(cache=True, nogil=True)
def _spread(v: Any) -> Any:  # pragma: no cover - numba
    """Spread the low 21 bits of ``v`` so that two zero bits separate each (Morton)."""
    v = v & 0x1FFFFF
    v = (v | (v << 32)) & 0x1F00000000FFFF
    v = (v | (v << 16)) & 0x1F0000FF0000FF
    v = (v | (v << 8)) & 0x100F00F00F00F00F
    v = (v | (v << 4)) & 0x10C30C30C30C30C3
    v = (v | (v << 2)) & 0x1249249249249249
    return v


@njit(cache=True, nogil=True)
def _morton(a: Any, b: Any, c: Any) -> Any:  # pragma: no cover - numba
    return (_spread(a) << 2) | (_spread(b) << 1) | _spread(c)


@njit(cache=True, nogil=True)
def _keys(cells: Any) -> Any:  # pragma: no cover - numba
    """Morton key of each fine cell ``cells[i] = (ix, iy, iz)``."""
    n = cells.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = _morton(cells[i, 0], cells[i, 1], cells[i, 2])
    return out


@njit(cache=True, nogil=True)
def _offer(bd: Any, bi: Any, k: int, d: float, j: int) -> None:  # pragma: no cover - numba
    """Insert ``(d, j)`` into the buffer sorted by ``(distance, index)`` if it beats the last."""
    last = k - 1
    if d > bd[last] or (d == bd[last] and j >= bi[last]):
        return
    pos = last
    while pos > 0 and (bd[pos - 1] > d or (bd[pos - 1] == d and bi[pos - 1] > j)):
        bd[pos] = bd[pos - 1]
        bi[pos] = bi[pos - 1]
        pos -= 1
    bd[pos] = d
    bi[pos] = j


@njit(cache=True, nogil=True)
def _search_level(
    s: int,
    xyz: Any,
    cells: Any,
    skeys: Any,
    order: Any,
    level: int,
    h_fine: float,
    k: int,
    exclude_self: bool,
    bd: Any,
    bi: Any,
) -> bool:  # pragma: no cover - numba
    """Search the shells of sorted point ``s`` on ``level``; True once its top-k is exact.

    ``xyz``, ``cells`` and ``skeys`` are in Morton order; ``order`` maps back to rows.
    """
    for m in range(k):
        bd[m] = np.inf
        bi[m] = -1
    me = order[s]
    n = skeys.shape[0]
    h = h_fine * (1 << level)
    side = _FINE_CELLS >> level
    shift = 3 * level
    qx = xyz[s, 0]
    qy = xyz[s, 1]
    qz = xyz[s, 2]
    cx = cells[s, 0] >> level
    cy = cells[s, 1] >> level
    cz = cells[s, 2] >> level
    # distance from the point to the nearest face of its own cell
    face = h
    for axis in range(3):
        off = xyz[s, axis] - (cells[s, axis] >> level) * h
        face = min(face, max(off, 0.0), max(h - off, 0.0))
    found = 0
    for r in range(_MAX_RING + 1):
        for dx in range(-r, r + 1):
            a = cx + dx
            if a < 0 or a >= side:
                continue
            for dy in range(-r, r + 1):
                b = cy + dy
                if b < 0 or b >= side:
                    continue
                # inside the shell's (dx, dy) square only dz = -r and dz = +r are new
                step = 1 if (dx == -r or dx == r or dy == -r or dy == r) else 2 * r
                for dz in range(-r, r + 1, step):
                    c = cz + dz
                    if c < 0 or c >= side:
                        continue
                    key = _morton(a, b, c) << shift
                    end = key + (np.int64(1) << shift)
                    t = np.searchsorted(skeys, key)
                    while t < n and skeys[t] < end:
                        j = order[t]
                        t += 1
                        if exclude_self and j == me:
                            continue
                        ex = xyz[t - 1, 0] - qx
                        ey = xyz[t - 1, 1] - qy
                        ez = xyz[t - 1, 2] - qz
                        found += 1
                        _offer(bd, bi, k, ex * ex + ey * ey + ez * ez, j)
        low = max(cx, cy, cz) - r
        high = min(cx, cy, cz) + r
        if low <= 0 and high >= side - 1:
            return True  # the shells cover the whole grid: every point was seen
        bound = r * h + face - _SLACK
        if found >= k and bound > 0.0 and bd[k - 1] < bound * bound:
            return True
    return False


@njit(cache=True, nogil=True)
def _knn_range(
    s0: int,
    s1: int,
    xyz: Any,
    cells: Any,
    skeys: Any,
    order: Any,
    levels: Any,
    h_fine: float,
    k: int,
    exclude_self: bool,
    out_d: Any,
    out_i: Any,
) -> None:  # pragma: no cover - numba
    bd = np.empty(k, dtype=np.float64)
    bi = np.empty(k, dtype=np.int64)
    for s in range(s0, s1):
        level = levels[s]
        while not _search_level(
            s, xyz, cells, skeys, order, level, h_fine, k, exclude_self, bd, bi
        ):
            level = min(level + _LEVEL_STEP, _BITS)
        row = order[s]
        for m in range(k):
            out_d[row, m] = bd[m]
            out_i[row, m] = bi[m]


@njit(cache=True, parallel=True, nogil=True)
def _knn_parallel(
    xyz: Any,
    cells: Any,
    skeys: Any,
    order: Any,
    levels: Any,
    h_fine: float,
    k: int,
    exclude_self: bool,
    out_d: Any,
    out_i: Any,
    n_chunks: int,
) -> None:  # pragma: no cover - numba
    n = xyz.shape[0]
    per = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        s0 = min(c * per, n)
        s1 = min(s0 + per, n)
        _knn_range(s0, s1, xyz, cells, skeys, order, levels, h_fine, k, exclude_self, out_d, out_i)


# --------------------------------------------------------------------------- helpers


def _as_lonlat(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``lon``/``lat`` as matching finite 1-D float64 arrays, lat in [-90, 90]."""
    out = []
    for name, values in (("lon", lon), ("lat", lat)):
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name} must be numbers in degrees: {exc}") from exc
        if arr.ndim != 1:
            raise InvalidInputError(f"{name} must be 1-D (one value per point), got {arr.shape}")
        out.append(arr)
    lon_a, lat_a = out
    if lon_a.shape != lat_a.shape:
        raise InvalidInputError(
            f"lon and lat must have the same length, got {lon_a.shape[0]} and {lat_a.shape[0]}"
        )
    bad = np.flatnonzero(~(np.isfinite(lon_a) & np.isfinite(lat_a)))
    if bad.size:
        raise InvalidInputError(
            f"lon/lat must be finite; rows {bad[:10].tolist()} are NaN or infinite "
            f"({bad.size} in all): drop or fill them first"
        )
    bad = np.flatnonzero(np.abs(lat_a) > 90.0)
    if bad.size:
        raise InvalidInputError(
            f"lat must be within [-90, 90] degrees; rows {bad[:10].tolist()} are not "
            f"({bad.size} in all): were lon and lat swapped?"
        )
    return lon_a, lat_a


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, ``float64 [n, 3]``."""
    lam = np.radians(lon)
    phi = np.radians(lat)
    cos_phi = np.cos(phi)
    return np.ascontiguousarray(
        np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=1)
    )


@njit(cache=True, nogil=True)
def _start_levels(skeys: Any, target: int) -> Any:  # pragma: no cover - numba
    """Per sorted point, the coarsest level whose cell holding it has ``<= target`` points."""
    n = skeys.shape[0]
    levels = np.zeros(n, dtype=np.int64)
    for level in range(1, _BITS + 1):
        shift = 3 * level
        a = 0
        while a < n:
            b = a + 1
            key = skeys[a] >> shift
            while b < n and (skeys[b] >> shift) == key:
                b += 1
            if b - a <= target:
                for t in range(a, b):
                    levels[t] = level
            a = b
    return levels


def geo_knn(
    lon: Any, lat: Any, k: int, *, exclude_self: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest points on the ground of every point (exact, great-circle).

    Parameters
    ----------
    lon, lat : array-like of float, ``[n]``
        Point coordinates in degrees (any finite longitude; latitude in [-90, 90]).
    k : int
        Neighbours per point, at least 1. When fewer than ``k`` other points exist the
        rows are padded with distance ``inf`` and index :data:`GEO_PAD_INDEX` (``-1``).
    exclude_self : bool, default True
        Leave each point out of its own neighbours. Only the point itself is left out:
        another point at the same place is a neighbour at distance 0.

    Returns
    -------
    distances_m : float64 array ``[n, k]``
        Great-circle distances in metres on a sphere of radius :data:`EARTH_RADIUS_M`,
        ascending along each row.
    indices : int64 array ``[n, k]``
        Row numbers of the neighbours; equal distances are ordered by lower index.

    Raises
    ------
    InvalidInputError
        ``k < 1``, lon/lat of different lengths, non-finite values or a latitude outside
        [-90, 90] (the message names the rows).

    Examples
    --------
    >>> d, i = geo_knn([0.0, 0.0, 0.0], [0.0, 0.001, 0.003], 2)
    >>> i.tolist()
    [[1, 2], [0, 2], [1, 0]]
    >>> np.round(d[0]).tolist()
    [111.0, 334.0]
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    if k < 1:
        raise InvalidInputError(f"k must be at least 1, got {k}")
    k = int(k)
    lon_a, lat_a = _as_lonlat(lon, lat)
    n = lon_a.shape[0]
    out_d = np.full((n, k), np.inf, dtype=np.float64)
    out_i = np.full((n, k), GEO_PAD_INDEX, dtype=np.int64)
    if n == 0:
        return out_d, out_i
    xyz = _unit_xyz(lon_a, lat_a)
    # a grid fitted to the data: 2**20 cells a side over the points' extent
    origin = xyz.min(axis=0)
    local = xyz - origin
    span = float(local.max())
    h_fine = span / _FINE_CELLS * (1.0 + 1e-9) if span > 0.0 else 1.0
    cells = np.minimum(np.floor(local / h_fine), _FINE_CELLS - 1).astype(np.int64)
    keys = _keys(cells)
    order = np.argsort(keys, kind="stable")
    skeys = np.ascontiguousarray(keys[order])
    local = np.ascontiguousarray(local[order])
    cells = np.ascontiguousarray(cells[order])
    levels = _start_levels(skeys, max(_MIN_CELL_TARGET, k))
    args = (local, cells, skeys, order, levels, h_fine, k, bool(exclude_self), out_d, out_i)
    if n < _SERIAL_MAX:
        _knn_range(0, n, *args)
    else:
        _knn_parallel(*args, 64)
    found = out_i >= 0
    chord = np.sqrt(out_d[found])
    out_d[found] = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2.0, 1.0))
    return out_d, out_i
