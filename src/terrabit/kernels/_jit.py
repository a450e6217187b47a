"""The numba decorators and the ``llvm.ctpop`` intrinsic every kernel of this package uses."""

from __future__ import annotations

from typing import Any

import numba
from numba import njit, types
from numba.extending import intrinsic

numba_config: Any = numba.config
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


popcount: Any = intrinsic(_ctpop)

kernel = njit(cache=True, fastmath=True, nogil=True)
parallel_kernel = njit(parallel=True, cache=True, fastmath=True, nogil=True)
