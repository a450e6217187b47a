"""Shared tiny inputs for the evaluate tests: a seeded labelled set (d=64, n=600)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely


@dataclass(frozen=True)
class Labelled:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_labelled(
    n: int = 600, d: int = 64, n_classes: int = 5, latent: int = 12, seed: int = 0
) -> Labelled:
    """A make_classification-like set: class blobs on a ``latent``-dim subspace + noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, latent)))[0].T  # [latent, d]
    centres = rng.normal(scale=1.6, size=(n_classes, latent))
    y = rng.integers(0, n_classes, n)
    z = centres[y] + rng.normal(size=(n, latent))
    x = (z @ basis + 0.15 * rng.normal(size=(n, d)) + 0.3).astype(np.float32)
    cut = int(0.75 * n)
    return Labelled(x[:cut], y[:cut], x[cut:], y[cut:])


@pytest.fixture(scope="session")
def labelled() -> Labelled:
    return make_labelled()


@pytest.fixture(scope="session")
def small() -> Labelled:
    return make_labelled(n=240, d=32, n_classes=3, latent=6, seed=1)


@pytest.fixture(scope="session")
def measurable() -> Labelled:
    """Enough rows (2400) for the codec measurement of ``--recommend``."""
    return make_labelled(n=2400, d=32, n_classes=3, latent=6, seed=2)


def write_npz(path: Path, data: Labelled, *, classes: list[str] | None = None) -> Path:
    extra = {} if classes is None else {"classes": np.array(classes)}
    np.savez(
        path,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        **extra,
    )
    return path


def write_patches(root: Path, data: Labelled, *, seed: int = 0, as_list: bool = False) -> Path:
    """A tiny GeoParquet patch corpus like the world's: root/patches/*.parquet (two files)."""
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-10, 30, x.shape[0])
    lat = rng.uniform(35, 60, x.shape[0])
    names = np.array(["forest", "crop", "water", "urban", "grass"])
    (root / "patches").mkdir(parents=True)
    half = x.shape[0] // 2
    for part, sl in enumerate((slice(0, half), slice(half, None))):
        n = x[sl].shape[0]
        typ = pa.list_(pa.float32()) if as_list else pa.list_(pa.float32(), x.shape[1])
        emb = pa.array(list(x[sl]), type=typ)
        table = pa.table(
            {
                "id": [f"p{part}-{i}" for i in range(n)],
                "geometry": shapely.to_wkb(shapely.points(lon[sl], lat[sl])),
                "datetime": pa.array(np.full(n, 1_700_000_000_000_000), pa.timestamp("us")),
                "embedding": emb,
                "label": names[y[sl] % names.size],
                "year": np.full(n, 2024, np.int32),
            }
        )
        pq.write_table(table, root / "patches" / f"part-{part}.parquet")
    return root


@pytest.fixture(scope="session")
def npz_writer():  # type: ignore[no-untyped-def]
    """The :func:`write_npz` helper (importlib import mode cannot import conftest)."""
    return write_npz


@pytest.fixture(scope="session")
def patch_writer():  # type: ignore[no-untyped-def]
    """The :func:`write_patches` helper."""
    return write_patches
