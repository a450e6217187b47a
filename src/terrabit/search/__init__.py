"""Search a corpus by region and example: Hamming kernel, exemplar algebra, views, export.

Examples
--------
>>> import numpy as np
>>> from terrabit.search import hamming_topk
>>> hamming_topk(np.zeros(2, np.uint8), np.zeros((3, 2), np.uint8), 2)[1].tolist()
[[0, 1]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from terrabit._compat import lazy_attributes
from terrabit.kernels import (
    PAD_DISTANCE,
    PAD_INDEX,
    RadiusResult,
    hamming_distances,
    hamming_radius,
    hamming_topk,
)
from terrabit.search.exemplars import BitwiseCombine, Combine, combine_codes, invert, score
from terrabit.search.export import export
from terrabit.search.globalsearch import global_search, shard_lower_bounds
from terrabit.search.query import Query, View, search
from terrabit.search.result import Exemplar, SearchResult
from terrabit.search.scoring import asymmetric_scores
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

if TYPE_CHECKING:
    from terrabit.search.geoneighbours import EARTH_RADIUS_M, GEO_PAD_INDEX, geo_knn

__all__ = [
    "EARTH_RADIUS_M",
    "GEO_PAD_INDEX",
    "PAD_DISTANCE",
    "PAD_INDEX",
    "BitwiseCombine",
    "Combine",
    "Exemplar",
    "Query",
    "RadiusResult",
    "SearchResult",
    "View",
    "ViewResult",
    "asymmetric_scores",
    "combine_codes",
    "export",
    "geo_knn",
    "global_search",
    "gradient",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
    "heatmap",
    "invert",
    "outlier",
    "rank_scores",
    "score",
    "search",
    "shard_lower_bounds",
    "surprise",
    "threshold",
    "topk",
]

# imported on first use: the spatial neighbours are compiled (numba), and a search that
# does not ask for them (every view but surprise and gradient) never loads numba
_LAZY = {
    "EARTH_RADIUS_M": "geoneighbours",
    "GEO_PAD_INDEX": "geoneighbours",
    "geo_knn": "geoneighbours",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
