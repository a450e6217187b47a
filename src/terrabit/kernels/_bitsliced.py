"""Bit-sliced Hamming top-k (numba): a block of 1024 codes as bit planes summed by carry-save
adders; see :mod:`terrabit.kernels._simd` for the vector type and the module docstring of
:mod:`terrabit.kernels.hamming` for when it is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from terrabit.kernels._jit import kernel, parallel_kernel, popcount
from terrabit.kernels._popcount import insert, task_bounds
from terrabit.kernels._simd import (
    BS_SUM_BITS,
    VEC_BLOCK,
    VEC_LANES,
    cttz,
    maj,
    vand,
    vany,
    vlane,
    vload,
    vnot,
    vsplat,
    vstore,
    vzero,
    xor3,
)


@kernel
def _csa(a: Any, b: Any, c: Any) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Carry-save adder: ``a + b + c = 2 * carry + sum`` bitwise, as ``(carry, sum)``."""
    return maj(a, b, c), xor3(a, b, c)


@kernel
def _transpose64(buf: Any) -> None:  # pragma: no cover - numba
    """Transpose each column's 64 x 64 bit matrix: bit ``b`` of ``buf[i, l]`` <-> bit ``i`` of
    ``buf[b, l]`` (Hacker's Delight block swaps, all columns at once)."""
    step = 32
    mask = np.uint64(0x00000000FFFFFFFF)
    while step != 0:
        s = np.uint64(step)
        for i in range(64):
            if i & step == 0:
                for lane in range(VEC_LANES):
                    a = buf[i, lane]
                    b = buf[i + step, lane]
                    t = ((a >> s) ^ b) & mask
                    buf[i + step, lane] = b ^ t
                    buf[i, lane] = a ^ (t << s)
        step >>= 1
        mask ^= mask << np.uint64(step)


@kernel
def _bitslice_block(
    x: Any, r0: int, nb: int, planes: Any, off0: int, buf: Any, cnt: Any, eplanes: Any, wbits: int
) -> None:  # pragma: no cover - numba
    """Bit planes, popcounts and bit-sliced popcounts of codes ``r0 : r0 + nb`` (a block).

    ``planes[off0 + L * p + l]`` (``L = VEC_LANES``) bit ``i`` is bit ``p`` of code
    ``64 * l + i`` (bit ``p`` of a code is bit ``p % 64`` of its ``uint64`` word
    ``p // 64``); missing codes are zeros.
    ``eplanes`` holds the popcounts bit-sliced (``wbits`` planes), then their complements.
    """
    nw = x.shape[1]
    lanes = VEC_LANES
    for j in range(VEC_BLOCK):
        cnt[j] = 0
    for w in range(nw):
        for lane in range(lanes):
            for i in range(64):
                j = lane * 64 + i
                if j < nb:
                    v = x[r0 + j, w]
                    buf[i, lane] = v
                    cnt[j] += np.int64(popcount(v))
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


@kernel
def _query_side(q: Any, qi: int, nbits: int) -> tuple[int, int]:  # pragma: no cover - numba
    """``(side, |q|)``: side 1 sums the planes where the query has a one, side 0 a zero."""
    pop = 0
    for w in range(q.shape[1]):
        pop += int(popcount(q[qi, w]))
    return (1 if 2 * pop <= nbits else 0), pop


@kernel
def _pad_list(row: Any, n: int, zero_off: int) -> int:  # pragma: no cover - numba
    """Pad a plane list to a multiple of 16 entries with the zero plane; the new length."""
    while n % 16 != 0:
        row[n] = zero_off
        n += 1
    return n


@kernel
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
                    row[n] = off0 + pl * VEC_LANES
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


