"""Tests for terrabit.geohash: known vectors, pygeohash as an oracle, brute-force covers."""

from __future__ import annotations

import functools
import itertools
from typing import Literal

import numpy as np
import pygeohash as pgh
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit import geohash as gh
from terrabit.errors import InvalidInputError, RegionError

# (geohash, lon, lat) of well-known places; lon/lat within the cell.
KNOWN = [
    ("ezs42", -5.6, 42.6),  # Wikipedia's example (Leon, Spain)
    ("u4pruydqqvj", 10.40744, 57.64911),  # Jutland, the geohash.org example
    ("9q8yy", -122.4194, 37.7749),  # San Francisco
    ("s", 0.0, 0.0),  # a point on the origin belongs to the cell north-east of it
    ("gcpvj0", -0.1276, 51.5072),  # London
    ("r3gx2f", 151.2093, -33.8688),  # Sydney
]

hashes_st = st.text(alphabet=gh.ALPHABET, min_size=1, max_size=gh.MAX_PRECISION)
lon_st = st.floats(-180.0, 180.0, allow_nan=False)
lat_st = st.floats(-90.0, 90.0, allow_nan=False)


def pgh_box(h: str) -> tuple[float, float, float, float]:
    b = pgh.get_bounding_box(h)
    return (b.min_lon, b.min_lat, b.max_lon, b.max_lat)


# --------------------------------------------------------------------------- encode/decode


@pytest.mark.parametrize(("h", "lon", "lat"), KNOWN)
def test_known_vectors(h: str, lon: float, lat: float) -> None:
    assert gh.encode(lon, lat, precision=len(h)) == h
    minx, miny, maxx, maxy = gh.bbox(h)
    assert minx <= lon < maxx and miny <= lat < maxy
    clon, clat = gh.decode(h)
    assert clon == pytest.approx((minx + maxx) / 2) and clat == pytest.approx((miny + maxy) / 2)


def test_known_cell_values() -> None:
    assert gh.decode("ezs42") == pytest.approx((-5.60302734375, 42.60498046875))
    assert gh.decode("u4pruydqqvj") == pytest.approx((10.40744, 57.64911), abs=1e-5)
    assert gh.bbox("s") == (0.0, 0.0, 45.0, 45.0)
    assert gh.bbox("0") == (-180.0, -90.0, -135.0, -45.0)
    assert gh.bbox("zz")[2:] == (180.0, 90.0)


def test_shapes_and_scalars() -> None:
    lon = np.zeros((2, 3))
    out = gh.encode(lon, 10.0, precision=4)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3) and out.dtype == np.dtype("<U4")
    assert isinstance(gh.encode(np.float32(1.0), 2, precision=3), str)
    lons, lats = gh.decode(out)
    assert lons.shape == (2, 3) and lats.shape == (2, 3)
    assert gh.bbox(out).shape == (2, 3, 4)
    assert gh.encode([], [], precision=3).shape == (0,)
    assert gh.decode([])[0].shape == (0,)
    assert gh.bbox([]).shape == (0, 4)
    mixed = gh.bbox(["s", "s0", "ezs42"])  # precisions may differ per row
    assert mixed.tolist()[0] == [0.0, 0.0, 45.0, 45.0]
    assert gh.decode(np.array([b"ezs42"]))[0][0] == pytest.approx(-5.60302734375)
    assert gh.decode(np.array(["ezs42"], dtype=object))[1][0] == pytest.approx(42.60498046875)


def test_edge_conventions() -> None:
    # lon 180 wraps to -180; lat 90 is in the top row; edges belong to the east/north cell.
    assert gh.encode(180.0, 10.0, precision=7) == gh.encode(-180.0, 10.0, precision=7)
    assert gh.encode(0.0, 90.0, precision=1) == "u"
    assert gh.encode(-180.0, -90.0, precision=12) == "0" * 12
    assert gh.encode(0.0, 0.0, precision=1) == "s"
    assert gh.encode(-1e-300, 0.0, precision=1) == "e"  # just west of 0: lon [-45, 0)
    assert gh.encode(0.0, -1e-300, precision=1) == "k"  # just south of 0: lat [-45, 0)
    assert gh.encode(45.0, 45.0, precision=2) == pgh.encode(45.0, 45.0, 2)


