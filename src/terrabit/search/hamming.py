"""Exact Hamming search over packed binary codes: distances, top-k and radius search.

Codes are ``uint8`` arrays of shape ``(n, code_size)`` holding ``8 * code_size`` bits
(``numpy.packbits`` layout; any ``code_size`` from 1 byte up). Results follow faiss
(``IndexBinaryFlat``): distances ascending, ties broken by the lower database index,
whatever the number of threads.

How the kernel is fast (numba, compiled on first use and cached on disk):

* codes are read as ``uint32`` words (zero-padded to a multiple of 4 bytes otherwise);
  ``llvm.ctpop`` is called directly (numba has no ``np.bitwise_count``), which LLVM
  lowers to ``popcnt``, or to AVX-512 ``vpopcntd`` once a loop is vectorized;
* the database is cut into L1-sized blocks (about 32 KB) transposed word-major, so one
  ``vpopcntd`` scores 16 codes at once with no horizontal sum, and each block is reused
  by every query of a thread's query chunk, two queries per pass, while it sits in L1;
* a task with few queries (``<= 8``) skips the transposition and streams the rows
  directly (memory-bound; a single query over 1M x 128 B codes reads 128 MB once);
* per query, the top-k is a small sorted buffer that a block touches only when the
  block's minimum beats the current k-th distance (rare after the first blocks);
  ``k > 256`` switches to full distance rows and a stable sort;
* threads split the queries; with fewer queries than threads they split the database
  and the per-chunk top-k lists are merged exactly by ``(distance, index)``.

Each new array flavour (read-only, unaligned) compiles its own specialization once (about
10 s, then cached); pass writeable arrays to skip that.

Examples
--------
>>> import numpy as np
>>> from terrabit.search.hamming import hamming_topk
>>> codes = np.array([[0b1111], [0b0001], [0b0011], [0b0001]], dtype=np.uint8)
>>> distances, indices = hamming_topk(codes[1:2], codes, 3)
>>> distances.tolist(), indices.tolist()
([[0, 0, 1]], [[1, 3, 2]])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from terrabit.errors import InvalidInputError

__all__ = [
    "PAD_DISTANCE",
    "PAD_INDEX",
    "RadiusResult",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
]

#: Distance that pads a row of :func:`hamming_topk` when ``k`` exceeds the database size
#: (faiss pads with the same value, ``2**31 - 1``, so rows stay ascending).
PAD_DISTANCE = int(np.iinfo(np.int32).max)
#: Index that pads a row of :func:`hamming_topk` when ``k`` exceeds the database size.
PAD_INDEX = -1

_numba_config: Any = numba.config
_BLOCK_BYTES = 32 * 1024  # transposed database block: L1-sized (measured: 16 KB ~4% slower)
_DIRECT_MAX_QUERIES = 8  # a task with this few queries skips the transposition
_SERIAL_MAX_BYTES = 2 << 20  # n_queries * n * code_size below this: one thread by default
_BUFFER_MAX_K = 256  # above this, top-k uses a stable sort of each distance row


class RadiusResult(NamedTuple):
    """Matches of :func:`hamming_radius`, laid out like faiss ``range_search``.

    The matches of query ``i`` are ``indices[lims[i]:lims[i + 1]]`` with
    ``distances[lims[i]:lims[i + 1]]``, sorted by ``(distance, index)``.
    """

    lims: np.ndarray  # int64 [nq + 1]
    distances: np.ndarray  # int32 [lims[-1]]
    indices: np.ndarray  # int64 [lims[-1]]

    def query(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(indices, distances)`` of query ``i``.

        Examples
        --------
        >>> import numpy as np
        >>> r = RadiusResult(np.array([0, 2]), np.array([0, 3], np.int32), np.array([4, 1]))
        >>> [a.tolist() for a in r.query(0)]
        [[4, 1], [0, 3]]
        """
        lo, hi = int(self.lims[i]), int(self.lims[i + 1])
        return self.indices[lo:hi], self.distances[lo:hi]


