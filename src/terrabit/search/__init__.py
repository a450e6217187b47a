"""Search binary-coded Earth embeddings: the exact Hamming kernel (more to come).

Examples
--------
>>> import numpy as np
>>> from terrabit.search import hamming_topk
>>> hamming_topk(np.zeros(2, np.uint8), np.zeros((3, 2), np.uint8), 2)[1].tolist()
[[0, 1]]
"""

from __future__ import annotations

from terrabit.search.hamming import (
    PAD_DISTANCE,
    PAD_INDEX,
    RadiusResult,
    hamming_distances,
    hamming_radius,
    hamming_topk,
)

__all__ = [
    "PAD_DISTANCE",
    "PAD_INDEX",
    "RadiusResult",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
]
