"""Tiny seeded AEF worlds shared by the zonal tests (generated once per session).

The region straddles the UTM 19N/20N boundary at 66°W, holds sea (nodata) to the
south-west and is split into 128-px tiles, so polygons can cross tiles and zones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from terrabit.world.aef import write_aef_tiles

#: lon/lat region of the test tiles (~2.7 km x 1.9 km; sea at its south-west).
REGION = (-66.025, 45.246, -65.99, 45.263)
YEAR = 2024


def _tiles(root: Path, *, bottom_up: bool) -> dict[str, Any]:
    return write_aef_tiles(
        root,
        seed=0,
        bbox=REGION,
        years=[YEAR],
        tile_px=128,
        bottom_up=bottom_up,
        show_progress=False,
    )


@pytest.fixture(scope="session", autouse=True)
def _zonal_registered() -> Any:
    """Register ``terrabit zonal`` in the CLI (a no-op once the coordinator has)."""
    from terrabit.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(main.COMMANDS, "zonal", "terrabit.cli.zonal:zonal")
        yield


@pytest.fixture(scope="session")
def aef(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _tiles(tmp_path_factory.mktemp("aef"), bottom_up=False)


@pytest.fixture(scope="session")
def aef_bottom_up(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _tiles(tmp_path_factory.mktemp("aef_bu"), bottom_up=True)


#: A region with urban and rural blocks (15 U, 12 R for seed 0), for the model tests.
MIXED = (-66.08, 45.285, -66.05, 45.305)


@pytest.fixture(scope="session")
def mixed_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from terrabit.world.zones import write_zones

    root = tmp_path_factory.mktemp("mixed")
    tiles = write_aef_tiles(
        root / "aef", seed=0, bbox=MIXED, years=[2023], tile_px=256, show_progress=False
    )
    zones = write_zones(root / "zones.parquet", seed=0, aef_bbox=MIXED)
    return {"index": tiles["index"], "zones": zones["path"], "root": root}
