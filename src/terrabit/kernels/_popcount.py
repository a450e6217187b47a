"""XOR + popcount kernels: distances, top-k, radius search over ``uint32`` words (numba).

The public entry points are in :mod:`terrabit.kernels.hamming`, which picks a kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from terrabit.kernels._jit import kernel, parallel_kernel, popcount

_DIRECT_MAX_QUERIES = 8  # a task with this few queries skips the transposition


@kernel
def _transpose_block(x: Any, r0: int, nb: int, t: Any) -> None:  # pragma: no cover - numba
    """Copy codes ``r0 : r0 + nb`` into ``t[word, row]`` (word-major)."""
    nw = x.shape[1]
    for j in range(nb):
        for w in range(nw):
            t[w, j] = x[r0 + j, w]


@kernel
def _block_distances(q: Any, qa: int, t: Any, nb: int, acc: Any) -> None:  # pragma: no cover
    """``acc[:nb]`` = Hamming distances of query ``qa`` to a transposed block."""
    nw = q.shape[1]
    nw4 = nw - nw % 4
    for j in range(nb):
        acc[j] = 0
    for w in range(0, nw4, 4):
        a0 = q[qa, w]
        a1 = q[qa, w + 1]
        a2 = q[qa, w + 2]
        a3 = q[qa, w + 3]
        for j in range(nb):
            acc[j] += (popcount(t[w, j] ^ a0) + popcount(t[w + 1, j] ^ a1)) + (
                popcount(t[w + 2, j] ^ a2) + popcount(t[w + 3, j] ^ a3)
            )
    for w in range(nw4, nw):
        a0 = q[qa, w]
        for j in range(nb):
            acc[j] += popcount(t[w, j] ^ a0)


@kernel
def _block_distances2(
    q: Any, qa: int, qb: int, t: Any, nb: int, acc: Any, acc2: Any
) -> None:  # pragma: no cover - numba
    """Distances of queries ``qa`` and ``qb`` to a transposed block (one load, two uses)."""
    nw = q.shape[1]
    nw4 = nw - nw % 4
    for j in range(nb):
        acc[j] = 0
        acc2[j] = 0
    for w in range(0, nw4, 4):
        a0 = q[qa, w]
        a1 = q[qa, w + 1]
        a2 = q[qa, w + 2]
        a3 = q[qa, w + 3]
        b0 = q[qb, w]
        b1 = q[qb, w + 1]
        b2 = q[qb, w + 2]
        b3 = q[qb, w + 3]
        for j in range(nb):
            c0 = t[w, j]
            c1 = t[w + 1, j]
            c2 = t[w + 2, j]
            c3 = t[w + 3, j]
            acc[j] += (popcount(c0 ^ a0) + popcount(c1 ^ a1)) + (
                popcount(c2 ^ a2) + popcount(c3 ^ a3)
            )
            acc2[j] += (popcount(c0 ^ b0) + popcount(c1 ^ b1)) + (
                popcount(c2 ^ b2) + popcount(c3 ^ b3)
            )
    for w in range(nw4, nw):
        a0 = q[qa, w]
        b0 = q[qb, w]
        for j in range(nb):
            acc[j] += popcount(t[w, j] ^ a0)
            acc2[j] += popcount(t[w, j] ^ b0)


@kernel
def _code_distance(q: Any, qa: int, x: Any, row: int) -> int:  # pragma: no cover - numba
    """Hamming distance of query ``qa`` to database row ``row`` (row-major, no block)."""
    s = 0
    for w in range(q.shape[1]):
        s += popcount(q[qa, w] ^ x[row, w])
    return s


@kernel
def insert(bd: Any, bi: Any, s: int, k: int, d: Any, idx: int) -> None:  # pragma: no cover
    """Insert ``(d, idx)`` in the sorted buffer ``bd[s], bi[s]`` (caller: ``d < bd[s, k-1]``).

    Indices arrive in increasing order, so an equal distance goes after the ones held.
    """
    pos = k - 1
    while pos > 0 and bd[s, pos - 1] > d:
        bd[s, pos] = bd[s, pos - 1]
        bi[s, pos] = bi[s, pos - 1]
        pos -= 1
    bd[s, pos] = d
    bi[s, pos] = idx


@kernel
def _offer_block(
    acc: Any, nb: int, r0: int, bd: Any, bi: Any, s: int, k: int
) -> None:  # pragma: no cover
    """Offer a block's distances to top-k buffer row ``s``; scalar work only if one wins."""
    thr = bd[s, k - 1]
    m = acc[0]
    for j in range(1, nb):
        m = min(m, acc[j])
    if m >= thr:
        return
    for j in range(nb):
        d = np.int32(acc[j])
        if d < thr:
            insert(bd, bi, s, k, d, r0 + j)
            thr = bd[s, k - 1]


