"""Embedding rasters summarised over polygons: exact zonal statistics, PCA maps, quick models.

``zonal_stats`` (GeoDataFrame in, GeoDataFrame out) and ``run_zonal`` (file in, GeoParquet
out, what ``terrabit zonal stats`` runs) compute exact coverage-weighted per-band
statistics of raster tiles (AEF int8 COGs by default: nodata ``-128`` masked, codes
de-quantized before any statistic) from mergeable partial sums; ``render_features`` and
``fit_models`` turn the feature table into a PCA raster and quick models.

Examples
--------
>>> from terrabit.zonal import finalize, partial_stats
>>> float(finalize(partial_stats([[1.0, 3.0]], [1.0, 0.5]))["mean"][0, 0])
1.6666666666666667
"""

from __future__ import annotations

from terrabit.corpus.tiles import read_tile_index, tiles_from_rasters
from terrabit.zonal.cluster import ClusterError, SchedulerError
from terrabit.zonal.engine import ENGINES, STATS, TileReadError, zonal_stats
from terrabit.zonal.model import fit_models, write_report
from terrabit.zonal.polygons import prepare_polygons, read_polygons
from terrabit.zonal.render import pca_rgb, render_features
from terrabit.zonal.run import run_zonal, work_dir_for
from terrabit.zonal.stats import PartialStats, finalize, merge, partial_stats

__all__ = [
    "ENGINES",
    "STATS",
    "ClusterError",
    "PartialStats",
    "SchedulerError",
    "TileReadError",
    "finalize",
    "fit_models",
    "merge",
    "partial_stats",
    "pca_rgb",
    "prepare_polygons",
    "read_polygons",
    "read_tile_index",
    "render_features",
    "run_zonal",
    "tiles_from_rasters",
    "work_dir_for",
    "write_report",
    "zonal_stats",
]
