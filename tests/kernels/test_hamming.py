"""The exact Hamming kernel against faiss ``IndexBinaryFlat`` and numpy brute force."""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from terrabit.errors import InvalidInputError
from terrabit.kernels import (
    PAD_DISTANCE,
    PAD_INDEX,
    hamming_distances,
    hamming_radius,
    hamming_topk,
)
from terrabit.kernels import _bitsliced as B
from terrabit.kernels import _popcount as P
from terrabit.kernels import _simd as S
from terrabit.kernels import hamming as H

MAX_THREADS = int(numba.config.NUMBA_NUM_THREADS)
THREADS = sorted({1, min(2, MAX_THREADS)})


@pytest.fixture(scope="module", autouse=True, params=["compiled", "numpy"])
def job_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test twice: every default-``threads`` job in the compiled kernels, then every
    one in numpy (by default only jobs under ``NUMPY_MAX_BYTES`` are). A call that names
    ``threads`` always runs compiled."""
    saved = H.NUMPY_MAX_BYTES
    H.NUMPY_MAX_BYTES = 0 if request.param == "compiled" else 1 << 62
    yield request.param
    H.NUMPY_MAX_BYTES = saved


def _codes(seed: int, n: int, code_size: int, distinct: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if distinct is None:
        return rng.integers(0, 256, (n, code_size), dtype=np.uint8)
    pool = rng.integers(0, 256, (distinct, code_size), dtype=np.uint8)
    return pool[rng.integers(0, distinct, n)]


def _brute_distances(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(queries[:, None, :] ^ codes[None, :, :], axis=2)
    return bits.sum(axis=2, dtype=np.int64).astype(np.int32)


def _brute_topk(queries: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Oracle: sort by (distance, index), pad like faiss."""
    dist = _brute_distances(queries, codes)
    n = codes.shape[0]
    out_d = np.full((len(queries), k), PAD_DISTANCE, np.int32)
    out_i = np.full((len(queries), k), PAD_INDEX, np.int64)
    for row, d in enumerate(dist):
        order = np.lexsort((np.arange(n), d))[:k]
        out_d[row, : len(order)] = d[order]
        out_i[row, : len(order)] = order
    return out_d, out_i


