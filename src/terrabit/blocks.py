"""Spatial blocks: a train/test split by whole blocks of a grid, so that no place (and no
second-year copy of it) is on both sides.

Points fall in a grid of square blocks (the extent divided ``blocks_per_side`` ways along
its longer side); blocks are shuffled by the seed and moved to the test side until it holds
``test_fraction`` of the points. ``terrabit evaluate`` splits its GeoParquet inputs so
(blocks in a seeded numpy permutation, ``order="random"``), and ``terrabit search
--with-codes`` writes the split as its ``split`` column with ``order="hash"``: blocks
sorted by :func:`block_hash` of their number, a rule the browser app reproduces bit for
bit (``web/src/lib/blocks.ts``; ``spec/fixtures/blocks.json``).

Examples
--------
>>> import numpy as np
>>> lon, lat = np.r_[np.zeros(5), np.full(5, 10.0)], np.zeros(10)
>>> test = spatial_split(lon, lat, test_fraction=0.5)
>>> int(test.sum()), len(set(test[:5])), len(set(test[5:]))  # whole blocks, half the points
(5, 1, 1)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terrabit._validation import check_choice

__all__ = ["block_hash", "spatial_split"]

_GOLDEN = np.uint32(0x9E3779B1)


def block_hash(cell: NDArray[np.integer], seed: int = 0) -> NDArray[np.uint32]:
    """MurmurHash3's 32-bit finaliser of ``cell * 0x9E3779B1 ^ seed`` (all modulo 2**32).

    >>> block_hash(np.array([0, 1, 2])).tolist()
    [0, 301794027, 3140136926]
    """
    with np.errstate(over="ignore"):
        h = (np.asarray(cell).astype(np.uint32) * _GOLDEN) ^ np.uint32(seed & 0xFFFFFFFF)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h


def spatial_split(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    blocks_per_side: int = 16,
    order: Literal["random", "hash"] = "random",
) -> np.ndarray:
    """Boolean test mask: whole grid blocks go to the test side until ``test_fraction``.

    A point's block is ``bx * (blocks_per_side + 2) + by`` with ``bx = floor((lon -
    min(lon)) / size)``, ``by`` likewise, ``size = max(ptp(lon), ptp(lat), 1e-9) /
    blocks_per_side`` (float64). Blocks are taken in ``order`` — ``"random"``: a
    ``numpy.random.default_rng(seed)`` permutation of the sorted block numbers;
    ``"hash"``: ascending :func:`block_hash` ``(block, seed)``, ties by block number —
    until the test side holds at least ``test_fraction`` of the points.

    Examples
    --------
    >>> lon = np.r_[np.zeros(5), np.full(5, 10.0)]; lat = np.zeros(10)
    >>> m = spatial_split(lon, lat, test_fraction=0.5)
    >>> int(m.sum()), bool(m[:5].all() or not m[:5].any())
    (5, True)
    """
    check_choice("order", order, ("random", "hash"))
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    if lon.size == 0:
        return np.zeros(0, dtype=bool)
    span = max(float(np.ptp(lon)), float(np.ptp(lat)), 1e-9)
    size = span / blocks_per_side
    bx = np.floor((lon - lon.min()) / size).astype(np.int64)
    by = np.floor((lat - lat.min()) / size).astype(np.int64)
    cell = bx * (blocks_per_side + 2) + by
    cells, inverse, counts = np.unique(cell, return_inverse=True, return_counts=True)
    if order == "hash":
        taken = np.lexsort((cells, block_hash(cells, seed)))
    else:
        taken = np.random.default_rng(seed).permutation(cells.size)
    target = test_fraction * lon.size
    chosen = np.zeros(cells.size, dtype=bool)
    total = 0
    for c in taken:
        if total >= target:
            break
        chosen[c] = True
        total += int(counts[c])
    return chosen[inverse]
