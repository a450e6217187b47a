"""The engine against an independent brute force (supersampled masks), and its edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from terrabit.corpus import tiles as tile_index
from terrabit.errors import InvalidInputError, RegionError
from terrabit.zonal import engine
from terrabit.zonal.engine import TileReadError, zonal_stats

from .conftest import YEAR
from .oracle import brute_force

_TO_LL = Transformer.from_crs(32619, 4326, always_xy=True)
BANDS = [f"A{i:02d}" for i in range(64)]


def _ll(geom: Any) -> Any:
    """A UTM 19N geometry in lon/lat (vertex by vertex)."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_LL.transform(xy[:, 0], xy[:, 1])))


#: Test polygons; UTM 19N vertices on a 1 m (0.1 px) grid so 10x supersampling is exact.
CASES_19N = {
    "hole": shapely.Polygon(
        [
            (735003.0, 5015801.0),
            (735201.0, 5015801.0),
            (735201.0, 5016002.0),
            (735003.0, 5016002.0),
        ],
        [
            [
                (735050.0, 5015850.0),
                (735124.0, 5015850.0),
                (735124.0, 5015927.0),
                (735050.0, 5015927.0),
            ]
        ],
    ),
    "two_tiles": shapely.box(734653.0, 5015602.0, 734797.0, 5015739.0),
    "four_tiles": shapely.box(734700.0, 5016300.0, 734740.0, 5016340.0),
    "subpixel": shapely.box(735103.0, 5015502.0, 735107.0, 5015509.0),
    "pixel_corner": shapely.box(735108.0, 5015508.0, 735112.0, 5015512.0),
    "nodata": shapely.box(733500.0, 5015500.0, 733600.0, 5015600.0),
}
#: Slanted edges: the supersampled oracle is approximate (factor 40) for these.
TRIANGLE = shapely.Polygon([(734101.0, 5015103.0), (734407.0, 5015152.0), (734203.0, 5015409.0)])
#: Crosses the UTM 19N/20N boundary at 66°W.
ZONE_CROSSING = shapely.Polygon(
    [(-66.003, 45.255), (-65.996, 45.2555), (-65.997, 45.2585), (-66.0025, 45.258)]
)


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    names = [*CASES_19N, "triangle", "zone_crossing"]
    geoms = [_ll(g) for g in CASES_19N.values()] + [_ll(TRIANGLE), ZONE_CROSSING]
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326")