def _oracle_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points, many on or next to cell edges, the antimeridian and the poles."""
    lon = rng.uniform(-180, 180, n)
    lat = rng.uniform(-90, 90, n)
    q = n // 6
    # exact cell edges at random depths (dyadic fractions of the range)
    depth = rng.integers(1, 31, q)
    lon[:q] = -180 + 360 * np.floor(rng.uniform(0, 1, q) * 2.0**depth) / 2.0**depth
    lat[q : 2 * q] = -90 + 180 * np.floor(rng.uniform(0, 1, q) * 2.0**depth) / 2.0**depth
    # one float away from an edge
    lon[2 * q : 3 * q] = np.nextafter(lon[:q], rng.choice([-np.inf, np.inf], q))
    lon[2 * q : 3 * q] = np.clip(lon[2 * q : 3 * q], -180, 180)
    # next to the antimeridian and the poles
    lon[3 * q : 4 * q] = rng.choice([-180.0, 180.0], q) * (1 - 10.0 ** -rng.uniform(3, 16, q))
    lat[4 * q : 5 * q] = rng.choice([-90.0, 90.0], q) * (1 - 10.0 ** -rng.uniform(3, 16, q))
    lat[5 * q : 5 * q + 10] = [90.0] * 5 + [-90.0] * 5
    lon[5 * q + 10 : 5 * q + 20] = [180.0] * 5 + [-180.0] * 5
    lon[5 * q + 20 : 5 * q + 24] = [1e-300, -1e-300, 5e-324, -5e-324]
    return lon, lat


def test_encode_matches_pygeohash() -> None:
    rng = np.random.default_rng(7)
    lon, lat = _oracle_points(rng, 6000)
    precision = rng.integers(1, 13, lon.size)
    for p in range(1, 13):
        sel = precision == p
        ours = gh.encode(lon[sel], lat[sel], precision=p).tolist()
        # pygeohash puts lon == 180 in the last column; we wrap it to -180 (same meridian)
        theirs = [
            pgh.encode(float(y), -180.0 if x == 180.0 else float(x), p)
            for x, y in zip(lon[sel], lat[sel], strict=True)
        ]
        assert ours == theirs


def test_decode_and_bbox_match_pygeohash() -> None:
    rng = np.random.default_rng(11)
    hashes = ["".join(rng.choice(list(gh.ALPHABET), rng.integers(1, 13))) for _ in range(2000)]
    lon, lat = gh.decode(hashes)
    boxes = gh.bbox(hashes)
    for i, h in enumerate(hashes):
        e = pgh.decode_exactly(h)
        assert (lon[i], lat[i]) == (e.longitude, e.latitude)
        assert boxes[i].tolist() == list(pgh_box(h))
        assert (boxes[i, 2] - boxes[i, 0]) / 2 == e.longitude_error


@settings(max_examples=200, deadline=None)
@given(hashes_st)
def test_roundtrip_hash(h: str) -> None:
    lon, lat = gh.decode(h)
    assert gh.encode(lon, lat, precision=len(h)) == h
    minx, miny, _, _ = gh.bbox(h)  # the south-west corner is in the cell too
    assert gh.encode(minx, miny, precision=len(h)) == h


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(lon_st, lat_st), min_size=1, max_size=50), st.integers(1, 12))
def test_roundtrip_points(points: list[tuple[float, float]], precision: int) -> None:
    lon, lat = np.array(points).T
    hashes = gh.encode(lon, lat, precision=precision)
    boxes = gh.bbox(hashes)
    wrapped = np.where(lon == 180.0, -180.0, lon)
    assert (boxes[:, 0] <= wrapped).all() and (wrapped < boxes[:, 2]).all()
    top = boxes[:, 3] == 90.0  # the top row is closed at the pole
    assert (boxes[:, 1] <= lat).all() and ((lat < boxes[:, 3]) | (top & (lat == 90))).all()
    clon, clat = gh.decode(hashes)
    assert (gh.encode(clon, clat, precision=precision) == hashes).all()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("precision", [0, 13, -1])
def test_bad_precision(precision: int) -> None:
    with pytest.raises(InvalidInputError, match="precision must be between 1 and 12"):
        gh.encode(0.0, 0.0, precision=precision)
    with pytest.raises(InvalidInputError, match="precision must be between 1 and 12"):
        gh.cover((0, 0, 1, 1), precision)


def test_bad_points() -> None:
    lon = np.zeros(30)
    lon[[2, 5]] = np.nan
    with pytest.raises(InvalidInputError, match=r"NaN at rows 2, 5; drop or fill"):
        gh.encode(lon, 0.0)
    lat = np.zeros(30)
    lat[3:20] = np.nan
    with pytest.raises(InvalidInputError, match=r"rows 3, 4, .*, 12 \(first 10 of 17\)"):
        gh.encode(0.0, lat)
    with pytest.raises(InvalidInputError, match=r"lat must be in \[-90, 90\].*row 1 \(120.0\)"):
        gh.encode([10.0, 40.0], [40.0, 120.0])
    with pytest.raises(InvalidInputError, match=r"lon must be in \[-180, 180\].*row 0 \(190.0\)"):
        gh.encode([190.0], [0.0])
    with pytest.raises(InvalidInputError, match="broadcastable"):
        gh.encode([1.0, 2.0], [1.0, 2.0, 3.0])


def test_bad_hashes() -> None:
    with pytest.raises(InvalidInputError, match=r"row 1 \('ezsa2'\).*0123456789bcdefgh"):
        gh.decode(["ezs42", "ezsa2"])
    with pytest.raises(InvalidInputError, match=r"invalid geohash character.*'EZS42'"):
        gh.bbox("EZS42")
    with pytest.raises(InvalidInputError, match=r"1 to 12 characters.*row 0 \(''\)"):
        gh.decode("")
    with pytest.raises(InvalidInputError, match="1 to 12 characters"):
        gh.decode("0" * 13)
    with pytest.raises(InvalidInputError, match=r"must be strings.*int64"):
        gh.decode(np.array([1, 2]))
    with pytest.raises(InvalidInputError, match=r"not a string: row 1 \(None\)"):
        gh.decode(np.array(["s", None], dtype=object))
    with pytest.raises(InvalidInputError, match="invalid geohash character"):
        gh.decode("s\x00s")


# --------------------------------------------------------------------------- neighbours


def _pgh_neighbours(h: str) -> list[str]:
    def step(cell: str, *moves: Literal["top", "right", "bottom", "left"]) -> str:
        try:
            for move in moves:
                cell = pgh.get_adjacent(cell, move)
        except ValueError:  # beyond a pole
            return ""
        return cell

    return [
        step(h, "top"),
        step(h, "top", "right"),
        step(h, "right"),
        step(h, "bottom", "right"),
        step(h, "bottom"),
        step(h, "bottom", "left"),
        step(h, "left"),
        step(h, "top", "left"),
    ]


def _touch(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Closed boxes share an edge or a corner (modulo 360 in lon) but no interior."""
    box_a = shapely.box(*a)
    return any(
        shapely.touches(box_a, shapely.box(b[0] + d, b[1], b[2] + d, b[3])) for d in (-360, 0, 360)
    )


