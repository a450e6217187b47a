"""``score="classifier"``: a quick classifier on the +-1 bits of the codes.

The search trains an L2-regularised logistic regression on

* the positives (label 1, weight 1) and the negatives (label 0, weight 1);
* a **background** sample of the region's candidates (label 0, weight
  :data:`~terrabit.search.constants.CLASSIFIER_BACKGROUND_WEIGHT` each): at most
  :data:`~terrabit.search.constants.CLASSIFIER_BACKGROUND` rows evenly spaced along the
  candidates sorted by id (:func:`~terrabit.search.views.spread_rows`; the exemplars are
  not candidates), so the sample does not depend on load order and needs no random
  generator;

and scores every candidate by ``1 - p``, where ``p`` is the model's probability of the
positive class: **lower is more similar**, as with distances, so every view ranks and
colours it unchanged (``topk`` shows the most probable rows first; the probability itself
is the result's ``probability`` column).

Features: ``x_j = +1`` where bit ``j`` of the packed code is set, else ``-1``, over all
``8 * code_size`` bits, MSB first (:func:`terrabit.kernels.bit_features`). Bits constant
over the training rows (padding bits, for instance) end with weight 0: the intercept
absorbs them.

The solver (:func:`fit_logistic`) is written out so that the browser can reproduce it:
Newton's method in float64 from ``w = 0, b = 0`` on

    f(w, b) = 0.5 |w|^2 + C sum_i s_i (log(1 + exp(z_i)) - y_i z_i),   z_i = x_i . w + b

(the objective of scikit-learn's ``LogisticRegression(C=C)`` with ``sample_weight=s``;
the intercept is not penalised). Each step solves ``H step = -g`` exactly (any exact
method: the optimum does not depend on it), with

    g = (w + C X^T r,  C sum r),   r_i = s_i (sigma(z_i) - y_i)
    H = [[I + C X^T D X, C X^T d], [C d^T X, C sum d]],   d_i = s_i sigma(z_i) (1 - sigma(z_i))

If the Newton decrement ``-g . step / 2`` is at most
:data:`~terrabit.search.constants.CLASSIFIER_TOLERANCE` the full step is taken and the
fit stops (converged); else the step length ``t`` starts at 1 and halves (at most
:data:`~terrabit.search.constants.CLASSIFIER_HALVINGS` times) until
``f(theta + t step) <= f(theta) + CLASSIFIER_ARMIJO * t * g . step``; at most
:data:`~terrabit.search.constants.CLASSIFIER_MAX_ITER` steps. Every constant is in
:mod:`terrabit.search.constants` and ``spec/fixtures/constants.json``.

Examples
--------
>>> import numpy as np
>>> codes = np.array([[0b1111_0000], [0b1110_0000], [0b0000_1111], [0b0001_1111]], np.uint8)
>>> scores, prob, info = classifier_scores(codes, codes[:1], None, ids=np.arange(4))
>>> prob.argmax(), info["negatives"], info["background"]
(np.int64(0), 0, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from terrabit.errors import InvalidInputError
from terrabit.kernels import as_codes, bit_features
from terrabit.search.constants import (
    CLASSIFIER_ARMIJO,
    CLASSIFIER_BACKGROUND,
    CLASSIFIER_BACKGROUND_WEIGHT,
    CLASSIFIER_C,
    CLASSIFIER_HALVINGS,
    CLASSIFIER_MAX_ITER,
    CLASSIFIER_TOLERANCE,
)
from terrabit.search.views import spread_rows

__all__ = [
    "LogisticFit",
    "check_classifier",
    "classifier_scores",
    "fit_logistic",
    "probabilities",
]

#: Candidate rows turned into features at a time when predicting (<= 32 MB of float64).
_BATCH_BITS = 1 << 22


def check_classifier(
    *,
    view: str,
    combine: str,
    invert: bool,
    global_: bool,
    asymmetric: bool | None,
    positives: int,
) -> None:
    """A one-line error where ``score="classifier"`` cannot serve the other options.

    Examples
    --------
    >>> opts = {"combine": "mean", "invert": False, "global_": False, "asymmetric": None}
    >>> check_classifier(view="topk", positives=0, **opts)
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: score='classifier' learns from positive examples and \
got none; add a positive (an id, a lon,lat point or a vector), or use score='distance'
    """
    if positives == 0:
        raise InvalidInputError(
            "score='classifier' learns from positive examples and got none; add a positive "
            "(an id, a lon,lat point or a vector), or use score='distance'",
            params=("score", "positives"),
        )
    if view in ("outlier", "surprise"):
        raise InvalidInputError(
            f"view {view!r} ranks by the codes alone, so score='classifier' has nothing to "
            "rank; drop score, or pick topk, heatmap, threshold, gradient or change",
            params=("score", "view"),
        )
    for name, bad, given in (
        ("global_", global_, "True"),
        ("asymmetric", asymmetric, "True"),
        ("invert", invert, "True"),
        ("combine", combine != "mean", repr(combine)),
    ):
        if bad:
            raise InvalidInputError(
                f"score='classifier' ranks by a model fitted on the exemplars' bits; it does "
                f"not work with {name}={given}: drop {name}, or use score='distance'",
                params=("score", name),
            )


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic regression.

    Attributes
    ----------
    coef : float64 array ``[p]``
        The weights ``w``.
    intercept : float
        The intercept ``b``.
    iterations : int
        Newton steps taken.
    converged : bool
        Whether the last step's Newton decrement met the tolerance.
    """

    coef: np.ndarray
    intercept: float
    iterations: int
    converged: bool


