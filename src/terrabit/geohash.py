"""Vectorized geohash: encode, decode, cell boxes, neighbours and exact region covers.

Conventions (read these first)
------------------------------
* **Argument order is (lon, lat)**: ``encode(lon, lat)`` and ``decode`` returns
  ``(lon, lat)``, like every x, y pair in terrabit. Most geohash libraries (pygeohash,
  python-geohash) take ``(lat, lon)``; swapping them is the classic bug, so ``encode``
  says so when a latitude is out of range.
* Base32 alphabet ``0123456789bcdefghjkmnpqrstuvwxyz`` (lowercase; no ``a i l o``), bits
  interleaved longitude first, precision 1 to 12 characters.
* A cell is the half-open box ``[west, east) x [south, north)``: a point on a cell edge
  belongs to the cell east / north of it. The top row also holds ``lat == 90`` and
  ``lon == 180`` wraps to ``-180`` (the same meridian), so every valid point has exactly
  one cell. Boxes returned by :func:`bbox` and used by :func:`cover` are closed.
* :func:`neighbours` lists the 8 cells around a cell in the order N, NE, E, SE, S, SW,
  W, NW (:data:`NEIGHBOUR_DIRECTIONS`), wrapping east-west across the antimeridian. Beyond
  a pole there is no cell: those neighbours are omitted (never fabricated), so a cell of
  the top or bottom row has 5 neighbours. :func:`neighbours_array` keeps the 8 slots and
  puts ``""`` where no neighbour exists.
* :func:`cover` returns every cell whose closed box intersects the region (touching
  counts), so a shard index keyed by these cells never misses a point on an edge. The
  meridians -180 and 180 are one line: a region touching one touches cells along the other.
  Regions crossing the antimeridian are given as a bbox with ``minx > maxx``, as a polygon
  whose longitudes run past 180 (or below -180), e.g. 170 to 190, or as a MultiPolygon
  already split at 180. A zero-area bbox (a point or a segment) is a valid region and
  returns the cells touching it; an empty geometry raises :class:`~terrabit.errors.RegionError`.

Examples
--------
>>> from terrabit import geohash
>>> geohash.encode(-5.6, 42.6, precision=5)  # lon, lat
'ezs42'
>>> geohash.encode([-5.6, 10.40744], [42.6, 57.64911], precision=6).tolist()
['ezs42e', 'u4pruy']
>>> geohash.decode("s")
(22.5, 22.5)
>>> geohash.bbox("s")
(0.0, 0.0, 45.0, 45.0)
>>> geohash.cover((-1.0, -1.0, 1.0, 1.0), 1)
['7', 'e', 'k', 's']
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
import shapely

from terrabit._validation import check_choice, check_int_range, format_rows
from terrabit.errors import InvalidInputError
from terrabit.region import Region

__all__ = [
    "ALPHABET",
    "MAX_PRECISION",
    "NEIGHBOUR_DIRECTIONS",
    "bbox",
    "children",
    "cover",
    "decode",
    "encode",
    "neighbours",
    "neighbours_array",
    "parent",
]

ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
"""The geohash base32 alphabet, in code order (also lexicographic order)."""

MAX_PRECISION = 12
"""The finest precision supported (60 bits: 30 of longitude, 30 of latitude)."""

NEIGHBOUR_DIRECTIONS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")
"""The order of :func:`neighbours_array`'s last axis (and of :func:`neighbours`)."""

_NEIGHBOUR_STEPS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
_CODEPOINTS = np.array([ord(c) for c in ALPHABET], dtype=np.uint32)
# codepoint (clipped to 128) -> digit; 0xE0 marks an invalid character (0xE0 & 31 == 0)
_LOOKUP = np.full(129, 0xE0, dtype=np.uint8)
_LOOKUP[_CODEPOINTS] = np.arange(32, dtype=np.uint8)
_DIGIT_SHIFTS = np.array([55 - 5 * i for i in range(MAX_PRECISION)], dtype=np.uint64)
_ALPHABET_HINT = f"the geohash alphabet is {ALPHABET!r} (lowercase; no 'a', 'i', 'l', 'o')"

Mode = Literal["intersects", "within"]
_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- bit helpers