@settings(max_examples=150, deadline=None)
@given(hashes_st)
def test_neighbours_match_pygeohash_and_touch(h: str) -> None:
    grid = gh.neighbours_array(h).tolist()
    assert grid == _pgh_neighbours(h)
    found = gh.neighbours(h)
    assert found == [n for n in grid if n]
    assert len(set(found)) == len(found) and h not in found
    for n in found:
        assert len(n) == len(h)
        assert _touch(gh.bbox(h), gh.bbox(n))
        assert h in gh.neighbours(n)


def test_neighbours_order_antimeridian_and_poles() -> None:
    assert gh.neighbours("ezs42") == [
        "ezs48",
        "ezs49",
        "ezs43",
        "ezs41",
        "ezs40",
        "ezefp",
        "ezefr",
        "ezefx",
    ]
    # 'b' is the top-left cell: nothing north; west wraps to 'z' across the antimeridian
    assert gh.neighbours_array("b").tolist() == ["", "", "c", "9", "8", "x", "z", ""]
    assert gh.neighbours("b") == ["c", "9", "8", "x", "z"]
    # bottom-right cell: nothing south, east wraps to '0'
    assert gh.neighbours("p") == ["r", "2", "0", "n", "q"]
    west = gh.neighbours_array("2h")[6]  # '2h' touches lon -180 on its west edge
    assert gh.bbox(west)[2] == 180.0 and gh.bbox(west)[1] == gh.bbox("2h")[1]
    many = gh.neighbours_array([["b", "ezs42"]])
    assert many.shape == (1, 2, 8) and many[0, 1, 0] == "ezs48"
    with pytest.raises(InvalidInputError, match="neighbours_array"):
        gh.neighbours(["b"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- hierarchy


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=gh.ALPHABET, min_size=1, max_size=gh.MAX_PRECISION - 1))
def test_children_tile_parent(h: str) -> None:
    kids = gh.children(h)
    assert len(kids) == 32 and kids == sorted(kids)
    assert all(k.startswith(h) and len(k) == len(h) + 1 for k in kids)
    assert (gh.parent(kids) == h).all()
    boxes = shapely.box(*gh.bbox(kids).T)
    parent_box = shapely.box(*gh.bbox(h))
    assert shapely.area(boxes).sum() == pytest.approx(parent_box.area, rel=1e-12)
    union = shapely.union_all(boxes)
    assert union.symmetric_difference(parent_box).area <= 1e-9 * parent_box.area


