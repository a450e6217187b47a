"""Reading, repairing and filtering the polygons."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from terrabit.errors import InvalidInputError
from terrabit.zonal.polygons import prepare_polygons, read_polygons

BOW = shapely.Polygon([(0, 0), (0.001, 0.001), (0.001, 0), (0, 0.001)])  # self-intersecting


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"GEOID": ["a", "b", "c", "d"], "ALAND": [10, 0, 10, 10]},
        geometry=[
            shapely.box(0, 0, 0.01, 0.01),
            shapely.box(0, 0, 0.01, 0.01),
            shapely.box(0, 0, 0.1, 0.1),
            BOW,
        ],
        crs="EPSG:4326",
    )


def test_filters_and_counts() -> None:
    kept, counts = prepare_polygons(_frame(), drop_water=True, max_area_km2=25.0)
    assert kept["GEOID"].tolist() == ["a", "d"]  # b all water, c ~123 km²
    assert counts == {
        "input": 4,
        "repaired": 1,
        "empty": 0,
        "dropped_water": 1,
        "dropped_oversized": 1,
        "kept": 2,
    }
    assert kept.geometry.is_valid.all()
    assert kept.geometry.iloc[1].area == pytest.approx(0.001**2 / 2)  # both lobes of the bow tie


def test_no_filters() -> None:
    kept, counts = prepare_polygons(_frame(), drop_water=False, max_area_km2=None)
    assert len(kept) == 4 and counts["dropped_water"] == counts["dropped_oversized"] == 0


def test_drop_water_needs_aland() -> None:
    frame = _frame().drop(columns="ALAND")
    with pytest.raises(InvalidInputError, match="drop_water needs an ALAND column"):
        prepare_polygons(frame, drop_water=True, max_area_km2=None)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_no_crs_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    _frame().set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(InvalidInputError, match=r"no CRS; pass polygons_crs .*set_crs"):
        read_polygons(path)
    assert read_polygons(path, polygons_crs="EPSG:4326").crs.to_epsg() == 4326


def test_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(InvalidInputError, match="cannot read polygons from"):
        read_polygons(bad)
