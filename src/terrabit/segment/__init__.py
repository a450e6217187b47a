"""Segmentation: spatial-context metrics, receptive fields, training and tiled inference.

Two workflows from the field:

* **Does a model use long-range context?** (Chesapeake RSC style): masks label
  background (0), road (1) and tree canopy over road (2, "TC"); a model predicts road vs
  not. :mod:`terrabit.segment.metrics` computes the distance-weighted recall (DWR), recall
  per class and recall binned by the distance of each TC pixel to the nearest visible
  road; :mod:`terrabit.segment.erf` measures effective receptive fields by gradients and
  the theoretical receptive field of a CNN.
* **A georeferenced water map** (TorchGeo tutorial style): :mod:`terrabit.segment.data`
  pairs image and mask rasters across CRSs, :mod:`terrabit.segment.models` builds
  DeepLabV3-ResNet50 / U-Net-ResNet18 for 9 channels (never downloading weights),
  :mod:`terrabit.segment.train` trains from a config file and
  :mod:`terrabit.segment.predict` writes a blended, pixel-aligned COG of a whole scene.

:mod:`terrabit.segment.run` holds the runs behind ``terrabit segment metrics`` and
``terrabit segment erf`` (files in, a JSON-ready summary out).

The metrics import only numpy and scipy; everything else needs the ``segment`` extra
(torch, torchgeo, segmentation-models-pytorch), imported lazily inside those modules.
"""

from __future__ import annotations

from terrabit.segment.metrics import (
    BACKGROUND,
    ROAD,
    TREE_CANOPY,
    DistanceRecall,
    SpatialContextMetrics,
    distance_to_road,
    distance_weighted_recall,
    recall_by_class,
    recall_by_distance,
    spatial_context_metrics,
)

__all__ = [
    "BACKGROUND",
    "ROAD",
    "TREE_CANOPY",
    "DistanceRecall",
    "SpatialContextMetrics",
    "distance_to_road",
    "distance_weighted_recall",
    "recall_by_class",
    "recall_by_distance",
    "spatial_context_metrics",
]
