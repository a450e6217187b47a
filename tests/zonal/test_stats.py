"""Partial sums merge exactly: any split of the pixels gives the same statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.errors import InvalidInputError
from terrabit.zonal.stats import add_rows, empty_partials, finalize, merge, partial_stats


@st.composite
def pixels_and_groups(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 40))
    bands = draw(st.integers(1, 4))
    floats = st.floats(-1, 1, allow_nan=False, width=32)
    vals = np.array(draw(st.lists(floats, min_size=n * bands, max_size=n * bands))).reshape(
        bands, n
    )
    nan = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    vals[:, nan] = np.nan
    w = np.array(draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n)))
    groups = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return vals, w, groups


@settings(max_examples=60, deadline=None)
@given(pixels_and_groups())
def test_split_and_merge_equals_whole(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vals, w, groups = data
    whole = finalize(partial_stats(vals, w))
    merged = empty_partials(1, vals.shape[0])
    for g in np.unique(groups):
        part = partial_stats(vals[:, groups == g], w[groups == g])
        merged = merge(merged, part)
    split = finalize(merged)
    for key in ("count", "mean", "min", "max"):
        np.testing.assert_allclose(split[key], whole[key], atol=1e-9, equal_nan=True, err_msg=key)
    # std = sqrt(E[x²] - mean²): rounding of a few ulps in the variance of equal values
    # (|x| ≤ 1) shows as up to sqrt(1e-15) ≈ 3e-8 in the std (a run here drew 1.5e-8 against 0)
    np.testing.assert_allclose(split["std"], whole["std"], atol=1e-7, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(pixels_and_groups())
def test_add_rows_equals_merge(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vals, w, groups = data
    total = empty_partials(4, vals.shape[0])
    for g in range(4):
        sel = groups == g
        add_rows(total, [g], partial_stats(vals[:, sel], w[sel]))
    out = finalize(total)
    for g in range(4):
        sel = groups == g
        ref = finalize(partial_stats(vals[:, sel], w[sel]))
        np.testing.assert_allclose(out["mean"][g], ref["mean"][0], atol=1e-12, equal_nan=True)
        assert out["count"][g] == pytest.approx(ref["count"][0])


def test_weighted_statistics_by_hand() -> None:
    out = finalize(partial_stats([[0.0, 1.0, 5.0]], [0.25, 0.75, 0.0]))
    assert out["count"][0] == 1.0
    assert out["mean"][0, 0] == pytest.approx(0.75)
    assert out["std"][0, 0] == pytest.approx(np.sqrt(0.75 - 0.75**2))
    assert (out["min"][0, 0], out["max"][0, 0]) == (0.0, 1.0)  # zero weight: left out


def test_shape_errors() -> None:
    with pytest.raises(InvalidInputError, match=r"values must be \(bands, n_pixels\)"):
        partial_stats([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="cannot merge partial sums"):
        merge(empty_partials(1, 2), empty_partials(1, 3))
