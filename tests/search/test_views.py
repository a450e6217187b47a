"""The six views against brute-force O(n²) numpy oracles on small inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from terrabit.errors import InvalidInputError
from terrabit.kernels import hamming_topk
from terrabit.search.views import (
    ViewResult,
    gradient,
    heatmap,
    outlier,
    rank_scores,
    surprise,
    threshold,
    topk,
)


def _codes(seed: int, n: int, code_size: int = 8, distinct: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if distinct is None:
        return rng.integers(0, 256, (n, code_size), dtype=np.uint8)
    pool = rng.integers(0, 256, (distinct, code_size), dtype=np.uint8)
    return pool[rng.integers(0, distinct, n)]


def _pairwise_hamming(codes: np.ndarray) -> np.ndarray:
    return np.unpackbits(codes[:, None, :] ^ codes[None, :, :], axis=2).sum(axis=2)


def _brute_geo_neighbours(lon: np.ndarray, lat: np.ndarray, k: int) -> np.ndarray:
    """O(n²) haversine, sorted by (distance, index), self excluded."""
    lam, phi = np.radians(lon), np.radians(lat)
    a = (
        np.sin((phi[:, None] - phi[None, :]) / 2) ** 2
        + np.cos(phi[:, None])
        * np.cos(phi[None, :])
        * np.sin((lam[:, None] - lam[None, :]) / 2) ** 2
    )
    dist = 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    np.fill_diagonal(dist, np.inf)
    n = len(lon)
    return np.stack([np.lexsort((np.arange(n), row))[:k] for row in dist])


def _places(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    """Places straddling the antimeridian (lon 179.5 … 180 and -180 … -179.5)."""
    return (rng.uniform(179.5, 180.5, n) + 180.0) % 360.0 - 180.0, rng.uniform(-0.5, 0.5, n)


def _check_common(result: ViewResult, n: int) -> None:
    assert result.scores.shape == result.rank.shape == result.value.shape == (n,)
    assert result.shown.shape == (n,) and result.shown.dtype == bool
    assert result.rank.dtype == np.int64 and result.scores.dtype == np.float64
    assert sorted(result.rank.tolist()) == list(range(1, n + 1))
    # rank is ascending scores
    by_rank = result.scores[np.argsort(result.rank)]
    assert np.all(np.diff(by_rank) >= 0)


# --------------------------------------------------------------------------- ranking


def test_topk_matches_hamming_topk_order_with_ties() -> None:
    codes = _codes(0, 400, 4, distinct=30)  # many equal distances
    query = codes[7]
    scores = np.unpackbits(query ^ codes, axis=1).sum(axis=1).astype(np.float64)
    result = topk(scores, 50)
    _check_common(result, 400)
    _, indices = hamming_topk(query, codes, 50)
    np.testing.assert_array_equal(np.argsort(result.rank)[:50], indices[0])
    np.testing.assert_array_equal(np.flatnonzero(result.shown), np.sort(indices[0]))
    assert result.extra == {"k": 50}
    np.testing.assert_array_equal(result.value, scores)


def test_ties_are_broken_by_string_ids() -> None:
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 3, 200).astype(np.float64)
    ids = np.array([f"id-{v:05d}" for v in rng.permutation(200)])
    rank = rank_scores(scores, ids=ids)
    expected = sorted(range(200), key=lambda i: (scores[i], ids[i]))
    np.testing.assert_array_equal(np.argsort(rank), expected)
    # load order does not matter: shuffle the rows, the same id gets the same rank
    perm = rng.permutation(200)
    again = rank_scores(scores[perm], ids=ids[perm])
    assert dict(zip(ids[perm], again, strict=True)) == dict(zip(ids, rank, strict=True))


def test_ties_are_broken_by_int_ids_then_index() -> None:
    scores = np.zeros(5)
    assert rank_scores(scores, ids=np.array([40, 10, 30, 10, 20])).tolist() == [5, 1, 4, 2, 3]
    assert rank_scores(scores).tolist() == [1, 2, 3, 4, 5]
    assert topk(scores, 2, ids=["e", "d", "c", "b", "a"]).shown.tolist() == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_topk_k_larger_than_n() -> None:
    assert topk([3.0, 1.0], 10).shown.all()


# --------------------------------------------------------------------------- heatmap / threshold


def test_heatmap_range_and_order() -> None:
    scores = np.random.default_rng(2).normal(10, 3, 300)
    result = heatmap(scores)
    _check_common(result, 300)
    assert result.value.min() == 0.0 and result.value.max() == 1.0
    assert result.value[np.argmin(scores)] == 0.0 and result.shown.all()
    np.testing.assert_allclose(
        result.value, (scores - scores.min()) / (scores.max() - scores.min())
    )


def test_heatmap_constant_scores_are_zero() -> None:
    result = heatmap(np.full(6, 4.0))
    assert result.value.tolist() == [0.0] * 6
    assert result.rank.tolist() == [1, 2, 3, 4, 5, 6]


def test_threshold_default_is_kth_best_and_histogram_sums_to_n() -> None:
    scores = np.random.default_rng(3).integers(0, 40, 500).astype(np.float64)
    result = threshold(scores)
    _check_common(result, 500)
    kth = np.sort(scores)[49]
    assert result.extra["t"] == kth
    np.testing.assert_array_equal(result.shown, scores <= kth)
    assert result.shown.sum() >= 50  # ties at the cut-off are kept
    counts, edges = result.extra["histogram"]
    assert counts.shape == (32,) and edges.shape == (33,)
    assert counts.sum() == 500
    assert edges[0] == scores.min() and edges[-1] == scores.max()


def test_threshold_explicit_t_and_small_n() -> None:
    result = threshold([5.0, 1.0, 3.0], 3.0, bins=4)
    assert result.shown.tolist() == [False, True, True]
    assert threshold([5.0, 1.0, 3.0]).extra["t"] == 5.0  # n < k_default: the last one
    assert threshold(np.full(4, 2.0)).extra["histogram"][0].sum() == 4


# --------------------------------------------------------------------------- outlier


@pytest.mark.parametrize("n_refs", [1, 7, 200])
def test_outlier_matches_brute_force(n_refs: int) -> None:
    rng = np.random.default_rng(n_refs)
    codes = _codes(4, 60, 8)
    ids = np.array([f"p{v:03d}" for v in rng.permutation(60)])
    result = outlier(codes, n_refs=n_refs, ids=ids)
    _check_common(result, 60)
    m = min(n_refs, 60)
    by_id = np.argsort(ids, kind="stable")
    refs = by_id[[(j * 60) // m for j in range(m)]]
    np.testing.assert_array_equal(np.sort(result.extra["reference_rows"]), np.sort(refs))
    dist = _pairwise_hamming(codes)[:, refs].astype(np.float64)
    expected = np.empty(60)
    for i in range(60):
        others = [r for r in range(m) if refs[r] != i]
        expected[i] = dist[i, others].mean() if others else 0.0
    np.testing.assert_allclose(result.value, expected)
    np.testing.assert_array_equal(result.scores, -result.value)
    np.testing.assert_array_equal(result.rank, rank_scores(-expected, ids=ids))


def test_outlier_sample_does_not_depend_on_load_order() -> None:
    codes = _codes(5, 80, 4)
    ids = np.arange(1000, 1080)
    perm = np.random.default_rng(0).permutation(80)
    a = outlier(codes, n_refs=9, ids=ids)
    b = outlier(codes[perm], n_refs=9, ids=ids[perm])
    np.testing.assert_allclose(b.value, a.value[perm])
    np.testing.assert_array_equal(b.rank, a.rank[perm])


def test_outlier_ranks_the_far_code_first() -> None:
    codes = np.zeros((30, 4), np.uint8)
    codes[17] = 255
    result = outlier(codes, n_refs=10)
    assert result.rank[17] == 1 and result.value[17] == 32.0


# --------------------------------------------------------------------------- surprise / gradient


@pytest.mark.parametrize("k", [1, 8, 200])
def test_surprise_matches_brute_force(k: int) -> None:
    n = 120
    codes = _codes(6, n, 8)
    lon, lat = _places(6, n)
    result = surprise(codes, lon, lat, k=k)
    _check_common(result, n)
    kk = min(k, n - 1)
    nbr = _brute_geo_neighbours(lon, lat, kk)
    dist = _pairwise_hamming(codes)
    expected = np.take_along_axis(dist, nbr, axis=1).mean(axis=1)
    np.testing.assert_array_equal(result.extra["neighbours"], nbr)
    np.testing.assert_allclose(result.value, expected)
    np.testing.assert_array_equal(result.rank, rank_scores(-expected))


@pytest.mark.parametrize("k", [1, 6, 200])
def test_gradient_matches_brute_force(k: int) -> None:
    n = 150
    lon, lat = _places(7, n)
    scores = np.random.default_rng(7).normal(0, 1, n) + (lon > 0) * 5.0  # an edge
    result = gradient(scores, lon, lat, k=k)
    _check_common(result, n)
    nbr = _brute_geo_neighbours(lon, lat, min(k, n - 1))
    expected = np.abs(scores[:, None] - scores[nbr]).mean(axis=1)
    np.testing.assert_allclose(result.value, expected)
    np.testing.assert_array_equal(result.scores, -expected)


def test_single_candidate_has_no_neighbours() -> None:
    one = np.zeros((1, 4), np.uint8)
    assert surprise(one, [1.0], [2.0]).value.tolist() == [0.0]
    assert gradient([3.0], [1.0], [2.0]).value.tolist() == [0.0]


# --------------------------------------------------------------------------- empty / bad input

EMPTY_CODES = np.empty((0, 4), np.uint8)
EMPTY: list[Callable[[], ViewResult]] = [
    lambda: topk(np.empty(0), 5),
    lambda: heatmap(np.empty(0)),
    lambda: threshold(np.empty(0)),
    lambda: outlier(EMPTY_CODES),
    lambda: surprise(EMPTY_CODES, np.empty(0), np.empty(0)),
    lambda: gradient(np.empty(0), np.empty(0), np.empty(0)),
]


@pytest.mark.parametrize("make", EMPTY)
def test_empty_input_gives_empty_results(make: Callable[[], ViewResult]) -> None:
    result = make()
    _check_common(result, 0)


def test_empty_threshold_histogram() -> None:
    result = threshold(np.empty(0))
    assert result.extra["t"] is None and result.extra["histogram"][0].sum() == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: topk([1.0], 0), "k must be at least 1, got 0"),
        (lambda: topk([1.0], -3), "k must be at least 1, got -3"),
        (lambda: topk([1.0], 2.5), "k must be a positive integer"),  # type: ignore[arg-type]
        (lambda: topk([1.0, np.nan, np.inf], 1), r"rows \[1, 2\] are NaN or infinite"),
        (lambda: topk([[1.0]], 1), "scores must be 1-D"),
        (lambda: heatmap([1.0, 2.0], ids=["a"]), r"one id per candidate \(2\)"),
        (lambda: threshold([1.0], np.nan), "t must be a finite score cut-off"),
        (lambda: threshold([1.0], bins=0), "bins must be at least 1"),
        (lambda: outlier(np.zeros((3, 2), np.uint8), n_refs=0), "n_refs must be at least 1"),
        (lambda: outlier(np.zeros((3, 2), np.float32)), "codes must have dtype uint8"),
        (
            lambda: surprise(np.zeros((3, 2), np.uint8), [0.0, 1.0], [0.0, 1.0]),
            "lon/lat has 2 rows but codes has 3",
        ),
        (lambda: gradient([1.0, 2.0], [0.0, 1.0], [0.0, 99.0]), r"rows \[1\] are not"),
        (lambda: gradient([1.0, 2.0], [0.0, 1.0], [0.0, 1.0], k=0), "k must be at least 1"),
    ],
)
def test_bad_input(call: Callable[[], object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_object_ids_sort_like_their_values() -> None:
    scores = np.zeros(4)
    ids = np.array(["b", "d", "a", "c"], dtype=object)
    assert rank_scores(scores, ids=ids).tolist() == [2, 4, 1, 3]
    assert rank_scores(scores, ids=ids.astype(str)).tolist() == [2, 4, 1, 3]
    with pytest.raises(InvalidInputError, match="all strings or all integers"):
        rank_scores(scores, ids=np.array(["a", 1, "b", 2], dtype=object))
    with pytest.raises(InvalidInputError, match="ids must be strings or integers"):
        rank_scores(scores, ids=np.array([0.5, 1.5, 2.5, 3.5]))
