"""Exemplar algebra against unpacked-bit numpy oracles, plus hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from terrabit.errors import InvalidInputError
from terrabit.search.exemplars import combine_codes, invert, score


def _codes(seed: int, n: int, code_size: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, code_size), dtype=np.uint8)


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Oracle: Hamming distance of each row of ``b`` to the single code ``a``."""
    return np.unpackbits(a[None, :] ^ b, axis=1).sum(axis=1).astype(np.float64)


def _codes_strategy(max_rows: int = 6) -> st.SearchStrategy[np.ndarray]:
    return st.integers(1, 5).flatmap(
        lambda cs: hnp.arrays(
            np.uint8, st.tuples(st.integers(1, max_rows), st.just(cs)), elements=st.integers(0, 255)
        )
    )


# --------------------------------------------------------------------------- combine_codes


@pytest.mark.parametrize("how", ["majority", "and", "or", "xor"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 7])
def test_combine_matches_bit_oracle(how: str, m: int) -> None:
    codes = _codes(m, m, 16)
    bits = np.unpackbits(codes, axis=1).astype(np.int64)
    total = bits.sum(axis=0)
    expected_bits = {
        "majority": total * 2 > m,  # a tie (even m) gives 0
        "and": total == m,
        "or": total > 0,
        "xor": total % 2 == 1,
    }[how]
    out = combine_codes(codes, how)  # type: ignore[arg-type]
    assert out.dtype == np.uint8 and out.shape == (16,)
    np.testing.assert_array_equal(out, np.packbits(expected_bits))


def test_majority_tie_gives_zero() -> None:
    codes = np.array([[0b1111_0000], [0b1100_1100]], dtype=np.uint8)
    assert combine_codes(codes, "majority").tolist() == [0b1100_0000]


def test_combine_accepts_one_1d_code() -> None:
    code = np.array([1, 2, 3], dtype=np.uint8)
    np.testing.assert_array_equal(combine_codes(code, "majority"), code)


@settings(max_examples=60, deadline=None)
@given(_codes_strategy())
def test_combine_properties(codes: np.ndarray) -> None:
    one = codes[:1]
    for how in ("majority", "and", "or", "xor"):
        np.testing.assert_array_equal(combine_codes(one, how), one[0])
    twice = np.concatenate([codes, codes])
    np.testing.assert_array_equal(combine_codes(twice, "and"), combine_codes(codes, "and"))
    np.testing.assert_array_equal(combine_codes(twice, "or"), combine_codes(codes, "or"))
    assert not combine_codes(twice, "xor").any()  # x ^ x = 0
    # and <= majority <= or, bit by bit
    a, m, o = (combine_codes(codes, h) for h in ("and", "majority", "or"))
    assert np.array_equal(a & m, a) and np.array_equal(m & o, m)
    # De Morgan: not(and(x)) == or(not x)
    np.testing.assert_array_equal(invert(combine_codes(codes, "and")), combine_codes(~codes, "or"))
    np.testing.assert_array_equal(invert(invert(codes)), codes)


# --------------------------------------------------------------------------- score


def test_mean_score_with_negatives_matches_oracle() -> None:
    codes, pos, neg = _codes(1, 300, 32), _codes(2, 3, 32), _codes(3, 2, 32)
    expected = np.mean([_dist(p, codes) for p in pos], axis=0) - np.mean(
        [_dist(q, codes) for q in neg], axis=0
    )
    out = score(codes, pos, neg)
    assert out.dtype == np.float64 and out.shape == (300,)
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize("how", ["majority", "and", "or", "xor"])
def test_bitwise_score_is_distance_to_combined_code(how: str) -> None:
    codes, pos, neg = _codes(4, 100, 8), _codes(5, 3, 8), _codes(6, 2, 8)
    p, q = combine_codes(pos, how), combine_codes(neg, how)  # type: ignore[arg-type]
    np.testing.assert_array_equal(score(codes, pos, combine=how), _dist(p, codes))  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        score(codes, pos, neg, combine=how),  # type: ignore[arg-type]
        _dist(p, codes) - _dist(q, codes),
    )


