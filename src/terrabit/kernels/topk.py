"""Exact top-k selection over dense score rows, the order every search of terrabit keeps
(faiss's): smallest first, ties by column index, in ``O(n)`` per row.

Examples
--------
>>> import numpy as np
>>> select_topk(np.array([[2.0, 0.5, 0.5]]), 2)[1].tolist()
[[1, 2]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["select_topk"]


def select_topk(dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest entries of each row, ties broken by column index.

    Exact and deterministic, in ``O(n)`` per row (no full sort).

    Examples
    --------
    >>> d, i = select_topk(np.array([[3.0, 1.0, 1.0, 0.0]]), 3)
    >>> i.tolist(), d.tolist()
    ([[3, 1, 2]], [[0.0, 1.0, 1.0]])
    """
    n = dist.shape[1]
    k = min(k, n)
    if k == n:
        idx = np.argsort(dist, axis=1, kind="stable")
        return np.take_along_axis(dist, idx, axis=1), idx
    thr = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
    less = dist < thr
    equal = dist == thr
    need = k - less.sum(axis=1, keepdims=True)
    chosen = less | (equal & (np.cumsum(equal, axis=1) <= need))
    idx = np.nonzero(chosen)[1].reshape(-1, k)  # row-major: ascending index within a row
    sel = np.take_along_axis(dist, idx, axis=1)
    order = np.argsort(sel, axis=1, kind="stable")
    return np.take_along_axis(sel, order, axis=1), np.take_along_axis(idx, order, axis=1)
