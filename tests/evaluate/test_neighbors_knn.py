"""Exact search and kNN accuracy against sklearn and faiss oracles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from terrabit.evaluate import (
    hamming_distances,
    hamming_knn_accuracy,
    knn_accuracy,
    knn_predict,
    search,
)
from terrabit.evaluate._neighbors import select_topk
from terrabit.evaluate.knn import vote


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_matches_sklearn(labelled, metric) -> None:
    d = labelled
    oracle = KNeighborsClassifier(n_neighbors=5, metric=metric, algorithm="brute")
    expected = oracle.fit(d.x_train, d.y_train).predict(d.x_test)
    got = knn_predict(d.x_train, d.y_train, d.x_test, k=5, metric=metric)
    np.testing.assert_array_equal(got, expected)
    acc = knn_accuracy(d.x_train, d.y_train, d.x_test, d.y_test, metric=metric)
    assert acc == pytest.approx(np.mean(expected == d.y_test))
    assert 0.5 < acc < 1.0  # a task neither trivial nor hopeless


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_search_matches_sklearn_neighbors(labelled, metric) -> None:
    d = labelled
    nn = NearestNeighbors(n_neighbors=10, metric=metric, algorithm="brute").fit(d.x_train)
    exp_d, exp_i = nn.kneighbors(d.x_test)
    got_d, got_i = search(d.x_train, d.x_test, 10, metric=metric)
    np.testing.assert_array_equal(got_i, exp_i)
    np.testing.assert_allclose(got_d, exp_d, rtol=1e-4, atol=1e-5)


def test_vote_breaks_label_ties_toward_smallest_label() -> None:
    assert vote(np.array([[3, 1, 3, 1], [2, 2, 0, 0]])).tolist() == [1, 0]


def test_hamming_matches_unpackbits_and_faiss() -> None:
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, (300, 13), dtype=np.uint8)  # 104 bits: not a multiple of 64
    q = rng.integers(0, 256, (40, 13), dtype=np.uint8)
    bits_q, bits_db = np.unpackbits(q, axis=1), np.unpackbits(db, axis=1)
    expected = (bits_q[:, None, :] != bits_db[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(hamming_distances(q, db), expected)
    faiss = pytest.importorskip("faiss")
    db16 = rng.integers(0, 256, (500, 16), dtype=np.uint8)
    q16 = rng.integers(0, 256, (30, 16), dtype=np.uint8)
    index = faiss.IndexBinaryFlat(128)
    index.add(db16)
    f_d, _ = index.search(q16, 10)
    got_d, got_i = search(db16, q16, 10, metric="hamming")
    np.testing.assert_array_equal(got_d, f_d)  # distances identical (ids may differ on ties)
    full = hamming_distances(q16, db16)
    order = np.lexsort((np.broadcast_to(np.arange(500), full.shape), full), axis=1)[:, :10]
    np.testing.assert_array_equal(got_i, order)  # ties by lowest index


def test_hamming_knn_accuracy_on_sign_bits(labelled) -> None:
    d = labelled
    centre = d.x_train.mean(axis=0)
    bits_tr = np.packbits(d.x_train > centre, axis=1)
    bits_te = np.packbits(d.x_test > centre, axis=1)
    acc = hamming_knn_accuracy(bits_tr, d.y_train, bits_te, d.y_test)
    unpacked_tr = np.unpackbits(bits_tr, axis=1).astype(np.float64)
    unpacked_te = np.unpackbits(bits_te, axis=1).astype(np.float64)
    oracle = KNeighborsClassifier(n_neighbors=5, metric="hamming", algorithm="brute")
    # sklearn's hamming is the bit fraction: same order; ties may differ, so compare loosely
    expected = np.mean(oracle.fit(unpacked_tr, d.y_train).predict(unpacked_te) == d.y_test)
    assert abs(acc - expected) <= 0.03
    assert acc > 0.4


@settings(max_examples=60, deadline=None)
@given(
    dist=arrays(
        np.int64, st.tuples(st.integers(1, 6), st.integers(1, 30)), elements=st.integers(0, 4)
    ),
    k=st.integers(1, 35),
)
def test_select_topk_equals_lexsort(dist, k) -> None:
    got_d, got_i = select_topk(dist, k)
    kk = min(k, dist.shape[1])
    cols = np.broadcast_to(np.arange(dist.shape[1]), dist.shape)
    expected = np.lexsort((cols, dist), axis=1)[:, :kk]
    np.testing.assert_array_equal(got_i, expected)
    np.testing.assert_array_equal(got_d, np.take_along_axis(dist, expected, axis=1))


def test_zero_vector_has_cosine_distance_one() -> None:
    db = np.array([[0.0, 0.0], [1.0, 0.0]])
    d, i = search(db, np.array([[0.0, 1.0]]), 2, metric="cosine")
    np.testing.assert_allclose(d, [[1.0, 1.0]])
    assert i.tolist() == [[0, 1]]
