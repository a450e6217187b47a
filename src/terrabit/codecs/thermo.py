"""Multi-bit codes that plain Hamming search still compares: ``thermo`` and ``gray``.

* ``thermo`` — a thermometer (unary) code: each dimension ``j`` has sorted cut points
  ``c_j1 < … < c_jS``; the level ``l = #{cuts below x_j}`` is written as ``l`` ones then
  ``S - l`` zeros. The Hamming distance between two codes is then *exactly* the L1
  distance between their level vectors, so a popcount scan ranks by an L1 metric on
  quantized coordinates. Placed after ``pca:k`` it spends several bits on each strong
  principal axis instead of one bit on every raw dimension.

  Cut points (``scale``):

  - ``global`` (default) — one step ``s`` shared by every dimension, cuts centred on
    the training median; a dimension gets as many cuts as fit in its clipped range
    (``clip`` percentile), and ``s`` is chosen so the total is ``bits`` (default
    ``(levels-1) * d``). High-variance axes get more bits; the L1 metric keeps the
    input's scale (no whitening).
  - ``dim`` — ``levels - 1`` uniform cuts inside each dimension's clipped range (per-
    dimension scale: whitens).
  - ``quantile`` — ``levels - 1`` equal-frequency cuts per dimension.

  Decoding returns the training mean of each cell (per dimension).
* ``gray:bits=b`` — affine ``b``-bit levels per dimension in Gray code; Hamming distance
  is only loosely related to level distance (reported as a baseline).

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
>>> t = Thermo(levels=5, scale="dim").fit(X)
>>> t.code_size, t.n_bits
(2, 16)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from terrabit.codecs._bits import code_bytes, gray, inverse_gray, pack_levels, unpack_levels
from terrabit.codecs.base import F32, U8, Param, Quantizer
from terrabit.errors import InvalidInputError

__all__ = ["Gray", "Thermo", "allocate_steps"]


def allocate_steps(span: NDArray[np.floating], total: int) -> NDArray[np.int64]:
    """Cuts per dimension, ``∝ span`` with one shared step, summing to exactly ``total``.

    Examples
    --------
    >>> allocate_steps(np.array([4.0, 2.0, 1.0, 0.0]), 7).tolist()
    [4, 2, 1, 0]
    """
    span = np.asarray(span, dtype=np.float64)
    if total <= 0 or not np.any(span > 0):
        return np.zeros(span.shape, dtype=np.int64)
    share = span / span.sum() * total
    steps = np.floor(share).astype(np.int64)
    rest = int(total - steps.sum())
    if rest > 0:
        order = np.argsort(-(share - steps), kind="stable")[:rest]
        steps[order] += 1
    return steps


class Thermo(Quantizer):
    """Thermometer code: Hamming distance = L1 distance of quantized levels.

    Parameters
    ----------
    levels : int
        Levels per dimension for ``scale=dim|quantile`` (``levels - 1`` bits each); for
        ``scale=global`` it sets the default budget ``(levels - 1) * d`` bits.
    bits : int, optional
        Total bits per vector for ``scale=global`` (overrides ``levels``).
    scale : {"global", "dim", "quantile"}
        How cut points are placed (see the module docstring).
    clip : float
        Percentile bounding each dimension's range (``100-clip`` to ``clip``).
    """

    family = "thermo"
    HAMMING = True
    POSITIONAL = "levels"
    PARAMS = (
        Param("levels", int, 3, low=2, high=256),
        Param("bits", int, None, low=1),
        Param("scale", str, "global", choices=("global", "dim", "quantile")),
        Param("clip", float, 98.0, low=50.0, high=100.0),
    )
    FITTED = ("d_in_", "cuts_", "offsets_", "centroids_")
    levels: int
    bits: int | None
    scale: str
    clip: float

    def __init__(
        self,
        levels: int = 3,
        *,
        bits: int | None = None,
        scale: str = "global",
        clip: float = 98.0,
    ) -> None:
        self._set_params(levels=levels, bits=bits, scale=scale, clip=clip)

    @property
    def n_bits(self) -> int:
        """Total bits per vector (the number of cut points)."""
        self._check_fitted()
        return int(self.offsets_[-1])

    def _fit(self, X: F32) -> None:
        d = X.shape[1]
        lo = np.percentile(X, 100.0 - self.clip, axis=0)
        hi = np.percentile(X, self.clip, axis=0)
        steps = self.levels - 1
        cuts: list[NDArray[np.float64]] = []
        if self.scale == "global":
            total = self.bits if self.bits is not None else steps * d
            counts = allocate_steps(hi - lo, total)
            span = float((hi - lo).sum())
            step = span / max(total, 1)
            med = np.median(X, axis=0)
            for j in range(d):
                c = int(counts[j])
                cuts.append(med[j] + (np.arange(c) - (c - 1) / 2.0) * step)
        elif self.scale == "dim":
            frac = (np.arange(1, steps + 1) - 0.5) / steps
            for j in range(d):
                cuts.append(lo[j] + frac * (hi[j] - lo[j]))
        else:
            qs = np.arange(1, steps + 1) / (steps + 1)
            quant = np.quantile(X, qs, axis=0)
            cuts = [quant[:, j].astype(np.float64) for j in range(d)]
        offsets = np.zeros(d + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(c) for c in cuts])
        if offsets[-1] == 0:
            raise InvalidInputError(
                f"{self.stage_spec}: the training data has no spread inside the clip "
                "percentiles, so there is nothing to cut; raise clip or check the data"
            )
        self.cuts_ = (
            np.concatenate(cuts).astype(np.float32) if offsets[-1] else np.zeros(0, np.float32)
        )
        self.offsets_ = offsets
        lv = self._levels(X)
        size = int(offsets[-1] + d)
        flat = (lv + np.arange(d) + offsets[:-1][None, :]).ravel()
        count = np.bincount(flat, minlength=size)
        total_x = np.bincount(flat, weights=X.ravel().astype(np.float64), minlength=size)
        mids = self._cell_mids(lo, hi)
        self.centroids_ = np.where(count > 0, total_x / np.maximum(count, 1), mids).astype(
            np.float32
        )

    def _cell_mids(self, lo: NDArray[np.floating], hi: NDArray[np.floating]) -> NDArray[np.float64]:
        mids = []
        for j in range(len(self.offsets_) - 1):
            c = self.cuts_[self.offsets_[j] : self.offsets_[j + 1]].astype(np.float64)
            edges = np.concatenate([[min(lo[j], c[0]) if c.size else lo[j]], c, [hi[j]]])
            if c.size:
                edges[-1] = max(hi[j], c[-1])
            mids.append((edges[:-1] + edges[1:]) / 2.0)
        return np.concatenate(mids)

    def _levels(self, X: F32) -> NDArray[np.int64]:
        n, d = X.shape
        lv = np.zeros((n, d), dtype=np.int64)
        for j in range(d):
            c = self.cuts_[self.offsets_[j] : self.offsets_[j + 1]]
            if c.size:
                lv[:, j] = np.searchsorted(c, X[:, j], side="left")
        return lv

    def levels_of(self, X: F32) -> NDArray[np.int64]:
        """Level of each dimension (number of cuts strictly below the value)."""
        self._check_fitted()
        return self._levels(X)

    def _code_size(self) -> int:
        return code_bytes(int(self.offsets_[-1]))

    def _encode(self, X: F32) -> U8:
        lv = self._levels(X)
        n = X.shape[0]
        total = int(self.offsets_[-1])
        bits = np.zeros((n, total), dtype=bool)
        for j in range(X.shape[1]):
            a, b = int(self.offsets_[j]), int(self.offsets_[j + 1])
            if b > a:
                bits[:, a:b] = lv[:, j : j + 1] > np.arange(b - a)[None, :]
        return np.packbits(bits, axis=1)

    def _decode(self, codes: U8) -> F32:
        d = int(self.d_in_)
        total = int(self.offsets_[-1])
        bits = np.unpackbits(codes, axis=1, count=total)
        csum = np.concatenate(
            [np.zeros((codes.shape[0], 1), np.int64), bits.cumsum(axis=1, dtype=np.int64)], 1
        )
        lv = csum[:, self.offsets_[1:]] - csum[:, self.offsets_[:-1]]
        idx = lv + np.arange(d)[None, :] + self.offsets_[:-1][None, :]
        out: F32 = self.centroids_[idx]
        return out


class Gray(Quantizer):
    """Affine ``bits``-bit levels per dimension (clipped range) written in Gray code."""

    family = "gray"
    HAMMING = True
    POSITIONAL = "bits"
    PARAMS = (
        Param("bits", int, 2, low=1, high=8, always=True),
        Param("clip", float, 99.0, low=50, high=100),
    )
    FITTED = ("d_in_", "lo_", "step_")
    bits: int
    clip: float

    def __init__(self, bits: int = 2, *, clip: float = 99.0) -> None:
        self._set_params(bits=bits, clip=clip)

    def _fit(self, X: F32) -> None:
        lo = np.percentile(X, 100.0 - self.clip, axis=0)
        hi = np.percentile(X, self.clip, axis=0)
        k = 1 << self.bits
        step = (hi - lo) / k
        step[~(step > 0)] = 1.0
        self.lo_ = lo.astype(np.float32)
        self.step_ = step.astype(np.float32)

    def _code_size(self) -> int:
        return code_bytes(int(self.d_in_) * self.bits)

    def _encode(self, X: F32) -> U8:
        q = np.clip(np.floor((X - self.lo_) / self.step_), 0, (1 << self.bits) - 1)
        return pack_levels(gray(q.astype(np.uint8)), bits=self.bits)

    def _decode(self, codes: U8) -> F32:
        g = unpack_levels(codes, d=int(self.d_in_), bits=self.bits)
        q = inverse_gray(g).astype(np.float32)
        out: F32 = self.lo_ + (q + 0.5) * self.step_
        return out