@kernel
def _scan_topk(
    q: Any, x: Any, q0: int, q1: int, r0: int, r1: int, k: int, block: int, bd: Any, bi: Any
) -> None:  # pragma: no cover - numba
    """Top-k of queries ``q0:q1`` over rows ``r0:r1`` into ``bd[q - q0], bi[q - q0]``."""
    nq = q1 - q0
    if nq <= _DIRECT_MAX_QUERIES:
        for r in range(r0, r1):
            for s in range(nq):
                d = np.int32(_code_distance(q, q0 + s, x, r))
                if d < bd[s, k - 1]:
                    insert(bd, bi, s, k, d, r)
        return
    nw = q.shape[1]
    t = np.empty((nw, block), dtype=np.uint32)
    acc = np.empty(block, dtype=np.uint32)
    acc2 = np.empty(block, dtype=np.uint32)
    for b0 in range(r0, r1, block):
        nb = min(block, r1 - b0)
        _transpose_block(x, b0, nb, t)
        s = 0
        while s + 1 < nq:
            _block_distances2(q, q0 + s, q0 + s + 1, t, nb, acc, acc2)
            _offer_block(acc, nb, b0, bd, bi, s, k)
            _offer_block(acc2, nb, b0, bd, bi, s + 1, k)
            s += 2
        if s < nq:
            _block_distances(q, q0 + s, t, nb, acc)
            _offer_block(acc, nb, b0, bd, bi, s, k)


@kernel
def task_bounds(
    task: int, nq: int, n: int, block: int, n_qchunks: int, n_rchunks: int
) -> tuple[int, int, int, int, int]:  # pragma: no cover - numba
    """Database chunk ``rc`` and the query/row ranges ``[q0, q1) x [r0, r1)`` of ``task``.

    Database chunks are aligned to blocks, so the blocking is the same for any split.
    """
    qper = (nq + n_qchunks - 1) // n_qchunks
    nblocks = (n + block - 1) // block
    bper = (nblocks + n_rchunks - 1) // n_rchunks
    qc = task // n_rchunks
    rc = task % n_rchunks
    q0 = min(qc * qper, nq)
    q1 = min(q0 + qper, nq)
    r0 = min(rc * bper * block, n)
    r1 = min(r0 + bper * block, n)
    return rc, q0, q1, r0, r1


