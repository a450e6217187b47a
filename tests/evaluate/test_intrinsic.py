"""Intrinsic-dimension estimators against scikit-dimension, PCA variance against sklearn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA

from terrabit.errors import InvalidInputError
from terrabit.evaluate import (
    intrinsic_dimension,
    lpca_dimension,
    mle_dimension,
    pca_cumulative_variance,
    twonn_dimension,
)

skdim = pytest.importorskip("skdim")


@pytest.fixture(scope="module")
def manifold() -> np.ndarray:
    """A 6-dim curved manifold embedded in 40 dims, lightly noisy."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, (700, 6))
    feats = np.c_[z, np.sin(2 * z), z[:, :3] * z[:, 3:]]
    lift = rng.normal(size=(feats.shape[1], 40))
    return feats @ lift + 0.005 * rng.normal(size=(700, 40))


def test_mle_matches_skdim(manifold) -> None:
    ref = skdim.id.MLE().fit(manifold, n_neighbors=20).dimension_
    assert mle_dimension(manifold, k=20) == pytest.approx(ref, rel=1e-6)
    assert 4.0 < ref < 8.0


def test_twonn_matches_skdim(manifold) -> None:
    ref = skdim.id.TwoNN().fit(manifold).dimension_
    assert twonn_dimension(manifold) == pytest.approx(ref, rel=1e-6)


def test_lpca_matches_skdim(manifold) -> None:
    sample = manifold[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.mean(skdim.id.lPCA().fit_pw(sample, n_neighbors=50).dimension_pw_)
    assert lpca_dimension(sample, k=50) == pytest.approx(ref, abs=0.05)


def test_pca_cumulative_variance_matches_sklearn(manifold) -> None:
    ratios = np.cumsum(PCA().fit(manifold).explained_variance_ratio_)
    got = pca_cumulative_variance(manifold, components=(4, 8, 16, 32, 64))
    assert list(got) == [4, 8, 16, 32]  # 64 > 40 dims: skipped
    for c, v in got.items():
        assert v == pytest.approx(ratios[c - 1], abs=1e-9)


def test_duplicates_removed_before_estimating(manifold) -> None:
    doubled = np.r_[manifold, manifold[:50], manifold[:50]]
    est = intrinsic_dimension(doubled, max_samples=10_000)
    assert est.duplicates_removed == 100
    assert est.n_samples == manifold.shape[0]
    assert est.mle == pytest.approx(mle_dimension(manifold), rel=0.02)
    assert np.isfinite([est.mle, est.twonn, est.lpca]).all()


def test_too_few_rows_raise() -> None:
    with pytest.raises(InvalidInputError, match="at least 21"):
        mle_dimension(np.random.default_rng(0).normal(size=(10, 3)))
