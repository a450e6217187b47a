"""Tiny seeded worlds shared by the world tests (generated once per test session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrabit.world.generate import WorldSummary, generate_world

#: The small test world: 1000 places x 2 years, 64-d embeddings, no AEF part.
SMALL = {"n": 2000, "dim": 64, "aef": False, "progress": False}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldSummary]:
    out = tmp_path_factory.mktemp("world") / "w"
    return out, generate_world(out, seed=0, **SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world_again(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world_again") / "w"
    generate_world(out, seed=0, **SMALL)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="session")
def world_seed1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world_seed1") / "w"
    generate_world(out, seed=1, **SMALL)  # type: ignore[arg-type]
    return out
