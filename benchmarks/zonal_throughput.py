"""Zonal statistics throughput: 50K polygons over two AEF-sized tiles (8192² px, 64 int8 bands).

Issue 7 asks for the throughput in polygon·bands per second of ``terrabit zonal stats`` for
50K polygons over two 8192² tiles. This script writes, into a temporary folder,

* two adjacent AEF-like COGs (64 int8 bands, ``-128`` nodata strips, 256-px blocks,
  pixel interleave, ZSTD, band descriptions ``A00…A63``) of ``--tile-px``² pixels in
  UTM 19N, 10 m pixels (8192² ≈ 82 km side, as AEF), written strip by strip (bounded
  memory) then copied to COG;
* their tile index (GeoParquet columns ``path``, ``crs``, ``year``, ``wgs84_*``), and
* ``--polygons`` random block-sized 10-gons (~0.04 km², census-block-like) over both
  tiles, some crossing their common edge,

then times ``zonal_stats`` through the index (mean + std of the 64 de-quantized bands,
exact coverage) with ``--engine`` (local threads or ``dask`` on ``local:N``), and, on
the first ``--rs-polygons`` polygons of tile 0 and ``--rs-bands`` bands, terrabit
against ``rasterstats`` side by side: ``--repeats`` interleaved rounds, median of each
(raw codes for both, as rasterstats sees them). Prints one JSON line.

Run::

    .venv/bin/python benchmarks/zonal_throughput.py --tile-px 1024 --polygons 2000   # quick
    .venv/bin/python benchmarks/zonal_throughput.py                                  # issue 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WEST, NORTH, RES_M = 700_000.0, 5_020_000.0, 10.0
BANDS = 64


def write_tile(root: Path, i: int, tile_px: int, seed: int) -> Path:
    """One AEF-like COG, east of tile ``i - 1``; strips of 256 rows, int8 throughout."""
    import rasterio
    import rasterio.shutil
    from rasterio.transform import Affine
    from rasterio.windows import Window

    rng = np.random.default_rng(seed + i)
    plain = root / f"plain{i}.tif"
    path = root / "2024" / "19N" / f"tile{i}.tiff"
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": tile_px,
        "height": tile_px,
        "count": BANDS,
        "dtype": "int8",
        "crs": "EPSG:32619",
        "transform": Affine(RES_M, 0.0, WEST + i * tile_px * RES_M, 0.0, -RES_M, NORTH),
        "nodata": -128,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "interleave": "pixel",
        "BIGTIFF": "YES",
    }
    base = rng.integers(-100, 101, size=(BANDS, 1, 1), dtype=np.int8)
    with rasterio.open(plain, "w", **profile) as dst:
        step = 256
        for r in range(0, tile_px, step):
            h = min(step, tile_px - r)
            noise = rng.integers(-20, 21, size=(BANDS, h, tile_px), dtype=np.int8)
            block = base + noise  # within -120..121: never the nodata code
            if (r // step) % 16 == 0:
                block[:, : max(1, h // 8), :] = -128  # a nodata strip (sea, clouds)
            dst.write(block, window=Window(0, r, tile_px, h))
        dst.descriptions = tuple(f"A{b:02d}" for b in range(BANDS))
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        rasterio.shutil.copy(
            plain,
            path,
            driver="COG",
            compress="ZSTD",
            blocksize=256,
            overviews="NONE",
            interleave="PIXEL",
            BIGTIFF="YES",
            NUM_THREADS="ALL_CPUS",
        )
    plain.unlink()
    return path


def write_index(root: Path, paths: list[Path]) -> Path:
    """An AEF-style GeoParquet-less tile index (``path`` relative to it)."""
    import pandas as pd
    import rasterio
    from rasterio.warp import transform_bounds

    rows = []
    for path in paths:
        with rasterio.open(path) as src:
            w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            rows.append(
                {
                    "path": os.fspath(path.relative_to(root)),
                    "crs": src.crs.to_string(),
                    "year": 2024,
                    "wgs84_west": w,
                    "wgs84_south": s,
                    "wgs84_east": e,
                    "wgs84_north": n,
                }
            )
    index = root / "index.parquet"
    pd.DataFrame(rows).to_parquet(index, index=False)
    return index


def polygons(n: int, tile_px: int, seed: int) -> object:
    """``n`` random 10-gons of ~0.04 km² over the two tiles (UTM 19N)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed + 1)
    width, height = 2 * tile_px * RES_M, tile_px * RES_M
    cx = WEST + 150 + rng.random(n) * (width - 300)
    cy = NORTH - 150 - rng.random(n) * (height - 300)
    angles = np.sort(rng.random((n, 10)) * 2 * np.pi, axis=1)
    radius = 110 * (0.7 + 0.6 * rng.random((n, 10)))
    rings = np.stack(
        [cx[:, None] + radius * np.cos(angles), cy[:, None] + radius * np.sin(angles)], axis=-1
    )
    geoms = shapely.make_valid(shapely.polygons(rings))
    return gpd.GeoDataFrame({"id": np.arange(n)}, geometry=geoms, crs="EPSG:32619")