# --------------------------------------------------------------------------- numba kernels


def _ctpop(typingctx: Any, x: Any) -> Any:
    """``llvm.ctpop`` on an integer: ``popcnt`` / ``vpopcntd`` once LLVM vectorizes."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        (value,) = args
        fn = builder.module.declare_intrinsic("llvm.ctpop", [value.type])
        return builder.call(fn, [value])

    return x(x), codegen


_popcount: Any = intrinsic(_ctpop)

_kernel = njit(cache=True, fastmath=True, nogil=True)
_parallel_kernel = njit(parallel=True, cache=True, fastmath=True, nogil=True)


@_kernel
def _transpose_block(x: Any, r0: int, nb: int, t: Any) -> None:  # pragma: no cover - numba
    """Copy codes ``r0 : r0 + nb`` into ``t[word, row]`` (word-major)."""
    nw = x.shape[1]
    for j in range(nb):
        for w in range(nw):
            t[w, j] = x[r0 + j, w]


@_kernel
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
            acc[j] += (_popcount(t[w, j] ^ a0) + _popcount(t[w + 1, j] ^ a1)) + (
                _popcount(t[w + 2, j] ^ a2) + _popcount(t[w + 3, j] ^ a3)
            )
    for w in range(nw4, nw):
        a0 = q[qa, w]
        for j in range(nb):
            acc[j] += _popcount(t[w, j] ^ a0)


@_kernel
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
            acc[j] += (_popcount(c0 ^ a0) + _popcount(c1 ^ a1)) + (
                _popcount(c2 ^ a2) + _popcount(c3 ^ a3)
            )
            acc2[j] += (_popcount(c0 ^ b0) + _popcount(c1 ^ b1)) + (
                _popcount(c2 ^ b2) + _popcount(c3 ^ b3)
            )
    for w in range(nw4, nw):
        a0 = q[qa, w]
        b0 = q[qb, w]
        for j in range(nb):
            acc[j] += _popcount(t[w, j] ^ a0)
            acc2[j] += _popcount(t[w, j] ^ b0)


@_kernel
def _code_distance(q: Any, qa: int, x: Any, row: int) -> int:  # pragma: no cover - numba
    """Hamming distance of query ``qa`` to database row ``row`` (row-major, no block)."""
    s = 0
    for w in range(q.shape[1]):
        s += _popcount(q[qa, w] ^ x[row, w])
    return s


@_kernel
def _insert(bd: Any, bi: Any, s: int, k: int, d: Any, idx: int) -> None:  # pragma: no cover
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


@_kernel
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
            _insert(bd, bi, s, k, d, r0 + j)
            thr = bd[s, k - 1]


@_kernel
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
                    _insert(bd, bi, s, k, d, r)
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


@_kernel
def _task_bounds(
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


@_parallel_kernel
def _topk_tasks(
    q: Any, x: Any, k: int, block: int, n_qchunks: int, n_rchunks: int
) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Run ``n_qchunks * n_rchunks`` scans in parallel; one sorted top-k per (rchunk, query)."""
    nq = q.shape[0]
    n = x.shape[0]
    bd = np.full((n_rchunks, nq, k), np.iinfo(np.int32).max, dtype=np.int32)
    bi = np.full((n_rchunks, nq, k), -1, dtype=np.int64)
    for task in prange(n_qchunks * n_rchunks):
        rc, q0, q1, r0, r1 = _task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
        if q1 > q0 and r1 > r0:
            _scan_topk(q, x, q0, q1, r0, r1, k, block, bd[rc, q0:q1], bi[rc, q0:q1])
    return bd, bi


@_kernel
def _merge_topk(bd: Any, bi: Any) -> tuple[Any, Any]:  # pragma: no cover - numba
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


