"""``terrabit zonal stats`` on metre coordinates declared as degrees says so, and how to fix."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from click.testing import CliRunner

from terrabit.cli.main import cli


def test_utm_coordinates_declared_as_degrees(aef: dict[str, Any], tmp_path: Path) -> None:
    polygons = tmp_path / "blocks.gpkg"
    x, y = 735000.0, 5015800.0  # UTM 19N metres, declared as lon/lat below
    gpd.GeoDataFrame(
        {"GEOID": ["a"]}, geometry=[shapely.box(x, y, x + 100, y + 100)], crs="EPSG:4326"
    ).to_file(polygons)
    before = hashlib.sha256(polygons.read_bytes()).hexdigest()
    res = CliRunner().invoke(
        cli,
        [
            "zonal",
            "stats",
            str(polygons),
            "--index",
            aef["index"],
            "-o",
            str(tmp_path / "f.parquet"),
        ],
    )
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1, res.stderr  # one line: no warning before it
    line = res.stderr.splitlines()[-1]
    assert line == (
        f"Error: the tile index {aef['index']!r} has no tile for bbox (735000.0, 5015800.0, "
        "735100.0, 5015900.0); these coordinates lie outside ±180/±90, so they look projected "
        "(metres), not degrees: the polygons' CRS is declared wrongly; declare the true one in "
        "the file (e.g. `ogr2ogr -a_srs EPSG:32619 fixed.gpkg polygons.gpkg`) or, for a file "
        "that declares none, pass --polygons-crs (e.g. 'EPSG:32619')"
    )
    assert hashlib.sha256(polygons.read_bytes()).hexdigest() == before
    assert not (tmp_path / "f.parquet").exists()