@kernel
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
    lanes = VEC_LANES
    z = vzero()
    if st0 == 0:
        s1 = s2 = s4 = s8 = s16 = s32 = s64 = s128 = s256 = s512 = s1024 = z
        p16 = p32 = p64 = p128 = p256 = p512 = z
    else:
        s1 = vload(state, 0)
        s2 = vload(state, lanes)
        s4 = vload(state, 2 * lanes)
        s8 = vload(state, 3 * lanes)
        s16 = vload(state, 4 * lanes)
        s32 = vload(state, 5 * lanes)
        s64 = vload(state, 6 * lanes)
        s128 = vload(state, 7 * lanes)
        s256 = vload(state, 8 * lanes)
        s512 = vload(state, 9 * lanes)
        s1024 = vload(state, 10 * lanes)
        p16 = vload(state, 11 * lanes)
        p32 = vload(state, 12 * lanes)
        p64 = vload(state, 13 * lanes)
        p128 = vload(state, 14 * lanes)
        p256 = vload(state, 15 * lanes)
        p512 = vload(state, 16 * lanes)
    for t in range(nsteps):
        st = st0 + t
        b = start + 16 * t
        t2a, s1 = _csa(s1, vload(planes, qidx[p, b]), vload(planes, qidx[p, b + 1]))
        t2b, s1 = _csa(s1, vload(planes, qidx[p, b + 2]), vload(planes, qidx[p, b + 3]))
        t4a, s2 = _csa(s2, t2a, t2b)
        t2a, s1 = _csa(s1, vload(planes, qidx[p, b + 4]), vload(planes, qidx[p, b + 5]))
        t2b, s1 = _csa(s1, vload(planes, qidx[p, b + 6]), vload(planes, qidx[p, b + 7]))
        t4b, s2 = _csa(s2, t2a, t2b)
        t8a, s4 = _csa(s4, t4a, t4b)
        t2a, s1 = _csa(s1, vload(planes, qidx[p, b + 8]), vload(planes, qidx[p, b + 9]))
        t2b, s1 = _csa(s1, vload(planes, qidx[p, b + 10]), vload(planes, qidx[p, b + 11]))
        t4a, s2 = _csa(s2, t2a, t2b)
        t2a, s1 = _csa(s1, vload(planes, qidx[p, b + 12]), vload(planes, qidx[p, b + 13]))
        t2b, s1 = _csa(s1, vload(planes, qidx[p, b + 14]), vload(planes, qidx[p, b + 15]))
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
        vstore(sbuf, 0, s1)
        vstore(sbuf, lanes, s2)
        vstore(sbuf, 2 * lanes, s4)
        vstore(sbuf, 3 * lanes, s8)
        vstore(sbuf, 4 * lanes, s16)
        vstore(sbuf, 5 * lanes, s32)
        vstore(sbuf, 6 * lanes, s64)
        vstore(sbuf, 7 * lanes, s128)
        vstore(sbuf, 8 * lanes, s256)
        vstore(sbuf, 9 * lanes, s512)
        vstore(sbuf, 10 * lanes, s1024)
    else:
        vstore(state, 0, s1)
        vstore(state, lanes, s2)
        vstore(state, 2 * lanes, s4)
        vstore(state, 3 * lanes, s8)
        vstore(state, 4 * lanes, s16)
        vstore(state, 5 * lanes, s32)
        vstore(state, 6 * lanes, s64)
        vstore(state, 7 * lanes, s128)
        vstore(state, 8 * lanes, s256)
        vstore(state, 9 * lanes, s512)
        vstore(state, 10 * lanes, s1024)
        vstore(state, 11 * lanes, p16)
        vstore(state, 12 * lanes, p32)
        vstore(state, 13 * lanes, p64)
        vstore(state, 14 * lanes, p128)
        vstore(state, 15 * lanes, p256)
        vstore(state, 16 * lanes, p512)


@kernel
def _beats(sbuf: Any, eplanes: Any, wbits: int, side: int, c: int) -> Any:  # pragma: no cover
    """Lanes whose distance is below the threshold, as the sign of a bit-serial sum.

    With ``S`` the plane sum, ``E`` the popcounts and ``K = threshold - |q|``: side 1 tests
    ``E - 2S - K < 0`` as ``E + ~(2S) + (1 - K)``, side 0 ``2S - E - K < 0`` as
    ``2S + ~E + (1 - K)``; ``c = 1 - K``, all in ``wbits``-bit two's complement.
    """
    lanes = VEC_LANES
    z = vzero()
    v = z
    carry = z
    sign = z
    for i in range(wbits):
        two_s = vload(sbuf, (i - 1) * lanes) if i >= 1 else z
        if side == 1:
            a = vload(eplanes, i * lanes)
            b = vnot(two_s)
        else:
            a = two_s
            b = vload(eplanes, (wbits + i) * lanes)
        cbit = vsplat(np.uint64(0) - np.uint64((c >> i) & 1))
        u = xor3(a, b, cbit)
        nv = maj(a, b, cbit)
        if i < wbits - 1:
            carry = maj(u, v, carry)
            v = nv
        else:
            sign = xor3(u, v, carry)
    return sign