@_parallel_kernel
def _distance_tasks(
    q: Any, x: Any, block: int, n_qchunks: int, n_rchunks: int, out: Any
) -> None:  # pragma: no cover - numba
    """Fill the full ``out[nq, n]`` distance matrix."""
    nq = q.shape[0]
    n = x.shape[0]
    nw = q.shape[1]
    for task in prange(n_qchunks * n_rchunks):
        _, q0, q1, r0, r1 = _task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
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


@_parallel_kernel
def _radius_tasks(
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
        rc, q0, q1, r0, r1 = _task_bounds(task, nq, n, block, n_qchunks, n_rchunks)
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


@_parallel_kernel
def _sort_segments(lims: Any, out_d: Any, out_i: Any) -> None:  # pragma: no cover - numba
    """Sort each query's matches by distance, stably (indices already ascending)."""
    for qi in prange(lims.shape[0] - 1):
        lo = lims[qi]
        hi = lims[qi + 1]
        if hi - lo > 1:
            order = np.argsort(out_d[lo:hi], kind="mergesort")
            out_d[lo:hi] = out_d[lo:hi][order]
            out_i[lo:hi] = out_i[lo:hi][order]


# --------------------------------------------------------------------------- validation


def _as_codes(name: str, array: Any, *, allow_1d: bool) -> np.ndarray:
    """Check one code array (uint8, 2-D) and return it C-contiguous."""
    if not isinstance(array, np.ndarray):  # nested lists of byte values
        try:
            array = np.asarray(array, dtype=np.uint8)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(
                f"{name} must be a uint8 array of packed bits (bytes 0..255), "
                f"could not convert a {type(array).__name__}: {exc}"
            ) from exc
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"{name} must have dtype uint8 (packed bits, e.g. from numpy.packbits), "
            f"got {array.dtype}; pack float or bool codes first"
        )
    if array.ndim == 1 and allow_1d:
        array = array[None, :]
    if array.ndim != 2:
        shape = "[n_queries, code_size] or [code_size]" if allow_1d else "[n, code_size]"
        raise InvalidInputError(f"{name} must be 2-D {shape}, got shape {array.shape}")
    if array.shape[1] == 0:
        raise InvalidInputError(f"{name} has code_size 0; codes need at least one byte")
    return np.ascontiguousarray(array)


