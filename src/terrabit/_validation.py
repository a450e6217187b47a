"""Validation helpers shared by every public function (one place, one wording)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from terrabit.errors import InvalidInputError, RegionError

__all__ = ["check_bbox", "check_choice", "check_int_range", "format_rows"]

T = TypeVar("T", bound=str)


def check_choice(name: str, value: str, choices: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``choices``; else raise, listing the valid values.

    ``name`` is the parameter's name; the error lists it in ``params`` (the CLI shows the
    flag instead).

    Examples
    --------
    >>> check_choice("threshold", "mean", ("zero", "mean", "median"))
    'mean'
    >>> check_choice("threshold", "avg", ("zero", "mean"))
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: threshold must be one of 'zero', 'mean'; got 'avg'
    """
    options = tuple(choices)
    if value not in options:
        valid = ", ".join(repr(c) for c in options)
        raise InvalidInputError(f"{name} must be one of {valid}; got {value!r}", params=(name,))
    return value


def check_int_range(name: str, value: int, low: int, high: int | None = None) -> int:
    """Return ``value`` if ``low <= value <= high`` (``high=None``: no upper bound).

    ``name`` is the parameter's name; the error lists it in ``params`` (the CLI shows the
    flag instead).

    Examples
    --------
    >>> check_int_range("dim", 128, 64, 1024)
    128
    >>> check_int_range("dim", 8, 64, 1024)
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: dim must be between 64 and 1024, got 8
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}", params=(name,))
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInputError(f"{name} must be {bound}, got {value}", params=(name,))
    return value


def check_bbox(
    bbox: Any,
    *,
    name: str = "bbox",
    allow_antimeridian: bool = True,
    allow_degenerate: bool = False,
) -> tuple[float, float, float, float]:
    """Return ``bbox`` as four floats ``(minx, miny, maxx, maxy)`` in lon/lat degrees, or raise.

    The bbox must be four finite numbers with longitudes in ``[-180, 180]``, latitudes in
    ``[-90, 90]``, ``miny < maxy`` and ``minx != maxx``. ``minx > maxx`` is a region that
    crosses the antimeridian; it is refused when ``allow_antimeridian`` is false.
    ``allow_degenerate`` accepts zero-width or zero-height boxes (``miny == maxy``,
    ``minx == maxx``: a segment or a point).

    Parameters
    ----------
    bbox : sequence of 4 numbers
        ``(minx, miny, maxx, maxy)``.
    name : str
        What to call it in messages (an argument or option name).
    allow_antimeridian : bool
        Whether ``minx > maxx`` (crossing the antimeridian) is allowed.
    allow_degenerate : bool
        Whether a box without width or height is allowed.

    Raises
    ------
    RegionError
        Saying what is wrong and how to write the bbox instead.

    Examples
    --------
    >>> check_bbox([170, -10, -170, 10])
    (170.0, -10.0, -170.0, 10.0)
    >>> check_bbox((0, 10, 5, 5))
    Traceback (most recent call last):
    ...
    terrabit.errors.RegionError: bbox miny (10.0) must be less than maxy (5.0): \
need -90 <= miny < maxy <= 90 (the order is minx, miny, maxx, maxy)
    >>> check_bbox((170, -10, -170, 10), name="aef_bbox", allow_antimeridian=False)
    Traceback (most recent call last):
    ...
    terrabit.errors.RegionError: aef_bbox minx (170.0) must be less than maxx (-170.0): \
need -180 <= minx < maxx <= 180, as regions crossing the antimeridian are not supported \
here; split the region in two at 180°
    """
    if isinstance(bbox, str | bytes):
        raise RegionError(f"{name} must be four numbers (minx, miny, maxx, maxy); got {bbox!r}")
    try:
        nums = tuple(float(v) for v in bbox)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RegionError(
            f"{name} must be four numbers (minx, miny, maxx, maxy) in lon/lat degrees; got {bbox!r}"
        ) from exc
    if len(nums) != 4:
        raise RegionError(
            f"{name} has {len(nums)} numbers; it must be four numbers (minx, miny, maxx, maxy) "
            "in lon/lat degrees, e.g. (-10, 35, 30, 60)"
        )
    minx, miny, maxx, maxy = nums
    if not all(math.isfinite(v) for v in nums):
        raise RegionError(f"{name} holds a non-finite number: {nums}; give finite lon/lat degrees")
    if not (-180.0 <= minx <= 180.0 and -180.0 <= maxx <= 180.0):
        fix = (
            "to cross the antimeridian give minx > maxx, e.g. (170, -10, -170, 10)"
            if allow_antimeridian
            else "regions crossing the antimeridian are not supported here; split the region "
            "in two at 180°"
        )
        raise RegionError(
            f"{name} is out of range: longitudes must lie in [-180, 180]; got minx={minx}, "
            f"maxx={maxx} ({fix})"
        )
    if not (-90.0 <= miny <= 90.0 and -90.0 <= maxy <= 90.0):
        raise RegionError(
            f"{name} is out of range: latitudes must lie in [-90, 90]; got miny={miny}, "
            f"maxy={maxy} (the order is minx, miny, maxx, maxy)"
        )
    if miny > maxy or (miny == maxy and not allow_degenerate):
        need = "must not exceed" if allow_degenerate else "must be less than"
        rule = "-90 <= miny <= maxy <= 90" if allow_degenerate else "-90 <= miny < maxy <= 90"
        raise RegionError(
            f"{name} miny ({miny}) {need} maxy ({maxy}): need {rule} "
            "(the order is minx, miny, maxx, maxy)"
        )
    if minx > maxx and not allow_antimeridian:
        raise RegionError(
            f"{name} minx ({minx}) must be less than maxx ({maxx}): need -180 <= minx < maxx "
            "<= 180, as regions crossing the antimeridian are not supported here; split the "
            "region in two at 180°"
        )
    if minx == maxx and not allow_degenerate:
        raise RegionError(
            f"{name} has no width: minx and maxx are both {minx}; give minx < maxx"
            + (" (or minx > maxx to cross the antimeridian)" if allow_antimeridian else "")
        )
    return (minx, miny, maxx, maxy)


def format_rows(mask: Any, values: Any = None) -> str:
    """The offending rows of a boolean ``mask`` for an error message (the first 10).

    With ``values`` (indexable like the mask), each row shows its value.

    Examples
    --------
    >>> import numpy as np
    >>> format_rows(np.array([False, True, True]))
    '1, 2'
    >>> format_rows(np.ones(12, dtype=bool))
    '0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (first 10 of 12)'
    >>> format_rows(np.array([True, False]), values=np.array([200.0, 1.0]))
    'row 0 (200.0)'
    """
    bad = np.flatnonzero(mask)
    if values is None:
        shown = ", ".join(str(int(i)) for i in bad[:10])
    else:
        raw = (values[i] for i in bad[:10])
        items = (v.item() if isinstance(v, np.generic) else v for v in raw)
        shown = ", ".join(f"row {int(i)} ({v!r})" for i, v in zip(bad[:10], items, strict=True))
    return shown + (f" (first 10 of {bad.size})" if bad.size > 10 else "")
