"""Region: bbox, GeoJSON, shapely, lists; antimeridian splits; validation and repair."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.errors import RegionError
from terrabit.region import Region, as_region

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def test_bbox() -> None:
    r = Region.from_any((0, 0, 2, 1))
    assert r.boxes == [(0.0, 0.0, 2.0, 1.0)]
    assert r.geometry.area == 2.0 and not r.repaired and not r.is_world


def test_bbox_crossing_antimeridian() -> None:
    r = as_region((170, -10, -170, 10))
    assert r.boxes == [(-180.0, -10.0, -170.0, 10.0), (170.0, -10.0, 180.0, 10.0)]
    assert r.geometry.area == pytest.approx(20 * 20)
    assert r.contains_points([179.9, -179.9, 0.0, 169.0], [0, 0, 0, 0]).tolist() == [
        True,
        True,
        False,
        False,
    ]


def test_geojson_polygon_crossing_antimeridian_is_split() -> None:
    ring = [[170, 0], [-170, 0], [-170, 10], [170, 10], [170, 0]]
    r = Region.from_geojson({"type": "Polygon", "coordinates": [ring]})
    assert r.boxes == [(-180.0, 0.0, -170.0, 10.0), (170.0, 0.0, 180.0, 10.0)]
    assert r.geometry.area == pytest.approx(200.0)  # not the 340-degree-wide band


def test_shapely_geometry_beyond_180_is_wrapped() -> None:
    r = Region.from_any(shapely.box(175, 0, 185, 1))
    assert r.boxes == [(-180.0, 0.0, -175.0, 1.0), (175.0, 0.0, 180.0, 1.0)]


@pytest.mark.parametrize(
    "data",
    [
        SQUARE,
        {"type": "Feature", "properties": {}, "geometry": SQUARE},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]},
        {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]},
        json.dumps(SQUARE),
    ],
)
def test_geojson_forms(data: object) -> None:
    r = Region.from_any(data)
    assert r.boxes == [(0.0, 0.0, 2.0, 1.0)]


def test_file_and_list(tmp_path: Path) -> None:
    path = tmp_path / "r.geojson"
    path.write_text(json.dumps(SQUARE))
    assert Region.from_any(path).boxes == [(0.0, 0.0, 2.0, 1.0)]
    assert Region.from_any(str(path)).boxes == [(0.0, 0.0, 2.0, 1.0)]
    both = Region.from_any([SQUARE, (10, 10, 11, 11)])
    assert both.boxes == [(0.0, 0.0, 2.0, 1.0), (10.0, 10.0, 11.0, 11.0)]


def test_self_intersecting_polygon_is_repaired_and_stated(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="terrabit.region"):
        r = Region.from_any(BOWTIE)
    assert r.repaired
    assert r.geometry.is_valid and r.geometry.area == pytest.approx(0.5)
    assert "Self-intersection" in caplog.text and "make_valid" in caplog.text


def test_contains_points_and_intersects() -> None:
    r = Region.from_any(SQUARE)
    assert r.contains_points(np.array([1.0, 3.0]), np.array([0.5, 0.5])).tolist() == [True, False]
    wkb = [shapely.to_wkb(shapely.box(1.5, 0.5, 3, 3)), shapely.to_wkb(shapely.box(5, 5, 6, 6))]
    assert r.intersects(wkb).tolist() == [True, False]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"coordinates": []}, "has no 'type'"),
        ({"type": "Point", "coordinates": [0, 0]}, "'Point' is not a region"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "ring 0 has 3 positions"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "is not closed"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 95], [0, 0]]]},
            r"positions \[2\] are out of range",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]},
            "not \\[lon, lat\\] numbers",
        ),
        ({"type": "Polygon", "coordinates": []}, "non-empty list of rings"),
        ({"type": "Feature", "geometry": None}, "has no geometry"),
        ({"type": "FeatureCollection", "features": []}, "non-empty 'features'"),
        ("{not json", "not valid JSON"),
        ((0, 0, 200, 1), "out of range"),
        ((1, 0, 1, 1), "no width"),
        ((0, 1, 1, 0), "miny \\(1.0\\) must be less than maxy"),
        (42, "unsupported region"),
        ([], "empty list"),
        (shapely.Point(0, 0), "a Point is not a region"),
    ],
)
def test_invalid_regions(data: object, match: str) -> None:
    with pytest.raises(RegionError, match=match):
        Region.from_any(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegionError, match="does not exist"):
        Region.from_any(tmp_path / "nope.geojson")


def test_world() -> None:
    assert Region.from_any(None).is_world
    assert Region.from_any((-180, -90, 180, 90)).is_world


@settings(max_examples=60, deadline=None)
@given(
    minx=st.floats(-180, 180),
    maxx=st.floats(-180, 180),
    miny=st.floats(-89, 88),
    h=st.floats(0.5, 1),
    px=st.floats(-180, 180),
    py=st.floats(-90, 90),
)
def test_bbox_membership_matches_interval_logic(
    minx: float, maxx: float, miny: float, h: float, px: float, py: float
) -> None:
    if minx == maxx:
        return
    maxy = miny + h
    r = Region.from_bbox((minx, miny, maxx, maxy))

    def in_x(x: float) -> bool:
        return (minx <= x <= maxx) if minx < maxx else (x >= minx or x <= maxx)

    # the meridians -180 and 180 are one line
    inside_x = in_x(px) or (abs(px) == 180 and in_x(-px))
    assert r.contains_points([px], [py])[0] == (inside_x and miny <= py <= maxy)
    for x0, _, x1, _ in r.boxes:
        assert x0 <= x1


@pytest.mark.parametrize(
    ("bbox", "px", "expected"),
    [
        ((170, 0, 180, 1), -180.0, True),
        ((170, 0, 180, 1), 180.0, True),
        ((-180, 0, -170, 1), 180.0, True),
        ((0, 0, -180, 1), -180.0, True),
        ((5e-324, 0, 0.0, 1), 0.0, True),
        ((10, 0, 20, 1), -180.0, False),
    ],
)
def test_seam_and_nearly_touching_boxes(
    bbox: tuple[float, float, float, float], px: float, expected: bool
) -> None:
    assert Region.from_bbox(bbox).contains_points([px], [0.5])[0] == expected


def test_inner_boxes() -> None:
    assert Region.from_any((0, 0, 2, 1)).inner_boxes == [(0.0, 0.0, 2.0, 1.0)]
    assert Region.from_any(BOWTIE).inner_boxes == []
    ell = Region.from_any([(0, 0, 2, 1), (0, 0, 1, 2)])  # an L: not a box
    assert ell.inner_boxes == []
