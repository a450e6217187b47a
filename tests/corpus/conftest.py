"""Shared tiny inputs and corpora for the corpus tests (seeded, a few thousand rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input

ROWS = 3000
DIMS = 64


@pytest.fixture(scope="session")
def input_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world-like GeoParquet input (id, geometry, datetime, embedding, label, year)."""
    return write_input(
        tmp_path_factory.mktemp("input") / "part-0.parquet",
        rows=ROWS,
        dims=DIMS,
        seed=3,
        row_group_rows=500,
    )


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, input_file: Path) -> Path:
    """``input_file`` published with small shards and row groups."""
    out = tmp_path_factory.mktemp("corpus") / "c"
    publish(input_file, out, max_rows=400, row_group_rows=64, keep=["label"], show_progress=False)
    return out
