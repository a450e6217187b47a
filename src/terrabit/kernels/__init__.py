"""Compiled kernels at the ground floor: Hamming distances, top-k and radius search over
packed binary codes, and the Hilbert key of corpus format 1.3 (numba).

Everything above (``corpus``, ``search``, ``evaluate``) calls these; they import nothing
of terrabit but :mod:`terrabit.errors`.

* :mod:`terrabit.kernels.hamming` — the public Hamming API and the dispatch between kernels;
* ``_popcount`` — XOR + popcount kernels; ``_bitsliced`` — the bit-sliced top-k;
  ``_simd`` — its LLVM vector intrinsics; ``_jit`` — the shared numba decorators;
* :mod:`terrabit.kernels.hilbert` — the Hilbert curve key on lon/lat.

Examples
--------
>>> import numpy as np
>>> from terrabit.kernels import hamming_topk
>>> hamming_topk(np.zeros(2, np.uint8), np.zeros((3, 2), np.uint8), 2)[1].tolist()
[[0, 1]]
"""

from __future__ import annotations

from terrabit.kernels.hamming import (
    PAD_DISTANCE,
    PAD_INDEX,
    RadiusResult,
    as_codes,
    bit_features,
    hamming_distances,
    hamming_radius,
    hamming_topk,
)

__all__ = [
    "PAD_DISTANCE",
    "PAD_INDEX",
    "RadiusResult",
    "as_codes",
    "bit_features",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
]
