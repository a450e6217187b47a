"""Pooling one tile: pooled vectors, kept blocks and footprints against an independent
recomputation with rasterio + numpy (AEF de-quantization written out here), edge blocks,
raw rasters and the refusals of tiles that are not embeddings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely
from pyproj import Transformer

from terrabit.corpus.tiles import read_tile_index
from terrabit.errors import InvalidInputError
from terrabit.pixels import pool, pool_tile
from terrabit.pixels.pool import tile_name

from .conftest import aef_codes, write_raster

N = 8


def oracle_tile(path: str, n: int, min_valid: float) -> dict[tuple[int, int], Any]:
    """Every kept block of a tile: (unit mean vector, CRS84 corners), recomputed block by
    block from the raw codes with the AEF formula ``(q / 127.5)² · sign(q)``."""
    with rasterio.open(path) as src:
        codes = src.read()
        transform, crs = src.transform, src.crs
    values = (codes.astype(np.float64) / 127.5) ** 2 * np.sign(codes)
    valid = ~(codes == -128).any(axis=0)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    out = {}
    rows, cols = codes.shape[1:]
    for r in range(-(-rows // n)):
        for c in range(-(-cols // n)):
            ys, xs = slice(r * n, min((r + 1) * n, rows)), slice(c * n, min((c + 1) * n, cols))
            ok = valid[ys, xs]
            if ok.sum() == 0 or ok.sum() / (n * n) < min_valid:
                continue
            mean = values[:, ys, xs][:, ok].mean(axis=1)
            col0, col1 = c * n, min((c + 1) * n, cols)
            row0, row1 = r * n, min((r + 1) * n, rows)
            corners = [transform @ (col0, row1), transform @ (col1, row1),
                       transform @ (col1, row0), transform @ (col0, row0)]  # fmt: skip
            lonlat = np.array([to_ll.transform(x, y) for x, y in corners])
            out[(r, c)] = (mean / np.linalg.norm(mean), lonlat, ok.mean() < 1)
    return out


def test_pooled_vectors_and_footprints_match_an_independent_recomputation(
    aef: dict[str, Any],
) -> None:
    tiles = read_tile_index(aef["index"])
    zones_seen, nodata_blocks = set(), 0
    for path, year in zip(tiles["path"], tiles["year"], strict=True):
        pooled = pool_tile(path, patch_px=N, year=int(year))
        expected = oracle_tile(path, N, 0.5)
        got = list(zip(pooled.rows.tolist(), pooled.cols.tolist(), strict=True))
        assert sorted(got) == sorted(expected), path  # the same blocks kept
        for i, key in enumerate(got):
            vector, lonlat, has_nodata = expected[key]
            np.testing.assert_allclose(pooled.vectors[i], vector, atol=1e-6)
            ring = np.asarray(pooled.footprints[i].exterior.coords)[:4]
            np.testing.assert_allclose(ring, lonlat, atol=1e-9)
            nodata_blocks += has_nodata
        zones_seen.add(pooled.zone)
        assert pooled.ids()[0] == f"{pooled.tile}-{got[0][0]}-{got[0][1]}-{year}"
    assert zones_seen == {"19N", "20N"}
    assert nodata_blocks > 0  # blocks with some nodata pixels were pooled (and checked)


def test_the_same_block_of_two_years_has_one_footprint_and_id_but_the_year(
    aef: dict[str, Any],
) -> None:
    tiles = read_tile_index(aef["index"])
    by_year = {}
    for path, year in zip(tiles["path"], tiles["year"], strict=True):
        pooled = pool_tile(path, patch_px=N, year=int(year))
        for i, pid in enumerate(pooled.ids()):
            by_year.setdefault(int(year), {})[pid.rsplit("-", 1)[0]] = pooled.footprints[i]
    a, b = by_year[2023], by_year[2024]
    common = set(a) & set(b)
    assert len(common) > 100
    assert all(shapely.to_wkb(a[k]) == shapely.to_wkb(b[k]) for k in common)


def test_partial_edge_blocks_keep_their_true_footprint_or_are_dropped(tmp_path: Path) -> None:
    # 10 x 10 pixels, blocks of 4: edge blocks 4 x 2 (half valid: kept at 0.5), corner 2 x 2
    # (a quarter: dropped)
    codes = aef_codes(np.random.default_rng(1), 10, 10)
    path = write_raster(tmp_path / "t.tif", codes, origin=(500_000.0, 5_000_000.0))
    pooled = pool_tile(str(path), patch_px=4, min_valid=0.5)
    kept = set(zip(pooled.rows.tolist(), pooled.cols.tolist(), strict=True))
    assert kept == {(r, c) for r in range(3) for c in range(3)} - {(2, 2)}
    i = next(k for k, rc in enumerate(zip(pooled.rows, pooled.cols, strict=True)) if rc == (0, 2))
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True)
    x, y = to_utm.transform(*np.asarray(pooled.footprints[i].exterior.coords).T)
    np.testing.assert_allclose([x.min(), x.max(), y.min(), y.max()],
                               [500_080, 500_100, 4_999_960, 5_000_000], atol=1e-6)  # fmt: skip
    assert pooled.valid_fraction[i] == pytest.approx(0.5)
    assert pooled.ids()[0] == "33N_500000_5000000-0-0"  # no year: no year in the id


def test_raw_rasters_pool_their_stored_values_with_their_nodata(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    data = rng.normal(size=(6, 4, 4)).astype(np.float32)
    data[:, 0, 0] = -9999.0  # the raster's nodata in one pixel
    data[2, 3, 3] = np.nan  # NaN in one band of another
    path = write_raster(tmp_path / "f.tif", data, nodata=-9999.0)
    pooled = pool_tile(str(path), patch_px=4, raw=True)
    valid = np.ones((4, 4), bool)
    valid[0, 0] = valid[3, 3] = False
    mean = data[:, valid].astype(np.float64).mean(axis=1)
    np.testing.assert_allclose(pooled.vectors[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert pooled.valid_fraction[0] == pytest.approx(14 / 16)


def test_bottom_up_tiles_pool_like_north_up_ones(tmp_path: Path) -> None:
    codes = aef_codes(np.random.default_rng(3), 12, 8)
    north_up = write_raster(tmp_path / "n.tif", codes)
    flipped = tmp_path / "b.tif"
    with rasterio.open(north_up) as src:
        profile = src.profile
    t = profile["transform"]
    profile["transform"] = rasterio.Affine(t.a, 0, t.c, 0, -t.e, t.f + t.e * 12)
    with rasterio.open(flipped, "w", **profile) as dst:
        dst.write(codes[:, ::-1, :])
    a, b = pool_tile(str(north_up), patch_px=4), pool_tile(str(flipped), patch_px=4)
    assert a.ids() == b.ids()
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize(
    ("bands", "dtype", "raw", "crs", "message"),
    [
        (3, "uint8", False, "EPSG:32633", "has 3 band(s): it looks like imagery, not embeddings"),
        (1, "float32", True, "EPSG:32633", "has 1 band(s)"),
        (64, "float32", False, "EPSG:32633", "holds float32 values, not AEF's int8 codes; pass "
         "raw=True"),
        (64, "int8", False, None, "has no CRS, so its blocks cannot be placed on the Earth"),
    ],
)  # fmt: skip
def test_rasters_that_are_not_embeddings_are_refused_in_one_line(
    tmp_path: Path, bands: int, dtype: str, raw: bool, crs: str | None, message: str
) -> None:
    data = np.ones((bands, 4, 4), dtype=dtype)
    path = write_raster(tmp_path / "x.tif", data, crs=crs, nodata=None)
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pool_tile(str(path), patch_px=2, raw=raw)


def test_a_tile_streams_to_its_patch_file_in_row_groups_of_whole_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 x 40 pixels, windows of 16 px, blocks of 4 px: windows of 16, 16, 8 blocks in the
    # first two rows of windows, 8, 8, 4 in the last; a row group is written once 20 or
    # more patches are held: 16+16, 8+16, 16+8, 8+8+4
    monkeypatch.setattr(pool, "WINDOW_PX", 16)
    monkeypatch.setattr(pool, "ROW_GROUP_PATCHES", 20)
    codes = aef_codes(np.random.default_rng(6), 40, 40)
    path = str(write_raster(tmp_path / "t.tif", codes))
    counts = pool.write_pooled_tile(path, tmp_path / "p.parquet", patch_px=4, year=2024)
    f = pq.ParquetFile(tmp_path / "p.parquet")
    sizes = [f.metadata.row_group(g).num_rows for g in range(f.num_row_groups)]
    assert sizes == [32, 24, 24, 20]
    assert counts == {"patches": 100, "blocks": 100, "pixels": 1600, "valid_pixels": 1600,
                      "raster_bytes": 1600 * 64}  # fmt: skip
    table = f.read()
    expected = oracle_tile(path, 4, 0.5)
    ids = table["id"].to_pylist()
    assert sorted(ids) == sorted(f"33N_500000_5000000-{r}-{c}-2024" for r, c in expected)
    vectors = np.array(table["embedding"].to_pylist())
    for pid, vector in zip(ids, vectors, strict=True):
        r, c = (int(v) for v in pid.split("-")[1:3])
        np.testing.assert_allclose(vector, expected[(r, c)][0], atol=1e-6)
    geo = json.loads(f.schema_arrow.metadata[b"geo"])["columns"]["geometry"]
    footprints = shapely.from_wkb(table["geometry"].to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(geo["bbox"], shapely.total_bounds(footprints))


def test_a_tile_with_no_kept_block_writes_no_patch_file(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "t.tif", np.full((64, 8, 8), -128, np.int8))
    counts = pool.write_pooled_tile(str(path), tmp_path / "p.parquet", patch_px=4)
    assert counts["patches"] == 0 and counts["blocks"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.tif"]


def test_tile_names_follow_the_grid_not_the_file() -> None:
    assert tile_name("19N", 727040.0, 5022720.0) == "19N_727040_5022720"