def test_parent_and_children_errors() -> None:
    assert gh.parent("ezs42") == "ezs4"
    assert gh.parent(["ezs42", "u4"]).tolist() == ["ezs4", "u"]
    with pytest.raises(InvalidInputError, match=r"no parent: row 1 \('u'\)"):
        gh.parent(["ezs42", "u"])
    with pytest.raises(InvalidInputError, match="finest precision"):
        gh.children("0" * 12)
    with pytest.raises(InvalidInputError, match="alphabet"):
        gh.children("a")


# --------------------------------------------------------------------------- cover


@functools.cache
def _all_cells(precision: int) -> tuple[list[str], np.ndarray]:
    """Every cell at ``precision`` with its box from pygeohash (the independent oracle)."""
    hashes = ["".join(c) for c in itertools.product(gh.ALPHABET, repeat=precision)]
    boxes = shapely.box(*np.array([pgh_box(h) for h in hashes]).T)
    return hashes, boxes


def _brute_cover(
    region: shapely.Geometry | list[shapely.Geometry],
    precision: int,
    mode: str = "intersects",
    prefix: str = "",
) -> list[str]:
    """Cells (all of them, or the descendants of ``prefix``) tested one by one.

    ``region`` may be a list of pieces: a cell is kept if it meets (lies in) any piece.
    """
    if prefix:
        tails, _ = _all_cells(precision - len(prefix))
        hashes = [prefix + t for t in tails]
        boxes = shapely.box(*np.array([pgh_box(h) for h in hashes]).T)
    else:
        hashes, boxes = _all_cells(precision)
    pieces = region if isinstance(region, list) else [region]
    hit = np.zeros(len(hashes), dtype=bool)
    for shift in (-360.0, 0.0, 360.0):  # the cell seen from either side of the antimeridian
        moved = shapely.transform(boxes, lambda c, s=shift: c + np.array([s, 0.0]))
        for piece in pieces:
            if mode == "within":
                hit |= shapely.covers(piece, moved)
            else:
                hit |= shapely.intersects(piece, moved)
    return sorted(h for h, keep in zip(hashes, hit, strict=True) if keep)


def _box_piece(minx: float, miny: float, maxx: float, maxy: float) -> shapely.Geometry:
    if minx == maxx or miny == maxy:  # zero area: a segment or a point
        return shapely.LineString([(minx, miny), (maxx, maxy)])
    return shapely.box(minx, miny, maxx, maxy)


def _bbox_region(b: tuple[float, float, float, float]) -> list[shapely.Geometry]:
    """A bbox as pieces, split at the antimeridian when minx > maxx."""
    minx, miny, maxx, maxy = b
    if minx <= maxx:
        return [_box_piece(minx, miny, maxx, maxy)]
    return [_box_piece(minx, miny, 180, maxy), _box_piece(-180, miny, maxx, maxy)]


edge_lon = st.integers(-16, 16).map(lambda k: k * 11.25)
edge_lat = st.integers(-16, 16).map(lambda k: k * 5.625)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(lon_st, edge_lon),
    st.one_of(lon_st, edge_lon),
    st.one_of(lat_st, edge_lat),
    st.one_of(lat_st, edge_lat),
    st.sampled_from([1, 2]),
)
def test_cover_bbox_matches_brute_force(
    x0: float, x1: float, y0: float, y1: float, precision: int
) -> None:
    b = (x0, min(y0, y1), x1, max(y0, y1))  # zero-area boxes included
    got = gh.cover(b, precision)
    assert got == _brute_cover(_bbox_region(b), precision)
    assert got == sorted(set(got))
    assert gh.cover(b, precision, mode="within") == _brute_cover(
        _bbox_region(b), precision, "within"
    )


