"""Zonal statistics: terrabit's exact engine against ``rasterstats``, side by side.

Writes two adjacent 64-band int8 COG tiles (AEF layout: 256 px blocks, ZSTD, nodata -128)
of ``--tile-px`` squared pixels in UTM 19N and ``--polygons`` random block-sized polygons
(~0.04 km², 10-gons) over them, some crossing the tiles' common edge. Then times

* terrabit (``terrabit.zonal.engine.zonal_stats``: exact coverage fractions, de-quantized
  values, mean + std of all bands, ``--workers`` threads), on all polygons, and
* ``rasterstats.zonal_stats`` (pixel-centre masks, raw codes, mean + std, one band a
  pass over a VRT mosaic of the two tiles), on the first ``--rs-polygons`` polygons and
  ``--rs-bands`` bands (it is slow),

and prints one JSON line with both throughputs in polygon·bands per second and their
ratio. rasterstats is not coverage weighted and does not de-quantize, so its numbers are
a speed reference only; correctness is tested against a brute force in
``tests/zonal/test_engine.py``.

Run::

    .venv/bin/python benchmarks/zonal_vs_rasterstats.py                      # quick
    .venv/bin/python benchmarks/zonal_vs_rasterstats.py --tile-px 8192 --polygons 50000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_tiles(root: Path, tile_px: int, seed: int, interleave: str) -> list[str]:
    import rasterio
    import rasterio.shutil
    from rasterio.transform import Affine

    rng = np.random.default_rng(seed)
    paths = []
    west, north = 700_000.0, 5_020_000.0
    for i in range(2):
        plain = root / f"plain{i}.tif"
        path = root / f"tile{i}.tiff"
        transform = Affine(10.0, 0.0, west + i * tile_px * 10.0, 0.0, -10.0, north)
        profile = {
            "driver": "GTiff",
            "width": tile_px,
            "height": tile_px,
            "count": 64,
            "dtype": "int8",
            "crs": "EPSG:32619",
            "transform": transform,
            "nodata": -128,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "interleave": "pixel",
        }
        with rasterio.open(plain, "w", **profile) as dst:
            step = 1024
            for r in range(0, tile_px, step):
                h = min(step, tile_px - r)
                base = rng.integers(-127, 128, size=(64, 1, 1), dtype=np.int16)
                block = (base + rng.integers(-20, 21, size=(64, h, tile_px))).clip(-127, 127)
                block = block.astype(np.int8)
                block[:, : max(1, h // 50), :] = -128  # a nodata strip
                dst.write(block, window=rasterio.windows.Window(0, r, tile_px, h))
            dst.descriptions = tuple(f"A{b:02d}" for b in range(64))
        rasterio.shutil.copy(
            plain,
            path,
            driver="COG",
            compress="ZSTD",
            blocksize=256,
            overviews="NONE",
            interleave=interleave.upper(),
        )
        plain.unlink()
        paths.append(os.fspath(path))
    return paths


def _polygons(n: int, tile_px: int, seed: int) -> object:
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed + 1)
    west, north = 700_000.0, 5_020_000.0
    width, height = 2 * tile_px * 10.0, tile_px * 10.0
    cx = west + 150 + rng.random(n) * (width - 300)
    cy = north - 150 - rng.random(n) * (height - 300)
    angles = np.sort(rng.random((n, 10)) * 2 * np.pi, axis=1)
    radius = 110 * (0.7 + 0.6 * rng.random((n, 10)))  # ~0.04 km²
    xs = cx[:, None] + radius * np.cos(angles)
    ys = cy[:, None] + radius * np.sin(angles)
    rings = np.stack([xs, ys], axis=-1)
    geoms = shapely.polygons(rings)
    geoms = shapely.make_valid(geoms)
    return gpd.GeoDataFrame({"id": np.arange(n)}, geometry=geoms, crs="EPSG:32619")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tile-px", type=int, default=2048)
    parser.add_argument("--polygons", type=int, default=5000)
    parser.add_argument("--rs-polygons", type=int, default=500)
    parser.add_argument("--rs-bands", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--interleave",
        choices=["pixel", "band"],
        default="pixel",
        help="COG interleave: pixel (as AEF) or band (kinder to one-band-a-pass readers)",
    )
    args = parser.parse_args(argv)

    import rasterio
    import rasterstats
    import shapely

    from terrabit.zonal.engine import zonal_stats

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        paths = _write_tiles(root, args.tile_px, args.seed, args.interleave)
        polys = _polygons(args.polygons, args.tile_px, args.seed)
        setup_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        _, summary = zonal_stats(
            polys, rasters=paths, stats=("mean", "std"), workers=args.workers, show_progress=False
        )
        ours_s = time.perf_counter() - t0
        ours_rate = len(polys) * 64 / ours_s

        # side by side on the same polygons (inside tile 0: rasterstats reads one raster)
        with rasterio.open(paths[0]) as src:
            left, bottom, right, top = src.bounds
        inside = polys.geometry.within(shapely.box(left, bottom, right, top)).to_numpy()
        subset = polys[inside].iloc[: args.rs_polygons].reset_index(drop=True)
        bands = min(64, args.rs_bands)
        t0 = time.perf_counter()
        same, _ = zonal_stats(
            subset,
            rasters=[paths[0]],
            stats=("mean", "std"),
            raw=True,  # raw codes, as rasterstats sees them
            workers=1,
            show_progress=False,
        )
        ours_same_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rs_means = []
        for b in range(bands):
            res = rasterstats.zonal_stats(
                list(subset.geometry), paths[0], band=b + 1, stats=["mean", "std"], nodata=-128
            )
            rs_means.append([r["mean"] for r in res])
        rs_s = time.perf_counter() - t0
        rs_rate = len(subset) * bands / rs_s
        ours_means = same[[f"A{b:02d}_mean" for b in range(bands)]].to_numpy().T
        diff = np.abs(np.asarray(rs_means, dtype=np.float64) - ours_means)
        ours_same_rate = len(subset) * 64 / ours_same_s
    print(
        json.dumps(
            {
                "tile_px": args.tile_px,
                "tiles": 2,
                "polygons": len(polys),
                "bands": 64,
                "setup_s": round(setup_s, 2),
                "terrabit_s": round(ours_s, 3),
                "terrabit_polygon_bands_per_s": round(ours_rate),
                "workers": args.workers,
                "side_by_side_polygons": len(subset),
                "terrabit_side_by_side_s": round(ours_same_s, 3),
                "terrabit_side_by_side_polygon_bands_per_s": round(ours_same_rate),
                "rasterstats_bands": bands,
                "rasterstats_s": round(rs_s, 3),
                "rasterstats_polygon_bands_per_s": round(rs_rate),
                "speedup_same_polygons": round(ours_same_rate / rs_rate, 1),
                "speedup_throughput": round(ours_rate / rs_rate, 1),
                "polygons_with_data": summary["polygons_with_data"],
                "interleave": args.interleave,
                "median_abs_mean_diff_codes": round(float(np.nanmedian(diff)), 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
