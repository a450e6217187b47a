"""Search binary-coded Earth embeddings: the exact Hamming kernel, exemplar algebra, views.

Examples
--------
>>> import numpy as np
>>> from terrabit.search import hamming_topk
>>> hamming_topk(np.zeros(2, np.uint8), np.zeros((3, 2), np.uint8), 2)[1].tolist()
[[0, 1]]
"""

from __future__ import annotations

from terrabit.search.exemplars import BitwiseCombine, Combine, combine_codes, invert, score
from terrabit.search.geoneighbours import EARTH_RADIUS_M, GEO_PAD_INDEX, geo_knn
from terrabit.search.hamming import (
    PAD_DISTANCE,
    PAD_INDEX,
    RadiusResult,
    hamming_distances,
    hamming_radius,
    hamming_topk,
)
from terrabit.search.views import (
    ViewResult,
    gradient,
    heatmap,
    outlier,
    rank_scores,
    surprise,
    threshold,
    topk,
)

__all__ = [
    "EARTH_RADIUS_M",
    "GEO_PAD_INDEX",
    "PAD_DISTANCE",
    "PAD_INDEX",
    "BitwiseCombine",
    "Combine",
    "RadiusResult",
    "ViewResult",
    "combine_codes",
    "geo_knn",
    "gradient",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
    "heatmap",
    "invert",
    "outlier",
    "rank_scores",
    "score",
    "surprise",
    "threshold",
    "topk",
]
