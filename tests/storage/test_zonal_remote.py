"""Zonal statistics with the tile index and tiles on nginx (HTTP Range) and on S3 (moto)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from terrabit.world.aef import write_aef_tiles
from terrabit.zonal.engine import zonal_stats

from .conftest import S3, Nginx

REGION = (-66.012, 45.25, -65.994, 45.262)  # across the UTM 19N/20N boundary at 66°W
YEAR = 2024
STATS = ["mean", "std", "min", "max"]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("aef_remote")
    return write_aef_tiles(
        root, seed=1, bbox=REGION, years=[YEAR], tile_px=128, show_progress=False
    )


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["west", "zones", "east"]},
        geometry=[
            shapely.box(-66.009, 45.253, -66.004, 45.257),
            shapely.Polygon([(-66.003, 45.255), (-65.996, 45.2555), (-65.997, 45.2585)]),
            shapely.box(-65.998, 45.258, -65.995, 45.261),
        ],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def local(tiles: dict[str, Any], polygons: gpd.GeoDataFrame) -> pd.DataFrame:
    table, summary = zonal_stats(
        polygons, index=tiles["index"], year=YEAR, stats=STATS, show_progress=False
    )
    assert summary["polygons_with_data"] == 3 and summary["tiles"] >= 2
    return pd.DataFrame(table.drop(columns="geometry"))


def test_index_and_tiles_on_nginx(
    nginx: Nginx, tiles: dict[str, Any], polygons: gpd.GeoDataFrame, local: pd.DataFrame
) -> None:
    shutil.copytree(Path(tiles["index"]).parent, nginx.root / "aef")
    table, _ = zonal_stats(
        polygons,
        index=f"{nginx.url}/aef/index.parquet",
        year=YEAR,
        stats=STATS,
        show_progress=False,
    )
    pd.testing.assert_frame_equal(pd.DataFrame(table.drop(columns="geometry")), local)
    tile_gets = [r for r in nginx.requests() if r[0] == "GET" and r[1].endswith(".tiff")]
    assert tile_gets and all(status == 206 for _, _, status, _ in tile_gets)


def test_index_and_tiles_on_s3(
    s3_env: S3, tiles: dict[str, Any], polygons: gpd.GeoDataFrame, local: pd.DataFrame
) -> None:
    s3_env.upload(Path(tiles["index"]).parent, "aef")
    table, summary = zonal_stats(
        polygons,
        index=f"s3://{s3_env.bucket}/aef/index.parquet",
        year=YEAR,
        stats=STATS,
        show_progress=False,
    )
    assert summary["tiles"] >= 2
    pd.testing.assert_frame_equal(pd.DataFrame(table.drop(columns="geometry")), local)
