"""Intrinsic dimension: MLE (Levina-Bickel), TwoNN, local PCA, and PCA variance curves.

Small vectorized re-implementations that follow scikit-dimension's conventions
(``skdim.id.MLE``: 20 neighbours, pointwise estimates combined by the harmonic mean of
MacKay & Ghahramani; ``skdim.id.TwoNN``: linear fit through the origin, 10 % largest
ratios discarded; ``skdim.id.lPCA`` ``fit_pw``: Fukunaga-Olsen rule, eigenvalues above
5 % of the largest, in each point's 100-neighbour patch, averaged). The tests check them
against scikit-dimension.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from terrabit.errors import InvalidInputError

__all__ = [
    "PCA_COMPONENTS",
    "IntrinsicDimension",
    "intrinsic_dimension",
    "lpca_dimension",
    "mle_dimension",
    "pca_cumulative_variance",
    "twonn_dimension",
]

#: Component counts at which the PCA cumulative explained variance is reported.
PCA_COMPONENTS: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)


def _check(x: np.ndarray, min_rows: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise InvalidInputError(f"X must be a 2-D array [n, d], got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise InvalidInputError(
            f"{what} needs at least {min_rows} distinct rows, got {arr.shape[0]}; "
            "pass more samples or fewer neighbours"
        )
    return arr


def _self_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances/indices of each row's k nearest other rows (self excluded)."""
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    dists = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    block = max(1, 2**24 // max(n, 1))
    for s in range(0, n, block):
        e = min(n, s + block)
        d2 = sq[s:e, None] - 2.0 * (x[s:e] @ x.T) + sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(e - s), np.arange(s, e)] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        sel = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(sel, axis=1, kind="stable")
        dists[s:e] = np.sqrt(np.take_along_axis(sel, order, axis=1))
        idx[s:e] = np.take_along_axis(part, order, axis=1)
    return dists, idx


def mle_dimension(x: np.ndarray, *, k: int = 20) -> float:
    """Levina-Bickel maximum-likelihood dimension from ``k`` neighbours per point.

    Pointwise ``m_i = (k - 1) / sum_j log(R_k / R_j)``; combined as ``1 / mean(1 / m_i)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.c_[rng.random((800, 3)), np.zeros((800, 5))]
    >>> 2.5 < mle_dimension(x) < 3.5
    True
    """
    arr = _check(x, k + 1, "mle_dimension")
    r, _ = _self_knn(arr, k)
    with np.errstate(divide="ignore"):
        logs = np.log(r[:, -1:] / r).sum(axis=1)
    pointwise = (k - 1) / logs
    return float(1.0 / np.mean(1.0 / pointwise))


