"""Mergeable, coverage-weighted partial sums per polygon.

A polygon that spans several tiles (or UTM zones) is summarised exactly by adding the
partial sums of each tile, never by averaging tile means: the weighted count, the sum and
the sum of squares add; the minimum and maximum take the min and max.

Statistics are coverage weighted (a pixel half inside a polygon counts half), the mean is
``sum / count`` and the standard deviation is the weighted population one,
``sqrt(sumsq / count - mean**2)``. A polygon with no valid pixel gets ``NaN`` statistics
and count ``0``.

Examples
--------
>>> import numpy as np
>>> a = partial_stats(np.array([[1.0, 2.0]]), np.array([1.0, 1.0]))
>>> b = partial_stats(np.array([[4.0]]), np.array([0.5]))
>>> out = finalize(merge(a, b))
>>> float(out["count"][0]), float(out["mean"][0, 0]), float(out["max"][0, 0])
(2.5, 2.0, 4.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from terrabit.errors import InvalidInputError

__all__ = ["PartialStats", "add_rows", "empty_partials", "finalize", "merge", "partial_stats"]

F64 = npt.NDArray[np.float64]


@dataclass
class PartialStats:
    """Partial sums of ``n`` polygons over ``bands`` bands (float64 arrays).

    ``count`` is ``(n,)``; ``sum``, ``sumsq``, ``min`` and ``max`` are ``(n, bands)``.
    ``min``/``max`` are ``+inf``/``-inf`` where no valid pixel was seen.
    """

    count: F64
    sum: F64
    sumsq: F64
    min: F64
    max: F64

    @property
    def bands(self) -> int:
        """Number of bands."""
        return int(self.sum.shape[1])


def empty_partials(n: int, bands: int) -> PartialStats:
    """Partial sums of ``n`` polygons that have seen no pixel yet.

    Examples
    --------
    >>> empty_partials(2, 3).sum.shape
    (2, 3)
    """
    return PartialStats(
        count=np.zeros(n),
        sum=np.zeros((n, bands)),
        sumsq=np.zeros((n, bands)),
        min=np.full((n, bands), np.inf),
        max=np.full((n, bands), -np.inf),
    )


def partial_stats(values: npt.ArrayLike, weights: npt.ArrayLike) -> PartialStats:
    """Partial sums of one polygon from its pixels.

    Parameters
    ----------
    values : array ``(bands, n_pixels)``
        Pixel values; pixels with a ``NaN`` in any band are left out (nodata).
    weights : array ``(n_pixels,)``
        Coverage fraction of each pixel (0 to 1); zero-weight pixels are left out.

    Returns
    -------
    PartialStats with one row.

    Examples
    --------
    >>> p = partial_stats([[1.0, np.nan, 3.0]], [0.5, 1.0, 0.5])
    >>> float(p.count[0]), float(p.sum[0, 0]), float(p.min[0, 0])
    (1.0, 2.0, 1.0)
    """
    vals = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if vals.ndim != 2 or w.ndim != 1 or vals.shape[1] != w.shape[0]:
        raise InvalidInputError(
            f"values must be (bands, n_pixels) and weights (n_pixels,); got {vals.shape} "
            f"and {w.shape}"
        )
    keep = (w > 0) & ~np.isnan(vals).any(axis=0)
    out = empty_partials(1, vals.shape[0])
    if not keep.any():
        return out
    v = vals[:, keep]
    wk = w[keep]
    out.count[0] = wk.sum()
    out.sum[0] = v @ wk
    out.sumsq[0] = (v * v) @ wk
    out.min[0] = v.min(axis=1)
    out.max[0] = v.max(axis=1)
    return out


def merge(a: PartialStats, b: PartialStats) -> PartialStats:
    """Combine the partial sums of the same polygons from two disjoint sets of pixels.

    Examples
    --------
    >>> m = merge(partial_stats([[1.0]], [1.0]), partial_stats([[3.0]], [1.0]))
    >>> float(m.sum[0, 0]), float(m.min[0, 0]), float(m.max[0, 0])
    (4.0, 1.0, 3.0)
    """
    if a.sum.shape != b.sum.shape:
        raise InvalidInputError(
            f"cannot merge partial sums of shapes {a.sum.shape} and {b.sum.shape}: the "
            "polygons and bands must be the same"
        )
    return PartialStats(
        count=a.count + b.count,
        sum=a.sum + b.sum,
        sumsq=a.sumsq + b.sumsq,
        min=np.minimum(a.min, b.min),
        max=np.maximum(a.max, b.max),
    )


def add_rows(total: PartialStats, rows: npt.ArrayLike, part: PartialStats) -> None:
    """Merge ``part`` (one row per entry of ``rows``) into rows ``rows`` of ``total``, in place.

    Examples
    --------
    >>> t = empty_partials(3, 1)
    >>> add_rows(t, [2], partial_stats([[5.0]], [1.0]))
    >>> t.sum[:, 0].tolist()
    [0.0, 0.0, 5.0]
    """
    idx = np.asarray(rows, dtype=np.intp)
    np.add.at(total.count, idx, part.count)
    np.add.at(total.sum, idx, part.sum)
    np.add.at(total.sumsq, idx, part.sumsq)
    np.minimum.at(total.min, idx, part.min)
    np.maximum.at(total.max, idx, part.max)


def finalize(p: PartialStats) -> dict[str, F64]:
    """Statistics from partial sums: ``count``, ``mean``, ``std``, ``min``, ``max``.

    Polygons with count 0 get ``NaN`` for every statistic but ``count``.

    Examples
    --------
    >>> out = finalize(partial_stats([[1.0, 3.0]], [1.0, 1.0]))
    >>> float(out["mean"][0, 0]), float(out["std"][0, 0])
    (2.0, 1.0)
    >>> bool(np.isnan(finalize(empty_partials(1, 1))["mean"][0, 0]))
    True
    """
    has = p.count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = p.sum / p.count[:, None]
        var = p.sumsq / p.count[:, None] - mean * mean
    std = np.sqrt(np.clip(var, 0.0, None))
    lo = p.min.copy()
    hi = p.max.copy()
    for arr in (mean, std, lo, hi):
        arr[~has] = np.nan
    return {"count": p.count.copy(), "mean": mean, "std": std, "min": lo, "max": hi}
