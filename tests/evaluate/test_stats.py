"""McNemar, bootstrap CI and per-class F1 against statsmodels / sklearn / naive resampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from terrabit.errors import InvalidInputError
from terrabit.evaluate import bootstrap_delta_ci, mcnemar, per_class_f1, worst_class_drop


def _preds(n00: int, n01: int, n10: int, n11: int) -> tuple[np.ndarray, ...]:
    """Truth all 1; a right/wrong pattern per contingency cell (a: rows, b: columns)."""
    a = np.r_[np.ones(n00 + n01), np.zeros(n10 + n11)]
    b = np.r_[np.ones(n00), np.zeros(n01), np.ones(n10), np.zeros(n11)]
    return np.ones(a.size), a, b


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 60), st.integers(0, 40), st.integers(0, 40), st.integers(0, 60))
def test_mcnemar_matches_statsmodels_exact(n00, n01, n10, n11) -> None:
    if n00 + n01 + n10 + n11 == 0:
        return
    y, a, b = _preds(n00, n01, n10, n11)
    got = mcnemar(y, a, b)
    ref = sm_mcnemar(np.array([[n00, n01], [n10, n11]]), exact=True)
    assert (got.b, got.c) == (n01, n10)
    assert got.statistic == ref.statistic
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)


def test_identical_predictions_give_p_one_and_zero_ci() -> None:
    y = np.array([0, 1, 2, 1, 0, 2, 2])
    p = np.array([0, 1, 1, 1, 0, 0, 2])
    assert mcnemar(y, p, p).p_value == 1.0
    assert bootstrap_delta_ci(y, p, p) == (0.0, 0.0)


def test_bootstrap_matches_naive_index_resampling() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 400)
    a = np.where(rng.random(400) < 0.85, y, (y + 1) % 3)
    b = np.where(rng.random(400) < 0.80, y, (y + 2) % 3)
    lo, hi = bootstrap_delta_ci(y, a, b, n_boot=20000, seed=1)
    idx = np.random.default_rng(9).integers(0, 400, (4000, 400))
    naive = np.mean(b[idx] == y[idx], axis=1) - np.mean(a[idx] == y[idx], axis=1)
    nlo, nhi = np.quantile(naive, [0.025, 0.975])
    assert lo == pytest.approx(nlo, abs=0.008)
    assert hi == pytest.approx(nhi, abs=0.008)
    delta = np.mean(b == y) - np.mean(a == y)
    assert lo < delta < hi
    assert bootstrap_delta_ci(y, a, b, seed=5) == bootstrap_delta_ci(y, a, b, seed=5)


def test_per_class_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 5, 300))
    labels = np.arange(6)  # class 5 absent from both: F1 0
    expected = f1_score(y, p, labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(per_class_f1(y, p, labels=labels), expected)
    assert worst_class_drop(expected, expected) == (0, 0.0)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(InvalidInputError, match="same length"):
        mcnemar(np.zeros(3), np.zeros(3), np.zeros(4))
    with pytest.raises(InvalidInputError, match="level"):
        bootstrap_delta_ci(np.zeros(3), np.zeros(3), np.zeros(3), level=1.5)
