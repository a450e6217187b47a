"""Reducers: ``pca:n``, ``svd:n``, ``rp:n`` / ``srp``, ``select:n``.

* ``pca:n`` — centre, then project on the top ``n`` principal axes (eigenvectors of the
  training covariance; each axis signed so its largest-magnitude loading is positive,
  like scikit-learn's ``svd_flip``). Needs ``n <= min(rows, dims)``.
* ``svd:n`` — truncated SVD without centring (scikit-learn ``TruncatedSVD``).
* ``rp:n`` — Gaussian random projection ``X @ R``, ``R[d, n] ~ N(0, 1/n)``, seeded;
  decoding uses the pseudo-inverse. ``rp`` without ``n`` keeps the dimension.
* ``srp`` — the same projection under the name used for *sign random projection*:
  ``srp+binary`` (= ``rp+binary``) is the classic SimHash / LSH code for cosine.
* ``select:n`` — keep the ``n`` training-variance-largest features (decode puts the
  training mean in the dropped ones).

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
>>> PCA(3).fit(X).transform(X).shape
(40, 3)
>>> Select(2).fit(X).idx_.shape
(2,)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from terrabit.codecs.base import F32, Param, Reducer
from terrabit.errors import InvalidInputError

__all__ = [
    "PCA",
    "SVD",
    "Normalize",
    "RandomProjection",
    "Select",
    "SignRandomProjection",
    "top_axes",
]


def top_axes(X: NDArray[np.floating], k: int) -> tuple[F32, F32]:
    """Top ``k`` right singular axes of ``X`` (rows ``[k, d]``) and their ``s**2/(n-1)``.

    Deterministic sign: the largest-magnitude loading of each axis is positive.
    """
    n, d = X.shape
    Xd = X.astype(np.float64)
    if n >= d:
        w, v = np.linalg.eigh(Xd.T @ Xd)
        order = np.argsort(w)[::-1][:k]
        comps = v[:, order].T
        var = np.maximum(w[order], 0.0)
    else:
        _, s, vt = np.linalg.svd(Xd, full_matrices=False)
        comps = vt[:k]
        var = s[:k] ** 2
    signs = np.sign(comps[np.arange(comps.shape[0]), np.argmax(np.abs(comps), axis=1)])
    signs[signs == 0] = 1.0
    comps = comps * signs[:, None]
    return comps.astype(np.float32), (var / max(n - 1, 1)).astype(np.float32)


class _Projection(Reducer):
    """Shared checks for reducers that take ``n`` components."""

    POSITIONAL: ClassVar[str | None] = "n"
    n: int | None

    def _check_n(self, X: F32, *, rows_matter: bool) -> int:
        n_rows, d = X.shape
        n = int(self.n) if self.n is not None else d
        limit = min(n_rows, d) if rows_matter else d
        if n > limit:
            what = f"{n_rows} training rows and {d} dims" if rows_matter else f"{d} dims"
            raise InvalidInputError(
                f"{self.stage_spec} asks for {n} components but the data has only {what}; "
                f"use {self.family}:{limit} or fewer, or fit on more rows"
            )
        return n


class PCA(_Projection):
    """Principal component projection to ``n`` dimensions (centred)."""

    family = "pca"
    PARAMS = (Param("n", int, None, low=1),)
    FITTED = ("d_in_", "mean_", "components_", "explained_variance_")

    def __init__(self, n: int | None = None) -> None:
        self._set_params(n=n)

    def _fit(self, X: F32) -> None:
        k = self._check_n(X, rows_matter=True)
        mean = X.mean(axis=0, dtype=np.float64)
        self.components_, self.explained_variance_ = top_axes(X - mean, k)
        self.mean_ = mean.astype(np.float32)

    def _d_out(self) -> int:
        return int(self.components_.shape[0])

    def truncated(self, n: int) -> PCA:
        """The first ``n`` axes of this fitted PCA: the same as fitting ``pca:n`` on the same
        rows, without a second eigendecomposition.

        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
        >>> big = PCA(6).fit(X)
        >>> np.array_equal(big.truncated(3).components_, PCA(3).fit(X).components_)
        True
        """
        self._check_fitted()
        if not 1 <= n <= self._d_out():
            raise InvalidInputError(
                f"cannot truncate {self.stage_spec} to {n} axes; "
                f"use 1 to {self._d_out()}, or fit pca:{n} on the rows"
            )
        out = PCA(n)
        out.d_in_ = self.d_in_
        out.mean_ = self.mean_
        out.components_ = self.components_[:n].copy()
        out.explained_variance_ = self.explained_variance_[:n].copy()
        return out

    def _transform(self, X: F32) -> F32:
        out: F32 = (X - self.mean_) @ self.components_.T
        return out

    def _inverse(self, Y: F32) -> F32:
        out: F32 = Y @ self.components_ + self.mean_
        return out


class SVD(_Projection):
    """Truncated SVD to ``n`` dimensions (no centring, like ``TruncatedSVD``)."""

    family = "svd"
    PARAMS = (Param("n", int, None, low=1),)
    FITTED = ("d_in_", "components_")

    def __init__(self, n: int | None = None) -> None:
        self._set_params(n=n)

    def _fit(self, X: F32) -> None:
        k = self._check_n(X, rows_matter=True)
        self.components_, _ = top_axes(X, k)

    def _d_out(self) -> int:
        return int(self.components_.shape[0])

    def _transform(self, X: F32) -> F32:
        out: F32 = X @ self.components_.T
        return out

    def _inverse(self, Y: F32) -> F32:
        out: F32 = Y @ self.components_
        return out


class RandomProjection(_Projection):
    """Gaussian random projection to ``n`` dimensions (seeded); ``n`` defaults to ``d``."""

    family = "rp"
    PARAMS = (Param("n", int, None, low=1), Param("seed", int, 0, low=0))
    FITTED = ("d_in_", "matrix_", "pinv_")
    seed: int

    def __init__(self, n: int | None = None, *, seed: int = 0) -> None:
        self._set_params(n=n, seed=seed)

    def _fit(self, X: F32) -> None:
        d = X.shape[1]
        n = int(self.n) if self.n is not None else d
        rng = np.random.default_rng(self.seed)
        mat = rng.standard_normal((d, n)) / np.sqrt(n)
        self.matrix_ = mat.astype(np.float32)
        # singular values below 5% of the largest are cut: a square Gaussian matrix is
        # ill-conditioned and its exact inverse would amplify quantization noise
        self.pinv_ = np.linalg.pinv(mat, rcond=0.05).astype(np.float32)

    def _d_out(self) -> int:
        return int(self.matrix_.shape[1])

    def _transform(self, X: F32) -> F32:
        out: F32 = X @ self.matrix_
        return out

    def _inverse(self, Y: F32) -> F32:
        out: F32 = Y @ self.pinv_
        return out


class SignRandomProjection(RandomProjection):
    """``rp`` under the name ``srp``: ``srp+binary`` is sign random projection (SimHash)."""

    family = "srp"


class Select(_Projection):
    """Keep the ``n`` features with the largest training variance (in that order)."""

    family = "select"
    PARAMS = (Param("n", int, None, low=1),)
    FITTED = ("d_in_", "idx_", "mean_")

    def __init__(self, n: int | None = None) -> None:
        self._set_params(n=n)

    def _fit(self, X: F32) -> None:
        k = self._check_n(X, rows_matter=False)
        var = X.var(axis=0, dtype=np.float64)
        self.idx_ = np.argsort(-var, kind="stable")[:k].astype(np.int64)
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)

    def _d_out(self) -> int:
        return int(self.idx_.shape[0])

    def _transform(self, X: F32) -> F32:
        return X[:, self.idx_]

    def _inverse(self, Y: F32) -> F32:
        out = np.repeat(self.mean_[None, :], Y.shape[0], axis=0)
        out[:, self.idx_] = Y
        return out


class Normalize(Reducer):
    """Scale every vector to unit L2 norm (zero vectors stay zero): cosine geometry.

    Placed first (``norm+pca:64+thermo``) it makes every later stage see the geometry that
    cosine ground truth uses. The norm is not stored: decoding returns unit vectors.
    """

    family = "norm"

    def __init__(self) -> None:
        self._set_params()

    def _fit(self, X: F32) -> None:
        pass

    def _d_out(self) -> int:
        return int(self.d_in_)

    def _transform(self, X: F32) -> F32:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        out: F32 = (X / np.where(norms > 0, norms, np.float32(1.0))).astype(np.float32)
        return out

    def _inverse(self, Y: F32) -> F32:
        return Y