def _spread(x: _U64) -> _U64:
    """Move bit ``j`` of a 30-bit integer to bit ``2 j`` (Morton spread)."""
    x = x & np.uint64(0x00000000FFFFFFFF)
    x = (x | (x << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    x = (x | (x << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x | (x << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    x = (x | (x << np.uint64(2))) & np.uint64(0x3333333333333333)
    return (x | (x << np.uint64(1))) & np.uint64(0x5555555555555555)


def _compact(x: _U64) -> _U64:
    """Inverse of :func:`_spread`: gather the even bits of ``x``."""
    x = x & np.uint64(0x5555555555555555)
    x = (x | (x >> np.uint64(1))) & np.uint64(0x3333333333333333)
    x = (x | (x >> np.uint64(2))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    x = (x | (x >> np.uint64(4))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x | (x >> np.uint64(8))) & np.uint64(0x0000FFFF0000FFFF)
    return (x | (x >> np.uint64(16))) & np.uint64(0x00000000FFFFFFFF)


def _bits(precision: Any) -> tuple[Any, Any]:
    """Longitude and latitude bit counts of a precision (int or int array)."""
    return (5 * precision + 1) // 2, (5 * precision) // 2


def _quantize(values: _F64, low: float, span: float, nbits: int) -> _U64:
    """Exact cell index of ``values`` in ``nbits`` halvings of ``[low, low + span]``.

    A float estimate is corrected against the cell edges ``low + k * span / 2**nbits``,
    which are exact in float64 (multiples of 45 / 2**m degrees), so the result equals the
    classic bisection (``value >= mid`` goes to the upper half) bit for bit.
    """
    n = float(2**nbits)
    width = span / n
    k = np.clip(np.floor((values - low) / width), 0.0, n - 1.0)
    k -= values < low + k * width
    k += (values >= low + (k + 1.0) * width) & (k < n - 1.0)
    return k.astype(np.uint64)


def _code60(ix: Any, iy: Any, n_lon: Any, n_lat: Any) -> _U64:
    """Left-aligned 60-bit geohash code from cell indices (per-row bit counts allowed)."""
    lon30 = np.asarray(ix, dtype=np.uint64) << (30 - np.asarray(n_lon)).astype(np.uint64)
    lat30 = np.asarray(iy, dtype=np.uint64) << (30 - np.asarray(n_lat)).astype(np.uint64)
    return (_spread(lon30) << np.uint64(1)) | _spread(lat30)


def _indices(code60: _U64, n_lon: Any, n_lat: Any) -> tuple[_I64, _I64]:
    """Cell indices (lon, lat) of left-aligned codes."""
    lon30 = _compact(code60 >> np.uint64(1))
    lat30 = _compact(code60)
    ix = lon30 >> (30 - np.asarray(n_lon)).astype(np.uint64)
    iy = lat30 >> (30 - np.asarray(n_lat)).astype(np.uint64)
    return ix.astype(np.int64), iy.astype(np.int64)


def _strings(code60: _U64, precision: Any) -> npt.NDArray[np.str_]:
    """Geohash strings of left-aligned codes; ``precision`` is an int or per-row ints."""
    p = np.asarray(precision, dtype=np.int64)
    width = max(int(p.max(initial=1)), 1)
    flat = code60.reshape(-1)
    digits = np.empty((flat.size, width), dtype=np.uint8)  # small temporaries for big n
    for i in range(width):
        digits[:, i] = (flat >> _DIGIT_SHIFTS[i]) & np.uint64(31)
    chars = _CODEPOINTS[digits]
    if p.ndim:
        chars[np.arange(width) >= p.reshape(-1, 1)] = 0  # numpy drops trailing NULs
    return np.ascontiguousarray(chars).view(f"<U{width}").reshape(code60.shape)


# --------------------------------------------------------------------------- validation


def _check_points(x: _F64, y: _F64) -> None:
    nan = np.isnan(x) | np.isnan(y)
    if nan.any():
        raise InvalidInputError(
            f"lon/lat must not be NaN; NaN at rows {format_rows(nan)}; "
            "drop or fill those points first"
        )
    bad = ~((x >= -180.0) & (x <= 180.0))
    if bad.any():
        raise InvalidInputError(
            f"lon must be in [-180, 180] degrees; out of range: {format_rows(bad, x)}; "
            "wrap longitudes with ((lon + 180) % 360) - 180 (encode takes lon first, then lat)"
        )
    bad = ~((y >= -90.0) & (y <= 90.0))
    if bad.any():
        raise InvalidInputError(
            f"lat must be in [-90, 90] degrees; out of range: {format_rows(bad, y)}; "
            "encode takes (lon, lat): did you pass (lat, lon)?"
        )


def _as_hash_array(hashes: Any) -> npt.NDArray[np.str_]:
    """Coerce geohash input to a unicode array, rejecting non-strings."""
    if isinstance(hashes, str):
        return np.asarray([hashes])
    arr = np.asarray(hashes)
    if arr.size == 0:
        return arr.astype("U1")
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "S":
        return arr.astype("U")
    if arr.dtype.kind == "O":
        flat = arr.ravel()
        bad = np.array([not isinstance(h, str) for h in flat], dtype=bool)
        if bad.any():
            raise InvalidInputError(
                f"geohashes must be strings; not a string: {format_rows(bad, flat)}"
            )
        return flat.astype("U").reshape(arr.shape) if flat.size else arr.astype("U")
    raise InvalidInputError(
        f"geohashes must be strings (str, a list of str or a numpy str array); got an array "
        f"of {arr.dtype}"
    )


def _parse(hashes: Any) -> tuple[_U64, _I64, tuple[int, ...]]:
    """Validate geohashes; return left-aligned 60-bit codes, precisions and the shape."""
    arr = _as_hash_array(hashes)
    shape = arr.shape
    flat = arr.ravel()
    lengths = np.char.str_len(flat).astype(np.int64)
    bad = (lengths < 1) | (lengths > MAX_PRECISION)
    if bad.any():
        raise InvalidInputError(
            f"a geohash has 1 to {MAX_PRECISION} characters; bad length at {format_rows(bad, flat)}"
        )
    width = int(lengths.max(initial=1))
    points = flat.astype(f"<U{width}").view(np.uint32).reshape(-1, width)
    values = np.take(_LOOKUP, points, mode="clip")  # >= 32: invalid or NUL padding
    bad = (values >= 32).sum(axis=1) != width - lengths
    if bad.any():
        raise InvalidInputError(
            f"invalid geohash character in {format_rows(bad, flat)}; {_ALPHABET_HINT}"
        )
    code60 = np.zeros(flat.size, dtype=np.uint64)
    for j in range(width):
        code60 |= (values[:, j] & np.uint8(31)).astype(np.uint64) << _DIGIT_SHIFTS[j]
    return code60, lengths, shape


def _boxes(code60: _U64, precision: Any) -> tuple[_F64, _F64, _F64, _F64]:
    """Closed boxes ``(minx, miny, maxx, maxy)`` of left-aligned codes."""
    n_lon, n_lat = _bits(np.asarray(precision, dtype=np.int64))
    ix, iy = _indices(code60, n_lon, n_lat)
    wx = np.ldexp(360.0, -n_lon)
    wy = np.ldexp(180.0, -n_lat)
    return (
        -180.0 + ix * wx,
        -90.0 + iy * wy,
        -180.0 + (ix + 1) * wx,
        -90.0 + (iy + 1) * wy,
    )


# --------------------------------------------------------------------------- public API


@overload
def encode(lon: float, lat: float, *, precision: int = 9) -> str: ...
@overload
def encode(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, precision: int = 9
) -> npt.NDArray[np.str_]: ...
def encode(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, precision: int = 9
) -> npt.NDArray[np.str_] | str:
    """Geohash of points. NOTE: longitude first, ``encode(lon, lat)``.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitudes in [-180, 180] (180 wraps to -180) and latitudes in [-90, 90], degrees;
        broadcast together.
    precision : int, default 9
        Characters per geohash, 1 to 12 (9 is about 4.8 m x 4.8 m at the equator).

    Returns
    -------
    numpy.ndarray of str, or str
        One geohash per point, in the broadcast shape; a ``str`` for scalar input.

    Raises
    ------
    InvalidInputError
        A NaN or out-of-range coordinate (naming the first 10 rows), or a bad precision.

    Examples
    --------
    >>> encode(-122.4194, 37.7749, precision=5)
    '9q8yy'
    >>> encode([0.0, 180.0], [0.0, 90.0], precision=2).tolist()
    ['s0', 'bp']
    """
    check_int_range("precision", precision, 1, MAX_PRECISION)
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    try:
        xb, yb = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"lon and lat must be numbers or numeric arrays of broadcastable shapes: {exc}"
        ) from exc
    shape = xb.shape
    x, y = xb.ravel(), yb.ravel()
    _check_points(x, y)
    x = np.where(x == 180.0, -180.0, x)
    n_lon, n_lat = _bits(precision)
    ix = _quantize(x, -180.0, 360.0, n_lon)
    iy = _quantize(y, -90.0, 180.0, n_lat)
    out = _strings(_code60(ix, iy, n_lon, n_lat), precision).reshape(shape)
    return str(out.reshape(-1)[0]) if scalar else out


@overload
def decode(hashes: str) -> tuple[float, float]: ...  # type: ignore[overload-overlap]
@overload
def decode(hashes: npt.ArrayLike) -> tuple[_F64, _F64]: ...
def decode(hashes: npt.ArrayLike) -> tuple[_F64, _F64] | tuple[float, float]:
    """Cell centres ``(lon, lat)`` of geohashes (precisions may differ per row).

    Parameters
    ----------
    hashes : str or array_like of str
        Geohashes of 1 to 12 characters from :data:`ALPHABET`.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for a single ``str``

    Raises
    ------
    InvalidInputError
        An empty, too long or non-geohash string (naming it) or non-string input.

    Examples
    --------
    >>> decode("ezs42")
    (-5.60302734375, 42.60498046875)
    >>> lon, lat = decode(["s", "7"])
    >>> lon.tolist(), lat.tolist()
    ([22.5, -22.5], [22.5, -22.5])
    """
    code60, p, shape = _parse(hashes)
    x0, y0, x1, y1 = _boxes(code60, p)
    lon, lat = ((x0 + x1) / 2).reshape(shape), ((y0 + y1) / 2).reshape(shape)
    if isinstance(hashes, str):
        return float(lon[0]), float(lat[0])
    return lon, lat


@overload
def bbox(hashes: str) -> tuple[float, float, float, float]: ...  # type: ignore[overload-overlap]
@overload
def bbox(hashes: npt.ArrayLike) -> _F64: ...
def bbox(hashes: npt.ArrayLike) -> _F64 | tuple[float, float, float, float]:
    """Cell boxes ``(minx, miny, maxx, maxy)`` in lon/lat degrees.

    Parameters
    ----------
    hashes : str or array_like of str
        Geohashes (precisions may differ per row).

    Returns
    -------
    numpy.ndarray or tuple
        Shape ``(*hashes.shape, 4)``; a 4-tuple of floats for a single ``str``.

    Examples
    --------
    >>> bbox("ezs42")
    (-5.625, 42.5830078125, -5.5810546875, 42.626953125)
    >>> bbox(["s", "0"]).tolist()
    [[0.0, 0.0, 45.0, 45.0], [-180.0, -90.0, -135.0, -45.0]]
    """
    code60, p, shape = _parse(hashes)
    out = np.stack(_boxes(code60, p), axis=-1).reshape((*shape, 4))
    if isinstance(hashes, str):
        minx, miny, maxx, maxy = (float(v) for v in out[0])
        return minx, miny, maxx, maxy
    return out


def neighbours_array(hashes: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The 8 neighbours of each geohash, vectorized; ``""`` where none exists.

    The last axis follows :data:`NEIGHBOUR_DIRECTIONS` (N, NE, E, SE, S, SW, W, NW).
    Neighbours wrap east-west across the antimeridian; beyond a pole there is no cell, so
    the three northern (southern) slots of a top-row (bottom-row) cell are ``""``.

    Parameters
    ----------
    hashes : str or array_like of str
        Geohashes (precisions may differ per row; each neighbour has its cell's precision).

    Returns
    -------
    numpy.ndarray of str
        Shape ``(*hashes.shape, 8)`` (``(8,)`` for a single ``str``).

    Examples
    --------
    >>> neighbours_array("b").tolist()
    ['', '', 'c', '9', '8', 'x', 'z', '']
    """
    code60, p, shape = _parse(hashes)
    n_lon, n_lat = _bits(p)
    ix, iy = _indices(code60, n_lon, n_lat)
    cols, rows = np.left_shift(1, n_lon), np.left_shift(1, n_lat)
    out = []
    for dx, dy in _NEIGHBOUR_STEPS:
        nx = (ix + dx) % cols
        ny = iy + dy
        exists = (ny >= 0) & (ny < rows)
        codes = _code60(nx, np.clip(ny, 0, rows - 1), n_lon, n_lat)
        out.append(_strings(codes, np.where(exists, p, 0)))
    width = int(p.max()) if p.size else 1
    grid = np.stack(out, axis=-1).astype(f"<U{width}")
    return grid.reshape(8) if isinstance(hashes, str) else grid.reshape((*shape, 8))


def neighbours(hash: str) -> list[str]:
    """The neighbours of one geohash, in the order N, NE, E, SE, S, SW, W, NW.

    Wraps east-west across the antimeridian. Cells beyond a pole do not exist and are
    left out (not fabricated), so a top- or bottom-row cell has 5 neighbours, not 8; use
    :func:`neighbours_array` to keep the 8 direction slots.

    Parameters
    ----------
    hash : str
        One geohash.

    Returns
    -------
    list of str

    Examples
    --------
    >>> neighbours("ezs42")
    ['ezs48', 'ezs49', 'ezs43', 'ezs41', 'ezs40', 'ezefp', 'ezefr', 'ezefx']
    >>> neighbours("b")  # top row: nothing north of it
    ['c', '9', '8', 'x', 'z']
    """
    if not isinstance(hash, str):
        raise InvalidInputError(
            f"neighbours takes one geohash str, got {type(hash).__name__}; "
            "use neighbours_array for many"
        )
    return [h for h in neighbours_array(hash).tolist() if h]


def children(hash: str) -> list[str]:
    """The 32 children of a geohash, in base32 order (they tile the parent cell).

    Examples
    --------
    >>> children("ezs42")[:3]
    ['ezs420', 'ezs421', 'ezs422']
    """
    if not isinstance(hash, str):
        raise InvalidInputError(f"children takes one geohash str, got {type(hash).__name__}")
    _parse(hash)
    if len(hash) >= MAX_PRECISION:
        raise InvalidInputError(
            f"geohash {hash!r} already has the finest precision ({MAX_PRECISION}); "
            "it has no children"
        )
    return [hash + c for c in ALPHABET]


@overload
def parent(hash: str) -> str: ...  # type: ignore[overload-overlap]
@overload
def parent(hash: npt.ArrayLike) -> npt.NDArray[np.str_]: ...
def parent(hash: npt.ArrayLike) -> npt.NDArray[np.str_] | str:
    """The enclosing cell one character coarser (vectorized over arrays).

    Examples
    --------
    >>> parent("ezs42")
    'ezs4'
    >>> parent(["ezs42", "u4"]).tolist()
    ['ezs4', 'u']
    """
    code60, p, shape = _parse(hash)
    bad = p < 2
    if bad.any():
        flat = _as_hash_array(hash).ravel()
        raise InvalidInputError(f"a 1-character geohash has no parent: {format_rows(bad, flat)}")
    out = _strings(code60, p - 1).reshape(shape)
    return str(out[0]) if isinstance(hash, str) else out


# --------------------------------------------------------------------------- cover


def _cover_geometry(region: Region) -> shapely.Geometry:
    """The region's geometry, prepared, with its copies one turn east and west when it
    reaches the antimeridian, so that cells on the other side of the +-180 meridian (one
    line) see it."""
    geom = region.geometry
    minx, _, maxx, _ = region.bounds
    if minx <= -180 or maxx >= 180:
        copies = [
            shapely.transform(geom, lambda c, d=d: c + np.array([d, 0.0])) for d in (-360, 360)
        ]
        geom = shapely.union_all([geom, *copies])
    shapely.prepare(geom)
    return geom


def _code_boxes(codes: _U64, level: int) -> npt.NDArray[np.object_]:
    """Shapely boxes of right-aligned codes at one level."""
    x0, y0, x1, y1 = _boxes(codes << np.uint64(60 - 5 * level), level)
    return np.asarray(shapely.box(x0, y0, x1, y1))


def _too_many(precision: int, count: int, max_cells: int) -> InvalidInputError:
    return InvalidInputError(
        f"the cover at precision {precision} has more than max_cells={max_cells:,} cells "
        f"(at least {count:,}); lower the precision (each step down is 32x fewer cells) "
        "or raise max_cells"
    )


def _cover_codes(geom: shapely.Geometry, precision: int, mode: str, max_cells: int) -> _U64:
    """Right-aligned codes of the cover, refined level by level from precision 1."""
    whole: list[tuple[_U64, int]] = []  # cells wholly inside: every descendant is in
    n_whole = 0
    level = 1
    cand = np.arange(32, dtype=np.uint64)
    while True:
        boxes = _code_boxes(cand, level)
        hit = shapely.intersects(geom, boxes)
        cand, boxes = cand[hit], boxes[hit]
        if level == precision:
            if mode == "within":
                cand = cand[shapely.covers(geom, boxes)]
            break
        inside = shapely.covers(geom, boxes)
        if inside.any():
            whole.append((cand[inside], level))
            n_whole += int(inside.sum()) * 32 ** (precision - level)
        cand = cand[~inside]
        if n_whole + cand.size > max_cells:
            raise _too_many(precision, n_whole + cand.size, max_cells)
        cand = ((cand.reshape(-1, 1) << np.uint64(5)) | np.arange(32, dtype=np.uint64)).ravel()
        level += 1
    if n_whole + cand.size > max_cells:
        raise _too_many(precision, n_whole + cand.size, max_cells)
    parts = [cand]
    for codes, lvl in whole:
        depth = precision - lvl
        below = np.arange(32**depth, dtype=np.uint64)
        parts.append(((codes.reshape(-1, 1) << np.uint64(5 * depth)) | below).ravel())
    return np.sort(np.concatenate(parts))


def cover(
    region: Any,
    precision: int,
    *,
    mode: Mode = "intersects",
    max_cells: int = 1_000_000,
) -> list[str]:
    """All geohash cells at ``precision`` that intersect (or lie within) a region, exactly.

    A cell is in the cover iff its closed box intersects the closed region (touching
    counts); with ``mode="within"``, iff its closed box lies inside the region. The search
    refines from precision 1, testing candidate boxes with shapely's vectorized predicates
    and expanding cells wholly inside the region without testing their descendants.

    Parameters
    ----------
    region : Region, bbox tuple, shapely (Multi)Polygon, GeoJSON, or anything
        :meth:`terrabit.region.Region.from_any` takes, in lon/lat degrees. A bbox is
        ``(minx, miny, maxx, maxy)``; ``minx > maxx`` means it crosses the antimeridian.
        A polygon crossing the antimeridian is given with longitudes past 180 (or below
        -180), e.g. 170 to 190, or already split at 180 as a MultiPolygon; both give the
        same cover. The meridians -180 and 180 are the same line. A zero-area bbox (point
        or segment) returns the cells touching it. Invalid polygons are repaired as
        :class:`~terrabit.region.Region` repairs them (stated in a warning); empty or
        out-of-range regions raise :class:`~terrabit.errors.RegionError`.
    precision : int
        Cell precision, 1 to 12.
    mode : {"intersects", "within"}, default "intersects"
    max_cells : int, default 1_000_000
        Refuse (raise) rather than return more cells than this.

    Returns
    -------
    list of str
        Sorted, unique geohashes.

    Raises
    ------
    RegionError
        The region is empty, invalid, of the wrong type or out of range.
    InvalidInputError
        Bad ``precision`` / ``mode``, or the cover exceeds ``max_cells``.

    Examples
    --------
    >>> cover((170.0, -10.0, -170.0, 10.0), 1)  # crosses the antimeridian
    ['2', '8', 'r', 'x']
    >>> polygon = {"type": "Polygon", "coordinates": [[[0, 0], [40, 0], [0, 40], [0, 0]]]}
    >>> cover(polygon, 2, mode="within")
    ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's8', 'sh']
    """
    check_int_range("precision", precision, 1, MAX_PRECISION)
    check_choice("mode", mode, ("intersects", "within"))
    check_int_range("max_cells", max_cells, 1)
    geom = _cover_geometry(Region.from_any(region, allow_degenerate=True))
    codes = _cover_codes(geom, precision, mode, max_cells)
    return _strings(codes << np.uint64(60 - 5 * precision), precision).tolist()
