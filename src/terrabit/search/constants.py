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
