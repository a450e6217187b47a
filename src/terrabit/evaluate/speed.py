"""Encode throughput and brute-force search speed of a codec, on bounded samples."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from terrabit.evaluate._neighbors import Metric, search

__all__ = ["best_time", "encode_throughput", "search_qps"]


def best_time(fn: Callable[[], object], *, repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls of ``fn`` (seconds).

    Examples
    --------
    >>> best_time(lambda: sum(range(10))) >= 0
    True
    """
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def encode_throughput(
    encode: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, repeats: int = 3
) -> float:
    """Vectors encoded per second by ``encode`` on ``x`` (best of ``repeats``).

    Examples
    --------
    >>> encode_throughput(lambda a: (a > 0).astype(np.uint8), np.ones((100, 8))) > 0
    True
    """
    elapsed = best_time(lambda: encode(x), repeats=repeats)
    return float(x.shape[0] / max(elapsed, 1e-9))


def search_qps(
    database: np.ndarray,
    queries: np.ndarray,
    *,
    k: int = 10,
    metric: Metric = "cosine",
    repeats: int = 3,
) -> float:
    """Queries per second of an exact brute-force top-``k`` scan over ``database``.

    Float metrics: one float32 matrix multiply and top-k selection; ``hamming``: an XOR +
    popcount scan over bit-packed codes. Both single-process numpy, so they compare codecs
    with each other, not with tuned libraries.

    Examples
    --------
    >>> db = np.random.default_rng(0).random((500, 16), dtype=np.float32)
    >>> search_qps(db, db[:20], k=5) > 0
    True
    """
    elapsed = best_time(
        lambda: search(database, queries, k, metric=metric, dtype=np.float32), repeats=repeats
    )
    return float(queries.shape[0] / max(elapsed, 1e-9))
