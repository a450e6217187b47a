"""A LON,LAT exemplar no footprint contains snaps to the nearest row within a tolerance:
on a point corpus (the Paris row of the issue) and on footprints, distances against a
haversine written here, the nearest row against a brute force over every row."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit.cli.main import TerrabitGroup
from terrabit.cli.search import search as search_command
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.errors import InvalidInputError
from terrabit.search.query import search

PARIS = (2.348842, 48.853421)


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 random points far from Paris, and Paris: a point corpus (--lon-col/--lat-col)."""
    tmp = tmp_path_factory.mktemp("points")
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(20, 170, 300), PARIS[0]]
    lat = np.r_[rng.uniform(-60, 60, 300), PARIS[1]]
    x = rng.normal(size=(301, 32)).astype(np.float32)
    table = pa.table(
        {
            "id": pa.array([f"p{i:03d}" for i in range(300)] + ["paris"]),
            "lon": pa.array(lon),
            "lat": pa.array(lat),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 32),
        }
    )
    pq.write_table(table, tmp / "p.parquet")
    publish(tmp / "p.parquet", tmp / "c", lon_col="lon", lat_col="lat", show_progress=False)
    return tmp / "c"


def test_a_rounded_point_takes_the_paris_row(points: Path) -> None:
    with open_corpus(points) as c:
        result = search(c, (0, 40, 10, 55), positives=[(2.3488, 48.8534)], view="outlier")
        (ex,) = result.exemplars
        assert ex.id == "paris" and ex.kind == "point"
        want = _haversine(2.3488, 48.8534, *PARIS)
        assert ex.snapped_m is not None and abs(ex.snapped_m - want) < 0.2  # 3.9 m
        assert result.query["exemplars"][0]["snapped_m"] == ex.snapped_m


def test_a_point_beyond_the_tolerance_names_snap_m(points: Path) -> None:
    far = (PARIS[0] + 0.07, PARIS[1])  # about 5.1 km east
    want = _haversine(*far, *PARIS)
    with open_corpus(points) as c:
        with pytest.raises(InvalidInputError, match=r"beyond snap_m=1000 m \(the default") as info:
            search(c, (0, 40, 10, 55), positives=[far], view="outlier")
        assert f"(paris) lies {want:.0f} m away" in str(info.value)
        assert "snap_m" in info.value.params and "\n" not in str(info.value)
        result = search(c, (0, 40, 10, 55), positives=[far], view="outlier", snap_m=6000)
        assert result.exemplars[0].id == "paris"
        assert abs((result.exemplars[0].snapped_m or 0) - want) < 0.01 * want
        with pytest.raises(InvalidInputError, match="no row lies within 100 m"):
            search(c, (0, 40, 10, 55), positives=[far], view="outlier", snap_m=100)
    for bad in (-1, 0, float("nan"), "far", True):
        with open_corpus(points) as c, pytest.raises(InvalidInputError, match="snap_m must be"):
            search(c, None, positives=["paris"], snap_m=bad)  # type: ignore[arg-type]


def test_a_point_beside_a_footprint_takes_it(
    corpus_dir: Path, all_rows: pa.Table, busy_box: Any
) -> None:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    ids = np.array(all_rows.column("id").to_pylist())
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*busy_box)))
    g = geoms[inside[0]]
    x0, y0, x1, y1 = g.bounds
    gap = (x1 - x0) / 2
    point = (x1 + gap, (y0 + y1) / 2)  # half a footprint east of its box
    # brute force: the rows nearest to the point (in degrees scaled to the latitude)
    scale = math.cos(math.radians(point[1]))
    local = shapely.transform(geoms, lambda xy: (xy - point) * [scale, 1.0])
    dist = shapely.distance(local, shapely.Point(0, 0))
    if shapely.contains(geoms, shapely.Point(point)).any():
        pytest.skip("the point lies on another footprint")
    nearest = sorted(ids[np.isclose(dist, dist.min(), rtol=1e-9, atol=0)].tolist())
    with open_corpus(corpus_dir) as c:
        result = search(c, busy_box, positives=[point], k=3)
        later = search(c, busy_box, positives=[point], k=3, year=2024)
    ex = result.exemplars[0]
    assert ex.id == nearest[0]  # two years at one place: the smallest id
    assert later.exemplars[0].id == next(i for i in nearest if i.endswith("2024"))
    want = dist.min() * 6371008.8 * math.pi / 180
    assert ex.snapped_m is not None and abs(ex.snapped_m - want) < 0.005 * want


@click.group(cls=TerrabitGroup)
def cli() -> None:
    """Test group with the search command."""


cli.add_command(search_command)


def test_cli_says_which_row_and_how_far(points: Path) -> None:
    runner = CliRunner()
    args = ["search", str(points), "--bbox", "0,40,10,55", "--view", "outlier"]
    res = runner.invoke(cli, [*args, "--positive", "2.3488,48.8534"])
    assert res.exit_code == 0, res.output
    assert "took the nearest row paris, 3.9 m away" in res.stderr
    res = runner.invoke(cli, [*args, "--positive", "2.3488,48.8534", "--json"])
    assert json.loads(res.stdout)["snapped"][0]["id"] == "paris"
    res = runner.invoke(cli, [*args, "--positive", "2.418842,48.853421"])
    assert res.exit_code != 0 and "beyond --snap-m 1000 m" in res.stderr
    res = runner.invoke(cli, [*args, "--positive", "2.418842,48.853421", "--snap-m", "6000"])
    assert res.exit_code == 0 and "took the nearest row paris" in res.stderr