def twonn_dimension(x: np.ndarray, *, discard_fraction: float = 0.1) -> float:
    """TwoNN (Facco et al.) dimension: slope of ``-log(1 - F(mu))`` on ``log(mu)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.c_[rng.random((800, 4)), np.zeros((800, 4))]
    >>> 3.3 < twonn_dimension(x) < 4.7
    True
    """
    arr = _check(x, 3, "twonn_dimension")
    r, _ = _self_knn(arr, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = r[:, 1] / r[:, 0]
    mu = mu[np.isfinite(mu)]
    n = mu.size
    keep = int(n * (1 - discard_fraction))
    if keep < 2:
        raise InvalidInputError("twonn_dimension needs at least 3 distinct rows")
    mu = np.sort(mu)[:keep]
    xs = np.log(mu)
    ys = -np.log(1.0 - np.arange(1, keep + 1) / n)
    return float(np.dot(xs, ys) / np.dot(xs, xs))


def lpca_dimension(x: np.ndarray, *, k: int = 100, alpha: float = 0.05) -> float:
    """Local PCA dimension: mean over points of the count of neighbourhood eigenvalues
    above ``alpha`` times the largest (Fukunaga-Olsen), ``k`` neighbours per point.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.c_[rng.random((400, 3)), 1e-4 * rng.random((400, 5))]
    >>> lpca_dimension(x, k=50)
    3.0
    """
    arr = _check(x, k + 1, "lpca_dimension")
    _, idx = _self_knn(arr, k)
    counts = np.empty(arr.shape[0])
    block = max(1, 2**23 // (k * max(k, arr.shape[1])))
    for s in range(0, arr.shape[0], block):
        patch = arr[idx[s : s + block]]  # [b, k, d]
        patch = patch - patch.mean(axis=1, keepdims=True)
        if k <= arr.shape[1]:
            gram = patch @ patch.transpose(0, 2, 1)  # same non-zero spectrum, smaller
        else:
            gram = patch.transpose(0, 2, 1) @ patch
        ev = np.linalg.eigvalsh(gram)[:, ::-1]
        counts[s : s + block] = np.sum(ev > alpha * ev[:, :1], axis=1)
    return float(np.mean(counts))


def pca_cumulative_variance(
    x: np.ndarray, *, components: Sequence[int] = PCA_COMPONENTS
) -> dict[int, float]:
    """Fraction of total variance kept by the first ``n`` principal components, per ``n``.

    Component counts above ``min(n_rows, d)`` are skipped.

    Examples
    --------
    >>> x = np.c_[np.arange(10.0), np.zeros(10), np.zeros(10), np.zeros(10), np.zeros(10)]
    >>> pca_cumulative_variance(x, components=(4, 8))
    {4: 1.0}
    """
    arr = _check(x, 2, "pca_cumulative_variance")
    centred = arr - arr.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    var = sv**2
    total = var.sum()
    cum = np.cumsum(var) / total if total > 0 else np.ones_like(var)
    limit = min(arr.shape)
    return {int(c): float(round(cum[c - 1], 12)) for c in components if c <= limit}


@dataclass(frozen=True)
class IntrinsicDimension:
    """Intrinsic-dimension estimates of one sample of embeddings."""

    mle: float
    twonn: float
    lpca: float
    n_samples: int
    duplicates_removed: int
    pca_cumulative_variance: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (variance keys as strings)."""
        return {
            "mle": self.mle,
            "twonn": self.twonn,
            "lpca": self.lpca,
            "n_samples": self.n_samples,
            "duplicates_removed": self.duplicates_removed,
            "pca_cumulative_variance": {str(k): v for k, v in self.pca_cumulative_variance.items()},
        }


def intrinsic_dimension(
    x: np.ndarray, *, max_samples: int = 2000, seed: int = 0
) -> IntrinsicDimension:
    """All three estimators and the PCA variance curve on a seeded sample of ``x``.

    Exact duplicate rows are removed first (they give zero neighbour distances, which
    break every estimator); then at most ``max_samples`` rows are drawn.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.c_[rng.random((600, 5)), np.zeros((600, 3))]
    >>> est = intrinsic_dimension(np.r_[x, x[:10]], max_samples=500)
    >>> est.duplicates_removed, est.n_samples, round(est.pca_cumulative_variance[8], 6)
    (10, 500, 1.0)
    """
    arr = _check(x, 2, "intrinsic_dimension")
    unique = np.unique(arr, axis=0)
    removed = arr.shape[0] - unique.shape[0]
    rng = np.random.default_rng(seed)
    if unique.shape[0] > max_samples:
        unique = unique[np.sort(rng.choice(unique.shape[0], max_samples, replace=False))]
    else:
        unique = unique[rng.permutation(unique.shape[0])]
    k_pca = min(100, unique.shape[0] - 1)
    return IntrinsicDimension(
        mle=mle_dimension(unique, k=min(20, unique.shape[0] - 1)),
        twonn=twonn_dimension(unique),
        lpca=lpca_dimension(unique, k=k_pca),
        n_samples=int(unique.shape[0]),
        duplicates_removed=int(removed),
        pca_cumulative_variance=pca_cumulative_variance(unique),
    )