@pytest.fixture(scope="module")
def result(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    return zonal_stats(
        polygons,
        index=aef["index"],
        year=YEAR,
        stats=["mean", "std", "min", "max"],
        workers=2,
        show_progress=False,
    )


def _tile_paths(aef: dict[str, Any]) -> list[str]:
    idx = pd.read_parquet(aef["index"])
    return [str(Path(aef["index"]).parent / p) for p in idx["path"]]


def _stat(table: gpd.GeoDataFrame, row: int, stat: str) -> np.ndarray:
    return table.loc[row, [f"{b}_{stat}" for b in BANDS]].to_numpy(dtype=np.float64)


@pytest.mark.parametrize("name", [n for n in CASES_19N if n != "nodata"])
def test_matches_brute_force(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, result: Any, name: str
) -> None:
    table, _ = result
    row = int(np.flatnonzero(polygons["name"] == name)[0])
    truth = brute_force(_tile_paths(aef), polygons.geometry.iloc[row])
    assert truth["count"] > 0
    assert table.loc[row, "pixel_count"] == pytest.approx(
        truth["count"], rel=1e-6
    )  # float32 coverage
    for stat in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(_stat(table, row, stat), truth[stat], atol=1e-4, err_msg=stat)


def test_exact_area_of_slanted_polygon(result: Any) -> None:
    table, _ = result
    area_px = TRIANGLE.area / 100.0  # all land: every pixel valid
    assert table.loc[len(CASES_19N), "pixel_count"] == pytest.approx(area_px, rel=1e-6)


@pytest.mark.parametrize("name", ["triangle", "zone_crossing"])
def test_slanted_and_zone_crossing_match_brute_force(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, result: Any, name: str
) -> None:
    table, _ = result
    row = int(np.flatnonzero(polygons["name"] == name)[0])
    geom = polygons.geometry.iloc[row]
    paths = _tile_paths(aef)
    truth = brute_force(paths, geom, factor=40)
    if name == "zone_crossing":
        parts = [brute_force([p], geom, factor=4)["count"] for p in paths]
        zones = {Path(p).parent.name for p, c in zip(paths, parts, strict=True) if c > 0}
        assert zones == {"19N", "20N"}  # data from both zones is combined
    assert table.loc[row, "pixel_count"] == pytest.approx(truth["count"], rel=2e-3)
    np.testing.assert_allclose(_stat(table, row, "mean"), truth["mean"], atol=1e-4)
    np.testing.assert_allclose(_stat(table, row, "std"), truth["std"], atol=1e-4)
    # exact coverage sees every pixel a sub-pixel centre sees (and maybe slivers more)
    assert np.all(_stat(table, row, "min") <= truth["min"] + 1e-6)
    assert np.all(_stat(table, row, "max") >= truth["max"] - 1e-6)


def test_all_nodata_polygon_is_nan(polygons: gpd.GeoDataFrame, result: Any) -> None:
    table, summary = result
    row = int(np.flatnonzero(polygons["name"] == "nodata")[0])
    assert table.loc[row, "pixel_count"] == 0
    assert table.loc[row, "coverage"] == 0
    assert np.isnan(_stat(table, row, "mean")).all()
    assert np.isnan(_stat(table, row, "max")).all()
    assert summary["polygons_with_data"] == len(polygons) - 1


def test_coverage_and_columns(result: Any) -> None:
    table, summary = result
    assert list(table.columns[:3]) == ["name", "A00_mean", "A00_std"]
    assert table.columns[-3:].tolist() == ["pixel_count", "coverage", "geometry"]
    hole = table.loc[0, "coverage"]
    assert 0.9 < hole <= 1.01  # all land: valid area ~ polygon area
    assert summary["bands"] == 64 and summary["tiles"] >= 5


def test_any_crs_gives_same_result(aef: dict[str, Any], result: Any) -> None:
    frame = gpd.GeoDataFrame(
        {"name": list(CASES_19N)}, geometry=list(CASES_19N.values()), crs="EPSG:32619"
    )
    table, _ = zonal_stats(frame, index=aef["index"], year=YEAR, show_progress=False)
    expected = result[0].iloc[: len(CASES_19N)]
    np.testing.assert_allclose(table["A05_mean"], expected["A05_mean"], atol=1e-9)
    np.testing.assert_allclose(table["pixel_count"], expected["pixel_count"], rtol=1e-9)


def test_bottom_up_tiles_match(
    aef_bottom_up: dict[str, Any], polygons: gpd.GeoDataFrame, result: Any
) -> None:
    table, _ = zonal_stats(
        polygons,
        index=aef_bottom_up["index"],
        year=YEAR,
        stats=["mean", "max"],
        show_progress=False,
    )
    np.testing.assert_allclose(table["A10_mean"], result[0]["A10_mean"], atol=1e-12)
    np.testing.assert_allclose(table["A63_max"], result[0]["A63_max"], atol=1e-12)
    truth = brute_force(_tile_paths(aef_bottom_up), polygons.geometry.iloc[0])
    np.testing.assert_allclose(_stat(table, 0, "mean"), truth["mean"], atol=1e-4)


def test_raster_files_instead_of_index(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, result: Any
) -> None:
    table, _ = zonal_stats(polygons, rasters=_tile_paths(aef), show_progress=False)
    np.testing.assert_allclose(table["A00_mean"], result[0]["A00_mean"], atol=1e-12)


def test_raw_skips_dequantization(aef: dict[str, Any], polygons: gpd.GeoDataFrame) -> None:
    one = polygons.iloc[[3]]  # sub-pixel: a single pixel
    raw, _ = zonal_stats(one, index=aef["index"], year=YEAR, raw=True, show_progress=False)
    deq, _ = zonal_stats(one, index=aef["index"], year=YEAR, show_progress=False)
    q = raw["A07_mean"].iloc[0]
    assert q == round(q)  # an int8 code
    assert deq["A07_mean"].iloc[0] == pytest.approx((q / 127.5) ** 2 * np.sign(q), abs=1e-6)


def test_no_tile_for_area_names_area_and_year(aef: dict[str, Any]) -> None:
    far = gpd.GeoDataFrame(geometry=[shapely.box(10, 10, 10.01, 10.01)], crs="EPSG:4326")
    with pytest.raises(
        RegionError, match=r"no tile for bbox \(10\.0, 10\.0, 10\.01, 10\.01\) in year 2024"
    ):
        zonal_stats(far, index=aef["index"], year=YEAR, show_progress=False)
    near = gpd.GeoDataFrame(geometry=[shapely.box(-66.01, 45.25, -66.0, 45.26)], crs="EPSG:4326")
    with pytest.raises(RegionError, match="in year 2023"):
        zonal_stats(near, index=aef["index"], year=2023, show_progress=False)


def test_no_crs_is_refused() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.raises(InvalidInputError, match=r"no CRS.*set_crs"):
        zonal_stats(frame, rasters=["x.tif"], show_progress=False)


def test_unreadable_tile_is_retried_then_reported(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_open = engine._open
    attempts: list[str] = []

    def flaky(path: str) -> Any:
        if path.endswith("0000000128-0000000128.tiff") and "19N" in path:
            attempts.append(path)
            raise OSError("simulated network failure")
        return real_open(path)

    monkeypatch.setattr(engine, "_open", flaky)
    monkeypatch.setattr(tile_index, "RETRY_SLEEP_S", 0.0)
    with pytest.raises(
        TileReadError,
        match=r"1 tile\(s\) could not be read after 3 attempts: .*19N.*0000000128-0000000128\.tiff",
    ):
        zonal_stats(
            polygons, index=aef["index"], year=YEAR, work_dir=tmp_path / "work", show_progress=False
        )
    assert len(attempts) == 3
    saved = list((tmp_path / "work").glob("*.npz"))
    assert len(saved) >= 4  # the other tiles' work is kept


def test_band_count_mismatch(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    import rasterio

    first = _tile_paths(aef)[0]
    with rasterio.open(first) as src:
        profile = src.profile
        data = src.read()[:3]
    profile.update(count=3, driver="GTiff")
    three = tmp_path / "three.tif"
    with rasterio.open(three, "w", **profile) as dst:
        dst.write(data)
    with pytest.raises(
        InvalidInputError, match=r"band-count mismatch: tile .*(three\.tif|x6e).* has (3|64) bands"
    ):
        zonal_stats(polygons, rasters=[*_tile_paths(aef), str(three)], show_progress=False)


def test_resumes_without_recomputing_finished_tiles(
    aef: dict[str, Any],
    polygons: gpd.GeoDataFrame,
    result: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    real = engine._tile_partials
    calls: list[str] = []

    def interrupted(path: str, *args: Any, **kwargs: Any) -> Any:
        if calls:
            raise KeyboardInterrupt  # Ctrl-C after the first tile
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "_tile_partials", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zonal_stats(
            polygons, index=aef["index"], year=YEAR, workers=1, work_dir=work, show_progress=False
        )
    assert len(list(work.glob("*.npz"))) == 1

    reads: list[str] = []
    real_open = engine._open

    def counting(path: str) -> Any:
        reads.append(path)
        return real_open(path)

    monkeypatch.setattr(engine, "_tile_partials", real)
    monkeypatch.setattr(engine, "_open", counting)
    table, summary = zonal_stats(
        polygons,
        index=aef["index"],
        year=YEAR,
        stats=["mean", "std", "min", "max"],
        workers=1,
        work_dir=work,
        show_progress=False,
    )
    assert summary["tiles_resumed"] == 1
    assert len(reads) == summary["tiles"] - 1 and calls[0] not in reads
    pd.testing.assert_frame_equal(
        pd.DataFrame(table.drop(columns="geometry")),
        pd.DataFrame(result[0].drop(columns="geometry")),
    )


def test_stale_work_folder_is_not_reused(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    zonal_stats(
        polygons.iloc[:2], index=aef["index"], year=YEAR, work_dir=work, show_progress=False
    )
    _, summary = zonal_stats(
        polygons, index=aef["index"], year=YEAR, work_dir=work, show_progress=False
    )
    assert summary["tiles_resumed"] == 0


def test_coverage_is_a_fraction(result: Any, polygons: gpd.GeoDataFrame) -> None:
    """coverage = valid area / polygon area in the tiles' own CRS: never above 1 (it reached
    1.0005-1.003 when a projected valid area was divided by a true, equal-area area), and 1
    to rounding for a polygon wholly on valid pixels (exactextract's fractions sum to the
    polygon's area)."""
    table, _ = result
    cover = table["coverage"].to_numpy()
    assert np.nanmax(cover) <= 1.0
    full = [i for i, n in enumerate(table["name"]) if n in ("hole", "two_tiles", "four_tiles")]
    for i in full:
        assert cover[i] == pytest.approx(1.0, abs=1e-6), table.loc[i, "name"]  # float32 fractions
