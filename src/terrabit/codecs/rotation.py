"""Random rotations: the ``rot`` reducer and the TurboQuant MSE quantizer ``turbo:bits=b``.

* ``rot`` — a Haar-random orthogonal ``d x d`` matrix: QR of a seeded Gaussian matrix with
  the sign fix (columns multiplied by ``sign(diag(R))``, Mezzadri 2007), applied as
  ``X @ Q``. Used as a prefix to spread variance evenly before a scalar quantizer:
  ``rot+int4``, ``rot+binary``.
* ``turbo:bits=b`` — TurboQuant's MSE quantizer (Zandieh et al., 2025): each vector is
  split into its norm (stored as float32, 4 bytes) and direction; the direction is
  rotated by a Haar matrix, after which every coordinate follows the marginal of a
  uniform point on the sphere, density ``∝ (1 - t**2)**((d-3)/2)`` (≈ ``N(0, 1/d)``);
  each coordinate is quantized with the ``2**b``-level Lloyd-Max codebook of that
  density (computed once, data-oblivious), ``b`` bits per dimension, packed MSB-first.
  ``code_size = ceil(d*b/8) + 4``.

Examples
--------
>>> import numpy as np
>>> Q = haar_rotation(4, seed=0)
>>> bool(np.allclose(Q @ Q.T, np.eye(4), atol=1e-6))
True
>>> lloyd_max_sphere(2, d=1000)[2:]  # doctest: +ELLIPSIS
array([0.0...
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

from terrabit.codecs._bits import code_bytes, pack_levels, unpack_levels
from terrabit.codecs.base import F32, U8, Param, Quantizer, Reducer

__all__ = ["Rotation", "Turbo", "haar_rotation", "lloyd_max_sphere"]


def haar_rotation(d: int, *, seed: int = 0) -> NDArray[np.float64]:
    """Haar-distributed random orthogonal ``d x d`` matrix (QR with sign fix), seeded.

    The last matrix is kept: fitting ``rot+…`` and ``rabitq`` codecs of one dimension and
    seed one after another (as ``publish --codec auto`` does) runs the ``O(d**3)`` QR once.
    Each call returns its own copy.
    """
    return _haar_rotation(d, seed).copy()


@functools.lru_cache(maxsize=1)
def _haar_rotation(d: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    out: NDArray[np.float64] = q * signs[None, :]
    out.flags.writeable = False
    return out


def lloyd_max_sphere(bits: int, *, d: int, iterations: int = 300) -> F32:
    """Lloyd-Max codebook (``2**bits`` sorted levels), one coordinate of a unit vector in R^d.

    The density ``∝ (1 - t**2)**((d-3)/2)`` on ``[-1, 1]`` is discretized on a fine grid
    (for ``d < 3`` the uniform density); the iteration starts from the quantiles and
    alternates midpoint boundaries and conditional means.
    """
    k = 1 << bits
    half = 1.0 if d < 8 else min(1.0, 10.0 / np.sqrt(d))
    t = np.linspace(-half, half, 40001)
    expo = max((d - 3) / 2.0, 0.0)
    logw = expo * np.log(np.clip(1.0 - t**2, 1e-300, None))
    w = np.exp(logw - logw.max())
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    levels = np.interp((np.arange(k) + 0.5) / k, cdf, t)
    for _ in range(iterations):
        edges = (levels[1:] + levels[:-1]) / 2.0
        cell = np.searchsorted(edges, t)
        mass = np.bincount(cell, weights=w, minlength=k)
        moment = np.bincount(cell, weights=w * t, minlength=k)
        new = np.where(mass > 0, moment / np.maximum(mass, 1e-300), levels)
        if np.allclose(new, levels, rtol=0, atol=1e-12):
            break
        levels = new
    return np.sort(levels).astype(np.float32)


class Rotation(Reducer):
    """Haar-random orthogonal rotation ``X @ Q`` (seeded); keeps the dimension."""

    family = "rot"
    PARAMS = (Param("seed", int, 0, low=0),)
    FITTED = ("d_in_", "rotation_")
    seed: int

    def __init__(self, *, seed: int = 0) -> None:
        self._set_params(seed=seed)

    def _fit(self, X: F32) -> None:
        self.rotation_ = haar_rotation(X.shape[1], seed=self.seed).astype(np.float32)

    def _d_out(self) -> int:
        return int(self.rotation_.shape[1])

    def _transform(self, X: F32) -> F32:
        out: F32 = X @ self.rotation_
        return out

    def _inverse(self, Y: F32) -> F32:
        out: F32 = Y @ self.rotation_.T
        return out


class Turbo(Quantizer):
    """TurboQuant MSE: norm (float32) + rotated direction on a ``bits``-bit Lloyd-Max codebook.

    Parameters
    ----------
    bits : int
        Bits per dimension, 1 to 8.
    seed : int
        Seed of the Haar rotation.
    """

    family = "turbo"
    POSITIONAL = "bits"
    PARAMS = (Param("bits", int, 2, low=1, high=8, always=True), Param("seed", int, 0, low=0))
    FITTED = ("d_in_", "rotation_", "codebook_")
    bits: int
    seed: int

    def __init__(self, bits: int = 2, *, seed: int = 0) -> None:
        self._set_params(bits=bits, seed=seed)

    def _fit(self, X: F32) -> None:
        d = X.shape[1]
        self.rotation_ = haar_rotation(d, seed=self.seed).astype(np.float32)
        self.codebook_ = lloyd_max_sphere(self.bits, d=d)

    def _code_size(self) -> int:
        return code_bytes(int(self.d_in_) * self.bits) + 4

    def _encode(self, X: F32) -> U8:
        norms = np.linalg.norm(X.astype(np.float64), axis=1)
        safe = np.where(norms > 0, norms, 1.0)
        y = (X / safe[:, None].astype(np.float32)) @ self.rotation_
        edges = (self.codebook_[1:] + self.codebook_[:-1]) / 2
        idx = np.searchsorted(edges, y).astype(np.uint8)
        packed = pack_levels(idx, bits=self.bits)
        tail = norms.astype("<f4").view(np.uint8).reshape(-1, 4)
        return np.ascontiguousarray(np.concatenate([packed, tail], axis=1))

    def _decode(self, codes: U8) -> F32:
        d = int(self.d_in_)
        body = codes[:, :-4]
        norms = np.ascontiguousarray(codes[:, -4:]).view("<f4").astype(np.float32)
        idx = unpack_levels(body, d=d, bits=self.bits)
        y = self.codebook_[idx]
        out: F32 = (y @ self.rotation_.T) * norms
        return out