@parallel_kernel
def topk_tasks(
    q: Any, x: Any, k: int, block: int, n_qchunks: int, n_rchunks: int
) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Run ``n_qchunks * n_rchunks`` scans in parallel; one sorted top-k per (rchunk, query)."""
    nq = q.shape[0]
    n = x.shape[0]
    bd = np.full((n_rchunks, nq, k), np.iinfo(np.int32).max, dtype=np.int32)
    bi = np.full((n_rchunks, nq, k), -1, dtype=np.int64)
    for task in prange(n_qchunks * n_rchunks):
        rc, q0, q1, r0, r1 = task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
        if q1 > q0 and r1 > r0:
            _scan_topk(q, x, q0, q1, r0, r1, k, block, bd[rc, q0:q1], bi[rc, q0:q1])
    return bd, bi


@kernel
def merge_topk(bd: Any, bi: Any) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Merge per-chunk sorted lists (chunks in index order) by ``(distance, index)``.

    Only used with fewer queries than threads, so it runs serially (no second launch).
    """
    nr, nq, k = bd.shape
    out_d = np.empty((nq, k), dtype=np.int32)
    out_i = np.empty((nq, k), dtype=np.int64)
    for qi in range(nq):
        heads = np.zeros(nr, dtype=np.int64)
        for m in range(k):
            best = -1
            for c in range(nr):
                h = heads[c]
                # strict <: an earlier chunk (lower indices) wins a distance tie
                if (h < k and bi[c, qi, h] >= 0) and (
                    best < 0 or bd[c, qi, h] < bd[best, qi, heads[best]]
                ):
                    best = c
            if best < 0:
                out_d[qi, m] = np.iinfo(np.int32).max
                out_i[qi, m] = -1
            else:
                out_d[qi, m] = bd[best, qi, heads[best]]
                out_i[qi, m] = bi[best, qi, heads[best]]
                heads[best] += 1
    return out_d, out_i


@parallel_kernel
def distance_tasks(
    q: Any, x: Any, block: int, n_qchunks: int, n_rchunks: int, out: Any
) -> None:  # pragma: no cover - numba
    """Fill the full ``out[nq, n]`` distance matrix."""
    nq = q.shape[0]
    n = x.shape[0]
    nw = q.shape[1]
    for task in prange(n_qchunks * n_rchunks):
        _, q0, q1, r0, r1 = task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
        if q1 <= q0 or r1 <= r0:
            continue
        t = np.empty((nw, block), dtype=np.uint32)
        acc = np.empty(block, dtype=np.uint32)
        for b0 in range(r0, r1, block):
            nb = min(block, r1 - b0)
            _transpose_block(x, b0, nb, t)
            for qi in range(q0, q1):
                _block_distances(q, qi, t, nb, acc)
                for j in range(nb):
                    out[qi, b0 + j] = acc[j]


@parallel_kernel
def radius_tasks(
    q: Any,
    x: Any,
    radius: int,
    block: int,
    n_qchunks: int,
    n_rchunks: int,
    counts: Any,
    offsets: Any,
    out_d: Any,
    out_i: Any,
    fill: bool,
) -> None:  # pragma: no cover - numba
    """Count (``fill=False``) or write (``fill=True``) the matches within ``radius``.

    ``counts[rc, qi]`` is the number of matches of query ``qi`` in database chunk ``rc``;
    when filling, they are written from ``offsets[rc, qi]`` on, in increasing index order.
    """
    nq = q.shape[0]
    n = x.shape[0]
    nw = q.shape[1]
    for task in prange(n_qchunks * n_rchunks):
        rc, q0, q1, r0, r1 = task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
        if q1 <= q0 or r1 <= r0:
            continue
        t = np.empty((nw, block), dtype=np.uint32)
        acc = np.empty(block, dtype=np.uint32)
        for b0 in range(r0, r1, block):
            nb = min(block, r1 - b0)
            _transpose_block(x, b0, nb, t)
            for qi in range(q0, q1):
                _block_distances(q, qi, t, nb, acc)
                if fill:
                    pos = offsets[rc, qi]
                    for j in range(nb):
                        if acc[j] <= radius:
                            out_d[pos] = acc[j]
                            out_i[pos] = b0 + j
                            pos += 1
                    offsets[rc, qi] = pos
                else:
                    c = 0
                    for j in range(nb):
                        if acc[j] <= radius:
                            c += 1
                    counts[rc, qi] += c


@parallel_kernel
def sort_segments(lims: Any, out_d: Any, out_i: Any) -> None:  # pragma: no cover - numba
    """Sort each query's matches by distance, stably (indices already ascending)."""
    for qi in prange(lims.shape[0] - 1):
        lo = lims[qi]
        hi = lims[qi + 1]
        if hi - lo > 1:
            order = np.argsort(out_d[lo:hi], kind="mergesort")
            out_d[lo:hi] = out_d[lo:hi][order]
            out_i[lo:hi] = out_i[lo:hi][order]
