"""Binary (sign-bit) codes: one bit per dimension, the faiss ``IndexBinaryFlat`` layout.

Bit ``j`` is ``x_j > threshold_j``; bits are packed MSB-first exactly like
``np.packbits(X > thr, axis=1)``. ``threshold`` is ``zero`` (plain sign bits), ``mean`` or
``median`` (per dimension, fitted on training data: centring). Decoding returns, per
dimension, the mean of the training values above (bit 1) or at/below (bit 0) the
threshold — the two centroids. Codes are compared by Hamming distance.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, -2.0, 3.0], [-1.0, 2.0, -3.0]], dtype=np.float32)
>>> b = Binary().fit(X)
>>> b.encode(X), b.code_size
(array([[160],
       [ 64]], dtype=uint8), 1)
>>> b.decode(b.encode(X))
array([[ 1., -2.,  3.],
       [-1.,  2., -3.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from terrabit.codecs._bits import code_bytes
from terrabit.codecs.base import F32, U8, Param, Quantizer

__all__ = ["Binary", "binary_centroids"]


def binary_centroids(X: F32, thr: F32) -> tuple[F32, F32]:
    """Per-dimension means of the training values at/below and above ``thr``.

    A side with no training values falls back to the threshold itself.
    """
    above = thr < X
    n_hi = above.sum(axis=0)
    n_lo = X.shape[0] - n_hi
    s_hi = np.where(above, X, 0.0).sum(axis=0, dtype=np.float64)
    s_lo = X.sum(axis=0, dtype=np.float64) - s_hi
    hi = np.where(n_hi > 0, s_hi / np.maximum(n_hi, 1), thr).astype(np.float32)
    lo = np.where(n_lo > 0, s_lo / np.maximum(n_lo, 1), thr).astype(np.float32)
    return lo, hi


class Binary(Quantizer):
    """Sign bits at a per-dimension threshold (``zero``, ``mean`` or ``median``).

    Parameters
    ----------
    threshold : {"zero", "mean", "median"}
        Where to cut each dimension; ``mean``/``median`` centre non-centred embeddings.
    """

    family = "binary"
    HAMMING = True
    PARAMS = (Param("threshold", str, "zero", choices=("zero", "mean", "median")),)
    FITTED = ("d_in_", "threshold_", "lo_", "hi_")
    threshold: str

    def __init__(self, *, threshold: str = "zero") -> None:
        self._set_params(threshold=threshold)

    def _fit(self, X: F32) -> None:
        if self.threshold == "zero":
            thr = np.zeros(X.shape[1], dtype=np.float32)
        elif self.threshold == "mean":
            thr = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        else:
            thr = np.median(X, axis=0).astype(np.float32)
        self.threshold_ = thr
        self.lo_, self.hi_ = binary_centroids(X, thr)

    def _code_size(self) -> int:
        return code_bytes(int(self.d_in_))

    def _encode(self, X: F32) -> U8:
        return np.packbits(self.threshold_ < X, axis=1)

    def _decode(self, codes: U8) -> F32:
        bits = np.unpackbits(codes, axis=1, count=int(self.d_in_)).astype(bool)
        out: F32 = np.where(bits, self.hi_, self.lo_).astype(np.float32)
        return out
