"""Seeded, world-like publish inputs (the schema ``terrabit world`` writes), for tests,
doctests, ``spec/fixtures/make.py`` and the benchmarks.

Rows are square patch footprints (WKB polygons, CRS84) clustered around a few hundred
"towns", with float32 embeddings on a low-dimensional manifold plus noise, a
``datetime``, a ``label`` and a ``year``.

Examples
--------
>>> import tempfile, pathlib
>>> path = write_input(pathlib.Path(tempfile.mkdtemp()) / "x.parquet", rows=10, dims=8)
>>> import pyarrow.parquet as pq
>>> pq.read_schema(path).names
['id', 'geometry', 'datetime', 'embedding', 'label', 'year']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit.geoparquet import GEO_KEY, geo_metadata

__all__ = ["input_batches", "write_input"]

_LABELS = ("water", "forest", "crop", "urban", "bare", "grass")


def input_batches(
    rows: int,
    *,
    dims: int = 64,
    seed: int = 0,
    batch_rows: int = 65536,
    patch_deg: float = 0.02,
    towns: int = 300,
    latent: int = 12,
    noise: float = 0.2,
    levels: int = 0,
) -> Iterator[pa.RecordBatch]:
    """Yield world-like input rows in batches (deterministic for the arguments).

    ``noise`` scales the per-row Gaussian noise added to the manifold signal: a large
    value (e.g. 100) gives near-random sign codes, the incompressible worst case.
    ``levels`` > 0 rounds every value to one of ``levels`` evenly spaced values in
    [-3, 3], as AlphaEarth's int8 values are when dequantized: still float32, but a
    Parquet dictionary stores them in about a byte each (big inputs fit on a disk).
    """
    rng = np.random.default_rng(seed)
    centres = np.column_stack(
        [rng.uniform(-170, 170, towns), np.degrees(np.arcsin(rng.uniform(-0.85, 0.95, towns)))]
    )
    spread = rng.uniform(0.1, 2.0, towns)
    weights = rng.pareto(1.2, towns) + 0.05
    weights /= weights.sum()
    basis = rng.normal(size=(latent, dims)).astype(np.float32) / np.sqrt(latent)
    protos = rng.normal(size=(len(_LABELS), latent)).astype(np.float32)
    start = np.datetime64("2023-01-01T00:00:00", "us")
    done = 0
    while done < rows:
        n = min(batch_rows, rows - done)
        town = rng.choice(towns, size=n, p=weights)
        lon = np.clip(centres[town, 0] + rng.normal(size=n) * spread[town], -179.9, 179.9)
        lat = np.clip(centres[town, 1] + rng.normal(size=n) * spread[town] * 0.6, -84.0, 84.0)
        half = patch_deg / 2
        geoms = shapely.box(lon - half, lat - half, lon + half, lat + half)
        label = rng.integers(0, len(_LABELS), n)
        z = protos[label] + 0.3 * np.sin(np.column_stack([lon, lat]) @ rng.normal(size=(2, latent)))
        X = z.astype(np.float32) @ basis + noise * rng.normal(size=(n, dims)).astype(np.float32)
        if levels:
            step = np.float32(6.0 / (levels - 1))
            X = (np.round(np.clip(X, -3.0, 3.0) / step) * step).astype(np.float32)
        ids = np.char.add("p", np.char.zfill(np.arange(done, done + n).astype(str), 9))
        year = rng.integers(2023, 2025, n)
        when = (
            start
            + (year - 2023) * np.timedelta64(365, "D")
            + rng.integers(0, 300, n) * np.timedelta64(1, "D")
        )
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(ids.astype(object), pa.string()),
                pa.array(shapely.to_wkb(geoms, byte_order=1, flavor="iso"), pa.binary()),
                pa.array(when, pa.timestamp("us", tz="UTC")),
                pa.FixedSizeListArray.from_arrays(pa.array(X.astype(np.float32).ravel()), dims),
                pa.array(np.array(_LABELS)[label].astype(object), pa.string()),
                pa.array(year.astype(np.int32)),
            ],
            names=["id", "geometry", "datetime", "embedding", "label", "year"],
        )
        done += n


def _geo(bbox: list[float]) -> bytes:
    return json.dumps(geo_metadata(bbox, ["Polygon"], covering=False)).encode()


def write_input(
    path: str | os.PathLike[str],
    *,
    rows: int,
    dims: int = 64,
    seed: int = 0,
    row_group_rows: int = 16384,
    **kwargs: float | int,
) -> Path:
    """Write a world-like GeoParquet input file of ``rows`` rows; return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    try:
        for rb in input_batches(rows, dims=dims, seed=seed, **kwargs):  # type: ignore[arg-type]
            if writer is None:
                schema = rb.schema.with_metadata({GEO_KEY: _geo([-180.0, -90.0, 180.0, 90.0])})
                writer = pq.ParquetWriter(target, schema, compression="zstd")
            writer.write_batch(rb, row_group_size=row_group_rows)
    finally:
        if writer is not None:
            writer.close()
    return target