def side_by_side(subset: object, tile: str, bands: int, repeats: int) -> dict[str, float | int]:
    """terrabit vs rasterstats on the same polygons, interleaved; medians of ``repeats``."""
    import rasterstats

    from terrabit.zonal.engine import zonal_stats

    ours: list[float] = []
    peer: list[float] = []
    n = len(subset)  # type: ignore[arg-type]
    for _ in range(repeats):
        t0 = time.perf_counter()
        zonal_stats(subset, rasters=[tile], raw=True, workers=1, show_progress=False)
        ours.append(n * BANDS / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for b in range(bands):
            rasterstats.zonal_stats(
                list(subset.geometry),  # type: ignore[attr-defined]
                tile,
                band=b + 1,
                stats=["mean", "std"],
                nodata=-128,
            )
        peer.append(n * bands / (time.perf_counter() - t0))
    ours_med, peer_med = statistics.median(ours), statistics.median(peer)
    return {
        "side_by_side_polygons": n,
        "rasterstats_bands": bands,
        "repeats": repeats,
        "terrabit_side_by_side_polygon_bands_per_s": round(ours_med),
        "rasterstats_polygon_bands_per_s": round(peer_med),
        "speedup_same_polygons": round(ours_med / peer_med, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tile-px", type=int, default=8192)
    parser.add_argument("--polygons", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument(
        "--rs-polygons", type=int, default=200, help="0 skips the rasterstats comparison"
    )
    parser.add_argument("--rs-bands", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tmp", default=None, help="Folder for the temporary tiles.")
    args = parser.parse_args(argv)

    import rasterio
    import shapely

    from terrabit.zonal.engine import zonal_stats

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        paths = [write_tile(root, i, args.tile_px, args.seed) for i in range(2)]
        index = write_index(root, paths)
        polys = polygons(args.polygons, args.tile_px, args.seed)
        setup_s = time.perf_counter() - t0
        tile_bytes = sum(p.stat().st_size for p in paths)

        t0 = time.perf_counter()
        scheduler = f"local:{args.workers}" if args.engine == "dask" else None
        _, summary = zonal_stats(
            polys,
            index=index,
            year=2024,
            stats=("mean", "std"),
            workers=args.workers,
            engine=args.engine,
            scheduler=scheduler,
            show_progress=False,
        )
        run_s = time.perf_counter() - t0

        with rasterio.open(paths[0]) as src:
            box = shapely.box(*src.bounds)
        inside = polys.geometry.within(box).to_numpy()  # type: ignore[attr-defined]
        subset = polys[inside].iloc[: args.rs_polygons].reset_index(drop=True)  # type: ignore[index]
        compare: dict[str, float | int] = {}
        if args.rs_polygons > 0:  # 0: throughput only
            compare = side_by_side(
                subset, os.fspath(paths[0]), min(BANDS, args.rs_bands), args.repeats
            )
    result = {
        "tile_px": args.tile_px,
        "tiles": 2,
        "tile_gib": round(tile_bytes / 2**30, 2),
        "polygons": len(polys),  # type: ignore[arg-type]
        "bands": BANDS,
        "engine": args.engine,
        "workers": args.workers,
        "setup_s": round(setup_s, 1),
        "terrabit_s": round(run_s, 2),
        "terrabit_polygon_bands_per_s": round(len(polys) * BANDS / run_s),  # type: ignore[arg-type]
        "polygons_with_data": summary["polygons_with_data"],
        "tiles_read": summary["tiles"],
        **compare,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
