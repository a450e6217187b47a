"""Pixel corpora: embedding rasters (AEF-style tiles) pooled to N x N pixel patches and
published as a static corpus.

:func:`pool_tile` pools one tile (windowed reads, bounded memory, AEF de-quantization and
nodata, or ``raw`` values of other products); :func:`publish_pixels` pools the tiles of an
index (or raster files) in parallel into a resumable work folder and publishes the
patches with :func:`terrabit.corpus.publish` (every codec, ``auto``, ``rerank``,
``resume``, the Dask engine). ``terrabit publish --tiles INDEX`` runs it.

Examples
--------
>>> from terrabit.pixels import tile_name
>>> tile_name("19N", 716800.0, 5017600.0)
'19N_716800_5017600'
"""

from __future__ import annotations

from terrabit.pixels.pool import PooledTile, pool_tile, tile_name
from terrabit.pixels.publish import PixelPublishResult, publish_pixels

__all__ = ["PixelPublishResult", "PooledTile", "pool_tile", "publish_pixels", "tile_name"]
