"""Manifest summary balls: they cover every code, are deterministic and few."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from terrabit.corpus import summary
from terrabit.corpus.summary import (
    EMPTY_SUMMARY,
    SUMMARY_BALLS,
    shard_summary,
    summary_balls,
    summary_fields,
)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` distances, bit by bit with unpackbits (the oracle)."""
    ua, ub = np.unpackbits(a, axis=1), np.unpackbits(b, axis=1)
    return (ua[:, None, :] != ub[None, :, :]).sum(axis=2)


def _check_cover(codes: np.ndarray, centres: np.ndarray, radii: np.ndarray, balls: int) -> None:
    assert centres.dtype == np.uint8 and centres.shape[1] == codes.shape[1]
    assert 1 <= len(centres) <= balls and radii.shape == (len(centres),)
    d = _hamming(centres, codes)
    # every code lies within r_j of some centre j
    assert ((d <= radii[:, None]).any(axis=0)).all()
    # each radius is tight: some code of the shard is that far from the centre
    assert all((d[j] == radii[j]).any() for j in range(len(centres)))


@settings(max_examples=80, deadline=None)
@given(
    codes=arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 5))),
    balls=st.integers(1, 9),
)
def test_balls_cover_every_code(codes: np.ndarray, balls: int) -> None:
    centres, radii = summary_balls(codes, balls=balls)
    _check_cover(codes, centres, radii, balls)
    again = summary_balls(codes.copy(), balls=balls)
    assert np.array_equal(again[0], centres) and np.array_equal(again[1], radii)


@settings(max_examples=40, deadline=None)
@given(
    distinct=arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 3)), unique=False),
    repeats=st.integers(1, 5),
)
def test_few_distinct_codes_give_exact_radius_zero_balls(
    distinct: np.ndarray, repeats: int
) -> None:
    codes = np.repeat(distinct, repeats, axis=0)
    centres, radii = summary_balls(codes, balls=6)
    assert radii.tolist() == [0] * len(centres)
    assert sorted(map(bytes, centres)) == sorted({bytes(r) for r in distinct})


def test_large_shard_is_sampled_but_radii_cover_all_codes() -> None:
    rng = np.random.default_rng(4)
    centres_true = rng.integers(0, 256, (5, 8), dtype=np.uint8)
    noise = (rng.random((9000, 64)) < 0.03).astype(np.uint8)
    codes = np.bitwise_xor(centres_true[rng.integers(0, 5, 9000)], np.packbits(noise, axis=1))
    codes[123] = 0  # an outlier the sample may miss: the radii must still cover it
    centres, radii = summary_balls(codes, balls=8)
    assert len(codes) > summary._SAMPLE_ROWS
    _check_cover(codes, centres, radii, 8)
    # five well-separated clusters: eight balls are much tighter than one
    one = summary_balls(codes, balls=1)[1]
    assert np.median(radii) < one[0] / 2


def test_shard_summary_matches_fields() -> None:
    codes = np.array([[1, 2], [1, 3], [200, 7]], dtype=np.uint8)
    row = shard_summary(codes, balls=2)
    fields = summary_fields()
    assert [f.name for f in fields] == list(row) == list(EMPTY_SUMMARY)
    table = pa.table({f.name: pa.array([row[f.name]], f.type) for f in fields})
    assert table.schema == pa.schema(fields)
    assert all(isinstance(c, bytes) and len(c) == 2 for c in row["summary_codes"])
    assert len(row["summary_codes"]) == len(row["summary_radii"]) <= 2
    assert SUMMARY_BALLS >= 1


@pytest.mark.parametrize(
    ("codes", "balls", "match"),
    [
        (np.zeros((0, 4), np.uint8), 4, "non-empty"),
        (np.zeros(4, np.uint8), 4, "non-empty"),
        (np.zeros((3, 4), np.uint8), 0, "balls must be a positive integer"),
        (np.zeros((3, 4), np.uint8), True, "balls must be a positive integer"),
    ],
)
def test_bad_input(codes: np.ndarray, balls: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        summary_balls(codes, balls=balls)
