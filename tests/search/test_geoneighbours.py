"""Geographic k nearest neighbours against scipy's cKDTree on the unit sphere."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from terrabit.errors import InvalidInputError
from terrabit.search import geoneighbours as G
from terrabit.search.geoneighbours import EARTH_RADIUS_M, GEO_PAD_INDEX, geo_knn


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _oracle(
    lon: np.ndarray, lat: np.ndarray, k: int, exclude_self: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """cKDTree on 3-D unit vectors: chord order is great-circle order."""
    pts = _xyz(lon, lat)
    extra = 1 if exclude_self else 0
    chord, idx = cKDTree(pts).query(pts, k + extra)
    chord, idx = chord.reshape(len(lon), -1)[:, extra:], idx.reshape(len(lon), -1)[:, extra:]
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1)), idx


def _uniform_sphere(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


def _clustered(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dense, medium and sparse clusters, one across the antimeridian, one at a pole."""
    tight = rng.normal(0, 0.002, (800, 2)) + np.array([10.0, 45.0])  # ~200 m
    seam = rng.normal(0, 0.5, (600, 2)) + np.array([180.0, -30.0])  # straddles lon ±180
    pole = np.column_stack([rng.uniform(-180, 180, 300), rng.uniform(88.5, 90, 300)])
    sparse = np.column_stack([rng.uniform(-180, 180, 60), rng.uniform(-80, 80, 60)])
    pts = np.concatenate([tight, seam, pole, sparse])
    lon = (pts[:, 0] + 180.0) % 360.0 - 180.0
    return lon, np.clip(pts[:, 1], -90, 90)


def _assert_matches_oracle(lon: np.ndarray, lat: np.ndarray, k: int, **kw: bool) -> None:
    d, i = geo_knn(lon, lat, k, **kw)
    od, oi = _oracle(lon, lat, k, **kw)
    assert d.dtype == np.float64 and i.dtype == np.int64
    assert d.shape == i.shape == (len(lon), k)
    np.testing.assert_allclose(d, od, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(i, oi)


@pytest.mark.parametrize("k", [1, 8, 30])
def test_uniform_sphere_matches_ckdtree(k: int) -> None:
    lon, lat = _uniform_sphere(np.random.default_rng(k), 3000)
    _assert_matches_oracle(lon, lat, k)


@pytest.mark.parametrize("k", [1, 6, 8])
def test_clustered_antimeridian_and_pole_match_ckdtree(k: int) -> None:
    lon, lat = _clustered(np.random.default_rng(100 + k))
    _assert_matches_oracle(lon, lat, k)


def test_regional_grid_with_jitter_matches_ckdtree() -> None:
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(60) * 0.01, 45 + np.arange(50) * 0.01)
    lon = gx.ravel() + rng.normal(0, 1e-4, gx.size)
    lat = gy.ravel() + rng.normal(0, 1e-4, gy.size)
    _assert_matches_oracle(lon, lat, 8)


def test_include_self() -> None:
    lon, lat = _uniform_sphere(np.random.default_rng(3), 500)
    _assert_matches_oracle(lon, lat, 5, exclude_self=False)
    d, i = geo_knn(lon, lat, 1, exclude_self=False)
    np.testing.assert_array_equal(i[:, 0], np.arange(500))
    assert np.all(d == 0)


def test_parallel_path_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    lon, lat = _clustered(np.random.default_rng(11))
    serial = geo_knn(lon, lat, 8)
    monkeypatch.setattr(G, "_SERIAL_MAX", 10)
    parallel = geo_knn(lon, lat, 8)
    np.testing.assert_array_equal(serial[1], parallel[1])
    np.testing.assert_array_equal(serial[0], parallel[0])


def test_antimeridian_neighbours() -> None:
    lon = np.array([179.9, -179.9, 0.0, 90.0, -179.95])
    lat = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    d, i = geo_knn(lon, lat, 2)
    assert set(i[0].tolist()) == {1, 4}
    assert i[1].tolist() == [4, 0]
    expected = 2 * EARTH_RADIUS_M * np.arcsin(np.cos(np.radians(10)) * np.sin(np.radians(0.1)))
    np.testing.assert_allclose(d[1, 1], expected, rtol=1e-6)


def test_ties_are_broken_by_lower_index() -> None:
    """Every place three times: the copies come first, in index order."""
    rng = np.random.default_rng(5)
    base_lon, base_lat = rng.uniform(5, 6, 200), rng.uniform(50, 51, 200)
    perm = rng.permutation(600)
    lon, lat = np.tile(base_lon, 3)[perm], np.tile(base_lat, 3)[perm]
    d, i = geo_knn(lon, lat, 4)
    pts = _xyz(lon, lat)
    for row in range(0, 600, 37):
        chord = np.linalg.norm(pts - pts[row], axis=1)
        chord[row] = np.inf
        oracle = np.lexsort((np.arange(600), chord))[:4]
        np.testing.assert_array_equal(i[row], oracle)
        assert d[row, 0] == d[row, 1] == 0.0
        assert i[row, 0] < i[row, 1]


def test_all_points_identical() -> None:
    d, i = geo_knn(np.full(50, 3.0), np.full(50, -7.0), 3)
    assert np.all(d == 0)
    assert i[0].tolist() == [1, 2, 3]
    assert i[10].tolist() == [0, 1, 2]


def test_padding_when_k_exceeds_the_other_points() -> None:
    d, i = geo_knn([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], 4)
    assert i.tolist() == [[1, 2, -1, -1], [0, 2, -1, -1], [1, 0, -1, -1]]
    assert np.isinf(d[:, 2:]).all() and np.isfinite(d[:, :2]).all()
    d, i = geo_knn([12.0], [34.0], 2)
    assert i.tolist() == [[GEO_PAD_INDEX, GEO_PAD_INDEX]] and np.isinf(d).all()


def test_empty_input() -> None:
    d, i = geo_knn(np.empty(0), np.empty(0), 3)
    assert d.shape == i.shape == (0, 3)


@pytest.mark.parametrize(
    ("lon", "lat", "k", "match"),
    [
        ([0.0], [0.0], 0, "k must be at least 1, got 0"),
        ([0.0], [0.0], 1.5, "k must be a positive integer"),
        ([0.0, 1.0], [0.0], 1, "lon and lat must have the same length, got 2 and 1"),
        ([0.0, 1.0, 2.0], [0.0, 95.0, -91.0], 1, r"rows \[1, 2\] are not"),
        ([0.0, np.nan], [0.0, 1.0], 1, r"rows \[1\] are NaN"),
        ([[0.0]], [[0.0]], 1, "lon must be 1-D"),
    ],
)
def test_bad_input(lon: object, lat: object, k: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        geo_knn(lon, lat, k)  # type: ignore[arg-type]
