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
  and the per-chunk top-k lists are merged exactly by ``(distance, index)``;
* batches of at least 32 queries with codes of 32 to 256 bytes use a bit-sliced kernel
  instead (no popcount at all): a block of 1024 codes becomes bit planes (plane ``p`` = bit
  ``p`` of every code, 1024 bits), and a query's distances are
  ``|q| + |c| - 2 * (sum of the planes where q has a one)`` (or the zeros, whichever are
  fewer), the planes summed by carry-save adders (Harley-Seal, two ``vpternlogq`` per
  plane, 1024 counters at once); query pairs share the planes both sum, and a bit-serial
  subtraction flags the codes that beat the current k-th distance, the only ones decoded.
  About 1.3x the XOR kernel's speed at 128 bytes on an AVX-512 Zen 4; threads split the
  database (each block is transposed once). Without AVX-512 the same code compiles to
  plain and/or/xor.

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

import llvmlite.binding as _llvm
import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

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


# --------------------------------------------------------------------------- bit-sliced top-k
#
# For many queries per database block, the codes are turned into bit planes: plane ``p`` of a
# block of 1024 codes is one 1024-bit vector (two zmm registers) whose bit ``j`` is bit ``p``
# of code ``j``. The distance to query ``q`` is ``|q| + |c| - 2 S1`` with ``S1`` the sum of the
# planes where ``q`` has a one (or ``|q| - |c| + 2 S0`` over the planes where it has a zero,
# whichever set is smaller, so at most half of the planes). The planes are summed as 1024
# one-bit counters in parallel with carry-save adders (Harley-Seal), two ``vpternlogq`` per
# plane and no popcount; two queries share the planes both of them sum (a quarter of the
# planes for random codes). The sum stays bit-sliced: a bit-serial subtraction tells which
# codes beat the current k-th distance, and only those (rare after the first block) are
# decoded and inserted. Exact, same ties as faiss. The plane gathers (a 128 KB block for
# 1024-bit codes, from L2) rather than the adders bound it: measured, 1.2-1.4x the XOR kernel.

_VEC_LANES = 16  # uint64 lanes of a plane (measured: 8 ~20% slower, 32 spills registers)
_VEC_BLOCK = 64 * _VEC_LANES
_VEC_LL = ir.VectorType(ir.IntType(64), _VEC_LANES)
_BS_MAX_BYTES = 256  # bit-sliced path up to 2048-bit codes (sums fit 11 bit planes)
_BS_MIN_BYTES = 32  # below this the XOR + popcount kernel is as fast (measured)
_BS_MIN_QUERIES = 32  # queries per database pass that pay for the bit transposition
_BS_QUERY_GROUP = 1024  # queries prepared at once (their plane lists: ~2 KB each)
_BS_SUM_BITS = 11  # bit planes of a plane sum (<= 1024 planes summed)