def _prepare(queries: Any, codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return both arrays as C-contiguous ``uint32`` words."""
    q = _as_codes("queries", queries, allow_1d=True)
    x = _as_codes("codes", codes, allow_1d=False)
    if q.shape[1] != x.shape[1]:
        raise InvalidInputError(
            f"queries have code_size {q.shape[1]} bytes but codes have {x.shape[1]}; "
            "encode both with the same codec"
        )
    return _words(q), _words(x)


def _words(a: np.ndarray) -> np.ndarray:
    """View ``uint8 [m, cs]`` as ``uint32 [m, ceil(cs / 4)]``, zero-padding when needed."""
    pad = (-a.shape[1]) % 4
    if pad:
        a = np.concatenate([a, np.zeros((a.shape[0], pad), dtype=np.uint8)], axis=1)
    return a.view(np.uint32)


def _block_rows(n_words: int) -> int:
    """Rows per transposed block: about ``_BLOCK_BYTES``, a multiple of 16, 64..1024."""
    rows = _BLOCK_BYTES // (4 * n_words)
    return int(max(64, min(1024, rows - rows % 16)))


def _resolve_threads(threads: int | None, work_bytes: int) -> int:
    """Threads to use; by default one for tiny jobs (a parallel launch costs more)."""
    limit = int(_numba_config.NUMBA_NUM_THREADS)
    if threads is None:
        return 1 if work_bytes < _SERIAL_MAX_BYTES else int(numba.get_num_threads())
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer):
        raise InvalidInputError(f"threads must be an integer or None, got {threads!r}")
    if not 1 <= threads <= limit:
        raise InvalidInputError(
            f"threads must be between 1 and {limit} (NUMBA_NUM_THREADS), got {threads}"
        )
    return int(threads)


@contextmanager
def _numba_threads(threads: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _split(nq: int, n: int, block: int, threads: int) -> tuple[int, int]:
    """Query chunks x database chunks: split queries first, the database for the rest."""
    n_qchunks = max(1, min(threads, nq))
    nblocks = max(1, -(-n // block))
    n_rchunks = max(1, min(threads // n_qchunks, nblocks))
    return n_qchunks, n_rchunks


# --------------------------------------------------------------------------- public API


def hamming_distances(queries: Any, codes: Any, *, threads: int | None = None) -> np.ndarray:
    """Every query's Hamming distance to every code.

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes.
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    threads : int, optional
        Threads to use (default: numba's current setting, or one for tiny jobs).

    Returns
    -------
    int32 array ``[n_queries, n]``
        Number of differing bits.

    Examples
    --------
    >>> import numpy as np
    >>> hamming_distances(np.array([0b1010], np.uint8), np.array([[0], [255]], np.uint8))
    array([[2, 6]], dtype=int32)
    """
    q, x = _prepare(queries, codes)
    nthreads = _resolve_threads(threads, q.shape[0] * x.shape[0] * 4 * q.shape[1])
    out = np.empty((q.shape[0], x.shape[0]), dtype=np.int32)
    if out.size == 0:
        return out
    block = _block_rows(q.shape[1])
    n_qchunks, n_rchunks = _split(q.shape[0], x.shape[0], block, nthreads)
    with _numba_threads(nthreads):
        _distance_tasks(q, x, block, n_qchunks, n_rchunks, out)
    return out


def hamming_topk(
    queries: Any, codes: Any, k: int, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest codes of each query by Hamming distance (exact, faiss order).

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes (a 1-D query is treated as one query).
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    k : int
        Neighbours per query, at least 1. When ``k > n`` the rows are padded with
        distance :data:`PAD_DISTANCE` (``2**31 - 1``) and index :data:`PAD_INDEX` (``-1``),
        exactly as faiss ``IndexBinaryFlat.search`` pads.
    threads : int, optional
        Threads to use (default: numba's current setting, or one for tiny jobs). The
        result does not depend on it.

    Returns
    -------
    distances : int32 array ``[n_queries, k]``
        Ascending along each row.
    indices : int64 array ``[n_queries, k]``
        Row numbers in ``codes``; equal distances are ordered by lower index.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[7], [0], [1], [0]], dtype=np.uint8)
    >>> d, i = hamming_topk(np.array([0], np.uint8), codes, 5)
    >>> d.tolist(), i.tolist()
    ([[0, 0, 1, 3, 2147483647]], [[1, 3, 2, 0, -1]])
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    if k <= 0:
        raise InvalidInputError(f"k must be at least 1, got {k}")
    q, x = _prepare(queries, codes)
    nthreads = _resolve_threads(threads, q.shape[0] * x.shape[0] * 4 * q.shape[1])
    nq, n = q.shape[0], x.shape[0]
    k = int(k)
    if nq == 0 or n == 0:
        return (
            np.full((nq, k), PAD_DISTANCE, dtype=np.int32),
            np.full((nq, k), PAD_INDEX, dtype=np.int64),
        )
    kk = min(k, n)  # buffers never need more than n slots
    if kk > _BUFFER_MAX_K:
        dist, idx = _topk_by_sort(q, x, kk, nthreads)
    else:
        block = _block_rows(q.shape[1])
        n_qchunks, n_rchunks = _split(nq, n, block, nthreads)
        with _numba_threads(nthreads):
            bd, bi = _topk_tasks(q, x, kk, block, n_qchunks, n_rchunks)
            if n_rchunks > 1:
                dist, idx = _merge_topk(bd, bi)
            else:
                dist, idx = bd[0], bi[0]
    if kk < k:
        dist = np.concatenate([dist, np.full((nq, k - kk), PAD_DISTANCE, np.int32)], axis=1)
        idx = np.concatenate([idx, np.full((nq, k - kk), PAD_INDEX, np.int64)], axis=1)
    return np.ascontiguousarray(dist), np.ascontiguousarray(idx)


def _topk_by_sort(
    q: np.ndarray, x: np.ndarray, k: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k for large ``k``: full distance rows (in query batches) and a stable sort."""
    nq, n = q.shape[0], x.shape[0]
    batch = max(1, (32 << 20) // max(n, 1))
    dist = np.empty((nq, k), dtype=np.int32)
    idx = np.empty((nq, k), dtype=np.int64)
    block = _block_rows(q.shape[1])
    with _numba_threads(threads):
        for a in range(0, nq, batch):
            b = min(a + batch, nq)
            out = np.empty((b - a, n), dtype=np.int32)
            n_qchunks, n_rchunks = _split(b - a, n, block, threads)
            _distance_tasks(q[a:b], x, block, n_qchunks, n_rchunks, out)
            order = np.argsort(out, axis=1, kind="stable")[:, :k]
            idx[a:b] = order
            dist[a:b] = np.take_along_axis(out, order, axis=1)
    return dist, idx


def hamming_radius(
    queries: Any, codes: Any, radius: int, *, threads: int | None = None
) -> RadiusResult:
    """Every code within ``radius`` bits of each query (``distance <= radius``).

    Unlike faiss ``range_search`` (strict ``<``, unordered), matches are inclusive and
    sorted by ``(distance, index)``. The database is scanned twice (count, then fill),
    so the output is allocated exactly once.

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes.
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    radius : int
        Largest distance kept, ``>= 0``.
    threads : int, optional
        Threads to use (default: numba's current setting, or one for tiny jobs).

    Returns
    -------
    RadiusResult
        ``(lims, distances, indices)`` as faiss ``range_search`` lays them out.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[7], [0], [1], [0]], dtype=np.uint8)
    >>> res = hamming_radius(np.array([[0], [7]], np.uint8), codes, 1)
    >>> res.lims.tolist(), res.indices.tolist(), res.distances.tolist()
    ([0, 3, 4], [1, 3, 2, 0], [0, 0, 1, 0])
    """
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise InvalidInputError(f"radius must be a non-negative integer, got {radius!r}")
    if radius < 0:
        raise InvalidInputError(f"radius must be at least 0, got {radius}")
    q, x = _prepare(queries, codes)
    nthreads = _resolve_threads(threads, q.shape[0] * x.shape[0] * 4 * q.shape[1])
    nq, n = q.shape[0], x.shape[0]
    radius = int(min(int(radius), 32 * q.shape[1]))
    block = _block_rows(q.shape[1])
    n_qchunks, n_rchunks = _split(nq, n, block, nthreads)
    counts = np.zeros((n_rchunks, nq), dtype=np.int64)
    if nq == 0 or n == 0:
        return RadiusResult(
            np.zeros(nq + 1, np.int64), np.empty(0, np.int32), np.empty(0, np.int64)
        )
    empty_d = np.empty(0, np.int32)
    empty_i = np.empty(0, np.int64)
    with _numba_threads(nthreads):
        _radius_tasks(
            q, x, radius, block, n_qchunks, n_rchunks, counts, counts, empty_d, empty_i, False
        )
        per_query = counts.sum(axis=0)
        lims = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(per_query, out=lims[1:])
        # chunk rc of query qi starts after the query's earlier chunks
        offsets = lims[:-1][None, :] + np.cumsum(counts, axis=0) - counts
        offsets = np.ascontiguousarray(offsets)
        out_d = np.empty(int(lims[-1]), dtype=np.int32)
        out_i = np.empty(int(lims[-1]), dtype=np.int64)
        _radius_tasks(
            q, x, radius, block, n_qchunks, n_rchunks, counts, offsets, out_d, out_i, True
        )
        _sort_segments(lims, out_d, out_i)
    return RadiusResult(lims, out_d, out_i)