@kernel
def _sum_at(sbuf: Any, j: int) -> int:  # pragma: no cover - numba
    """Code ``j``'s plane sum, decoded from the 11 bit-sliced sum planes."""
    lane = j >> 6
    bit = np.uint64(j & 63)
    total = 0
    for lvl in range(BS_SUM_BITS):
        total += int((sbuf[lvl * VEC_LANES + lane] >> bit) & np.uint64(1)) << lvl
    return total


@kernel
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
    lanes = VEC_LANES
    sign = 1 if side == 1 else -1
    start = 0
    while bd[row, k - 1] > nbits and start < nb:  # not full: every code gets in
        insert(
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
    hits = vand(_beats(sbuf, eplanes, wbits, side, 1 - (thr - pop)), live)
    if not vany(hits):
        return
    for lane in range(lanes):
        bits = vlane(hits, lane)
        if start > 64 * lane:  # codes already offered while filling the buffer
            done = start - 64 * lane
            if done >= 64:
                bits = np.uint64(0)
            else:
                bits &= ~((np.uint64(1) << np.uint64(done)) - np.uint64(1))
        while bits != 0:
            j = lane * 64 + int(cttz(bits))
            bits &= bits - np.uint64(1)
            d = np.int32(pop + sign * (cnt[j] - 2 * _sum_at(sbuf, j)))
            if d < bd[row, k - 1]:
                insert(bd, bi, row, k, d, b0 + j)


@kernel
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
    lanes = VEC_LANES
    nw = x.shape[1]
    nplanes = 64 * nw
    planes = np.zeros((nplanes + 1) * lanes + 8, dtype=np.uint64)
    off0 = ((64 - planes.ctypes.data % 64) % 64) // 8  # 64-byte aligned planes
    zero_off = off0 + nplanes * lanes
    buf = np.empty((64, lanes), dtype=np.uint64)
    cnt = np.empty(VEC_BLOCK, dtype=np.int64)
    eplanes = np.empty(2 * wbits * lanes, dtype=np.uint64)
    sbuf = np.zeros((max(wbits, BS_SUM_BITS) + 1) * lanes, dtype=np.uint64)
    state = np.empty(_STATE_VECS * lanes, dtype=np.uint64)
    valid = np.empty(lanes, dtype=np.uint64)
    group = min(q1 - q0, group)
    npairs = (group + 1) // 2
    qidx = np.empty((npairs, nbits + 48), dtype=np.int32)  # <= nbits planes + 3 paddings
    qinfo = np.empty((npairs, 7), dtype=np.int64)
    for g0 in range(q0, q1, group):
        ng = min(group, q1 - g0)
        _plane_lists(q, g0, ng, nbits, off0, zero_off, qidx, qinfo)
        for b0 in range(r0, r1, VEC_BLOCK):
            nb = min(VEC_BLOCK, r1 - b0)
            _bitslice_block(x, b0, nb, planes, off0, buf, cnt, eplanes, wbits)
            for lane in range(lanes):
                left = nb - 64 * lane
                if left >= 64:
                    valid[lane] = np.uint64(0xFFFFFFFFFFFFFFFF)
                elif left <= 0:
                    valid[lane] = np.uint64(0)
                else:
                    valid[lane] = (np.uint64(1) << np.uint64(left)) - np.uint64(1)
            live = vload(valid, 0)
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


@parallel_kernel
def bitsliced_tasks(
    q: Any, x: Any, k: int, nbits: int, wbits: int, group: int, n_qchunks: int, n_rchunks: int
) -> tuple[Any, Any]:  # pragma: no cover - numba
    """Bit-sliced scans of ``n_qchunks * n_rchunks`` tasks; one sorted top-k per (rchunk, query)."""
    nq = q.shape[0]
    n = x.shape[0]
    bd = np.full((n_rchunks, nq, k), np.iinfo(np.int32).max, dtype=np.int32)
    bi = np.full((n_rchunks, nq, k), -1, dtype=np.int64)
    for task in prange(n_qchunks * n_rchunks):
        rc, q0, q1, r0, r1 = task_bounds(task, nq, n, VEC_BLOCK, n_qchunks, n_rchunks)
        if q1 > q0 and r1 > r0:
            _scan_topk_bitsliced(
                q, x, q0, q1, r0, r1, k, nbits, wbits, group, bd[rc, q0:q1], bi[rc, q0:q1]
            )
    return bd, bi