def _faiss_topk(queries: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(codes)
    return index.search(queries, k)


@pytest.mark.parametrize("code_size", [8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("threads", THREADS)
def test_topk_matches_faiss_on_random_codes(code_size: int, threads: int) -> None:
    codes = _codes(code_size, 1500, code_size)
    queries = _codes(code_size + 1, 21, code_size)  # > _DIRECT_MAX_QUERIES: blocked path
    got_d, got_i = hamming_topk(queries, codes, 10, threads=threads)
    want_d, want_i = _faiss_topk(queries, codes, 10)
    assert got_d.dtype == np.int32 and got_i.dtype == np.int64
    assert got_d.shape == got_i.shape == (21, 10)
    for row in (0, 20):  # the few-query path gives the same rows
        one = hamming_topk(queries[row], codes, 10, threads=threads)
        np.testing.assert_array_equal(one[1][0], want_i[row])
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)


@pytest.mark.parametrize("code_size", [1, 5, 12, 13, 33])
def test_topk_odd_code_sizes_match_brute_force(code_size: int) -> None:
    codes = _codes(code_size, 700, code_size)
    queries = _codes(code_size + 7, 7, code_size)
    for k in (1, 10, 50):
        got = hamming_topk(queries, codes, k)
        want = _brute_topk(queries, codes, k)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(
    ("distinct", "n", "k"),
    [
        (4, 600, 20),  # many duplicates: ties must break by lower index
        (1, 300, 10),  # all codes equal
        (3, 40, 40),  # k = n
        (3, 40, 55),  # k > n: faiss pads with 2**31 - 1 / -1
        (2, 2500, 100),  # ties spanning several blocks and database chunks
    ],
)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("n_random", [2, 20])  # few-query path and blocked path
def test_topk_adversarial_ties_match_faiss(
    distinct: int, n: int, k: int, threads: int, n_random: int
) -> None:
    codes = _codes(distinct * 31 + n, n, 16, distinct=distinct)
    queries = np.concatenate([codes[:3], _codes(5, n_random, 16)])
    got_d, got_i = hamming_topk(queries, codes, k, threads=threads)
    want_d, want_i = _faiss_topk(queries, codes, k)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)
    # faiss itself orders ties by lower index: check against the lexsort oracle too
    np.testing.assert_array_equal(want_i, _brute_topk(queries, codes, k)[1])


def test_k_beyond_n_pads_like_faiss() -> None:
    codes = _codes(1, 3, 8)
    d, i = hamming_topk(codes[0], codes, 5)
    assert d[0, 3:].tolist() == [PAD_DISTANCE] * 2 == [2**31 - 1] * 2
    assert i[0, 3:].tolist() == [PAD_INDEX] * 2 == [-1, -1]
    assert d[0, 0] == 0 and i[0, 0] == 0


def test_single_query_equals_batch_row() -> None:
    codes = _codes(3, 3000, 32)
    queries = _codes(4, 6, 32)
    batch_d, batch_i = hamming_topk(queries, codes, 12)
    for row in range(len(queries)):
        one_d, one_i = hamming_topk(queries[row], codes, 12)
        assert one_d.shape == (1, 12)
        np.testing.assert_array_equal(one_d[0], batch_d[row])
        np.testing.assert_array_equal(one_i[0], batch_i[row])


@pytest.mark.parametrize("n_queries", [1, 3, 19, 40])
def test_every_split_gives_the_same_answer(n_queries: int) -> None:
    """Query chunks x database chunks (merged) must not change a single bit of the output.

    19 and 40 queries put more than ``_DIRECT_MAX_QUERIES`` in a chunk (blocked path, with an
    odd query left over), 1 and 3 use the few-query path.
    """
    assert P._DIRECT_MAX_QUERIES < 9
    codes = _codes(6, 2000, 16, distinct=5)
    queries = _words(_codes(7, n_queries, 16))
    words = _words(codes)
    want = _brute_topk(_codes(7, n_queries, 16), codes, 15)
    for n_qchunks in (1, 2, 3):
        for n_rchunks in (1, 2, 3, 7):
            bd, bi = P.topk_tasks(queries, words, 15, 64, n_qchunks, n_rchunks)
            d, i = P.merge_topk(bd, bi)
            np.testing.assert_array_equal(d, want[0])
            np.testing.assert_array_equal(i, want[1])


def _words(codes: np.ndarray) -> np.ndarray:
    return H._words(np.ascontiguousarray(codes))


def test_threads_do_not_change_the_output() -> None:
    codes = _codes(8, 5000, 128, distinct=50)
    queries = _codes(9, 25, 128)
    results = [hamming_topk(queries, codes, 30, threads=t) for t in THREADS]
    results += [hamming_topk(queries[:1], codes, 30, threads=t) for t in THREADS]
    for got in results[1 : len(THREADS)]:
        np.testing.assert_array_equal(got[0], results[0][0])
        np.testing.assert_array_equal(got[1], results[0][1])
    for got in results[len(THREADS) :]:
        np.testing.assert_array_equal(got[1][0], results[0][1][0])


@pytest.mark.parametrize("code_size", [1, 8, 12, 128])
def test_distances_match_unpackbits(code_size: int) -> None:
    codes = _codes(10, 1100, code_size)
    queries = _codes(11, 5, code_size)
    got = hamming_distances(queries, codes)
    assert got.dtype == np.int32 and got.shape == (5, 1100)
    np.testing.assert_array_equal(got, _brute_distances(queries, codes))
    np.testing.assert_array_equal(hamming_distances(queries[2], codes), got[2:3])


def test_large_k_uses_sort_path_and_stays_exact() -> None:
    codes = _codes(12, 900, 8, distinct=30)
    queries = _codes(13, 3, 8)
    got = hamming_topk(queries, codes, 400)
    want = _brute_topk(queries, codes, 400)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(("code_size", "radius"), [(8, 24), (16, 50), (5, 14), (128, 470)])
def test_radius_matches_brute_force(code_size: int, radius: int) -> None:
    codes = _codes(14, 1300, code_size, distinct=400)
    queries = np.concatenate([codes[:2], _codes(15, 4, code_size)])
    res = hamming_radius(queries, codes, radius)
    dist = _brute_distances(queries, codes)
    assert res.lims.tolist()[0] == 0 and len(res.lims) == len(queries) + 1
    for row in range(len(queries)):
        hits = np.flatnonzero(dist[row] <= radius)
        order = hits[np.lexsort((hits, dist[row, hits]))]
        idx, d = res.query(row)
        np.testing.assert_array_equal(idx, order)
        np.testing.assert_array_equal(d, dist[row, order])
    assert res.lims[-1] > len(queries)  # the case is not vacuous


def test_radius_agrees_with_faiss_range_search() -> None:
    codes = _codes(16, 1000, 8)
    queries = _codes(17, 4, 8)
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    lims, dist, idx = index.range_search(queries, 25)  # faiss keeps d < radius
    res = hamming_radius(queries, codes, 24, threads=THREADS[-1])
    np.testing.assert_array_equal(res.lims, lims.astype(np.int64))
    for row in range(len(queries)):
        mine = sorted(zip(*res.query(row), strict=True))
        theirs = sorted(
            zip(idx[lims[row] : lims[row + 1]], dist[lims[row] : lims[row + 1]], strict=True)
        )
        assert [(int(a), int(b)) for a, b in mine] == [(int(a), int(b)) for a, b in theirs]


def test_non_contiguous_inputs_are_copied() -> None:
    codes = _codes(18, 400, 16)
    queries = _codes(19, 3, 16)
    fortran = np.asfortranarray(codes)
    strided = np.ascontiguousarray(np.repeat(codes, 2, axis=1))[:, ::2]
    for variant in (fortran, strided):
        np.testing.assert_array_equal(
            hamming_topk(queries, variant, 5)[1], _brute_topk(queries, codes, 5)[1]
        )


def test_empty_inputs() -> None:
    codes = _codes(20, 5, 8)
    d, i = hamming_topk(np.empty((0, 8), np.uint8), codes, 3)
    assert d.shape == i.shape == (0, 3)
    d, i = hamming_topk(codes[:2], np.empty((0, 8), np.uint8), 2)
    assert d.tolist() == [[PAD_DISTANCE] * 2] * 2 and i.tolist() == [[-1, -1]] * 2
    assert hamming_distances(codes, np.empty((0, 8), np.uint8)).shape == (5, 0)
    res = hamming_radius(np.empty((0, 8), np.uint8), codes, 3)
    assert res.lims.tolist() == [0] and res.indices.size == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q, x: hamming_topk(q, x, 0), "k must be at least 1, got 0"),
        (lambda q, x: hamming_topk(q, x, -3), "k must be at least 1, got -3"),
        (lambda q, x: hamming_topk(q, x, 2.5), "k must be a positive integer"),
        (lambda q, x: hamming_topk(q, x, True), "k must be a positive integer"),
        (lambda q, x: hamming_topk(q.astype(np.float32), x, 3), "queries must have dtype uint8"),
        (lambda q, x: hamming_topk(q, x.astype(np.int64), 3), "codes must have dtype uint8"),
        (lambda q, x: hamming_topk(q[None], x, 3), r"queries must be 2-D .* got shape \(1, 4, 8\)"),
        (lambda q, x: hamming_topk(q, x[0], 3), r"codes must be 2-D \[n, code_size\]"),
        (
            lambda q, x: hamming_topk(q[:, :4], x, 3),
            "queries have code_size 4 bytes but codes have 8",
        ),
        (lambda q, x: hamming_topk(q[:, :0], x[:, :0], 3), "queries has code_size 0"),
        (lambda q, x: hamming_topk(q, x, 3, threads=0), "threads must be between 1 and"),
        (lambda q, x: hamming_topk(q, x, 3, threads=MAX_THREADS + 1), "threads must be between"),
        (lambda q, x: hamming_radius(q, x, -1), "radius must be at least 0, got -1"),
        (lambda q, x: hamming_radius(q, x, 1.5), "radius must be a non-negative integer"),
        (lambda q, x: hamming_distances(q, x.astype(bool)), "codes must have dtype uint8"),
    ],
)
def test_bad_inputs_raise_clear_errors(call: object, message: str) -> None:
    queries, codes = _codes(21, 4, 8), _codes(22, 10, 8)
    with pytest.raises(InvalidInputError, match=message):
        call(queries, codes)  # type: ignore[operator]


