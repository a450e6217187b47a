"""Pixel corpora (issue 19): pooling throughput, memory, bytes per patch, search latency, and
what pooling and binary codes cost in recall.

Parts (each prints one JSON object; ``--parts`` picks them):

* ``world`` — the world's AEF tiles (``write_aef_tiles``, default region: 12 tiles of 512²
  px, two UTM zones, two years) published by ``publish_pixels`` (patch 8, binary): pooling
  throughput in raster bytes/s and pixels/s, bytes per patch on disk, and the latency of a
  region search (``search``, a bbox over the region, one exemplar, k=10; median of 7
  after one warm-up).
* ``recall`` — on the world's 2024 tiles: ``--queries`` seeded patches against all other
  patches of the year; recall@10 of Hamming top-10 on the pooled sign bits against (a) the
  cosine top-10 of the pooled float vectors, and (b) the per-pixel truth aggregated to
  patches: each patch scored by the best cosine of any of its valid pixels to the query's
  pooled vector (every pixel searched, the Earth Engine tutorial's per-pixel dot product),
  top-10 patches; (b) is also given for the pooled float vectors, separating the cost of
  pooling from the cost of the 64-bit codes. Patches that share one 64-bit code
  (``distinct_codes`` counts the codes) make the exact top-10 one draw among ties; the
  tie-tolerant figures count a found patch as a hit when it is as similar as the truth's
  10th (by the truth's own measure).
* ``big`` — two AEF-sized COGs (``--tile-px``², 64 int8 bands; written as
  ``zonal_throughput.py`` writes them, or reused from ``--big-dir``) published by a child
  process: pooling throughput, and the child's peak resident memory when pooling is done
  (``pool_peak_rss_mb``) and at the end (``peak_rss_mb``, pooling and publish).

Run::

    .venv/bin/python benchmarks/pixel_publish.py --parts world,recall
    .venv/bin/python benchmarks/pixel_publish.py --parts big --tile-px 8192 --big-dir /tmp/big
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def world_part(root: Path, workers: int) -> dict[str, object]:
    from terrabit.corpus import open as open_corpus
    from terrabit.pixels import publish_pixels
    from terrabit.search import search
    from terrabit.world.aef import AEF_DEFAULT_BBOX, write_aef_tiles

    info = write_aef_tiles(root / "aef", seed=0, show_progress=False)
    result = publish_pixels(
        root / "pixels", index=info["index"], patch_px=8, workers=workers, show_progress=False
    )
    corpus = open_corpus(root / "pixels")
    ids = corpus.read(columns=["id"])["id"].to_pylist()
    exemplar = sorted(i for i in ids if i.endswith("-2024"))[len(ids) // 4]
    times = []
    for i in range(8):
        fresh = open_corpus(root / "pixels")  # no region cache between rounds
        t0 = time.perf_counter()
        search(fresh, AEF_DEFAULT_BBOX, positives=[exemplar], year=2024, k=10)
        if i:
            times.append(time.perf_counter() - t0)
    return {
        "part": "world",
        "tiles": result.tiles,
        "tile_px": 512,
        "pixels": result.pixels,
        "raster_bytes": result.raster_bytes,
        "pool_seconds": result.pool_seconds,
        "raster_bytes_per_s": round(result.raster_bytes / result.pool_seconds),
        "pixels_per_s": round(result.pixels / result.pool_seconds),
        "patches": result.patches,
        "publish_seconds": result.publish.seconds,
        "bytes_per_patch": result.publish.bytes_per_row,
        "search_ms_median": round(1000 * statistics.median(times), 1),
        "workers": workers,
    }


def recall_part(root: Path, queries: int, seed: int) -> dict[str, object]:
    import rasterio

    from terrabit.aef import dequantize
    from terrabit.corpus.tiles import read_tile_index
    from terrabit.pixels import pool_tile

    index = root / "aef" / "index.parquet"
    if not index.exists():
        from terrabit.world.aef import write_aef_tiles

        write_aef_tiles(root / "aef", seed=0, show_progress=False)
    tiles = read_tile_index(index, year=2024)
    pooled, pixels, owner = [], [], []
    base = 0
    for path in tiles["path"]:
        p = pool_tile(path, patch_px=8, year=2024)
        with rasterio.open(path) as src:
            codes = src.read()
        valid = ~(codes == -128).any(axis=0)
        rows, cols = np.nonzero(valid)
        block = {(r, c): base + i for i, (r, c) in enumerate(zip(p.rows, p.cols, strict=True))}
        keys = [block.get((r // 8, c // 8), -1) for r, c in zip(rows, cols, strict=True)]
        keep = np.array(keys) >= 0  # pixels of kept patches
        pixels.append(dequantize(codes[:, rows[keep], cols[keep]]).T.astype(np.float32))
        owner.append(np.array(keys)[keep])
        pooled.append(p.vectors)
        base += len(p.rows)
    X = np.concatenate(pooled)
    P = np.concatenate(pixels)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    own = np.concatenate(owner)
    bits = np.packbits(X > 0, axis=1)
    unpacked = np.unpackbits(bits, axis=1).astype(np.int16)
    rng = np.random.default_rng(seed)
    qs = rng.choice(len(X), queries, replace=False)
    rec_codes_float, rec_codes_pixel, rec_float_pixel = [], [], []
    tol_codes_float, tol_codes_pixel, rec_rerank_float, rec_rerank_pixel = [], [], [], []
    from terrabit.codecs import parse

    int8 = parse("int8").fit(X)
    X8 = int8.decode(int8.encode(X))
    order = np.argsort(own, kind="stable")
    starts = np.searchsorted(own[order], np.arange(len(X)))
    for q in qs:
        cos = X @ X[q]
        cos[q] = -np.inf
        truth_float = set(np.argsort(-cos, kind="stable")[:10].tolist())
        ham = (unpacked != unpacked[q]).sum(axis=1).astype(np.float64)
        ham[q] = np.inf
        found = set(np.lexsort((np.arange(len(X)), ham))[:10].tolist())
        best = np.maximum.reduceat((P @ X[q])[order], starts)  # best pixel per patch
        best[q] = -np.inf
        truth_pixel = set(np.argsort(-best, kind="stable")[:10].tolist())
        rec_codes_float.append(len(found & truth_float) / 10)
        rec_codes_pixel.append(len(found & truth_pixel) / 10)
        rec_float_pixel.append(len(truth_float & truth_pixel) / 10)
        # Hamming shortlist of 1000, re-ranked by the int8 codes (publish --rerank int8)
        short = np.lexsort((np.arange(len(X)), ham))[:1000]
        rr = set(short[np.argsort(-(X8[short] @ X[q]), kind="stable")[:10]].tolist())
        rec_rerank_float.append(len(rr & truth_float) / 10)
        rec_rerank_pixel.append(len(rr & truth_pixel) / 10)
        # tie-tolerant: a found patch counts when it is as similar as the 10th of the truth
        tol_codes_float.append(np.mean(cos[list(found)] >= np.sort(cos)[-10] - 1e-6))
        tol_codes_pixel.append(np.mean(best[list(found)] >= np.sort(best)[-10] - 1e-6))
    return {
        "part": "recall",
        "patches": len(X),
        "pixels": len(P),
        "queries": queries,
        "recall10_codes_vs_pooled_float": round(float(np.mean(rec_codes_float)), 3),
        "recall10_codes_vs_pixel_truth": round(float(np.mean(rec_codes_pixel)), 3),
        "recall10_pooled_float_vs_pixel_truth": round(float(np.mean(rec_float_pixel)), 3),
        "tie_tolerant_codes_vs_pooled_float": round(float(np.mean(tol_codes_float)), 3),
        "tie_tolerant_codes_vs_pixel_truth": round(float(np.mean(tol_codes_pixel)), 3),
        "recall10_rerank_int8_vs_pooled_float": round(float(np.mean(rec_rerank_float)), 3),
        "recall10_rerank_int8_vs_pixel_truth": round(float(np.mean(rec_rerank_pixel)), 3),
        "distinct_codes": len(np.unique(bits, axis=0)),
    }


#: The child of ``big``: publish_pixels, with the peak memory of its pooling step (read
#: when publish starts) and of the whole run.
_BIG_CHILD = """
import json, resource, sys
from terrabit.pixels import publish as step
publish, peak = step.publish, {}
def measured(*args, **kwargs):
    peak["pool_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return publish(*args, **kwargs)
step.publish = measured
out, index, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = step.publish_pixels(out, index=index, patch_px=8, workers=workers, show_progress=False)
peak["total_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({**r.to_dict(), **peak}))
"""


def big_part(root: Path, tile_px: int, workers: int, seed: int) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).parent))
    from zonal_throughput import write_index, write_tile

    t0 = time.perf_counter()
    index = root / "index.parquet"
    if index.exists():  # --big-dir: the tiles of an earlier run
        from terrabit.corpus.tiles import read_tile_index

        paths = [Path(p) for p in read_tile_index(index)["path"]]
    else:
        paths = [write_tile(root, i, tile_px, seed) for i in range(2)]
        index = write_index(root, paths)
    written_s = time.perf_counter() - t0
    out = root / "pixels"
    run = [sys.executable, "-c", _BIG_CHILD, str(out), str(index), str(workers)]
    done = subprocess.run(run, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(out)
    return {
        "part": "big",
        "tiles": 2,
        "tile_px": tile_px,
        "tile_write_seconds": round(written_s, 1),
        "file_bytes": sum(p.stat().st_size for p in paths),
        "raster_bytes": result["raster_bytes"],
        "pixels": result["pixels"],
        "pool_seconds": result["pool_seconds"],
        "raster_bytes_per_s": round(result["raster_bytes"] / result["pool_seconds"]),
        "pixels_per_s": round(result["pixels"] / result["pool_seconds"]),
        "patches": result["patches"],
        "publish_seconds": result["seconds"],
        "bytes_per_patch": result["bytes_per_row"],
        "pool_peak_rss_mb": round(result["pool_kb"] / 1024),
        "peak_rss_mb": round(result["total_kb"] / 1024),
        "workers": workers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="world,recall,big")
    parser.add_argument("--tile-px", type=int, default=8192)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--big-dir", type=Path, help="keep the big tiles here (and reuse them when present)"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(json.dumps({"cpus": os.cpu_count(), "load_1_5_15": [round(v, 2) for v in load]}))
    with tempfile.TemporaryDirectory(prefix="pixel-bench-") as tmp:
        root = Path(tmp)
        for part in args.parts.split(","):
            if part == "world":
                print(json.dumps(world_part(root, args.workers)), flush=True)
            elif part == "recall":
                print(json.dumps(recall_part(root, args.queries, args.seed)), flush=True)
            elif part == "big":
                big = args.big_dir or root / "big"
                big.mkdir(parents=True, exist_ok=True)
                print(json.dumps(big_part(big, args.tile_px, args.workers, args.seed)), flush=True)
            else:
                parser.error(f"unknown part {part!r}; choose from world, recall, big")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
