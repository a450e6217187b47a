"""LLVM vector intrinsics for the bit-sliced kernel: one bit plane of a 1024-code block as a
``<16 x i64>`` vector, ternary logic (``vpternlogq`` on AVX-512), loads, stores and lane tests.
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding as _llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from terrabit.kernels._jit import numba_config

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

VEC_LANES = 16  # uint64 lanes of a plane (measured: 8 ~20% slower, 32 spills registers)
VEC_BLOCK = 64 * VEC_LANES
_VEC_LL = ir.VectorType(ir.IntType(64), VEC_LANES)
BS_MAX_BYTES = 256  # bit-sliced path up to 2048-bit codes (sums fit 11 bit planes)
BS_MIN_BYTES = 32  # below this the XOR + popcount kernel is as fast (measured)
BS_MIN_QUERIES = 32  # queries per database pass that pay for the bit transposition
BS_QUERY_GROUP = 1024  # queries prepared at once (their plane lists: ~2 KB each)
BS_SUM_BITS = 11  # bit planes of a plane sum (<= 1024 planes summed)


def _host_has_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512 (``vpternlogq``).

    Follows ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` (a portable cache builds for a
    generic CPU: then plain and/or/xor are emitted).
    """
    if numba_config.CPU_NAME is not None:
        features = numba_config.CPU_FEATURES or ""
    else:
        features = _llvm.get_host_cpu_features().flatten()
    return "+avx512f" in str(features).split(",")


_HAS_TERNLOG = _host_has_avx512()


class _PlaneVector(types.Type):
    """numba type of a ``<VEC_LANES x i64>`` LLVM vector (one bit plane of a block)."""

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
        for h in range(VEC_LANES // 8):
            sel = ir.Constant(ir.VectorType(ir.IntType(32), 8), list(range(8 * h, 8 * h + 8)))
            parts = [builder.shuffle_vector(v, undef, sel) for v in (a, b, c)]
            halves.append(builder.call(fn, [*parts, ir.Constant(ir.IntType(32), imm)]))
        if len(halves) == 1:
            return halves[0]
        sel = ir.Constant(ir.VectorType(ir.IntType(32), VEC_LANES), list(range(VEC_LANES)))
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
        return ir.Constant(_VEC_LL, [0] * VEC_LANES)

    return _vec(), codegen


def _vsplat_impl(typingctx: Any, x: Any) -> Any:
    """All lanes set to the ``uint64`` ``x``."""
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        undef = ir.Constant(_VEC_LL, ir.Undefined)
        one = builder.insert_element(undef, args[0], ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), VEC_LANES), [0] * VEC_LANES)
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
            builder.module, fnty, f"llvm.vector.reduce.or.v{VEC_LANES}i64"
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


vload: Any = intrinsic(_vload_impl)
vstore: Any = intrinsic(_vstore_impl)
xor3: Any = intrinsic(_xor3_impl)
maj: Any = intrinsic(_maj_impl)
vand: Any = intrinsic(_vand_impl)
vnot: Any = intrinsic(_vnot_impl)
vzero: Any = intrinsic(_vzero_impl)
vsplat: Any = intrinsic(_vsplat_impl)
vlane: Any = intrinsic(_vlane_impl)
vany: Any = intrinsic(_vany_impl)
cttz: Any = intrinsic(_cttz_impl)
