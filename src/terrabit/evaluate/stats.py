"""Paired significance of a codec against float32: exact McNemar, bootstrap CI, per-class F1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from terrabit.errors import InvalidInputError

__all__ = [
    "McNemarResult",
    "bootstrap_delta_ci",
    "mcnemar",
    "per_class_f1",
    "worst_class_drop",
]


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test: ``b`` rows only the reference got right, ``c`` only the other."""

    b: int
    c: int
    statistic: int
    p_value: float


def _paired(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[np.ndarray, ...]:
    y, a, b = (np.asarray(v).ravel() for v in (y_true, pred_a, pred_b))
    if not (y.size == a.size == b.size):
        raise InvalidInputError(
            f"y_true, pred_a and pred_b must have the same length; got {y.size}, {a.size}, {b.size}"
        )
    if y.size == 0:
        raise InvalidInputError("no test rows: pass at least one prediction per array")
    return y, a == y, b == y


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemarResult:
    """Exact (binomial) two-sided McNemar test of ``pred_b`` against ``pred_a``.

    ``p = min(1, 2 * P[Binom(b + c, 1/2) <= min(b, c)])``, as
    ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)``.

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> r = mcnemar(y, y, np.array([1, 1, 1, 0, 1, 1]))
    >>> (r.b, r.c, round(r.p_value, 3))
    (3, 0, 0.25)
    """
    _, ok_a, ok_b = _paired(y_true, pred_a, pred_b)
    b = int(np.sum(ok_a & ~ok_b))
    c = int(np.sum(~ok_a & ok_b))
    stat = min(b, c)
    p = 1.0 if b + c == 0 else float(min(1.0, 2.0 * binom.cdf(stat, b + c, 0.5)))
    return McNemarResult(b=b, c=c, statistic=stat, p_value=p)


def bootstrap_delta_ci(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Paired bootstrap percentile CI of ``accuracy(pred_b) - accuracy(pred_a)``.

    Resampling test rows with replacement only changes how many rows fall in each of the
    three paired outcomes (-1, 0, +1), so the resample counts are drawn exactly from a
    multinomial: the same distribution as index resampling, at ``O(n_boot)`` cost.

    Examples
    --------
    >>> y = np.zeros(100, dtype=int)
    >>> lo, hi = bootstrap_delta_ci(y, y, y, seed=0)
    >>> (lo, hi)
    (0.0, 0.0)
    """
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level must lie strictly between 0 and 1, got {level}")
    _, ok_a, ok_b = _paired(y_true, pred_a, pred_b)
    diff = ok_b.astype(np.int64) - ok_a.astype(np.int64)
    n = diff.size
    probs = np.array([np.sum(diff == -1), np.sum(diff == 0), np.sum(diff == 1)]) / n
    counts = np.random.default_rng(seed).multinomial(n, probs, size=n_boot)
    deltas = (counts[:, 2] - counts[:, 0]) / n
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(deltas, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def per_class_f1(
    y_true: np.ndarray, y_pred: np.ndarray, *, labels: np.ndarray | None = None
) -> np.ndarray:
    """F1 score of each class in ``labels`` (default: the sorted labels of ``y_true``).

    A class that is neither present nor predicted scores 0, as sklearn's ``f1_score``
    with ``zero_division=0``.

    Examples
    --------
    >>> per_class_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])).round(3).tolist()
    [0.667, 0.8]
    """
    y, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    labs = np.unique(y) if labels is None else np.asarray(labels)
    tp = np.array([np.sum((y == c) & (p == c)) for c in labs], dtype=np.float64)
    fp = np.array([np.sum((y != c) & (p == c)) for c in labs], dtype=np.float64)
    fn = np.array([np.sum((y == c) & (p != c)) for c in labs], dtype=np.float64)
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def worst_class_drop(f1_reference: np.ndarray, f1_other: np.ndarray) -> tuple[int, float]:
    """Index and size of the largest per-class F1 drop (``reference - other``).

    Examples
    --------
    >>> worst_class_drop(np.array([0.9, 0.8, 0.7]), np.array([0.9, 0.6, 0.69]))
    (1, 0.2)
    """
    drop = np.asarray(f1_reference, dtype=np.float64) - np.asarray(f1_other, dtype=np.float64)
    i = int(np.argmax(drop))
    return i, float(round(drop[i], 12))
