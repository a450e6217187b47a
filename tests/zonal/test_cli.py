"""``terrabit zonal stats`` through the CLI: JSON summary, filters, errors by message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.geoparquet import GEO_KEY

from .conftest import YEAR


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four blocks in UTM 19N (a GeoPackage): land, all-water, oversized, self-intersecting."""
    path = tmp_path_factory.mktemp("blocks") / "blocks.gpkg"
    x, y = 735000.0, 5015800.0
    bow = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    frame = gpd.GeoDataFrame(
        {"GEOID": ["a", "w", "big", "bow"], "ALAND": [100, 0, 100, 100]},
        geometry=[
            shapely.box(x, y, x + 100, y + 100),
            shapely.box(x - 1500, y - 300, x - 1400, y - 200),
            shapely.box(x - 1000, y - 4000, x + 5000, y + 1000),
            bow,
        ],
        crs="EPSG:32619",
    )
    frame.to_file(path)
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["zonal", "stats", *args])


def test_stats_json_summary_and_output(aef: dict[str, Any], blocks: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    res = _run(
        str(blocks),
        "--index",
        aef["index"],
        "--year",
        str(YEAR),
        "--drop-water",
        "--stats",
        "mean,std,max",
        "-o",
        str(out),
        "--json",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["input"], summary["dropped_water"], summary["dropped_oversized"]) == (4, 1, 1)
    assert summary["repaired"] == 1 and summary["polygons"] == 2
    table = pq.read_table(out)
    assert GEO_KEY in table.schema.metadata
    names = table.column_names
    assert names[:4] == ["GEOID", "ALAND", "A00_mean", "A00_std"]
    assert "A63_max" in names and names[-3:] == ["pixel_count", "coverage", "geometry"]
    assert table.column("GEOID").to_pylist() == ["a", "bow"]
    assert table.column("pixel_count").to_pylist()[0] == pytest.approx(100.0, rel=1e-6)
    assert not (tmp_path / ".f.parquet.zonal-work").exists()


def test_existing_output_refused(aef: dict[str, Any], blocks: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    out.write_text("keep me")
    res = _run(str(blocks), "--index", aef["index"], "-o", str(out))
    assert res.exit_code == 1
    assert "already exists; pass --overwrite" in res.stderr
    assert out.read_text() == "keep me"


def test_bad_inputs_by_message(aef: dict[str, Any], blocks: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "f.parquet")
    res = _run(str(blocks), "-o", out)
    assert (
        res.exit_code == 1
        and "no tiles given; pass --index (a table of tiles) or --raster (raster files)"
        in res.stderr
    )
    res = _run(str(blocks), "--index", aef["index"], "--stats", "mean,median", "-o", out)
    assert res.exit_code == 2 and "unknown statistic(s) ['median']" in res.stderr
    res = _run(str(blocks), "--index", aef["index"], "--year", "2023", "-o", out)
    assert (
        res.exit_code == 1 and "has no tile for bbox" in res.stderr and "in year 2023" in res.stderr
    )


def test_bbox_and_raster_options(aef: dict[str, Any], blocks: Path, tmp_path: Path) -> None:
    import pandas as pd

    root = Path(aef["index"]).parent
    rasters = [str(root / p) for p in pd.read_parquet(aef["index"])["path"]]
    out = tmp_path / "f.parquet"
    args = [str(blocks), "-o", str(out), "--json", "--max-area-km2", "0", "--stats", "max"]
    for r in rasters:
        args += ["--raster", r]
    # a box inside block "a" (also met by "big" and "bow"; the all-water block lies outside)
    res = _run(*args, "--bbox", "-66.0049,45.2559,-66.0038,45.2566")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["dropped_oversized"] == 0 and summary["polygons"] == 3
    table = pq.read_table(out)
    assert sorted(table.column("GEOID").to_pylist()) == ["a", "big", "bow"]
    assert "A00_max" in table.column_names and "A00_mean" not in table.column_names


def test_zipped_shapefile_tiger_style_and_overwrite(aef: dict[str, Any], tmp_path: Path) -> None:
    """A TIGER/Line-like zipped shapefile (NAD83, ALAND) through the CLI; --overwrite."""
    import zipfile

    shp = tmp_path / "shp"
    shp.mkdir()
    frame = gpd.GeoDataFrame(
        {"GEOID20": ["1", "2"], "ALAND20": [5000, 0], "ALAND": [5000, 0]},
        geometry=[
            shapely.box(-66.006, 45.255, -66.004, 45.257),
            shapely.box(-66.009, 45.255, -66.007, 45.257),
        ],
        crs="EPSG:4269",
    )
    frame.to_file(shp / "tl_2020_blocks.shp")
    archive = tmp_path / "tl_2020_blocks.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(shp.iterdir()):
            zf.write(part, part.name)
    out = tmp_path / "f.parquet"
    args = [str(archive), "--index", aef["index"], "--year", str(YEAR), "--drop-water"]
    res = _run(*args, "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["input"] == 2 and summary["dropped_water"] == 1 and summary["polygons"] == 1
    assert pq.read_table(out).column("GEOID20").to_pylist() == ["1"]
    res = _run(*args, "--stats", "max", "-o", str(out), "--json")
    assert res.exit_code == 1 and "already exists; pass --overwrite" in res.stderr
    res = _run(*args, "--stats", "max", "-o", str(out), "--json", "--overwrite")
    assert res.exit_code == 0, res.output
    assert "A00_max" in pq.read_table(out).column_names
