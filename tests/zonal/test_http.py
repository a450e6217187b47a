"""Tile indexes and tiles over ``http://``: read by Range requests, same results as local."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.corpus import tiles as tile_index
from terrabit.corpus.tiles import read_tile_index
from terrabit.errors import InvalidInputError, RegionError
from terrabit.zonal.engine import TileReadError, zonal_stats

from .conftest import REGION, YEAR
from .rangeserver import Log, serve

#: Far-away filler rows that make the big index span many row groups.
_FILLER = 40_000


@pytest.fixture(scope="module")
def site(
    aef: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Log, Path]]:
    """The AEF tiles and their index (parquet, csv, gpkg, a many-row-group parquet) served
    over HTTP with Range support."""
    root = tmp_path_factory.mktemp("site")
    src = Path(aef["index"]).parent
    shutil.copytree(src, root, dirs_exist_ok=True)
    frame = gpd.read_parquet(root / "index.parquet")
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(root / "index.csv", index=False)
    frame.to_file(root / "index.gpkg")
    plain = pd.DataFrame(frame.drop(columns="geometry"))
    filler = plain.iloc[np.zeros(_FILLER, dtype=np.intp)].reset_index(drop=True)
    shift = np.arange(1, _FILLER + 1) * 0.05
    for col in ("wgs84_west", "wgs84_east"):
        filler[col] = filler[col].to_numpy() + 10 + shift  # east of the region, off its bbox
    filler["path"] = [f"far/{i}.tiff" for i in range(_FILLER)]
    big = pd.concat([plain, filler], ignore_index=True)
    pq.write_table(
        pa.Table.from_pandas(big, preserve_index=False), root / "big.parquet", row_group_size=2000
    )
    with serve(root) as (url, log):
        yield url, log, root


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["two_tiles", "zones", "sea"]},
        geometry=[
            shapely.box(-66.009, 45.259, -66.005, 45.262),
            shapely.Polygon([(-66.003, 45.255), (-65.996, 45.2555), (-65.997, 45.2585)]),
            shapely.box(-66.024, 45.2465, -66.022, 45.2475),
        ],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("kind", ["parquet", "csv", "gpkg"])
def test_index_over_http_matches_local(site: Any, aef: dict[str, Any], kind: str) -> None:
    url, _, _ = site
    remote = read_tile_index(f"{url}/index.{kind}", bbox=REGION, year=YEAR)
    local = read_tile_index(aef["index"], bbox=REGION, year=YEAR)
    assert len(remote) == len(local) == 11
    assert all(p.startswith(f"{url}/2024/") for p in remote["path"])  # resolved against the URL
    rel = sorted(p[len(url) + 1 :] for p in remote["path"])
    assert rel == sorted(str(Path(p).relative_to(Path(aef["index"]).parent)) for p in local["path"])


def test_big_index_is_read_by_row_groups(site: Any) -> None:
    url, log, root = site
    before = log.sent("/big.parquet")
    tiles = read_tile_index(f"{url}/big.parquet", bbox=REGION, year=YEAR)
    sent = log.sent("/big.parquet") - before
    assert len(tiles) == 11 and not any("far/" in p for p in tiles["path"])
    size = (root / "big.parquet").stat().st_size
    assert 0 < sent < size / 4, (sent, size)  # footer + the first row group, not the file
    assert all(rng is not None for _, _, rng, _ in log.gets("/big.parquet"))


def test_http_index_errors(site: Any) -> None:
    url, _, _ = site
    with pytest.raises(InvalidInputError, match=r"tile index .*/nope\.parquet' does not exist"):
        read_tile_index(f"{url}/nope.parquet")
    with pytest.raises(RegionError, match="in year 2023"):
        read_tile_index(f"{url}/index.parquet", bbox=REGION, year=2023)


def test_tiles_over_http_identical_to_local(
    site: Any, aef: dict[str, Any], polygons: gpd.GeoDataFrame
) -> None:
    url, log, _ = site
    stats = ["mean", "std", "min", "max"]
    local, _ = zonal_stats(
        polygons, index=aef["index"], year=YEAR, stats=stats, show_progress=False
    )
    remote, summary = zonal_stats(
        polygons, index=f"{url}/index.parquet", year=YEAR, stats=stats, show_progress=False
    )
    assert summary["tiles"] >= 3 and summary["polygons_with_data"] == 2
    pd.testing.assert_frame_equal(
        pd.DataFrame(remote.drop(columns="geometry")),
        pd.DataFrame(local.drop(columns="geometry")),
        check_exact=True,
    )
    tile_gets = log.gets(".tiff")
    assert tile_gets and all(rng is not None for _, _, rng, _ in tile_gets)  # windowed reads


def test_cli_with_http_index(site: Any, polygons: gpd.GeoDataFrame, tmp_path: Path) -> None:
    url, _, _ = site
    blocks = tmp_path / "blocks.parquet"
    polygons.to_parquet(blocks)
    out = tmp_path / "f.parquet"
    res = CliRunner().invoke(
        cli,
        [
            *("zonal", "stats", str(blocks), "--index", f"{url}/index.gpkg"),
            *("--year", str(YEAR), "--stats", "mean", "-o", str(out), "--json"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["polygons_with_data"] == 2
    assert pq.read_table(out).column("pixel_count").to_pylist()[2] == 0  # the sea block


def test_unreachable_http_tile_is_reported_by_url(
    site: Any, polygons: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, log, root = site
    monkeypatch.setattr(tile_index, "RETRY_SLEEP_S", 0.0)
    monkeypatch.setitem(tile_index.REMOTE_GDAL, "GDAL_HTTP_MAX_RETRY", "0")
    # fresh URLs: GDAL caches what it read of the tiles at the URLs of the other tests
    shutil.copytree(root / "2024", root / "outage" / "2024")
    shutil.copy(root / "index.parquet", root / "outage" / "index.parquet")
    url = f"{url}/outage"
    tiles = read_tile_index(f"{url}/index.parquet", bbox=REGION, year=YEAR)
    down = sorted(p.split("/", 3)[3] for p in tiles["path"] if "20N" in p)
    down = ["/" + p for p in down]
    log.set_failing(down)
    try:
        with pytest.raises(
            TileReadError,
            match=r"could not be read after 3 attempts: http://127\.0\.0\.1:\d+/outage/2024/20N/",
        ):
            zonal_stats(
                polygons.iloc[[1]], index=f"{url}/index.parquet", year=YEAR, show_progress=False
            )
        assert [r for r in log.requests if r[1] in down]  # asked for, answered 503
    finally:
        log.set_failing([])