def test_list_input_is_accepted() -> None:
    with pytest.raises(InvalidInputError, match=r"bytes 0\.\.255"):
        hamming_topk([[300]], np.zeros((2, 1), np.uint8), 1)
    d, i = hamming_topk([[1], [2]], np.array([[3], [1]], np.uint8), 1)
    assert d.tolist() == [[0], [1]] and i.tolist() == [[1], [0]]


@settings(max_examples=40, deadline=None)
@given(
    codes=hnp.arrays(
        np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 10)), elements=st.integers(0, 3)
    ),
    k=st.integers(1, 90),
    n_queries=st.integers(1, 5),
)
def test_topk_property_matches_lexsort_oracle(codes: np.ndarray, k: int, n_queries: int) -> None:
    queries = codes[np.arange(n_queries) % len(codes)] ^ np.uint8(1)
    got = hamming_topk(queries, codes, k)
    want = _brute_topk(queries, codes, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


# --------------------------------------------------------------------------- bit-sliced kernel
# Batches of >= S.BS_MIN_QUERIES queries with code sizes in [_BS_MIN_BYTES, _BS_MAX_BYTES]
# take the bit-sliced kernel (bit planes summed by carry-save adders, query pairs sharing
# planes); these tests pin it to faiss and to the lexsort oracle on its own edges.

BS_QUERIES = S.BS_MIN_QUERIES + 1  # odd: the last query of a group has no pair


@pytest.mark.parametrize("code_size", [8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("threads", THREADS)
def test_bitsliced_matches_faiss_on_random_codes(code_size: int, threads: int) -> None:
    n = S.VEC_BLOCK + 300  # a full block and a partial one
    codes = _codes(code_size + 100, n, code_size)
    queries = _codes(code_size + 101, BS_QUERIES, code_size)
    assert H._use_bitsliced(BS_QUERIES, code_size, 10) == (code_size >= S.BS_MIN_BYTES)
    got_d, got_i = hamming_topk(queries, codes, 10, threads=threads)
    want_d, want_i = _faiss_topk(queries, codes, 10)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)


@pytest.mark.parametrize("code_size", [33, 44, 100])  # not a multiple of 8: zero-padded words
def test_bitsliced_odd_code_sizes_match_brute_force(code_size: int) -> None:
    codes = _codes(code_size + 3, 700, code_size)
    queries = _codes(code_size + 4, BS_QUERIES, code_size)
    assert H._use_bitsliced(BS_QUERIES, code_size, 25)
    got = hamming_topk(queries, codes, 25)
    want = _brute_topk(queries, codes, 25)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(
    ("distinct", "n", "k"),
    [
        (4, 1500, 20),  # many duplicates: ties break by lower index across lanes and blocks
        (1, 300, 10),  # all codes equal
        (3, 40, 40),  # k = n, a single partial block
        (3, 40, 55),  # k > n: padded like faiss
        (2, 2500, 100),  # the buffer fills past the first 64-code lane of a block
        (5, 1100, 256),  # the largest buffered k
    ],
)
@pytest.mark.parametrize("threads", THREADS)
def test_bitsliced_adversarial_ties_match_faiss(
    distinct: int, n: int, k: int, threads: int
) -> None:
    codes = _codes(distinct * 17 + n, n, 32, distinct=distinct)
    extreme = np.array([[0] * 32, [255] * 32, [255] * 16 + [0] * 16], dtype=np.uint8)
    queries = np.concatenate([codes[:3], extreme, _codes(6, BS_QUERIES - 6, 32)])
    assert H._use_bitsliced(len(queries), 32, min(k, n))
    got_d, got_i = hamming_topk(queries, codes, k, threads=threads)
    want_d, want_i = _faiss_topk(queries, codes, k)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)


def test_bitsliced_sums_1024_planes_in_one_chain() -> None:
    """2048-bit codes, a query with exactly 1024 ones, paired with itself: the pair's shared
    plane list has all 1024 planes, so the adder reaches its top level (64 steps)."""
    half = np.array([255] * 128 + [0] * 128, dtype=np.uint8)
    codes = np.concatenate(
        [
            _codes(30, 600, 256),
            np.stack([half, ~half, np.zeros(256, np.uint8), np.full(256, 255, np.uint8)]),
            _codes(31, 300, 256),
        ]
    )
    queries = np.concatenate([np.stack([half] * 4), _codes(32, BS_QUERIES - 4, 256)])
    got = hamming_topk(queries, codes, 12)
    want = _brute_topk(queries, codes, 12)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[0][0, 0] == 0 and got[1][0, 0] == 600  # the copy of the query itself


@pytest.mark.parametrize("group", [1, 2, 5, 64])
def test_bitsliced_query_groups_and_splits_give_the_same_answer(group: int) -> None:
    """Query groups (not a multiple of the group size, odd groups) x database chunks x query
    chunks (merged) must not change a bit of the output."""
    n_queries = 37
    codes = _codes(40, 2600, 24, distinct=40)
    raw = _codes(41, n_queries, 24)
    want = _brute_topk(raw, codes, 15)
    q64, x64 = H._words(raw, 8), H._words(codes, 8)
    wbits = (3 * 192).bit_length() + 1
    for n_qchunks, n_rchunks in ((1, 1), (2, 3), (3, 2)):
        bd, bi = B.bitsliced_tasks(q64, x64, 15, 192, wbits, group, n_qchunks, n_rchunks)
        d, i = P.merge_topk(bd, bi)
        np.testing.assert_array_equal(d, want[0])
        np.testing.assert_array_equal(i, want[1])


def test_bitsliced_block_edges() -> None:
    queries = _codes(50, BS_QUERIES, 32)
    for n in (1, 63, 64, 65, S.VEC_BLOCK - 1, S.VEC_BLOCK, S.VEC_BLOCK + 1):
        codes = _codes(51 + n, n, 32)
        got = hamming_topk(queries, codes, 7)
        want = _brute_topk(queries, codes, 7)
        np.testing.assert_array_equal(got[0], want[0], err_msg=f"n={n}")
        np.testing.assert_array_equal(got[1], want[1], err_msg=f"n={n}")


def test_split_bitsliced_prefers_database_chunks() -> None:
    assert H._split_bitsliced(1000, 1_000_000, 2) == (1, 2)
    assert H._split_bitsliced(1000, 100, 2) == (2, 1)  # one block: split the queries
    assert H._split_bitsliced(40, 100, 2) == (1, 1)  # too few queries to split
    assert not H._use_bitsliced(S.BS_MIN_QUERIES - 1, 128, 10)
    assert not H._use_bitsliced(1000, S.BS_MAX_BYTES + 1, 10)
    assert not H._use_bitsliced(1000, 128, H._BUFFER_MAX_K + 1)


@settings(max_examples=25, deadline=None)
@given(
    codes=hnp.arrays(
        np.uint8, st.tuples(st.integers(1, 150), st.integers(32, 48)), elements=st.integers(0, 7)
    ),
    k=st.integers(1, 60),
    extra=st.integers(0, 12),
)
def test_bitsliced_property_matches_lexsort_oracle(codes: np.ndarray, k: int, extra: int) -> None:
    n_queries = S.BS_MIN_QUERIES + extra
    queries = codes[np.arange(n_queries) % len(codes)] ^ np.uint8(3)
    assert H._use_bitsliced(n_queries, codes.shape[1], min(k, len(codes)))
    got = hamming_topk(queries, codes, k)
    want = _brute_topk(queries, codes, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
