"""Spatial blocks: a train/test split by whole blocks of a grid, so that no place (and no
second-year copy of it) is on both sides.

Points fall in a grid of square blocks (the extent divided ``blocks_per_side`` ways along
its longer side); blocks are shuffled by the seed and moved to the test side until it holds
``test_fraction`` of the points. ``terrabit evaluate`` splits its GeoParquet inputs so, and
``terrabit search --with-codes`` writes the same split as its ``split`` column.

Examples
--------
>>> import numpy as np
>>> lon, lat = np.r_[np.zeros(5), np.full(5, 10.0)], np.zeros(10)
>>> test = spatial_split(lon, lat, test_fraction=0.5)
>>> int(test.sum()), len(set(test[:5])), len(set(test[5:]))  # whole blocks, half the points
(5, 1, 1)
"""

from __future__ import annotations

import numpy as np

__all__ = ["spatial_split"]


def spatial_split(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    blocks_per_side: int = 16,
) -> np.ndarray:
    """Boolean test mask: whole grid blocks go to the test side until ``test_fraction``.

    Examples
    --------
    >>> lon = np.r_[np.zeros(5), np.full(5, 10.0)]; lat = np.zeros(10)
    >>> m = spatial_split(lon, lat, test_fraction=0.5)
    >>> int(m.sum()), bool(m[:5].all() or not m[:5].any())
    (5, True)
    """
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    span = max(float(np.ptp(lon)), float(np.ptp(lat)), 1e-9)
    size = span / blocks_per_side
    bx = np.floor((lon - lon.min()) / size).astype(np.int64)
    by = np.floor((lat - lat.min()) / size).astype(np.int64)
    cell = bx * (blocks_per_side + 2) + by
    cells, inverse, counts = np.unique(cell, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(cells.size)
    target = test_fraction * lon.size
    chosen = np.zeros(cells.size, dtype=bool)
    total = 0
    for c in order:
        if total >= target:
            break
        chosen[c] = True
        total += int(counts[c])
    return chosen[inverse]
