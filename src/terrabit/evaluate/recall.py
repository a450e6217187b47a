"""Retrieval recall@k of a codec's neighbours against exact float32 neighbours.

Queries are held-out rows (``x_test``), never members of the database (``x_train``), so
k=1 is not trivially the query itself. Float codecs search their decoded vectors with the
ground truth's metric; Hamming codecs search their raw bits by Hamming distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from terrabit.errors import InvalidInputError
from terrabit.evaluate._neighbors import Metric, search

__all__ = ["RECALL_KS", "ground_truth", "recall_at_k", "recall_curve"]

#: The k of recall@k reported by default.
RECALL_KS: tuple[int, ...] = (1, 5, 10, 25, 50)


def recall_at_k(true_neighbors: np.ndarray, found_neighbors: np.ndarray, k: int) -> float:
    """Mean over queries of ``|found[:k] ∩ true[:k]| / k``.

    Examples
    --------
    >>> recall_at_k(np.array([[0, 1, 2], [3, 4, 5]]), np.array([[1, 0, 9], [3, 8, 9]]), 2)
    0.75
    """
    t, f = np.asarray(true_neighbors), np.asarray(found_neighbors)
    if t.shape[0] != f.shape[0]:
        raise InvalidInputError(
            f"true and found neighbours must have the same number of queries; got "
            f"{t.shape[0]} and {f.shape[0]}"
        )
    if k < 1 or k > t.shape[1] or k > f.shape[1]:
        raise InvalidInputError(
            f"k must be between 1 and {min(t.shape[1], f.shape[1])} (the neighbours given), got {k}"
        )
    hits = (f[:, :k, None] == t[:, None, :k]).any(axis=2).sum(axis=1)
    return float(np.mean(hits / k))


def recall_curve(
    true_neighbors: np.ndarray, found_neighbors: np.ndarray, ks: Sequence[int] = RECALL_KS
) -> dict[int, float]:
    """:func:`recall_at_k` for every ``k`` in ``ks`` (those larger than the lists skipped).

    Examples
    --------
    >>> t = np.array([[0, 1, 2, 3, 4]])
    >>> recall_curve(t, t[:, ::-1], ks=(1, 5))
    {1: 0.0, 5: 1.0}
    """
    limit = min(np.shape(true_neighbors)[1], np.shape(found_neighbors)[1])
    return {int(k): recall_at_k(true_neighbors, found_neighbors, int(k)) for k in ks if k <= limit}


def ground_truth(
    x_train: np.ndarray, x_test: np.ndarray, *, k: int = max(RECALL_KS), metric: Metric = "cosine"
) -> np.ndarray:
    """Exact float32 neighbour indices ``[n_test, k]`` of held-out queries in ``x_train``.

    Examples
    --------
    >>> ground_truth(np.eye(3), np.array([[0.0, 0.2, 1.0]]), k=2).tolist()
    [[2, 1]]
    """
    return search(x_train, x_test, k, metric=metric)[1]
