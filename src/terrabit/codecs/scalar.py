"""Scalar quantizers: ``float32``, ``float16``, affine ``int8``/``int4``/``int2``, ``ternary``.

* ``int8``/``int4``/``int2``: per-dimension ``lo``/``hi`` fitted on training data (the
  minimum/maximum, or the ``100-clip``/``clip`` percentiles with ``clip=99.9``);
  ``q = round((x - lo) / step)`` clipped to ``0 … 2**bits - 1`` with
  ``step = (hi - lo) / (2**bits - 1)``; decode ``lo + q * step``. Rounding, not
  truncation: inside ``[lo, hi]`` the error is at most half a step. Sub-byte levels are
  bit-packed MSB-first (``int4``: the first value in the high nibble).
* ``ternary``: per dimension the training 1/3 and 2/3 quantiles split values into
  -1/0/+1 (equal thirds); the level is written as a 2-bit thermometer code
  (``-1 -> 00``, ``0 -> 10``, ``+1 -> 11``) so Hamming distance equals the L1 distance of
  the ternary values; decode returns the per-dimension mean of each third.

Examples
--------
>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [1.0, 3.0], [0.25, 1.5]], dtype=np.float32)
>>> q = Int8().fit(X)
>>> q.encode(X)
array([[  0,   0],
       [255, 255],
       [ 64,  64]], dtype=uint8)
>>> Int4().fit(X).code_size
1
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from terrabit.codecs._bits import code_bytes, pack_levels, thermometer, unpack_levels, unthermometer
from terrabit.codecs.base import F32, U8, Param, Quantizer
from terrabit.errors import InvalidInputError

__all__ = ["Affine", "Float16", "Float32", "Int2", "Int4", "Int8", "Ternary"]


class Float32(Quantizer):
    """Identity codec (4 bytes per dimension): the float32 baseline."""

    family = "float32"

    def __init__(self) -> None:
        self._set_params()

    def _fit(self, X: F32) -> None:
        pass

    def _code_size(self) -> int:
        return 4 * int(self.d_in_)

    def _encode(self, X: F32) -> U8:
        return np.ascontiguousarray(X.astype("<f4")).view(np.uint8).copy()

    def _decode(self, codes: U8) -> F32:
        return np.ascontiguousarray(codes).view("<f4").astype(np.float32)


class Float16(Quantizer):
    """IEEE half precision (2 bytes per dimension); values beyond ±65504 are rejected."""

    family = "float16"

    def __init__(self) -> None:
        self._set_params()

    def _fit(self, X: F32) -> None:
        pass

    def _code_size(self) -> int:
        return 2 * int(self.d_in_)

    def _encode(self, X: F32) -> U8:
        too_big = (np.abs(X) > np.finfo(np.float16).max).any(axis=1)
        if too_big.any():
            rows = ", ".join(str(int(i)) for i in np.flatnonzero(too_big)[:10])
            raise InvalidInputError(
                f"float16 cannot hold values beyond ±65504 (rows {rows}); "
                "normalise the vectors or use float32/int8"
            )
        return np.ascontiguousarray(X.astype("<f2")).view(np.uint8).copy()

    def _decode(self, codes: U8) -> F32:
        return np.ascontiguousarray(codes).view("<f2").astype(np.float32)


class Affine(Quantizer):
    """Per-dimension affine (min/max) quantizer with ``BITS`` bits per dimension.

    Parameters
    ----------
    clip : float, optional
        Percentile in ``[50, 100]``: fit ``lo``/``hi`` to the ``100-clip`` and ``clip``
        percentiles instead of the minimum and maximum (outliers then saturate).
    """

    BITS: ClassVar[int] = 8
    PARAMS = (Param("clip", float, None, low=50.0, high=100.0, doc="percentile clipping"),)
    FITTED = ("d_in_", "lo_", "step_")
    clip: float | None

    def __init__(self, *, clip: float | None = None) -> None:
        self._set_params(clip=clip)

    @property
    def levels(self) -> int:
        """Largest level, ``2**bits - 1``."""
        return (1 << self.BITS) - 1

    def _fit(self, X: F32) -> None:
        if self.clip is None:
            lo, hi = X.min(axis=0), X.max(axis=0)
        else:
            lo = np.percentile(X, 100.0 - self.clip, axis=0)
            hi = np.percentile(X, self.clip, axis=0)
        lo = lo.astype(np.float32)
        span = (hi - lo).astype(np.float32)
        step = span / np.float32(self.levels)
        step[~(step > 0)] = np.float32(1.0)  # constant dimension: every value is level 0
        self.lo_ = lo
        self.step_ = step.astype(np.float32)

    def _code_size(self) -> int:
        return code_bytes(int(self.d_in_) * self.BITS)

    def levels_of(self, X: F32) -> U8:
        """Integer levels ``0 … 2**bits - 1`` of ``X`` (before packing)."""
        q = np.rint((X - self.lo_) / self.step_)
        return np.clip(q, 0, self.levels).astype(np.uint8)

    def _encode(self, X: F32) -> U8:
        return pack_levels(self.levels_of(X), bits=self.BITS)

    def _decode(self, codes: U8) -> F32:
        q = unpack_levels(codes, d=int(self.d_in_), bits=self.BITS)
        out: F32 = (self.lo_ + q.astype(np.float32) * self.step_).astype(np.float32)
        return out


class Int8(Affine):
    """Affine 8-bit quantizer (1 byte per dimension)."""

    family = "int8"
    BITS = 8


class Int4(Affine):
    """Affine 4-bit quantizer (two dimensions per byte, high nibble first)."""

    family = "int4"
    BITS = 4


class Int2(Affine):
    """Affine 2-bit quantizer (four dimensions per byte, MSB-first)."""

    family = "int2"
    BITS = 2


class Ternary(Quantizer):
    """-1/0/+1 per dimension at the fitted 1/3 and 2/3 quantiles; 2-bit thermometer codes."""

    family = "ternary"
    HAMMING = True
    FITTED = ("d_in_", "cuts_", "centroids_")

    def __init__(self) -> None:
        self._set_params()

    def _fit(self, X: F32) -> None:
        cuts = np.quantile(X, [1.0 / 3.0, 2.0 / 3.0], axis=0).astype(np.float32)  # [2, d]
        self.cuts_ = cuts
        level = self._levels(X)
        cent = np.empty((3, X.shape[1]), dtype=np.float32)
        fallback = np.stack([cuts[0], cuts.mean(axis=0), cuts[1]])
        for k in range(3):
            mask = level == k
            count = mask.sum(axis=0)
            total = np.where(mask, X, 0.0).sum(axis=0, dtype=np.float64)
            cent[k] = np.where(count > 0, total / np.maximum(count, 1), fallback[k])
        self.centroids_ = cent

    def _levels(self, X: F32) -> U8:
        lv = (self.cuts_[0] < X).astype(np.uint8) + (self.cuts_[1] < X).astype(np.uint8)
        return lv

    def _code_size(self) -> int:
        return code_bytes(2 * int(self.d_in_))

    def _encode(self, X: F32) -> U8:
        return thermometer(self._levels(X), steps=2)

    def _decode(self, codes: U8) -> F32:
        lv = unthermometer(codes, d=int(self.d_in_), steps=2)
        out: F32 = np.take_along_axis(self.centroids_, lv.astype(np.intp), axis=0)
        return out
