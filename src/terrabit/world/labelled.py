"""The labelled subsample of a world (``labelled.npz``), split by region.

While the patches stream to disk, :class:`LabelledSampler` keeps a seeded subsample of
rows (at most :data:`LABELLED_MAX`; the rare needle classes are kept
:data:`NEEDLE_BOOST` times more often, so that they appear). :func:`spatial_split`
then assigns whole coarse blocks of ``block_deg`` degrees to train or test, so that no
test patch has a neighbour (or its own other year) in the training set.

``labelled.npz`` holds geopool's layout: ``x_train``, ``y_train``, ``x_test``,
``y_test`` (float32 / int32 class ids), ``classes`` (names; ``y`` indexes it), plus
``lon_train``, ``lat_train``, ``lon_test``, ``lat_test`` and ``block_deg`` so that anyone
can check the split; :func:`~terrabit.world.generate.generate_world` adds the world marker
(``terrabit_world``, :func:`~terrabit.world.patches.world_marker`).

Examples
--------
>>> import numpy as np
>>> lon = np.array([0.1, 0.2, 5.5, 5.6, 9.9]); lat = np.zeros(5)
>>> test = spatial_split(lon, lat, seed=0, block_deg=1.0)
>>> bool(test[0] == test[1] and test[2] == test[3])
True
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terrabit.world.landcover import CLASSES, NEEDLES

__all__ = [
    "LABELLED_MAX",
    "NEEDLE_BOOST",
    "TEST_FRACTION",
    "LabelledSampler",
    "block_deg_for",
    "spatial_split",
    "write_npz",
]

#: Most rows kept in ``labelled.npz``.
LABELLED_MAX = 20_000
#: How much likelier a needle row is kept than a common one.
NEEDLE_BOOST = 10.0
#: Share of coarse blocks assigned to the test split.
TEST_FRACTION = 0.2
_MIN_BLOCKS = 5
_NEEDLE_IDS = np.array(sorted(CLASSES.index(n) for n in NEEDLES), dtype=np.int16)


def _mix(key: NDArray[np.uint64], seed: int, tag: int) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = key + np.uint64((int(seed) * 0x9E3779B1 + tag) & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _uniform(key: NDArray[np.uint64], seed: int, tag: int) -> NDArray[np.float64]:
    h = _mix(key, seed, tag)
    return np.asarray((h >> np.uint64(11)).astype(np.float64) / float(1 << 53))


def block_deg_for(bbox: tuple[float, float, float, float] | None) -> float:
    """Side of the coarse split blocks, degrees: 1 for the globe, smaller for small boxes.

    Examples
    --------
    >>> block_deg_for(None), block_deg_for((0.0, 0.0, 2.0, 1.0))
    (1.0, 0.125)
    """
    if bbox is None:
        return 1.0
    minx, miny, maxx, maxy = bbox
    width = maxx - minx if minx < maxx else maxx + 360.0 - minx
    return float(min(1.0, max(0.05, min(width, maxy - miny) / 8.0)))


def _blocks(lon: NDArray[np.float64], lat: NDArray[np.float64], block_deg: float) -> Any:
    by = np.floor((lat + 90.0) / block_deg).astype(np.int64)
    bx = np.floor((lon + 180.0) / block_deg).astype(np.int64)
    return (by * 1_000_000 + bx).astype(np.uint64)


def spatial_split(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    seed: int,
    block_deg: float,
    test_fraction: float = TEST_FRACTION,
) -> NDArray[np.bool_]:
    """Test mask assigning whole ``block_deg`` blocks to test (a seeded ~20 % of blocks).

    With two or more blocks, both splits are non-empty.

    Examples
    --------
    >>> import numpy as np
    >>> lon = np.linspace(-170, 170, 50); lat = np.linspace(-60, 60, 50)
    >>> test = spatial_split(lon, lat, seed=1, block_deg=1.0)
    >>> 0 < int(test.sum()) < 50
    True
    """
    blocks = _blocks(lon, lat, block_deg)
    uniq = np.unique(blocks)
    order = np.argsort(_mix(uniq, seed, 501), kind="stable")
    n_test = int(max(1, round(test_fraction * uniq.size))) if uniq.size > 1 else 0
    test_blocks = uniq[order[:n_test]]
    return np.asarray(np.isin(blocks, test_blocks), dtype=bool)


class LabelledSampler:
    """Keeps a seeded subsample of streamed rows and splits it by region at the end.

    Parameters
    ----------
    n_rows : int
        Rows that will be offered in total (sets the keep probability).
    seed : int
        World seed.
    block_deg : float
        Side of the coarse split blocks (see :func:`block_deg_for`).

    Examples
    --------
    >>> import numpy as np
    >>> s = LabelledSampler(4, seed=0, block_deg=1.0)
    >>> s.offer(np.array([1, 2, 3, 4]), np.array([2023] * 4), np.array([1, 2, 1, 2]),
    ...         np.array([0.5, 3.5, 7.5, 9.5]), np.zeros(4), np.eye(4, dtype=np.float32))
    >>> out = s.finish()
    >>> len(out["y_train"]) + len(out["y_test"])
    4
    """

    def __init__(
        self, n_rows: int, *, seed: int, block_deg: float, max_rows: int = LABELLED_MAX
    ) -> None:
        self.seed = int(seed)
        self.block_deg = float(block_deg)
        self.max_rows = int(max_rows)
        self.keep_prob = min(1.0, 0.9 * self.max_rows / max(1, n_rows))
        self._parts: list[tuple[Any, ...]] = []

    def offer(
        self,
        cells: NDArray[np.int64],
        years: NDArray[np.integer[Any]],
        classes: NDArray[np.integer[Any]],
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        x: NDArray[np.float32],
    ) -> None:
        """Consider a batch of rows; keeps a seeded subset (copies, so ``x`` may be reused)."""
        key = cells.astype(np.uint64) * np.uint64(4099) + years.astype(np.uint64)
        u = _uniform(key, self.seed, 502)
        weight = np.where(np.isin(classes, _NEEDLE_IDS), NEEDLE_BOOST, 1.0)
        keep = u < self.keep_prob * weight
        if keep.any():
            self._parts.append(
                (
                    (u / weight)[keep],
                    classes[keep].astype(np.int32),
                    lon[keep].copy(),
                    lat[keep].copy(),
                    np.array(x[keep], dtype=np.float32),
                )
            )

    def finish(self) -> dict[str, NDArray[Any]]:
        """The arrays of ``labelled.npz`` (train/test split by region)."""
        dim = self._parts[0][4].shape[1] if self._parts else 0
        rank = np.concatenate([p[0] for p in self._parts]) if self._parts else np.zeros(0)
        y = np.concatenate([p[1] for p in self._parts]) if self._parts else np.zeros(0, np.int32)
        lon = np.concatenate([p[2] for p in self._parts]) if self._parts else np.zeros(0)
        lat = np.concatenate([p[3] for p in self._parts]) if self._parts else np.zeros(0)
        x = (
            np.concatenate([p[4] for p in self._parts])
            if self._parts
            else np.zeros((0, dim), np.float32)
        )
        if rank.size > self.max_rows:
            keep = np.sort(np.argsort(rank, kind="stable")[: self.max_rows])
            y, lon, lat, x = y[keep], lon[keep], lat[keep], x[keep]
        block_deg = self.block_deg
        while np.unique(_blocks(lon, lat, block_deg)).size < _MIN_BLOCKS and block_deg > 0.025:
            block_deg /= 2.0
        test = spatial_split(lon, lat, seed=self.seed, block_deg=block_deg)
        return {
            "x_train": x[~test],
            "y_train": y[~test],
            "x_test": x[test],
            "y_test": y[test],
            "classes": np.array(CLASSES),
            "lon_train": lon[~test],
            "lat_train": lat[~test],
            "lon_test": lon[test],
            "lat_test": lat[test],
            "block_deg": np.array(block_deg),
        }


def write_npz(path: str | os.PathLike[str], arrays: dict[str, NDArray[Any]]) -> None:
    """Write ``arrays`` as an ``.npz`` that ``np.load`` reads, byte-identical across runs.

    ``np.savez`` stamps each member with the current time; this fixes it at 1980-01-01.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> write_npz(p, {"a": np.arange(3)})
    >>> np.load(p)["a"].tolist()
    [0, 1, 2]
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(arr), allow_pickle=False)
