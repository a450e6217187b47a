"""Exact brute-force k-nearest-neighbour search (cosine, Euclidean, Hamming), faiss order.

Results are ``(distances, indices)`` shaped ``(n_queries, k)``, sorted by distance with
ties broken by database index, so every search here is deterministic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from terrabit._validation import check_choice

__all__ = ["METRICS", "Metric", "hamming_distances", "search", "select_topk"]

Metric = Literal["cosine", "euclidean", "hamming"]
METRICS: tuple[Metric, ...] = ("cosine", "euclidean", "hamming")

#: Scratch memory per query block (bytes), bounding the [block, n] distance matrices.
_BLOCK_BYTES = 64 * 2**20


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


def _as_words(codes: np.ndarray) -> np.ndarray:
    """Bit-packed uint8 codes as uint64 words (zero-padded; padding never changes Hamming)."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    pad = (-codes.shape[1]) % 8
    if pad:
        codes = np.concatenate([codes, np.zeros((codes.shape[0], pad), np.uint8)], axis=1)
    return codes.view(np.uint64)


def hamming_distances(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances between bit-packed uint8 codes, as int32 ``[nq, nd]``.

    Examples
    --------
    >>> q = np.array([[0b1010_0000]], dtype=np.uint8)
    >>> db = np.array([[0b1010_0000], [0b0101_0000], [0b1111_1111]], dtype=np.uint8)
    >>> hamming_distances(q, db).tolist()
    [[0, 4, 6]]
    """
    qw, dw = _as_words(queries), _as_words(database)
    out = np.empty((qw.shape[0], dw.shape[0]), dtype=np.int32)
    block = max(1, _BLOCK_BYTES // max(1, dw.shape[0] * dw.shape[1] * 8))
    for start in range(0, qw.shape[0], block):
        x = np.bitwise_xor(qw[start : start + block, None, :], dw[None, :, :])
        out[start : start + block] = np.bitwise_count(x).sum(axis=2, dtype=np.int32)
    return out


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
    count (inputs: bit-packed uint8 codes). Float metrics compute in ``dtype``.

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
    if metric == "hamming":
        dist_out = np.empty((n_q, k), dtype=np.int32)
        block = max(1, _BLOCK_BYTES // max(1, n_db * 4))
        for s in range(0, n_q, block):
            d, i = select_topk(hamming_distances(queries[s : s + block], database), k)
            dist_out[s : s + block], idx_out[s : s + block] = d, i
        return dist_out, idx_out
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