def _objective(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, c: float, w: np.ndarray, b: float
) -> float:
    z = x @ w + b
    return float(0.5 * (w @ w) + c * (s @ (np.logaddexp(0.0, z) - y * z)))


def _newton_step(
    x: np.ndarray, gram: np.ndarray, e: np.ndarray, g_w: np.ndarray, g_b: float
) -> tuple[np.ndarray, float]:
    """The exact Newton step ``H step = -g`` of :func:`fit_logistic` (``e = C d``), solved
    in the space of the ``n`` training rows: ``A = I + X^T E X`` is inverted by the
    Woodbury identity ``A^-1 v = v - X^T sqrt(E) M^-1 sqrt(E) X v`` with
    ``M = I + sqrt(E) X X^T sqrt(E)`` (``n x n``, positive definite), the intercept by its
    Schur complement ``sum e - u^T A^-1 u`` with ``u = X^T e``."""
    root = np.sqrt(e)
    m = gram * np.outer(root, root)
    m[np.diag_indices(m.shape[0])] += 1.0
    # A^-1 g_w and A^-1 u, through X v: X g_w, and X u = gram @ e
    rhs = np.stack([x @ g_w, gram @ e], axis=1) * root[:, None]
    inner = np.linalg.solve(m, rhs) * root[:, None]
    u = x.T @ e
    a = g_w - x.T @ inner[:, 0]
    a_u = u - x.T @ inner[:, 1]
    step_b = -(g_b - u @ a) / (e.sum() - u @ a_u)
    return -(a + a_u * step_b), float(step_b)


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    *,
    c: float = CLASSIFIER_C,
    max_iter: int = CLASSIFIER_MAX_ITER,
    tol: float = CLASSIFIER_TOLERANCE,
) -> LogisticFit:
    """L2-regularised logistic regression by damped Newton steps (see the module notes).

    Each step costs ``O(n p + n^3)`` for ``n`` training rows (:func:`_newton_step`), so a
    background of a few hundred rows keeps 1024-bit codes quick, in Python and in the
    browser.

    Parameters
    ----------
    x : float64 array ``[n, p]``
        Features.
    y : array ``[n]`` of 0 and 1
        Labels.
    weights : float64 array ``[n]``
        Sample weights ``s_i > 0``.
    c : float
        Inverse regularisation strength (scikit-learn's ``C``).
    max_iter : int
        At most this many Newton steps.
    tol : float
        Stop after a step whose Newton decrement ``-g . step / 2`` is at most this.

    Returns
    -------
    LogisticFit

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    >>> fit = fit_logistic(x, np.array([1, 0, 1]), np.ones(3))
    >>> fit.converged, fit.coef[0] > 0 > fit.coef[1]
    (True, np.True_)
    """
    x = np.asarray(x, dtype=np.float64)
    yf = np.asarray(y, dtype=np.float64)
    s = np.asarray(weights, dtype=np.float64)
    gram = x @ x.T
    w, b = np.zeros(x.shape[1]), 0.0
    f = _objective(x, yf, s, c, w, b)
    for it in range(1, max_iter + 1):
        prob = _expit(x @ w + b)
        r = c * s * (prob - yf)
        g_w, g_b = w + x.T @ r, float(r.sum())
        step_w, step_b = _newton_step(x, gram, c * s * prob * (1.0 - prob), g_w, g_b)
        slope = float(g_w @ step_w + g_b * step_b)  # -(Newton decrement)^2
        if -slope / 2 <= tol:
            return LogisticFit(w + step_w, b + step_b, it, True)
        t = 1.0
        for _ in range(CLASSIFIER_HALVINGS):
            if _objective(x, yf, s, c, w + t * step_w, b + t * step_b) <= f + (
                CLASSIFIER_ARMIJO * t * slope
            ):
                break
            t /= 2
        w, b = w + t * step_w, b + t * step_b
        f = _objective(x, yf, s, c, w, b)
    return LogisticFit(w, b, max_iter, False)


