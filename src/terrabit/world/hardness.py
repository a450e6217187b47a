"""How hard a world's embeddings are to compress: the PCA variance curve and the recall of
sign bits, the two figures that tell a world as hard as real models' embeddings from one
that is not (FIELD.md: real models keep 0.6-0.76 of their variance in 64 components;
Clay v1.5's sign bits reach recall@10 0.65).

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(600, 64)).astype(np.float32)
>>> curve = pca_variance(x, components=(10, 64))
>>> round(curve["64"], 3)
1.0
>>> 0.0 <= binary_recall_at_10(x, queries=100) <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from terrabit.codecs.auto import hamming_recall
from terrabit.errors import InvalidInputError

__all__ = ["binary_recall_at_10", "pca_variance"]


def pca_variance(
    x: NDArray[np.floating], *, components: Sequence[int] = (10, 64, 128), max_rows: int = 8000
) -> dict[str, float]:
    """The share of the variance the top principal components keep, per count in
    ``components`` (counts past the dimension keep everything), on a seeded row sample.

    Examples
    --------
    >>> import numpy as np
    >>> line = np.outer(np.arange(50.0), np.ones(8))
    >>> pca_variance(line, components=(1,))
    {'1': 1.0}
    """
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise InvalidInputError(
            f"x must be a 2-D array of at least 2 rows, got shape {data.shape}", params=("x",)
        )
    if data.shape[0] > max_rows:
        rows = np.random.default_rng(1).choice(data.shape[0], max_rows, replace=False)
        data = data[np.sort(rows)]
    power = np.linalg.svd(data - data.mean(axis=0), compute_uv=False) ** 2
    kept = np.cumsum(power) / max(float(power.sum()), 1e-300)
    return {str(k): round(float(kept[min(k, kept.shape[0]) - 1]), 4) for k in components}


def binary_recall_at_10(x: NDArray[np.floating], *, queries: int = 500, seed: int = 0) -> float:
    """Recall@10 of sign bits (the ``binary`` codec, Hamming distance) against the exact
    float32 cosine neighbours, for ``queries`` held-out rows (never in the database),
    measured as ``publish --codec auto`` measures it
    (:func:`terrabit.codecs.auto.hamming_recall`).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(400, 128)).astype(np.float32)
    >>> 0.0 < binary_recall_at_10(x, queries=50) <= 1.0
    True
    """
    data = np.asarray(x, dtype=np.float32)
    if data.ndim != 2 or data.shape[0] < queries + 10:
        raise InvalidInputError(
            f"x needs at least queries + 10 = {queries + 10} rows, got shape {data.shape}",
            params=("x", "queries"),
        )
    return round(hamming_recall(data, "binary", queries=queries, seed=seed), 4)
