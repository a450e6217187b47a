"""Tests of the census-block-like zones: schema, geometry, attributes, and the AEF signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from terrabit.errors import InvalidInputError, RegionError
from terrabit.world.aef import AEF_DEFAULT_BBOX, AEF_NODATA, dequantize, write_aef_tiles
from terrabit.world.landcover import CLASSES, YEARS, classify, is_land
from terrabit.world.zones import ZONE_COLUMNS, write_zones

gpd = pytest.importorskip("geopandas")
rasterio = pytest.importorskip("rasterio")
shapely = pytest.importorskip("shapely")

# Saint John, NB: town, wetland, harbour sea; straddles 66°W (UTM 19N/20N).
SMALL_BBOX = (-66.06, 45.255, -65.995, 45.28)
SEED = 0
EQUAL_AREA = "EPSG:6933"  # an independent equal-area CRS (the module uses its own LAEA)


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("zones") / "zones.parquet"
    return path, write_zones(path, seed=SEED, aef_bbox=SMALL_BBOX)


@pytest.fixture(scope="module")
def gdf(zones: tuple[Path, dict]):  # type: ignore[no-untyped-def]
    return gpd.read_parquet(zones[0])


def _region_area() -> float:
    ring = shapely.segmentize(shapely.box(*SMALL_BBOX), 0.001)
    return float(gpd.GeoSeries([ring], crs="OGC:CRS84").to_crs(EQUAL_AREA).area.iloc[0])


def test_schema_and_crs(zones: tuple[Path, dict], gdf) -> None:  # type: ignore[no-untyped-def]
    path, info = zones
    assert list(gdf.columns) == [*ZONE_COLUMNS, "geometry"]
    assert gdf.crs.equals("OGC:CRS84")
    schema = pq.read_schema(path)
    assert str(schema.field("GEOID").type) == "string" and str(schema.field("UR").type) == "string"
    for name in ("POP", "HOUSING", "ALAND", "AWATER"):
        assert str(schema.field(name).type) == "int64"
    assert b'"version": "1.1.0"' in schema.metadata[b"geo"]
    assert info["zones"] == len(gdf) and info["path"] == str(path) and info["crs"] == "OGC:CRS84"
    assert info["urban"] == (gdf.UR == "U").sum() and info["rural"] == (gdf.UR == "R").sum()
    assert info["population"] == gdf.POP.sum()
    assert not [p for p in path.parent.iterdir() if p != path]  # no temp files left


def test_geoids(gdf) -> None:  # type: ignore[no-untyped-def]
    assert gdf.GEOID.is_unique
    assert gdf.GEOID.str.fullmatch(r"99001\d{6}\d{4}").all()
    assert (gdf.GEOID.str[-4:].astype(int) >= 1000).all()
    assert list(gdf.GEOID) == sorted(gdf.GEOID)


def test_polygons_tile_the_region(gdf) -> None:  # type: ignore[no-untyped-def]
    assert gdf.is_valid.all() and not gdf.is_empty.any()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    area = gdf.to_crs(EQUAL_AREA).area
    union = gdf.to_crs(EQUAL_AREA).union_all().area
    region = _region_area()
    assert area.sum() == pytest.approx(union, rel=1e-3)  # no overlaps
    assert union == pytest.approx(region, rel=5e-3)  # no gaps
    west, _, _, north = gdf.total_bounds
    assert west == pytest.approx(SMALL_BBOX[0], abs=1e-6)
    assert north == pytest.approx(SMALL_BBOX[3], abs=1e-6)


def test_land_and_water_areas_sum_to_polygon_area(gdf) -> None:  # type: ignore[no-untyped-def]
    area = gdf.to_crs(EQUAL_AREA).area
    np.testing.assert_allclose(gdf.ALAND + gdf.AWATER, area, rtol=2e-3)
    assert (gdf.ALAND >= 0).all() and (gdf.AWATER >= 0).all()


def test_a_zone_crosses_the_utm_boundary(gdf) -> None:  # type: ignore[no-untyped-def]
    meridian = shapely.LineString([(-66.0, 45.0), (-66.0, 46.0)])
    assert gdf.intersects(meridian).any()
    crossing = gdf[gdf.intersects(meridian)]
    assert (crossing.bounds.minx < -66.0).all() and (crossing.bounds.maxx > -66.0).all()


def test_water_only_blocks_are_at_sea(gdf) -> None:  # type: ignore[no-untyped-def]
    water = gdf[gdf.ALAND == 0]
    assert len(water) >= 1
    assert (water.POP == 0).all() and (water.HOUSING == 0).all() and (water.UR == "R").all()
    pts = water.representative_point()
    assert not is_land(pts.x.to_numpy(), pts.y.to_numpy()).any()


def test_attributes_follow_land_cover(gdf) -> None:  # type: ignore[no-untyped-def]
    land = gdf[gdf.ALAND > 0]
    assert {"U", "R"} <= set(land.UR)
    # independent check: sample each block at points inside it and classify them
    rng = np.random.default_rng(0)
    urban_frac = []
    for geom in land.geometry:
        minx, miny, maxx, maxy = geom.bounds
        xs = rng.uniform(minx, maxx, 400)
        ys = rng.uniform(miny, maxy, 400)
        inside = shapely.contains_xy(geom, xs, ys) & is_land(xs, ys)
        if inside.sum() < 5:
            urban_frac.append(np.nan)
            continue
        cls = classify(xs[inside], ys[inside], year=YEARS[0], seed=SEED)
        urban_frac.append(float((cls == CLASSES.index("urban")).mean()))
    frac = np.array(urban_frac)
    ok = ~np.isnan(frac)
    is_u = (land.UR == "U").to_numpy()
    agree = (frac[ok] >= 0.5) == is_u[ok]
    assert agree.mean() > 0.9
    density = (land.POP / land.ALAND * 1e6).to_numpy()
    assert np.median(density[is_u]) > 10 * np.median(density[~is_u])
    assert np.corrcoef(frac[ok], np.log1p(density[ok]))[0, 1] > 0.6
    ratio = land.POP.sum() / land.HOUSING.sum()
    assert 2.0 < ratio < 3.0


def test_small_urban_blocks_large_rural_blocks(gdf) -> None:  # type: ignore[no-untyped-def]
    land = gdf[gdf.ALAND > 0]
    assert land[land.UR == "U"].ALAND.median() * 3 < land[land.UR == "R"].ALAND.median()


def test_same_seed_same_bytes(zones: tuple[Path, dict], tmp_path: Path) -> None:
    again = tmp_path / "z.parquet"
    write_zones(again, seed=SEED, aef_bbox=SMALL_BBOX)
    assert again.read_bytes() == zones[0].read_bytes()
    other = tmp_path / "other.parquet"
    write_zones(other, seed=SEED + 1, aef_bbox=SMALL_BBOX)
    assert other.read_bytes() != zones[0].read_bytes()


def test_default_region_has_oversized_and_water_blocks(tmp_path: Path) -> None:
    info = write_zones(tmp_path / "z.parquet", seed=SEED, aef_bbox=AEF_DEFAULT_BBOX)
    z = gpd.read_parquet(tmp_path / "z.parquet")
    area = z.to_crs(EQUAL_AREA).area
    assert info["oversized"] >= 1 and (area > 25e6).sum() == info["oversized"]
    assert (z[area > 25e6].UR == "R").all()
    assert info["water_only"] >= 1 and (z.ALAND == 0).sum() == info["water_only"]
    assert 0.25 < info["urban"] / info["zones"] < 0.8  # a baseline a model can beat


def test_small_region_has_no_oversized_block(zones: tuple[Path, dict], gdf) -> None:  # type: ignore[no-untyped-def]
    assert zones[1]["oversized"] == 0
    land = gdf[gdf.ALAND > 0]
    assert land.to_crs(EQUAL_AREA).area.max() < 3e6  # rural blocks were not merged


def test_aef_embeddings_separate_urban_from_rural(tmp_path: Path, gdf) -> None:  # type: ignore[no-untyped-def]
    """Per-zone mean of the de-quantized AEF pixels predicts ``UR`` (the census study)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    write_aef_tiles(tmp_path, seed=SEED, bbox=SMALL_BBOX, years=[YEARS[0]], tile_px=256)
    index = gpd.read_parquet(tmp_path / "index.parquet")
    sums = np.zeros((len(gdf), 64))
    counts = np.zeros(len(gdf))
    for row in index.itertuples():
        with rasterio.open(tmp_path / row.path) as src:
            codes = src.read()
            shapes = zip(gdf.to_crs(src.crs).geometry, range(len(gdf)), strict=True)
            ids = rasterio.features.rasterize(
                shapes, out_shape=src.shape, transform=src.transform, fill=-1, dtype="int32"
            ).ravel()
        x = dequantize(codes.reshape(64, -1).T)
        ok = (ids >= 0) & (codes[0].ravel() != AEF_NODATA)
        np.add.at(sums, ids[ok], x[ok])
        counts += np.bincount(ids[ok], minlength=len(gdf))
    has = counts >= 20
    features = sums[has] / counts[has, None]
    labels = (gdf.UR == "U").to_numpy()[has]
    assert has.sum() > 40 and 0 < labels.sum() < has.sum()
    majority = max(labels.mean(), 1 - labels.mean())
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    acc = cross_val_score(LogisticRegression(C=10.0, max_iter=2000), features, labels, cv=cv)
    assert acc.mean() > majority + 0.1
    assert acc.mean() > 0.85


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"aef_bbox": (-65.0, 45.0, -66.0, 45.1)}, RegionError, "minx < maxx"),
        ({"aef_bbox": (0.0, 0.0)}, RegionError, "four numbers"),
        ({"aef_bbox": (-70.0, 40.0, -60.0, 50.0)}, InvalidInputError, "smaller region"),
        ({"year": 1999}, InvalidInputError, "year must be one of"),
        ({"cell_m": 1.0}, InvalidInputError, "cell_m must be"),
        ({"oversized_km2": -1.0}, InvalidInputError, "oversized_km2"),
        ({"n_oversized": -1}, InvalidInputError, "n_oversized"),
    ],
)
def test_bad_input(tmp_path: Path, kwargs: dict, error: type[Exception], match: str) -> None:
    args = {"aef_bbox": SMALL_BBOX, **kwargs}
    with pytest.raises(error, match=match):
        write_zones(tmp_path / "z.parquet", seed=0, **args)
    assert not list(tmp_path.iterdir())
