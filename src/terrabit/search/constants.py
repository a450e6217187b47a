"""The search constants the browser app shares, each defined once in Python.

``spec/fixtures/constants.json`` holds the same values (with the reason for each) and a
test in each language checks its own definitions against it: the TypeScript twins are in
``web/src/lib/search/constants.ts``.

Examples
--------
>>> rerank_shortlist(50, 200_000)  # 5 % of the candidates beat 10 * k and 1000
10000
"""

from __future__ import annotations

__all__ = [
    "CLASSIFIER_ARMIJO",
    "CLASSIFIER_BACKGROUND",
    "CLASSIFIER_BACKGROUND_WEIGHT",
    "CLASSIFIER_C",
    "CLASSIFIER_HALVINGS",
    "CLASSIFIER_MAX_ITER",
    "CLASSIFIER_TOLERANCE",
    "MAX_CANDIDATES",
    "RERANK_CANDIDATES_DIVISOR",
    "RERANK_MIN",
    "RERANK_PER_K",
    "rerank_shortlist",
]

#: The most candidate rows a region may hold before a search refuses it (a memory guard;
#: raise ``max_candidates`` to override). The browser's cap is lower (2,000,000): a tab
#: holds every candidate's code, id and geometry in one JavaScript heap.
MAX_CANDIDATES = 5_000_000

#: A corpus with a ``rerank`` column re-scores the best
#: ``max(RERANK_PER_K * k, RERANK_MIN, candidates // RERANK_CANDIDATES_DIVISOR)`` rows by
#: Hamming score. The ``candidates // 20`` term is measured, not a guess
#: (``benchmarks/search_end_to_end.py``: on a 256-d world, 100K candidates, int8 rerank, a
#: 1000-row shortlist gives recall@10 0.89 against float32, 5 % gives 0.96).
RERANK_PER_K = 10
RERANK_MIN = 1000
RERANK_CANDIDATES_DIVISOR = 20


#: ``score="classifier"`` (:mod:`terrabit.search.classifier`): L2-regularised logistic
#: regression on the +-1 bits, minimising ``0.5 |w|^2 + C sum_i s_i logloss_i`` (the
#: intercept not penalised, as scikit-learn's ``LogisticRegression(C=...)``).
CLASSIFIER_C = 1.0
#: Background rows (label 0): at most this many candidates, evenly spaced along the
#: candidates sorted by id (no random generator: the browser picks the same rows). A
#: Newton step costs ``O(n p + n^3)`` in the ``n`` training rows, so a few hundred keep a
#: fit of 1024-bit codes well under a second, in the browser too. When these were chosen,
#: the mean precision@20 on the world's north-west India query (10 seeded exemplar draws
#: per year and setting, as ``benchmarks/classifier_precision.py`` draws them) moved by at
#: most 0.01 over C in {0.1, 1} and a background weight in {0.01, 0.1, 1}.
CLASSIFIER_BACKGROUND = 256
#: The weight ``s_i`` of each background row (positives and negatives weigh 1).
CLASSIFIER_BACKGROUND_WEIGHT = 0.01
#: Newton's method: at most this many steps, stopping after the step whose Newton
#: decrement ``-g.step / 2`` is at most the tolerance (the step is still taken).
CLASSIFIER_MAX_ITER = 50
CLASSIFIER_TOLERANCE = 1e-10
#: Backtracking: halve the step (at most this many times) until the objective falls by
#: at least ``CLASSIFIER_ARMIJO * t * g.step``.
CLASSIFIER_ARMIJO = 1e-4
CLASSIFIER_HALVINGS = 30


def rerank_shortlist(k: int, candidates: int) -> int:
    """Rows a re-ranked search re-scores by default for ``k`` results among ``candidates``.

    Examples
    --------
    >>> rerank_shortlist(10, 5_000)
    1000
    >>> rerank_shortlist(200, 5_000)
    2000
    """
    return max(RERANK_PER_K * k, RERANK_MIN, candidates // RERANK_CANDIDATES_DIVISOR)
