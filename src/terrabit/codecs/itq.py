"""Iterative quantization (Gong & Lazebnik, CVPR 2011): ``itq[:n]`` then ``binary``.

Fit: centre and project on the top ``n`` principal axes (``V``), then alternate
``B = sign(V R)`` and the orthogonal Procrustes update ``R = U W^T`` of
``V^T B = U S W^T`` for ``iterations`` rounds from a seeded Haar rotation; the reducer
outputs ``(X - mean) @ P R``, so ``itq+binary`` (threshold zero) gives the ITQ codes.
``n`` defaults to the input dimension (one bit per input dimension).

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> X = np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32)
>>> parse("itq:8+binary").fit(X).code_size
1
"""

from __future__ import annotations

import numpy as np

from terrabit.codecs.base import F32, Param, Reducer
from terrabit.codecs.reduce import _Projection, top_axes
from terrabit.codecs.rotation import haar_rotation

__all__ = ["ITQ"]


class ITQ(_Projection, Reducer):
    """PCA to ``n`` dimensions then the learned ITQ rotation (follow with ``binary``)."""

    family = "itq"
    PARAMS = (
        Param("n", int, None, low=1),
        Param("iterations", int, 50, low=0, high=10_000),
        Param("seed", int, 0, low=0),
    )
    FITTED = ("d_in_", "mean_", "projection_")
    iterations: int
    seed: int

    def __init__(self, n: int | None = None, *, iterations: int = 50, seed: int = 0) -> None:
        self._set_params(n=n, iterations=iterations, seed=seed)

    def _fit(self, X: F32) -> None:
        k = self._check_n(X, rows_matter=True)
        mean = X.mean(axis=0, dtype=np.float64)
        comps, _ = top_axes(X - mean, k)
        V = ((X - mean) @ comps.T).astype(np.float32)
        R = haar_rotation(k, seed=self.seed)
        for _ in range(self.iterations):
            B = np.where(V @ R.astype(np.float32) >= 0, np.float32(1.0), np.float32(-1.0))
            U, _, Wt = np.linalg.svd((V.T @ B).astype(np.float64))
            R = U @ Wt
        self.mean_ = mean.astype(np.float32)
        self.projection_ = (comps.T.astype(np.float64) @ R).astype(np.float32)

    def _d_out(self) -> int:
        return int(self.projection_.shape[1])

    def _transform(self, X: F32) -> F32:
        out: F32 = (X - self.mean_) @ self.projection_
        return out

    def _inverse(self, Y: F32) -> F32:
        out: F32 = Y @ self.projection_.T + self.mean_
        return out