def _host_has_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512 (``vpternlogq``).

    Follows ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` (a portable cache builds for a
    generic CPU: then plain and/or/xor are emitted).
    """
    if _numba_config.CPU_NAME is not None:
        features = _numba_config.CPU_FEATURES or ""
    else:
        features = _llvm.get_host_cpu_features().flatten()
    return "+avx512f" in str(features).split(",")


_HAS_TERNLOG = _host_has_avx512()


class _PlaneVector(types.Type):
    """numba type of a ``<_VEC_LANES x i64>`` LLVM vector (one bit plane of a block)."""

    def __init__(self) -> None:
        super().__init__(name="terrabit.u64x8")


_vec = _PlaneVector()


@register_model(_PlaneVector)
class _PlaneVectorModel(models.PrimitiveModel):
    def __init__(self, dmm: Any, fe_type: Any) -> None:
        super().__init__(dmm, fe_type, _VEC_LL)


def _vec_ptr(context: Any, builder: Any, arrty: Any, arr: Any, off: Any) -> Any:
    ary = context.make_array(arrty)(context, builder, arr)
    return builder.bitcast(builder.gep(ary.data, [off]), _VEC_LL.as_pointer())


def _is_u64_array(arr: Any) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.uint64 and arr.ndim == 1


def _vload_impl(typingctx: Any, arr: Any, off: Any) -> Any:
    """Load 8 consecutive ``uint64`` of a 1-D array from element ``off``."""
    if not (_is_u64_array(arr) and isinstance(off, types.Integer)):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.load(_vec_ptr(context, builder, sig.args[0], args[0], args[1]), align=8)

    return _vec(arr, off), codegen


def _vstore_impl(typingctx: Any, arr: Any, off: Any, value: Any) -> Any:
    """Store a vector into 8 consecutive ``uint64`` of a 1-D array from element ``off``."""
    if not (_is_u64_array(arr) and isinstance(off, types.Integer) and value is _vec):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        ptr = _vec_ptr(context, builder, sig.args[0], args[0], args[1])
        builder.store(args[2], ptr, align=8)
        return context.get_dummy_value()

    return types.none(arr, off, value), codegen


def _ternary(builder: Any, args: Any, imm: int) -> Any:
    """Bitwise ternary function ``imm`` of three vectors: one ``vpternlogq`` on AVX-512."""
    a, b, c = args
    if _HAS_TERNLOG:
        zmm = ir.VectorType(ir.IntType(64), 8)
        fnty = ir.FunctionType(zmm, [zmm, zmm, zmm, ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.avx512.pternlog.q.512")
        undef = ir.Constant(_VEC_LL, ir.Undefined)
        halves = []
        for h in range(_VEC_LANES // 8):
            sel = ir.Constant(ir.VectorType(ir.IntType(32), 8), list(range(8 * h, 8 * h + 8)))
            parts = [builder.shuffle_vector(v, undef, sel) for v in (a, b, c)]
            halves.append(builder.call(fn, [*parts, ir.Constant(ir.IntType(32), imm)]))
        if len(halves) == 1:
            return halves[0]
        sel = ir.Constant(ir.VectorType(ir.IntType(32), _VEC_LANES), list(range(_VEC_LANES)))
        return builder.shuffle_vector(halves[0], halves[1], sel)
    if imm == 0x96:  # a ^ b ^ c
        return builder.xor(builder.xor(a, b), c)
    return builder.or_(builder.and_(a, b), builder.and_(c, builder.or_(a, b)))  # majority


def _xor3_impl(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a ^ b ^ c`` (the sum bit of a full adder)."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _ternary(builder, args, 0x96)

    return _vec(_vec, _vec, _vec), codegen


def _maj_impl(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """Bitwise majority of three vectors (the carry bit of a full adder)."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _ternary(builder, args, 0xE8)

    return _vec(_vec, _vec, _vec), codegen


def _vand_impl(typingctx: Any, a: Any, b: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.and_(args[0], args[1])

    return _vec(_vec, _vec), codegen


def _vnot_impl(typingctx: Any, a: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.not_(args[0])

    return _vec(_vec), codegen


def _vzero_impl(typingctx: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return ir.Constant(_VEC_LL, [0] * _VEC_LANES)

    return _vec(), codegen


def _vsplat_impl(typingctx: Any, x: Any) -> Any:
    """All lanes set to the ``uint64`` ``x``."""
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        undef = ir.Constant(_VEC_LL, ir.Undefined)
        one = builder.insert_element(undef, args[0], ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), _VEC_LANES), [0] * _VEC_LANES)
        return builder.shuffle_vector(one, undef, zeros)

    return _vec(x), codegen


def _vlane_impl(typingctx: Any, v: Any, i: Any) -> Any:
    """Lane ``i`` of a vector as a ``uint64``."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.extract_element(args[0], args[1])

    return types.uint64(_vec, i), codegen


def _vany_impl(typingctx: Any, v: Any) -> Any:
    """Whether any bit of the vector is set."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        fnty = ir.FunctionType(ir.IntType(64), [_VEC_LL])
        fn = cgutils.get_or_insert_function(
            builder.module, fnty, f"llvm.vector.reduce.or.v{_VEC_LANES}i64"
        )
        total = builder.call(fn, [args[0]])
        return builder.icmp_unsigned("!=", total, ir.Constant(ir.IntType(64), 0))

    return types.boolean(_vec), codegen


def _cttz_impl(typingctx: Any, x: Any) -> Any:
    """Trailing zeros of a non-zero integer (``tzcnt``)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        (value,) = args
        fn = builder.module.declare_intrinsic("llvm.cttz", [value.type, ir.IntType(1)])
        return builder.call(fn, [value, ir.Constant(ir.IntType(1), 0)])

    return x(x), codegen


_vload: Any = intrinsic(_vload_impl)
_vstore: Any = intrinsic(_vstore_impl)
_xor3: Any = intrinsic(_xor3_impl)
_maj: Any = intrinsic(_maj_impl)
_vand: Any = intrinsic(_vand_impl)
_vnot: Any = intrinsic(_vnot_impl)
_vzero: Any = intrinsic(_vzero_impl)
_vsplat: Any = intrinsic(_vsplat_impl)
_vlane: Any = intrinsic(_vlane_impl)
_vany: Any = intrinsic(_vany_impl)
_cttz: Any = intrinsic(_cttz_impl)


@_kernel
def _csa(a: Any, b: Any, c: Any) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Carry-save adder: ``a + b + c = 2 * carry + sum`` bitwise, as ``(carry, sum)``."""
    return _maj(a, b, c), _xor3(a, b, c)


@_kernel
def _transpose64(buf: Any) -> None:  # pragma: no cover - numba
    """Transpose each column's 64 x 64 bit matrix: bit ``b`` of ``buf[i, l]`` <-> bit ``i`` of
    ``buf[b, l]`` (Hacker's Delight block swaps, all columns at once)."""
    step = 32
    mask = np.uint64(0x00000000FFFFFFFF)
    while step != 0:
        s = np.uint64(step)
        for i in range(64):
            if i & step == 0:
                for lane in range(_VEC_LANES):
                    a = buf[i, lane]
                    b = buf[i + step, lane]
                    t = ((a >> s) ^ b) & mask
                    buf[i + step, lane] = b ^ t
                    buf[i, lane] = a ^ (t << s)
        step >>= 1
        mask ^= mask << np.uint64(step)


@_kernel
def _bitslice_block(
    x: Any, r0: int, nb: int, planes: Any, off0: int, buf: Any, cnt: Any, eplanes: Any, wbits: int
) -> None:  # pragma: no cover - numba
    """Bit planes, popcounts and bit-sliced popcounts of codes ``r0 : r0 + nb`` (a block).

    ``planes[off0 + L * p + l]`` (``L = _VEC_LANES``) bit ``i`` is bit ``p`` of code
    ``64 * l + i`` (bit ``p`` of a code is bit ``p % 64`` of its ``uint64`` word
    ``p // 64``); missing codes are zeros.
    ``eplanes`` holds the popcounts bit-sliced (``wbits`` planes), then their complements.
    """
    nw = x.shape[1]
    lanes = _VEC_LANES
    for j in range(_VEC_BLOCK):
        cnt[j] = 0
    for w in range(nw):
        for lane in range(lanes):
            for i in range(64):
                j = lane * 64 + i
                if j < nb:
                    v = x[r0 + j, w]
                    buf[i, lane] = v
                    cnt[j] += np.int64(_popcount(v))
                else:
                    buf[i, lane] = np.uint64(0)
        _transpose64(buf)
        base = off0 + 64 * lanes * w
        for i in range(64):
            for lane in range(lanes):
                planes[base + i * lanes + lane] = buf[i, lane]
    for lane in range(lanes):
        for i in range(64):
            buf[i, lane] = np.uint64(cnt[lane * 64 + i])
    _transpose64(buf)
    for b in range(wbits):
        for lane in range(lanes):
            eplanes[b * lanes + lane] = buf[b, lane]
            eplanes[(wbits + b) * lanes + lane] = ~buf[b, lane]


@_kernel
def _query_side(q: Any, qi: int, nbits: int) -> tuple[int, int]:  # pragma: no cover - numba
    """``(side, |q|)``: side 1 sums the planes where the query has a one, side 0 a zero."""
    pop = 0
    for w in range(q.shape[1]):
        pop += int(_popcount(q[qi, w]))
    return (1 if 2 * pop <= nbits else 0), pop


@_kernel
def _pad_list(row: Any, n: int, zero_off: int) -> int:  # pragma: no cover - numba
    """Pad a plane list to a multiple of 16 entries with the zero plane; the new length."""
    while n % 16 != 0:
        row[n] = zero_off
        n += 1
    return n


@_kernel
def _plane_lists(
    q: Any, q0: int, nq: int, nbits: int, off0: int, zero_off: int, qidx: Any, qinfo: Any
) -> None:  # pragma: no cover - numba
    """Plane lists of query pairs ``(q0 + 2p, q0 + 2p + 1)`` (a lone last query pairs itself).

    Each query sums the planes of its side; the planes both sum are listed once, first, then
    those of the first query only, then those of the second only (each part padded to 16
    with the zero plane). ``qinfo[p]`` = lengths of the three parts, then side and ``|q|``
    of each query.
    """
    one = np.uint64(1)
    for p in range(qidx.shape[0]):
        a = q0 + 2 * p
        if a >= q0 + nq:
            break
        b = min(a + 1, q0 + nq - 1)
        side_a, pop_a = _query_side(q, a, nbits)
        side_b, pop_b = _query_side(q, b, nbits)
        want_a = np.uint64(side_a)
        want_b = np.uint64(side_b)
        row = qidx[p]
        n = 0
        for part in range(3):
            for pl in range(nbits):
                sh = np.uint64(pl & 63)
                in_a = ((q[a, pl >> 6] >> sh) & one) == want_a
                in_b = ((q[b, pl >> 6] >> sh) & one) == want_b
                if (part == 0 and in_a and in_b) or (
                    (part == 1 and in_a and not in_b) or (part == 2 and in_b and not in_a)
                ):
                    row[n] = off0 + pl * _VEC_LANES
                    n += 1
            n = _pad_list(row, n, zero_off)
            qinfo[p, part] = n
        qinfo[p, 2] -= qinfo[p, 1]
        qinfo[p, 1] -= qinfo[p, 0]
        qinfo[p, 3] = side_a
        qinfo[p, 4] = pop_a
        qinfo[p, 5] = side_b
        qinfo[p, 6] = pop_b


_STATE_VECS = 17  # adder state: 11 sum planes (1 .. 1024) and 6 pending carries (16 .. 512)


@_kernel
def _plane_sum(
    planes: Any,
    qidx: Any,
    p: int,
    start: int,
    nsteps: int,
    st0: int,
    state: Any,
    last: bool,
    sbuf: Any,
) -> None:  # pragma: no cover - numba
    """Add ``16 * nsteps`` planes listed in ``qidx[p, start:]`` to the adder ``state``.

    Harley-Seal: 16 planes per step through a tree of carry-save adders (ones, twos, fours,
    eights); each step's sixteens go up a binary counter of steps (``st0`` = steps already
    in ``state``; ``st0 == 0`` starts from zero), where a carry waits ("pending") for the
    next one of its level. With ``last`` the pending carries are added and the 11 sum planes
    go to ``sbuf``; otherwise the state is stored back.
    """
    lanes = _VEC_LANES
    z = _vzero()
    if st0 == 0:
        s1 = s2 = s4 = s8 = s16 = s32 = s64 = s128 = s256 = s512 = s1024 = z
        p16 = p32 = p64 = p128 = p256 = p512 = z
    else:
        s1 = _vload(state, 0)
        s2 = _vload(state, lanes)
        s4 = _vload(state, 2 * lanes)
        s8 = _vload(state, 3 * lanes)
        s16 = _vload(state, 4 * lanes)
        s32 = _vload(state, 5 * lanes)
        s64 = _vload(state, 6 * lanes)
        s128 = _vload(state, 7 * lanes)
        s256 = _vload(state, 8 * lanes)
        s512 = _vload(state, 9 * lanes)
        s1024 = _vload(state, 10 * lanes)
        p16 = _vload(state, 11 * lanes)
        p32 = _vload(state, 12 * lanes)
        p64 = _vload(state, 13 * lanes)
        p128 = _vload(state, 14 * lanes)
        p256 = _vload(state, 15 * lanes)
        p512 = _vload(state, 16 * lanes)
    for t in range(nsteps):
        st = st0 + t
        b = start + 16 * t
        t2a, s1 = _csa(s1, _vload(planes, qidx[p, b]), _vload(planes, qidx[p, b + 1]))
        t2b, s1 = _csa(s1, _vload(planes, qidx[p, b + 2]), _vload(planes, qidx[p, b + 3]))
        t4a, s2 = _csa(s2, t2a, t2b)
        t2a, s1 = _csa(s1, _vload(planes, qidx[p, b + 4]), _vload(planes, qidx[p, b + 5]))
        t2b, s1 = _csa(s1, _vload(planes, qidx[p, b + 6]), _vload(planes, qidx[p, b + 7]))
        t4b, s2 = _csa(s2, t2a, t2b)
        t8a, s4 = _csa(s4, t4a, t4b)
        t2a, s1 = _csa(s1, _vload(planes, qidx[p, b + 8]), _vload(planes, qidx[p, b + 9]))
        t2b, s1 = _csa(s1, _vload(planes, qidx[p, b + 10]), _vload(planes, qidx[p, b + 11]))
        t4a, s2 = _csa(s2, t2a, t2b)
        t2a, s1 = _csa(s1, _vload(planes, qidx[p, b + 12]), _vload(planes, qidx[p, b + 13]))
        t2b, s1 = _csa(s1, _vload(planes, qidx[p, b + 14]), _vload(planes, qidx[p, b + 15]))
        t4b, s2 = _csa(s2, t2a, t2b)
        t8b, s4 = _csa(s4, t4a, t4b)
        t16, s8 = _csa(s8, t8a, t8b)
        if st & 1 == 0:
            p16 = t16
        else:
            t32, s16 = _csa(s16, p16, t16)
            if st & 2 == 0:
                p32 = t32
            else:
                t64, s32 = _csa(s32, p32, t32)
                if st & 4 == 0:
                    p64 = t64
                else:
                    t128, s64 = _csa(s64, p64, t64)
                    if st & 8 == 0:
                        p128 = t128
                    else:
                        t256, s128 = _csa(s128, p128, t128)
                        if st & 16 == 0:
                            p256 = t256
                        else:
                            t512, s256 = _csa(s256, p256, t256)
                            if st & 32 == 0:
                                p512 = t512
                            else:  # 64 steps = 1024 planes, the most ever summed
                                s1024, s512 = _csa(s512, p512, t512)
    if last:
        # add the carries still pending: level 16 * 2**i waits when bit i of the steps is set
        steps = st0 + nsteps
        c = z
        c, s16 = _csa(s16, p16 if steps & 1 else z, c)
        c, s32 = _csa(s32, p32 if steps & 2 else z, c)
        c, s64 = _csa(s64, p64 if steps & 4 else z, c)
        c, s128 = _csa(s128, p128 if steps & 8 else z, c)
        c, s256 = _csa(s256, p256 if steps & 16 else z, c)
        c, s512 = _csa(s512, p512 if steps & 32 else z, c)
        _c, s1024 = _csa(s1024, c, z)
        _vstore(sbuf, 0, s1)
        _vstore(sbuf, lanes, s2)
        _vstore(sbuf, 2 * lanes, s4)
        _vstore(sbuf, 3 * lanes, s8)
        _vstore(sbuf, 4 * lanes, s16)
        _vstore(sbuf, 5 * lanes, s32)
        _vstore(sbuf, 6 * lanes, s64)
        _vstore(sbuf, 7 * lanes, s128)
        _vstore(sbuf, 8 * lanes, s256)
        _vstore(sbuf, 9 * lanes, s512)
        _vstore(sbuf, 10 * lanes, s1024)
    else:
        _vstore(state, 0, s1)
        _vstore(state, lanes, s2)
        _vstore(state, 2 * lanes, s4)
        _vstore(state, 3 * lanes, s8)
        _vstore(state, 4 * lanes, s16)
        _vstore(state, 5 * lanes, s32)
        _vstore(state, 6 * lanes, s64)
        _vstore(state, 7 * lanes, s128)
        _vstore(state, 8 * lanes, s256)
        _vstore(state, 9 * lanes, s512)
        _vstore(state, 10 * lanes, s1024)
        _vstore(state, 11 * lanes, p16)
        _vstore(state, 12 * lanes, p32)
        _vstore(state, 13 * lanes, p64)
        _vstore(state, 14 * lanes, p128)
        _vstore(state, 15 * lanes, p256)
        _vstore(state, 16 * lanes, p512)


@_kernel
def _beats(sbuf: Any, eplanes: Any, wbits: int, side: int, c: int) -> Any:  # pragma: no cover
    """Lanes whose distance is below the threshold, as the sign of a bit-serial sum.

    With ``S`` the plane sum, ``E`` the popcounts and ``K = threshold - |q|``: side 1 tests
    ``E - 2S - K < 0`` as ``E + ~(2S) + (1 - K)``, side 0 ``2S - E - K < 0`` as
    ``2S + ~E + (1 - K)``; ``c = 1 - K``, all in ``wbits``-bit two's complement.
    """
    lanes = _VEC_LANES
    z = _vzero()
    v = z
    carry = z
    sign = z
    for i in range(wbits):
        two_s = _vload(sbuf, (i - 1) * lanes) if i >= 1 else z
        if side == 1:
            a = _vload(eplanes, i * lanes)
            b = _vnot(two_s)
        else:
            a = two_s
            b = _vload(eplanes, (wbits + i) * lanes)
        cbit = _vsplat(np.uint64(0) - np.uint64((c >> i) & 1))
        u = _xor3(a, b, cbit)
        nv = _maj(a, b, cbit)
        if i < wbits - 1:
            carry = _maj(u, v, carry)
            v = nv
        else:
            sign = _xor3(u, v, carry)
    return sign


@_kernel
def _sum_at(sbuf: Any, j: int) -> int:  # pragma: no cover - numba
    """Code ``j``'s plane sum, decoded from the 11 bit-sliced sum planes."""
    lane = j >> 6
    bit = np.uint64(j & 63)
    total = 0
    for lvl in range(_BS_SUM_BITS):
        total += int((sbuf[lvl * _VEC_LANES + lane] >> bit) & np.uint64(1)) << lvl
    return total


@_kernel
def _offer_sums(
    sbuf: Any,
    eplanes: Any,
    cnt: Any,
    live: Any,
    nb: int,
    nbits: int,
    wbits: int,
    side: int,
    pop: int,
    b0: int,
    bd: Any,
    bi: Any,
    row: int,
    k: int,
) -> None:  # pragma: no cover - numba
    """Offer one query's bit-sliced sums over a block to its top-k buffer row.

    A buffer not full yet takes the block's first codes until it is; the rest of the block
    goes through the bit-serial threshold test, and only its hits are decoded.
    """
    lanes = _VEC_LANES
    sign = 1 if side == 1 else -1
    start = 0
    while bd[row, k - 1] > nbits and start < nb:  # not full: every code gets in
        _insert(
            bd,
            bi,
            row,
            k,
            np.int32(pop + sign * (cnt[start] - 2 * _sum_at(sbuf, start))),
            b0 + start,
        )
        start += 1
    if start >= nb:
        return
    thr = bd[row, k - 1]
    hits = _vand(_beats(sbuf, eplanes, wbits, side, 1 - (thr - pop)), live)
    if not _vany(hits):
        return
    for lane in range(lanes):
        bits = _vlane(hits, lane)
        if start > 64 * lane:  # codes already offered while filling the buffer
            done = start - 64 * lane
            if done >= 64:
                bits = np.uint64(0)
            else:
                bits &= ~((np.uint64(1) << np.uint64(done)) - np.uint64(1))
        while bits != 0:
            j = lane * 64 + int(_cttz(bits))
            bits &= bits - np.uint64(1)
            d = np.int32(pop + sign * (cnt[j] - 2 * _sum_at(sbuf, j)))
            if d < bd[row, k - 1]:
                _insert(bd, bi, row, k, d, b0 + j)


@_kernel
def _scan_topk_bitsliced(
    q: Any,
    x: Any,
    q0: int,
    q1: int,
    r0: int,
    r1: int,
    k: int,
    nbits: int,
    wbits: int,
    group: int,
    bd: Any,
    bi: Any,
) -> None:  # pragma: no cover - numba
    """Top-k of queries ``q0:q1`` over rows ``r0:r1`` (``uint64`` words) into ``bd, bi``.

    Queries go in groups of ``group`` (plane lists prepared at once), each group over every
    block; within a block, query pairs share the planes both of them sum.
    """
    lanes = _VEC_LANES
    nw = x.shape[1]
    nplanes = 64 * nw
    planes = np.zeros((nplanes + 1) * lanes + 8, dtype=np.uint64)
    off0 = ((64 - planes.ctypes.data % 64) % 64) // 8  # 64-byte aligned planes
    zero_off = off0 + nplanes * lanes
    buf = np.empty((64, lanes), dtype=np.uint64)
    cnt = np.empty(_VEC_BLOCK, dtype=np.int64)
    eplanes = np.empty(2 * wbits * lanes, dtype=np.uint64)
    sbuf = np.zeros((max(wbits, _BS_SUM_BITS) + 1) * lanes, dtype=np.uint64)
    state = np.empty(_STATE_VECS * lanes, dtype=np.uint64)
    valid = np.empty(lanes, dtype=np.uint64)
    group = min(q1 - q0, group)
    npairs = (group + 1) // 2
    qidx = np.empty((npairs, nbits + 48), dtype=np.int32)  # <= nbits planes + 3 paddings
    qinfo = np.empty((npairs, 7), dtype=np.int64)
    for g0 in range(q0, q1, group):
        ng = min(group, q1 - g0)
        _plane_lists(q, g0, ng, nbits, off0, zero_off, qidx, qinfo)
        for b0 in range(r0, r1, _VEC_BLOCK):
            nb = min(_VEC_BLOCK, r1 - b0)
            _bitslice_block(x, b0, nb, planes, off0, buf, cnt, eplanes, wbits)
            for lane in range(lanes):
                left = nb - 64 * lane
                if left >= 64:
                    valid[lane] = np.uint64(0xFFFFFFFFFFFFFFFF)
                elif left <= 0:
                    valid[lane] = np.uint64(0)
                else:
                    valid[lane] = (np.uint64(1) << np.uint64(left)) - np.uint64(1)
            live = _vload(valid, 0)
            for p in range((ng + 1) // 2):
                ra = g0 - q0 + 2 * p
                n_both = qinfo[p, 0]
                n_a = qinfo[p, 1]
                n_b = qinfo[p, 2]
                steps0 = n_both // 16
                _plane_sum(planes, qidx, p, 0, steps0, 0, state, False, sbuf)
                paired = 2 * p + 1 < ng
                _plane_sum(planes, qidx, p, n_both, n_a // 16, steps0, state, True, sbuf)
                _offer_sums(
                    sbuf,
                    eplanes,
                    cnt,
                    live,
                    nb,
                    nbits,
                    wbits,
                    qinfo[p, 3],
                    qinfo[p, 4],
                    b0,
                    bd,
                    bi,
                    ra,
                    k,
                )
                if paired:
                    _plane_sum(planes, qidx, p, n_both + n_a, n_b // 16, steps0, state, True, sbuf)
                    _offer_sums(
                        sbuf,
                        eplanes,
                        cnt,
                        live,
                        nb,
                        nbits,
                        wbits,
                        qinfo[p, 5],
                        qinfo[p, 6],
                        b0,
                        bd,
                        bi,
                        ra + 1,
                        k,
                    )


@_parallel_kernel
def _bitsliced_tasks(
    q: Any, x: Any, k: int, nbits: int, wbits: int, group: int, n_qchunks: int, n_rchunks: int
) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Bit-sliced scans of ``n_qchunks * n_rchunks`` tasks; one sorted top-k per (rchunk, query)."""
    nq = q.shape[0]
    n = x.shape[0]
    bd = np.full((n_rchunks, nq, k), np.iinfo(np.int32).max, dtype=np.int32)
    bi = np.full((n_rchunks, nq, k), -1, dtype=np.int64)
    for task in prange(n_qchunks * n_rchunks):
        rc, q0, q1, r0, r1 = _task_bounds(task, nq, n, _VEC_BLOCK, n_qchunks, n_rchunks)
        if q1 > q0 and r1 > r0:
            _scan_topk_bitsliced(
                q, x, q0, q1, r0, r1, k, nbits, wbits, group, bd[rc, q0:q1], bi[rc, q0:q1]
            )
    return bd, bi


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


def _prepare_bytes(queries: Any, codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return both arrays as C-contiguous ``uint8`` codes of one size."""
    q = _as_codes("queries", queries, allow_1d=True)
    x = _as_codes("codes", codes, allow_1d=False)
    if q.shape[1] != x.shape[1]:
        raise InvalidInputError(
            f"queries have code_size {q.shape[1]} bytes but codes have {x.shape[1]}; "
            "encode both with the same codec"
        )
    return q, x


def _prepare(queries: Any, codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return both arrays as C-contiguous ``uint32`` words."""
    q, x = _prepare_bytes(queries, codes)
    return _words(q), _words(x)


def _words(a: np.ndarray, word_bytes: int = 4) -> np.ndarray:
    """View ``uint8 [m, cs]`` as ``uint32`` (or ``uint64``) words, zero-padding when needed."""
    pad = (-a.shape[1]) % word_bytes
    if pad:
        a = np.concatenate([a, np.zeros((a.shape[0], pad), dtype=np.uint8)], axis=1)
    return a.view(np.uint32 if word_bytes == 4 else np.uint64)


def _use_bitsliced(nq: int, code_size: int, k: int) -> bool:
    """Whether the bit-sliced kernel serves this top-k (enough queries, mid code sizes)."""
    return (
        nq >= _BS_MIN_QUERIES and _BS_MIN_BYTES <= code_size <= _BS_MAX_BYTES and k <= _BUFFER_MAX_K
    )


def _split_bitsliced(nq: int, n: int, threads: int) -> tuple[int, int]:
    """Database chunks first (each block is transposed once), queries for the rest."""
    nblocks = max(1, -(-n // _VEC_BLOCK))
    n_rchunks = max(1, min(threads, nblocks))
    n_qchunks = max(1, min(threads // n_rchunks, nq // _BS_MIN_QUERIES))
    return n_qchunks, n_rchunks


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
    qb, xb = _prepare_bytes(queries, codes)
    nthreads = _resolve_threads(threads, qb.shape[0] * xb.shape[0] * qb.shape[1])
    nq, n, code_size = qb.shape[0], xb.shape[0], qb.shape[1]
    k = int(k)
    if nq == 0 or n == 0:
        return (
            np.full((nq, k), PAD_DISTANCE, dtype=np.int32),
            np.full((nq, k), PAD_INDEX, dtype=np.int64),
        )
    kk = min(k, n)  # buffers never need more than n slots
    if kk > _BUFFER_MAX_K:
        dist, idx = _topk_by_sort(_words(qb), _words(xb), kk, nthreads)
    elif _use_bitsliced(nq, code_size, kk):
        nbits = 8 * code_size
        wbits = (3 * nbits).bit_length() + 1
        n_qchunks, n_rchunks = _split_bitsliced(nq, n, nthreads)
        with _numba_threads(nthreads):
            bd, bi = _bitsliced_tasks(
                _words(qb, 8),
                _words(xb, 8),
                kk,
                nbits,
                wbits,
                _BS_QUERY_GROUP,
                n_qchunks,
                n_rchunks,
            )
            dist, idx = _merge_topk(bd, bi) if n_rchunks > 1 else (bd[0], bi[0])
    else:
        q, x = _words(qb), _words(xb)
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
