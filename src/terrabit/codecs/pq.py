"""Product quantization ``pq:m=…,bits=…`` (Jégou et al. 2011).

The ``d`` dimensions are split into ``m`` contiguous sub-vectors of ``d/m`` dimensions;
each gets its own ``2**bits``-centroid k-means codebook, trained with faiss
(``ProductQuantizer``, when installed) or scikit-learn ``KMeans`` (``kmeans=sklearn``).
Encoding (nearest centroid per sub-vector) and decoding are plain numpy, so a codec
rebuilt by ``from_dict`` gives identical codes without faiss. Sub-codes of ``bits < 8``
are packed MSB-first; ``code_size = ceil(m*bits/8)``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
>>> pq = PQ(m=4, bits=4).fit(X)
>>> pq.code_size, pq.encode(X[:2]).shape
(2, (2, 2))
"""

from __future__ import annotations

import numpy as np

from terrabit._compat import lazy_import
from terrabit.codecs._bits import code_bytes, pack_levels, unpack_levels
from terrabit.codecs.base import F32, U8, Param, Quantizer
from terrabit.errors import InvalidInputError

__all__ = ["PQ"]

_CHUNK = 32768


class PQ(Quantizer):
    """Product quantizer with ``m`` sub-quantizers of ``2**bits`` centroids each.

    Parameters
    ----------
    m : int
        Number of sub-vectors; must divide the input dimension.
    bits : int
        Bits per sub-code (1 to 8).
    kmeans : {"auto", "faiss", "sklearn"}
        Codebook trainer; ``auto`` uses faiss when it is installed.
    iterations, seed : int
        k-means iterations and seed.
    """

    family = "pq"
    PARAMS = (
        Param("m", int, 8, low=1, always=True),
        Param("bits", int, 8, low=1, high=8),
        Param("kmeans", str, "auto", choices=("auto", "faiss", "sklearn")),
        Param("iterations", int, 25, low=1, high=1000),
        Param("seed", int, 1234, low=0),
    )
    FITTED = ("d_in_", "centroids_")
    m: int
    bits: int
    kmeans: str
    iterations: int
    seed: int

    def __init__(
        self,
        *,
        m: int = 8,
        bits: int = 8,
        kmeans: str = "auto",
        iterations: int = 25,
        seed: int = 1234,
    ) -> None:
        self._set_params(m=m, bits=bits, kmeans=kmeans, iterations=iterations, seed=seed)

    def _fit(self, X: F32) -> None:
        d = X.shape[1]
        if d % self.m:
            divisors = [k for k in range(1, d + 1) if d % k == 0]
            near = sorted(divisors, key=lambda k: abs(k - self.m))[:3]
            raise InvalidInputError(
                f"{self.stage_spec}: m={self.m} must divide the dimension {d}; "
                f"try m={' or m='.join(str(k) for k in sorted(near))}"
            )
        ksub = 1 << self.bits
        self._require_rows(X, ksub, f"{ksub} centroids per sub-quantizer")
        engine = self.kmeans
        if engine == "auto":
            try:
                lazy_import("faiss", "faiss")
                engine = "faiss"
            except ImportError:
                engine = "sklearn"
        dsub = d // self.m
        if engine == "faiss":
            faiss = lazy_import("faiss", "faiss")
            pq = faiss.ProductQuantizer(d, self.m, self.bits)
            pq.cp.seed = self.seed
            pq.cp.niter = self.iterations
            pq.cp.min_points_per_centroid = 1  # we require >= 2**bits rows ourselves
            pq.train(np.ascontiguousarray(X))
            cent = faiss.vector_to_array(pq.centroids).reshape(self.m, ksub, dsub)
        else:
            from sklearn.cluster import KMeans

            cent = np.empty((self.m, ksub, dsub), dtype=np.float32)
            for j in range(self.m):
                km = KMeans(
                    n_clusters=ksub, n_init=1, max_iter=self.iterations, random_state=self.seed
                )
                km.fit(X[:, j * dsub : (j + 1) * dsub])
                cent[j] = km.cluster_centers_
        self.centroids_ = np.ascontiguousarray(cent, dtype=np.float32)

    def _code_size(self) -> int:
        return code_bytes(self.m * self.bits)

    def assign(self, X: F32) -> U8:
        """Index of the nearest centroid of each sub-vector, ``[n, m]`` (before packing)."""
        n = X.shape[0]
        m, _, dsub = self.centroids_.shape
        out = np.empty((n, m), dtype=np.uint8)
        sq = (self.centroids_.astype(np.float32) ** 2).sum(axis=2)  # [m, ksub]
        for start in range(0, n, _CHUNK):
            block = X[start : start + _CHUNK]
            for j in range(m):
                sub = block[:, j * dsub : (j + 1) * dsub]
                dist = sq[j][None, :] - 2.0 * (sub @ self.centroids_[j].T)
                out[start : start + _CHUNK, j] = np.argmin(dist, axis=1)
        return out

    def _encode(self, X: F32) -> U8:
        return pack_levels(self.assign(X), bits=self.bits)

    def _decode(self, codes: U8) -> F32:
        idx = unpack_levels(codes, d=self.m, bits=self.bits).astype(np.intp)
        m = self.centroids_.shape[0]
        parts = [self.centroids_[j][idx[:, j]] for j in range(m)]
        out: F32 = np.concatenate(parts, axis=1)
        return out
