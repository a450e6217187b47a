"""Embeddings: determinism, spatial autocorrelation, imbalance, intrinsic dimension."""

from __future__ import annotations

import numpy as np
import pytest
import skdim
from global_land_mask import globe

from terrabit.errors import InvalidInputError
from terrabit.world.embedding import EmbeddingModel, estimate_intrinsic_dim
from terrabit.world.landcover import CLASSES, YEARS, classify


@pytest.fixture(scope="module")
def land_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 12_000)))
    lon = rng.uniform(-180, 180, 12_000)
    keep = globe.is_land(lat, lon)
    lon, lat = lon[keep][:3000], lat[keep][:3000]
    return lon, lat, classify(lon, lat, year=YEARS[0], seed=0)


@pytest.mark.parametrize("dim", [63, 1025, 0])
def test_dim_out_of_range(dim: int) -> None:
    with pytest.raises(InvalidInputError, match="dim must be between 64 and 1024"):
        EmbeddingModel(dim)


def test_shape_dtype_and_determinism() -> None:
    cls, lon, lat = np.array([0, 1, 11]), np.array([0.0, 10.0, 20.0]), np.array([5.0, 6.0, 7.0])
    a = EmbeddingModel(96, seed=2).embed(cls, lon, lat, noise_seed=4)
    b = EmbeddingModel(96, seed=2).embed(cls, lon, lat, noise_seed=4)
    c = EmbeddingModel(96, seed=2).embed(cls, lon, lat, noise_seed=5)
    d = EmbeddingModel(96, seed=3).embed(cls, lon, lat, noise_seed=4)
    assert a.shape == (3, 96) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    assert np.isfinite(a).all()


def test_bad_classes() -> None:
    with pytest.raises(InvalidInputError, match=r"bad rows \[1\]"):
        EmbeddingModel(64).embed(np.array([0, 99]), np.zeros(2), np.zeros(2), noise_seed=0)
    with pytest.raises(InvalidInputError, match="one length"):
        EmbeddingModel(64).embed(np.array([0]), np.zeros(2), np.zeros(2), noise_seed=0)


def test_nearby_patches_are_alike() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(-170, 170, 400)
    lat = rng.uniform(-60, 60, 400)
    model = EmbeddingModel(128, seed=0)
    cls = np.full(400, CLASSES.index("forest"))
    x = model.embed(cls, lon, lat, noise_seed=1)
    near = model.embed(cls, lon + 0.02, lat, noise_seed=2)  # ~2 km east, fresh noise
    far = model.embed(cls, np.roll(lon, 1), np.roll(lat, 1), noise_seed=3)
    d_near = np.linalg.norm(x - near, axis=1).mean()
    d_far = np.linalg.norm(x - far, axis=1).mean()
    assert d_near < 0.9 * d_far


def test_dimensions_are_imbalanced(land_sample: tuple[np.ndarray, ...]) -> None:
    lon, lat, cls = land_sample
    x = EmbeddingModel(256, seed=0).embed(cls, lon, lat, noise_seed=0)
    mean, std = x.mean(axis=0), x.std(axis=0)
    assert np.mean(np.abs(mean) > 0.2 * std) > 0.3  # not centred at zero
    assert std.max() / std.min() > 3  # unequal scales


@pytest.mark.parametrize("dim", [64, 256])
def test_intrinsic_dimension_is_10_to_20(land_sample: tuple[np.ndarray, ...], dim: int) -> None:
    lon, lat, cls = land_sample
    x = EmbeddingModel(dim, seed=0).embed(cls, lon, lat, noise_seed=0)[:2000]
    mle = float(skdim.id.MLE().fit(x).dimension_)
    twonn = float(skdim.id.TwoNN().fit(x).dimension_)
    assert 10 <= mle <= 20, mle
    assert 10 <= twonn <= 20, twonn
    ours = estimate_intrinsic_dim(x)
    assert abs(ours["mle"] - mle) < 2.0  # skdim is the oracle
    assert abs(ours["twonn"] - twonn) < 2.0


def test_estimator_on_known_manifolds() -> None:
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 100))
    est = estimate_intrinsic_dim(flat)
    assert 5 < est["mle"] < 7 and 5 < est["twonn"] < 7
    with pytest.raises(InvalidInputError, match="at least 22 rows"):
        estimate_intrinsic_dim(flat[:10])
