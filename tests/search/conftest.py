"""Tiny seeded corpora for the search tests, and the brute-force oracle.

The input holds ``PLACES`` places observed in two years (ids ``<place>-2023`` and
``<place>-2024``, identical footprints, slightly different embeddings), like the world.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import publish
from terrabit.corpus._fixture import input_batches
from terrabit.corpus.format import crs84_projjson

PLACES = 1200
DIMS = 64


def _twin_input(path: Path) -> Path:
    batch = next(input_batches(PLACES, dims=DIMS, seed=11, batch_rows=PLACES, towns=40))
    rng = np.random.default_rng(12)
    base = batch.column("embedding").values.to_numpy().reshape(PLACES, DIMS)
    tables = []
    for year, shift in ((2023, 0.0), (2024, 0.4)):
        emb = base + shift * rng.normal(size=base.shape).astype(np.float32)
        ids = [f"{i[1:]}-{year}" for i in batch.column("id").to_pylist()]
        days = np.arange(PLACES) % 300
        when = pa.array(
            np.datetime64(f"{year}-01-01", "us") + days * np.timedelta64(1, "D"),
            pa.timestamp("us"),
        )
        tables.append(
            pa.table(
                {
                    "id": pa.array(ids, pa.string()),
                    "geometry": batch.column("geometry"),
                    "datetime": when.cast(pa.timestamp("us", tz="UTC")),
                    "embedding": pa.FixedSizeListArray.from_arrays(
                        pa.array(emb.astype(np.float32).ravel()), DIMS
                    ),
                }
            )
        )
    table = pa.concat_tables(tables)
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {"encoding": "WKB", "geometry_types": ["Polygon"], "crs": crs84_projjson()}
        },
    }
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def twin_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two years of ``PLACES`` places (2400 rows, 64-d float embeddings)."""
    return _twin_input(tmp_path_factory.mktemp("search-input") / "twin.parquet")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, twin_input: Path) -> Path:
    """``twin_input`` published with the binary codec, small shards and row groups."""
    out = tmp_path_factory.mktemp("search-corpus") / "c"
    publish(twin_input, out, max_rows=250, row_group_rows=64, show_progress=False)
    return out


@pytest.fixture(scope="session")
def rerank_dir(tmp_path_factory: pytest.TempPathFactory, twin_input: Path) -> Path:
    """``twin_input`` published with an int8 rerank column."""
    out = tmp_path_factory.mktemp("search-rerank") / "c"
    publish(twin_input, out, rerank="int8", max_rows=250, row_group_rows=64, show_progress=False)
    return out


@pytest.fixture(scope="session")
def all_rows(corpus_dir: Path) -> pa.Table:
    """Every row of ``corpus_dir``, read with plain pyarrow (no terrabit reader)."""
    files = sorted(glob.glob(str(corpus_dir / "shards" / "*.parquet")))
    return pa.concat_tables(
        [pq.read_table(f, columns=["id", "geometry", "embedding", "datetime"]) for f in files]
    )


@pytest.fixture(scope="session")
def busy_box(all_rows: pa.Table) -> tuple[float, float, float, float]:
    """A 4-degree bbox around the most crowded 1-degree cell: a few hundred rows."""
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    centres = shapely.centroid(geoms)
    cells = np.column_stack([np.floor(shapely.get_x(centres)), np.floor(shapely.get_y(centres))])
    uniq, counts = np.unique(cells, axis=0, return_counts=True)
    x0, y0 = uniq[np.argmax(counts)]
    return (float(x0) - 1.5, float(y0) - 1.5, float(x0) + 2.5, float(y0) + 2.5)


def _codes(column: Any) -> np.ndarray:
    values = column.to_pylist()
    return np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` Hamming distances with numpy unpackbits (no terrabit kernel)."""
    ua = np.unpackbits(a, axis=1).astype(np.int32)
    ub = np.unpackbits(b, axis=1).astype(np.int32)
    return (ua[:, None, :] != ub[None, :, :]).sum(axis=2)


@pytest.fixture(scope="session")
def brute_force(all_rows: pa.Table) -> Callable[..., list[tuple[float, str]]]:
    """``brute(region_geom, pos_ids, neg_ids, combine, invert, year)`` -> sorted (score, id)."""
    ids = np.array(all_rows.column("id").to_pylist(), dtype=object)
    codes = _codes(all_rows.column("embedding"))
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    years = np.array([t.year for t in all_rows.column("datetime").to_pylist()])
    index = {v: i for i, v in enumerate(ids)}
    n_bits = codes.shape[1] * 8

    def combine_bits(rows: np.ndarray, how: str) -> np.ndarray:
        bits = np.unpackbits(rows, axis=1)
        if how == "majority":
            out = 2 * bits.sum(axis=0) > bits.shape[0]
        elif how == "and":
            out = bits.all(axis=0)
        elif how == "or":
            out = bits.any(axis=0)
        else:
            out = bits.sum(axis=0) % 2 == 1
        return np.packbits(out.astype(np.uint8))[None, :]

    def brute(
        region: Any,
        pos: list[str],
        neg: list[str] = [],  # noqa: B006
        combine: str = "mean",
        invert: bool = False,
        year: int | None = None,
    ) -> list[tuple[float, str]]:
        keep = (
            np.ones(len(ids), dtype=bool) if region is None else shapely.intersects(geoms, region)
        )
        if year is not None:
            keep &= years == year
        keep &= ~np.isin(ids, pos + neg)
        cand = np.flatnonzero(keep)
        pc_ = codes[[index[p] for p in pos]]
        nc_ = codes[[index[p] for p in neg]] if neg else None
        if combine == "mean":
            s = _hamming(pc_, codes[cand]).mean(axis=0)
            if nc_ is not None:
                s = s - _hamming(nc_, codes[cand]).mean(axis=0)
        else:
            s = _hamming(combine_bits(pc_, combine), codes[cand])[0].astype(float)
            if nc_ is not None:
                s = s - _hamming(combine_bits(nc_, combine), codes[cand])[0]
        if invert:
            s = -s if nc_ is not None else n_bits - s
        return sorted(zip(s.tolist(), ids[cand].tolist(), strict=True))

    return brute
