"""Tile indexes in GeoParquet, GeoPackage and CSV, with bbox and year filters; .vrt tiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from terrabit.corpus.tiles import read_tile_index
from terrabit.errors import InvalidInputError, RegionError
from terrabit.zonal.engine import zonal_stats

from .conftest import REGION, YEAR

#: The north-east corner of the region: tiles of zone 20N only.
CORNER = (-65.9905, 45.259, -65.9901, 45.262)


@pytest.fixture(scope="module")
def formats(aef: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = Path(aef["index"]).parent
    frame = gpd.read_parquet(aef["index"])
    csv = root / "index.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(csv, index=False)
    gpkg = root / "index.gpkg"
    frame.to_file(gpkg)
    return {"parquet": aef["index"], "csv": str(csv), "gpkg": str(gpkg)}


@pytest.mark.parametrize("kind", ["parquet", "csv", "gpkg"])
def test_formats_agree(formats: dict[str, str], kind: str) -> None:
    tiles = read_tile_index(formats[kind], bbox=CORNER, year=YEAR)
    reference = read_tile_index(formats["parquet"], bbox=CORNER, year=YEAR)
    assert sorted(tiles["path"]) == sorted(reference["path"])
    assert 0 < len(tiles) < 11
    assert all(Path(p).exists() for p in tiles["path"])  # resolved against the index
    assert set(tiles["crs"]) == {"EPSG:32620"}


def test_whole_region_and_year_filter(formats: dict[str, str]) -> None:
    assert len(read_tile_index(formats["parquet"], bbox=REGION, year=YEAR)) == 11
    with pytest.raises(RegionError, match="in year 2023"):
        read_tile_index(formats["csv"], bbox=REGION, year=2023)


def test_missing_index_and_columns(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_tile_index(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"path": ["a.tif"], "year": [2024]}).to_csv(bad, index=False)
    with pytest.raises(InvalidInputError, match="lacks the column 'crs'"):
        read_tile_index(bad)


def test_vrt_siblings_match_tiff(aef_bottom_up: dict[str, Any]) -> None:
    index = read_tile_index(aef_bottom_up["index"], year=YEAR)
    tiffs = list(index["path"])
    vrts = [str(Path(p).with_suffix(".vrt")) for p in tiffs]
    assert all(Path(v).exists() for v in vrts)
    polys = gpd.GeoDataFrame(
        geometry=[shapely.box(-66.006, 45.252, -65.997, 45.258)], crs="EPSG:4326"
    )
    a, _ = zonal_stats(polys, rasters=tiffs, show_progress=False)
    b, _ = zonal_stats(polys, rasters=vrts, show_progress=False)
    assert a["pixel_count"].iloc[0] > 100
    np.testing.assert_allclose(a["A00_mean"], b["A00_mean"], atol=1e-12)
    np.testing.assert_allclose(a["pixel_count"], b["pixel_count"], rtol=1e-9)
