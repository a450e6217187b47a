"""Synthetic embeddings: class prototypes on a low-dimensional manifold in ``dim`` dimensions.

Each patch gets a latent vector ``z`` in ``R^m`` (``m =`` :data:`LATENT_DIM`)::

    z = prototype[class] + spatial_field(lon, lat) + per-patch noise

where the spatial field is a sum of random Fourier features of the 3-D unit vector of the
place at three wavelengths (60, 400 and 2000 km), so nearby patches are alike and there
are no seams at the antimeridian or the poles. A fixed, seeded, smooth nonlinear map sends
``z`` to ``R^dim``::

    x = offset + scale * ([tanh(z W1 + b1), z] @ W2) + tiny isotropic noise

with per-dimension offsets and unequal scales (real models are neither centred nor
isotropic). The data therefore lie near an ``m``-dimensional manifold: the measured
intrinsic dimension (:func:`estimate_intrinsic_dim`) is 10-20 whatever ``dim`` is.

A manifold that smooth puts all the variance in a few dozen principal directions, where
real models spread it over hundreds (FIELD.md: 0.6-0.76 of it in the top 64). With
``detail=True`` (the default; the patch world) the map also carries
:data:`DETAIL_FEATURES` random Fourier features of ``z`` per band at two frequencies
(texture, season and sensor detail that is signal, not i.i.d. noise: it is a function of
the place and the patch), the per-patch latent spread is smaller, each dimension's
distribution gets heavier tails (``|u|**1.3``, as real models' outlier dimensions have)
and keeps half of its mean and offset (real sign bits are informative).
At d = 1024 PCA then keeps ~0.5 of the variance at 10 components and ~0.75 at 64, and
recall@10 of int8 / int4 / int2 / binary / rotated 2-4-bit codes against float32 lands
within a few hundredths of Clay v1.5's published figures, while the intrinsic dimension
stays ~17 (Clay's MLE: 17.0). ``detail=False`` keeps the smooth map (the AEF-like tiles
add their own per-pixel texture to it: :mod:`terrabit.world.aef`).
Grassland, shrub and cropland have nearby prototypes (they are confusable, as in real
embeddings); each needle class sits near the common class it resembles.

Examples
--------
>>> import numpy as np
>>> model = EmbeddingModel(64, seed=0)
>>> x = model.embed(np.array([1, 1, 0]), np.array([10.0, 10.01, 50.0]),
...                 np.array([50.0, 50.0, 0.0]), noise_seed=1)
>>> x.shape, x.dtype.name
((3, 64), 'float32')
>>> bool(np.linalg.norm(x[0] - x[1]) < np.linalg.norm(x[0] - x[2]))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from terrabit._validation import check_int_range
from terrabit.errors import InvalidInputError
from terrabit.world.landcover import CLASSES, EARTH_RADIUS_KM

__all__ = ["DETAIL_FEATURES", "LATENT_DIM", "EmbeddingModel", "estimate_intrinsic_dim"]

#: Dimension of the latent manifold the embeddings live on.
LATENT_DIM = 24
_HIDDEN = 32
_WAVELENGTHS_KM = (60.0, 400.0, 2000.0)
_FIELD_AMPLITUDE = (0.30, 0.30, 0.25)
_FIELD_FEATURES = 32
_LATENT_NOISE = 0.50
_ISO_NOISE = 0.004
#: Random Fourier features of ``z`` per frequency band in the detailed map.
DETAIL_FEATURES = 256
# measured on 40K world patches, d = 1024 (benchmarks/RESULTS.md, "A world as hard as real
# models"): these put PCA-10 / PCA-64 at ~0.57 / ~0.80 and every codec's recall@10 within
# the published Clay v1.5 figures +- 0.06
_DETAIL_FREQUENCIES = (0.15, 0.5)
_DETAIL_AMPLITUDES = (0.8, 0.5)
_DETAIL_LINEAR = 0.6
_DETAIL_LATENT_NOISE = 0.30
_DETAIL_TAIL_POWER = 1.3
# the share of each dimension's mean (and offset) the detailed map keeps: real models are
# not centred, but their sign bits are informative (Clay v1.5 binary recall@10: 0.65)
_DETAIL_KEEP_MEAN = 0.5
_CALIBRATION_ROWS = 4096

# Prototype anchors: a class listed here is placed near the named class; the rest are
# spread apart. Distances are in latent units (the within-class spread is ~0.6 per axis
# pair of points).
_NEAR: dict[str, tuple[str, float]] = {
    "shrub": ("grassland", 1.3),
    "cropland": ("grassland", 1.4),
    "wetland": ("water", 2.6),
    "solar_farm": ("urban", 2.8),
    "centre_pivot": ("cropland", 2.4),
    "greenhouse": ("urban", 2.8),
    "open_pit_mine": ("shrub", 2.6),
}
_SPREAD = 4.2


def _rng(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, *tags])


def _unit_xyz(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    lam, phi = np.radians(lon), np.radians(lat)
    cphi = np.cos(phi)
    return np.stack([cphi * np.cos(lam), cphi * np.sin(lam), np.sin(phi)], axis=1)


def _random_direction(rng: np.random.Generator, m: int) -> NDArray[np.float64]:
    v = rng.normal(size=m)
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


class EmbeddingModel:
    """A seeded map from (class, place) to a ``dim``-dimensional float32 embedding.

    Parameters
    ----------
    dim : int
        Output dimension, 64 to 1024 (Clay v1.5: 1024; AEF: 64).
    seed : int
        Seed of the prototypes, the spatial field and the nonlinear map.

    Attributes
    ----------
    prototypes_ : ndarray of shape (len(CLASSES), LATENT_DIM)
        Latent class prototypes.
    offset_, scale_ : ndarray of shape (dim,)
        Per-dimension offset and scale of the output (the imbalance of real models).

    Examples
    --------
    >>> import numpy as np
    >>> m = EmbeddingModel(128, seed=3)
    >>> a = m.embed(np.array([2]), np.array([5.0]), np.array([45.0]), noise_seed=7)
    >>> b = m.embed(np.array([2]), np.array([5.0]), np.array([45.0]), noise_seed=7)
    >>> bool((a == b).all())
    True
    """

    def __init__(self, dim: int = 1024, *, seed: int = 0, detail: bool = True) -> None:
        self.dim = check_int_range("dim", dim, 64, 1024)
        self.seed = int(seed)
        self.detail = bool(detail)
        self._latent_noise = _DETAIL_LATENT_NOISE if self.detail else _LATENT_NOISE
        m = LATENT_DIM
        rng = _rng(self.seed, 11)
        protos = np.zeros((len(CLASSES), m), dtype=np.float64)
        for i, name in enumerate(CLASSES):
            if name in _NEAR:
                anchor, dist = _NEAR[name]
                protos[i] = protos[CLASSES.index(anchor)] + dist * _random_direction(rng, m)
            else:
                protos[i] = _SPREAD * _random_direction(rng, m) * np.sqrt(2.0)
        self.prototypes_ = protos
        self._omega = [
            rng.normal(size=(_FIELD_FEATURES, 3)) * (EARTH_RADIUS_KM / w) for w in _WAVELENGTHS_KM
        ]
        self._phase = [rng.uniform(0, 2 * np.pi, size=_FIELD_FEATURES) for _ in _WAVELENGTHS_KM]
        self._mix = [
            a * np.sqrt(2.0 / _FIELD_FEATURES) * rng.normal(size=(_FIELD_FEATURES, m))
            for a in _FIELD_AMPLITUDE
        ]
        self._w1 = rng.normal(size=(m, _HIDDEN)) * (0.9 / np.sqrt(m) / _SPREAD * 2.0)
        self._b1 = rng.normal(size=_HIDDEN) * 0.5
        # orthonormal rows: the map from features to output neither squashes nor folds
        q, _ = np.linalg.qr(rng.normal(size=(self.dim, _HIDDEN + m)))
        w2 = q.T * np.sqrt(self.dim / (_HIDDEN + m))
        w2[_HIDDEN:] *= 0.3
        self.scale_ = np.exp(rng.normal(scale=0.35, size=self.dim)).astype(np.float32)
        self.offset_ = (rng.normal(scale=0.4, size=self.dim) * self.scale_).astype(np.float32)
        self._w2_out = np.vstack([w2 * self.scale_, self.offset_[None, :]]).astype(np.float32)
        levels = (np.arange(256) + 0.5) / 256.0 - 0.5  # uniform on (-0.5, 0.5)
        self._noise_lut = (levels * np.sqrt(12.0) * _ISO_NOISE).astype(np.float32)
        if self.detail:
            self._init_detail()

    def _init_detail(self) -> None:
        """The detailed map: Fourier features of ``z``, an orthonormal mix into ``dim``, and
        per-dimension centre and spread (from a seeded calibration sample) for the tails."""
        rng = _rng(self.seed, 15)
        m = LATENT_DIM
        self._omega_z = [
            (rng.normal(size=(m, DETAIL_FEATURES)) * f).astype(np.float32)
            for f in _DETAIL_FREQUENCIES
        ]
        self._phase_z = [
            rng.uniform(0, 2 * np.pi, DETAIL_FEATURES).astype(np.float32)
            for _ in _DETAIL_FREQUENCIES
        ]
        n_feats = _HIDDEN + len(_DETAIL_FREQUENCIES) * DETAIL_FEATURES + m
        if n_feats <= self.dim:  # orthonormal rows: neither squashes nor folds
            q, _ = np.linalg.qr(rng.normal(size=(self.dim, n_feats)))
            mix = q.T * np.sqrt(self.dim / n_feats)
        else:
            mix = rng.normal(size=(n_feats, self.dim)) * np.sqrt(self.dim / n_feats / self.dim)
        self._mix_detail = mix.astype(np.float32)
        self._centre = np.zeros(self.dim, dtype=np.float32)
        self._spread = np.ones(self.dim, dtype=np.float32)
        cal = rng.integers(0, len(CLASSES), _CALIBRATION_ROWS)
        lon = rng.uniform(-180.0, 180.0, _CALIBRATION_ROWS)
        lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, _CALIBRATION_ROWS)))
        u = self._detail_features(self.latent(cal, lon, lat, noise_seed=-1))
        self._centre = u.mean(axis=0)
        self._spread = u.std(axis=0) + np.float32(1e-6)

    def _detail_features(self, z: NDArray[np.float64]) -> NDArray[np.float32]:
        """``[tanh(z W1 + b1), sqrt(2) a_k cos(z Omega_k + phi_k)..., c z] @ mix``."""
        z32 = z.astype(np.float32)
        parts = [np.tanh(z32 @ self._w1.astype(np.float32) + self._b1.astype(np.float32))]
        for omega, phase, amp in zip(self._omega_z, self._phase_z, _DETAIL_AMPLITUDES, strict=True):
            parts.append(np.float32(amp * np.sqrt(2.0)) * np.cos(z32 @ omega + phase))
        parts.append(np.float32(_DETAIL_LINEAR) * z32)
        return np.concatenate(parts, axis=1) @ self._mix_detail

    def latent(self, classes: Any, lon: Any, lat: Any, *, noise_seed: int) -> NDArray[np.float64]:
        """The latent vectors ``z`` (``[n, LATENT_DIM]``) behind :meth:`embed`.

        Examples
        --------
        >>> import numpy as np
        >>> EmbeddingModel(64).latent(np.array([0]), np.array([0.0]), np.array([0.0]),
        ...                           noise_seed=0).shape
        (1, 24)
        """
        cls = np.asarray(classes)
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
        if not (cls.ndim == lon_a.ndim == lat_a.ndim == 1) or not (
            cls.shape == lon_a.shape == lat_a.shape
        ):
            raise InvalidInputError(
                f"classes, lon and lat must be 1-D arrays of one length; got shapes "
                f"{cls.shape}, {lon_a.shape}, {lat_a.shape}"
            )
        bad = np.flatnonzero((cls < 0) | (cls >= len(CLASSES)))
        if bad.size:
            raise InvalidInputError(
                f"class ids must lie in 0..{len(CLASSES) - 1}; bad rows {bad[:10].tolist()}"
            )
        z = self.prototypes_[cls.astype(np.intp)].copy()
        # rows often come in pairs of one place (two years): compute its field once
        paired = (
            lon_a.size % 2 == 0
            and np.array_equal(lon_a[0::2], lon_a[1::2])
            and np.array_equal(lat_a[0::2], lat_a[1::2])
        )
        step = 2 if paired else 1
        z += np.repeat(self.spatial_field(lon_a[::step], lat_a[::step]), step, axis=0)
        rng = _rng(self.seed, 12, int(noise_seed) & 0xFFFFFFFFFFFFFFFF)
        z += rng.normal(scale=self._latent_noise, size=z.shape)
        return z

    def spatial_field(self, lon: Any, lat: Any) -> NDArray[np.float64]:
        """The smooth latent field at each place (``[n, LATENT_DIM]``); nearby places alike.

        Examples
        --------
        >>> import numpy as np
        >>> f = EmbeddingModel(64).spatial_field(np.array([0.0, 0.01, 90.0]), np.zeros(3))
        >>> bool(np.abs(f[0] - f[1]).max() < np.abs(f[0] - f[2]).max())
        True
        """
        xyz = _unit_xyz(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        xyz32 = xyz.astype(np.float32)
        out = np.zeros((xyz.shape[0], LATENT_DIM), dtype=np.float64)
        for omega, phase, mix in zip(self._omega, self._phase, self._mix, strict=True):
            arg = xyz32 @ omega.T.astype(np.float32)
            arg += phase.astype(np.float32)
            out += np.cos(arg) @ mix.astype(np.float32)
        return out

    def embed(self, classes: Any, lon: Any, lat: Any, *, noise_seed: int) -> NDArray[np.float32]:
        """Embeddings ``float32 [n, dim]`` of patches of ``classes`` centred at ``lon, lat``.

        Deterministic for its inputs; the per-patch noise follows ``noise_seed`` (give each
        chunk of a stream its own).

        Examples
        --------
        >>> import numpy as np
        >>> x = EmbeddingModel(64, seed=0).embed(np.array([3, 4]), np.array([0.0, 1.0]),
        ...                                      np.array([10.0, 10.0]), noise_seed=0)
        >>> x.shape
        (2, 64)
        """
        z = self.latent(classes, lon, lat, noise_seed=noise_seed)
        if self.detail:
            u = (self._detail_features(z) - self._centre) / self._spread
            u = np.sign(u) * np.abs(u) ** np.float32(_DETAIL_TAIL_POWER)
            keep = np.float32(_DETAIL_KEEP_MEAN)
            x = (keep * self._centre + self._spread * u) * self.scale_ + keep * self.offset_
        else:
            feats = np.empty((z.shape[0], _HIDDEN + LATENT_DIM + 1), dtype=np.float32)
            feats[:, :_HIDDEN] = np.tanh(z @ self._w1 + self._b1)
            feats[:, _HIDDEN:-1] = z
            feats[:, -1] = 1.0
            x = feats @ self._w2_out  # scale and offset folded into the map
        # tiny isotropic noise, uniform with std _ISO_NOISE: 8 random bits per value are
        # plenty at this size and ~15x cheaper than Gaussian draws
        rng = _rng(self.seed, 13, int(noise_seed) & 0xFFFFFFFFFFFFFFFF)
        x += self._noise_lut[rng.integers(0, 256, size=x.shape, dtype=np.uint8)]
        return x


def estimate_intrinsic_dim(
    x: NDArray[np.floating[Any]], *, k: int = 20, max_points: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Intrinsic dimension of the rows of ``x`` by two standard estimators.

    ``mle``: Levina-Bickel maximum likelihood over ``k`` neighbours, averaged as
    MacKay-Ghahramani suggest (mean of inverse estimates); ``twonn``: Facco et al.'s
    ratio of second to first neighbour distances (maximum likelihood form). At most
    ``max_points`` rows (a seeded sample) are used.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> plane = rng.normal(size=(1500, 3)) @ rng.normal(size=(3, 50))
    >>> est = estimate_intrinsic_dim(plane)
    >>> 2.5 < est["mle"] < 3.5 and 2.5 < est["twonn"] < 3.5
    True
    """
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < k + 2:
        raise InvalidInputError(
            f"need a 2-D array with at least {k + 2} rows to estimate intrinsic dimension; "
            f"got shape {data.shape}"
        )
    if data.shape[0] > max_points:
        idx = np.sort(_rng(seed, 14).choice(data.shape[0], size=max_points, replace=False))
        data = data[idx]
    dist = _knn_distances(data, k)
    ok = (dist > 0).all(axis=1)
    dist = dist[ok]
    logs = np.log(dist[:, -1:] / dist[:, :-1])
    inv = logs.sum(axis=1) / (k - 2)  # unbiased inverse estimate per point
    mle = 1.0 / float(np.mean(inv))
    mu = dist[:, 1] / dist[:, 0]
    twonn = float(mu.shape[0] / np.sum(np.log(mu)))
    return {"mle": round(mle, 3), "twonn": round(twonn, 3)}


def _knn_distances(data: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Sorted Euclidean distances from each row to its ``k`` nearest other rows (exact)."""
    sq = np.einsum("ij,ij->i", data, data)
    out = np.empty((data.shape[0], k), dtype=np.float64)
    for start in range(0, data.shape[0], 1024):
        block = data[start : start + 1024]
        d2 = sq[start : start + 1024, None] + sq[None, :] - 2.0 * (block @ data.T)
        rows = np.arange(block.shape[0])
        d2[rows, start + rows] = np.inf  # not its own neighbour
        part = np.partition(d2, k - 1, axis=1)[:, :k]
        out[start : start + block.shape[0]] = np.sqrt(np.maximum(np.sort(part, axis=1), 0.0))
    return out
