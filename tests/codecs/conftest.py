"""Tiny seeded inputs shared by the codec tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from numpy.typing import NDArray


def make_data(n: int = 300, d: int = 16, *, seed: int = 0) -> NDArray[np.float32]:
    """Non-centred, imbalanced, low-rank-ish float32 data (like real embeddings)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    x = z @ rng.normal(size=(4, d)) + 0.3 * rng.normal(size=(n, d))
    x = x * rng.lognormal(0.0, 0.5, d) + rng.normal(0.0, 1.0, d)
    return x.astype(np.float32)


@pytest.fixture
def make() -> Callable[..., NDArray[np.float32]]:
    """The seeded data generator (a fixture, since test modules are not importable)."""
    return make_data


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny k-means runs are slower multi-threaded on a shared 2-core box (OpenMP spinning)."""
    from threadpoolctl import threadpool_limits

    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss is optional
        faiss = None
    before = faiss.omp_get_max_threads() if faiss is not None else 0
    if faiss is not None:
        faiss.omp_set_num_threads(1)
    with threadpool_limits(1):
        yield
    if faiss is not None:
        faiss.omp_set_num_threads(before)