def probabilities(fit: LogisticFit, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1 - p, p)`` of every packed code under ``fit``, each ``float64 [n]`` (both
    computed from the decision value, so neither loses precision near 0).

    Examples
    --------
    >>> import numpy as np
    >>> fit = LogisticFit(np.array([2.0] + [0.0] * 7), 0.0, 1, True)
    >>> [v.round(3).tolist() for v in probabilities(fit, np.array([[128], [0]], np.uint8))]
    [[0.119, 0.881], [0.881, 0.119]]
    """
    n = codes.shape[0]
    z = np.empty(n, dtype=np.float64)
    batch = max(1, _BATCH_BITS // max(fit.coef.shape[0], 1))
    for a in range(0, n, batch):
        z[a : a + batch] = bit_features(codes[a : a + batch]) @ fit.coef + fit.intercept
    return _expit(-z), _expit(z)


def classifier_scores(
    codes: Any,
    positives: Any,
    negatives: Any,
    *,
    ids: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit the classifier (positives, negatives, the background of ``codes``) and score
    every candidate.

    Parameters
    ----------
    codes : uint8 array ``[n, code_size]``
        The candidates (without the exemplars); the background is drawn from them.
    positives : uint8 array ``[p, code_size]``
        The positives' codes, ``p >= 1``.
    negatives : uint8 array ``[q, code_size]`` or None
        The negatives' codes (none: the background alone is the negative class).
    ids : array ``[n]``
        The candidates' ids (or their order), which the background sample follows.

    Returns
    -------
    scores, probability : float64 arrays ``[n]``
        ``1 - p`` (lower = more like the positives) and ``p``.
    info : dict
        Provenance: ``positives``, ``negatives``, ``background`` (rows), the constants and
        ``iterations``/``converged`` of the fit; ``note`` when there is no negative.
    """
    x = as_codes("codes", codes, allow_1d=False)
    pos = as_codes("positives", positives, allow_1d=True)
    if pos.shape[0] == 0:
        raise InvalidInputError(
            "score='classifier' needs at least one positive exemplar to learn from; add one "
            "(an id, a lon,lat point or a vector)",
            params=("score", "positives"),
        )
    neg = np.zeros((0, x.shape[1]), np.uint8) if negatives is None else negatives
    neg = as_codes("negatives", neg, allow_1d=True)
    back = spread_rows(x.shape[0], CLASSIFIER_BACKGROUND, ids)
    train = np.concatenate([pos, neg, x[back]])
    labels = np.concatenate([np.ones(pos.shape[0]), np.zeros(neg.shape[0] + back.shape[0])])
    weights = np.concatenate(
        [np.ones(pos.shape[0] + neg.shape[0]), np.full(back.shape[0], CLASSIFIER_BACKGROUND_WEIGHT)]
    )
    fit = fit_logistic(bit_features(train), labels, weights, c=CLASSIFIER_C)
    scores, prob = probabilities(fit, x)
    info: dict[str, Any] = {
        "positives": int(pos.shape[0]),
        "negatives": int(neg.shape[0]),
        "background": int(back.shape[0]),
        "background_weight": CLASSIFIER_BACKGROUND_WEIGHT,
        "C": CLASSIFIER_C,
        "iterations": fit.iterations,
        "converged": fit.converged,
    }
    if neg.shape[0] == 0:
        info["note"] = "no negatives: trained against the background sample alone"
    return scores, prob, info


def _expit(x: np.ndarray) -> np.ndarray:
    """scipy's logistic function, imported when a classifier runs (scipy.special costs a
    tenth of a second of start-up to every search otherwise)."""
    from scipy.special import expit

    out: np.ndarray = expit(x)
    return out
