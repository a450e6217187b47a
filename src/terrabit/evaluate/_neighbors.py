"""Exact brute-force k-nearest-neighbour search (cosine, Euclidean, Hamming), faiss order.

Results are ``(distances, indices)`` shaped ``(n_queries, k)``, sorted by distance with
ties broken by database index, so every search here is deterministic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from terrabit._validation import check_choice
from terrabit.kernels import hamming_distances, hamming_topk
from terrabit.kernels.topk import select_topk

__all__ = ["METRICS", "Metric", "hamming_distances", "search", "select_topk"]

Metric = Literal["cosine", "euclidean", "hamming"]
METRICS: tuple[Metric, ...] = ("cosine", "euclidean", "hamming")

#: Scratch memory per query block (bytes), bounding the [block, n] distance matrices.
_BLOCK_BYTES = 64 * 2**20


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0  # a zero vector has cosine distance 1 to everything (as sklearn)
    return x / norms


def search(
    database: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    metric: Metric = "cosine",
    dtype: type[np.floating] = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-nearest neighbours of ``queries`` in ``database``.

    ``cosine`` returns ``1 - cos``, ``euclidean`` the L2 distance, ``hamming`` the bit
    count (inputs: bit-packed uint8 codes, scanned by :func:`terrabit.search.hamming_topk`).
    Float metrics compute in ``dtype``.

    Examples
    --------
    >>> db = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> d, i = search(db, np.array([[2.0, 0.1]]), 2, metric="euclidean")
    >>> i.tolist()
    [[0, 2]]
    """
    check_choice("metric", metric, METRICS)
    n_q, n_db = queries.shape[0], database.shape[0]
    k = min(k, n_db)
    dist_out: np.ndarray | None = None
    idx_out = np.empty((n_q, k), dtype=np.int64)
    if metric == "hamming":  # the search layer's exact kernel, faiss order
        return hamming_topk(
            np.ascontiguousarray(queries, np.uint8), np.ascontiguousarray(database, np.uint8), k
        )
    db = np.asarray(database, dtype=dtype)
    qs = np.asarray(queries, dtype=dtype)
    if metric == "cosine":
        db, qs = _normalize(db), _normalize(qs)
    else:
        db_sq = np.einsum("ij,ij->i", db, db)
    dist_out = np.empty((n_q, k), dtype=dtype)
    block = max(1, _BLOCK_BYTES // max(1, n_db * np.dtype(dtype).itemsize))
    for s in range(0, n_q, block):
        q = qs[s : s + block]
        if metric == "cosine":
            dist = 1.0 - q @ db.T
        else:
            dist = np.einsum("ij,ij->i", q, q)[:, None] - 2.0 * (q @ db.T) + db_sq[None, :]
            np.maximum(dist, 0.0, out=dist)
        d, i = select_topk(dist, k)
        dist_out[s : s + block] = np.sqrt(d) if metric == "euclidean" else d
        idx_out[s : s + block] = i
    return dist_out, idx_out