@pytest.mark.parametrize("combine", ["mean", "majority", "and", "or", "xor"])
def test_invert_is_the_bitwise_not_of_the_query(combine: str) -> None:
    codes, pos, neg = _codes(7, 50, 4), _codes(8, 3, 4), _codes(9, 2, 4)
    plain = score(codes, pos, combine=combine)  # type: ignore[arg-type]
    inv = score(codes, pos, combine=combine, invert=True)  # type: ignore[arg-type]
    np.testing.assert_array_equal(inv, 32 - plain)
    with_neg = score(codes, pos, neg, combine=combine)  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        score(codes, pos, neg, combine=combine, invert=True),  # type: ignore[arg-type]
        -with_neg,
    )
    # the same as flipping the combined query's bits (all 32 bits real)
    if combine != "mean":
        flipped = invert(combine_codes(pos, combine))  # type: ignore[arg-type]
        np.testing.assert_array_equal(inv, _dist(flipped, codes))
    else:
        np.testing.assert_allclose(inv, score(codes, invert(pos)))


def test_invert_uses_n_bits() -> None:
    """12-bit codes in 2 bytes: invert flips only the 12 real bits, never the padding."""
    bits = np.random.default_rng(0).integers(0, 2, (20, 12)).astype(bool)
    codes = np.packbits(bits, axis=1)
    flipped_query = np.packbits(~bits[0])  # padding stays 0, as in the codes
    np.testing.assert_array_equal(
        score(codes, codes[:1], invert=True, n_bits=12), _dist(flipped_query, codes)
    )


def test_empty_negatives_and_empty_codes() -> None:
    codes, pos = _codes(10, 10, 4), _codes(11, 1, 4)
    np.testing.assert_array_equal(score(codes, pos, np.empty((0, 4), np.uint8)), score(codes, pos))
    assert score(np.empty((0, 4), np.uint8), pos).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(_codes_strategy(max_rows=8), st.data())
def test_invert_single_positive_is_l_minus_d(codes: np.ndarray, data: st.DataObject) -> None:
    row = data.draw(st.integers(0, codes.shape[0] - 1))
    d = _dist(codes[row], codes)
    n_bits = 8 * codes.shape[1]
    for combine in ("mean", "majority", "and", "or", "xor"):
        np.testing.assert_array_equal(score(codes, codes[row], combine=combine), d)
        np.testing.assert_array_equal(
            score(codes, codes[row], combine=combine, invert=True),
            n_bits - d,
        )
    assert score(codes, codes[row])[row] == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: score(c, np.empty((0, 4), np.uint8)), "at least one positive exemplar"),
        (lambda c: score(c, np.zeros((1, 3), np.uint8)), "positives have code_size 3 bytes"),
        (
            lambda c: score(c, c[:1], np.zeros((1, 5), np.uint8)),
            "negatives have code_size 5 bytes but codes have 4",
        ),
        (
            lambda c: score(c, c[:1], combine="median"),  # type: ignore[arg-type]
            "combine must be one of 'mean', 'majority', 'and', 'or', 'xor'; got 'median'",
        ),
        (lambda c: score(c, c[:1], invert=True, n_bits=33), "n_bits must be between 1 and 32"),
        (lambda c: score(c.astype(np.float32), c[:1]), "codes must have dtype uint8"),
        (lambda c: combine_codes(c, "nand"), "how must be one of 'majority', 'and'"),  # type: ignore[arg-type]
        (lambda c: combine_codes(c[:0], "and"), "at least one code, got 0 rows"),
        (lambda c: invert(c.astype(np.int64)), "code must have dtype uint8"),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call(_codes(0, 5, 4))  # type: ignore[operator]