@pytest.mark.parametrize(
    "b",
    [
        (170.0, -10.0, -170.0, 10.0),  # crosses the antimeridian
        (179.9, -3.0, -179.9, 3.0),
        (135.0, 0.0, -135.0, 45.0),  # on cell edges
        (-180.0, 80.0, 180.0, 90.0),  # north polar cap
        (10.0, -90.0, 20.0, -85.0),  # touches the south pole
        (170.0, 0.0, 180.0, 10.0),  # touches the antimeridian from the west
        (-180.0, 0.0, -170.0, 10.0),  # and from the east
        (-180.0, -90.0, 180.0, 90.0),  # the world
        (2.0, 0.0, 1.0, 1.0),  # all but one degree, across the antimeridian
        (180.0, 0.0, -180.0, 10.0),  # zero width, on the antimeridian
        (180.0, 0.0, 10.0, 5.0),  # starts on the antimeridian
        (46.0, 0.0, -2.339734400581613e-82, 1.0),  # lon + 360 would round this to 0
        (100.0, 5.0, -100.0, 5.0),  # zero height, across the antimeridian
    ],
)
def test_cover_special_bboxes(b: tuple[float, float, float, float]) -> None:
    for precision in (2, 3):
        assert gh.cover(b, precision) == _brute_cover(_bbox_region(b), precision)
    assert gh.cover(b, 2, mode="within") == _brute_cover(_bbox_region(b), 2, "within")


def test_cover_touching_antimeridian_includes_other_side() -> None:
    # points at lon 180 encode at -180, so a region reaching 180 needs those cells too
    got = gh.cover((170.0, 0.0, 180.0, 10.0), 3)
    assert gh.encode(180.0, 5.0, precision=3) in got


def _random_polygon(rng: np.random.Generator, cx: float, cy: float, r: float) -> shapely.Polygon:
    n = int(rng.integers(3, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.2, 1.0, n) * r
    return shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)])


def test_cover_random_polygons_global() -> None:
    rng = np.random.default_rng(3)
    for _ in range(12):
        poly = _random_polygon(rng, rng.uniform(-150, 150), rng.uniform(-60, 60), 25)
        if not poly.is_valid:
            continue
        for mode in ("intersects", "within"):
            assert gh.cover(poly, 2, mode=mode) == _brute_cover(poly, 2, mode)


def test_cover_random_polygons_deep() -> None:
    """Precision 5 regions inside one precision-3 cell: the oracle is its 1024 descendants."""
    rng = np.random.default_rng(5)
    for _ in range(8):
        cell = "".join(rng.choice(list(gh.ALPHABET), 3))
        minx, miny, maxx, maxy = gh.bbox(cell)
        r = min(maxx - minx, maxy - miny) / 2 * 0.95
        poly = _random_polygon(rng, (minx + maxx) / 2, (miny + maxy) / 2, r)
        if not poly.is_valid:
            continue
        for mode in ("intersects", "within"):
            assert gh.cover(poly, 5, mode=mode) == _brute_cover(poly, 5, mode, prefix=cell)


def test_cover_hole_multipolygon_and_geojson() -> None:
    shell = shapely.box(-40, -30, 40, 30)
    holed = shell.difference(shapely.box(-20, -10, 20, 10))
    assert holed.geom_type == "Polygon" and len(holed.interiors) == 1
    got = gh.cover(holed, 3)
    assert got == _brute_cover(holed, 3)
    assert gh.encode(0.0, 0.0, precision=3) not in got  # the hole is not covered
    multi = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(100, -50, 120, -45)])
    assert gh.cover(multi, 3) == _brute_cover(multi, 3)
    geojson = shapely.geometry.mapping(holed)
    assert gh.cover(geojson, 3) == got
    assert gh.cover({"type": "Feature", "geometry": geojson, "properties": {}}, 3) == got


def test_cover_antimeridian_polygon_forms_agree() -> None:
    beyond = {
        "type": "Polygon",
        "coordinates": [[[170, -20], [190, -10], [185, 15], [172, 5], [170, -20]]],
    }
    poly = shapely.geometry.shape(beyond)
    split = shapely.MultiPolygon(
        [
            poly.intersection(shapely.box(0, -90, 180, 90)),
            shapely.transform(
                poly.intersection(shapely.box(180, -90, 360, 90)),
                lambda c: c - np.array([360.0, 0.0]),
            ),
        ]
    )
    got = gh.cover(beyond, 3)
    assert got == _brute_cover(poly, 3)
    assert gh.cover(split, 3) == got
    assert any(h < "8" for h in got) and any(h > "p" for h in got)  # both sides


def test_cover_degenerate_and_empty() -> None:
    assert gh.cover((0.0, 0.0, 0.0, 0.0), 1) == ["7", "e", "k", "s"]  # a point on 4 corners
    assert gh.cover((10.0, 10.0, 10.0, 10.0), 3) == [gh.encode(10.0, 10.0, precision=3)]
    line = (10.0, 10.0, 20.0, 10.0)
    assert gh.cover(line, 2) == _brute_cover(shapely.LineString([(10, 10), (20, 10)]), 2)
    assert gh.cover(line, 2, mode="within") == []
    with pytest.raises(RegionError, match="region is empty"):
        gh.cover(shapely.Polygon(), 3)
    with pytest.raises(RegionError, match="MultiPolygon coordinates must be a non-empty list"):
        gh.cover({"type": "MultiPolygon", "coordinates": []}, 3)


def test_cover_repairs_an_invalid_polygon_as_region_does() -> None:
    """A bow tie is repaired with ``shapely.make_valid`` (two triangles), as every region is."""
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert gh.cover(bow, 3) == _brute_cover(shapely.make_valid(bow), 3)


def test_cover_errors() -> None:
    with pytest.raises(RegionError, match=r"-90 <= miny <= maxy <= 90"):
        gh.cover((0, 10, 1, 5), 3)
    with pytest.raises(RegionError, match=r"minx > maxx"):
        gh.cover((0, 0, 200, 5), 3)
    with pytest.raises(RegionError, match="has 3 numbers; it must be four numbers"):
        gh.cover((0, 0, 1), 3)
    with pytest.raises(RegionError, match="finite"):
        gh.cover((0, 0, np.nan, 1), 3)
    with pytest.raises(RegionError, match="Polygon or MultiPolygon; got LineString"):
        gh.cover(shapely.LineString([(0, 0), (1, 1)]), 3)
    with pytest.raises(RegionError, match=r"longitudes must be in \[-360, 360\]"):
        gh.cover(shapely.box(350, 0, 370, 10), 3)
    with pytest.raises(RegionError, match="latitudes must be in"):
        gh.cover(shapely.box(0, 0, 10, 95), 3)
    with pytest.raises(RegionError, match="GeoJSON"):
        gh.cover({"type": "Polygon"}, 3)
    with pytest.raises(RegionError, match="region file 'europe' does not exist"):
        gh.cover("europe", 3)  # a string is a GeoJSON text or file, as for every region
    with pytest.raises(InvalidInputError, match="mode must be one of 'intersects', 'within'"):
        gh.cover((0, 0, 1, 1), 3, mode="inside")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"more than max_cells=1,000.*lower the precision"):
        gh.cover((-10, 35, 30, 60), 4, max_cells=1000)


def test_cover_large_region_is_hierarchical_and_exact() -> None:
    """A bbox cover is a product of column and row ranges: count it independently."""
    b = (-10.3, 35.1, 30.7, 60.2)
    precision = 5
    got = gh.cover(b, precision)
    wx, wy = 360 / 2**13, 180 / 2**12  # precision 5: 13 lon bits, 12 lat bits
    cols = np.floor((b[2] + 180) / wx) - np.floor((b[0] + 180) / wx) + 1
    rows = np.floor((b[3] + 90) / wy) - np.floor((b[1] + 90) / wy) + 1
    assert len(got) == cols * rows
    lon, lat = gh.decode(got)
    assert lon.min() - wx / 2 <= b[0] and lon.max() + wx / 2 >= b[2]
    assert lat.min() - wy / 2 <= b[1] and lat.max() + wy / 2 >= b[3]
