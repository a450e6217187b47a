"""Are the world's AEF-like tiles as hard as real AEF? Pixel and pooled-patch PCA, distinct
codes of pooled patches, land-cover kNN and change detection between the two years.

    .venv/bin/python benchmarks/world_aef_hardness.py OUT [--recall]

Writes the default world AEF region (seed 0, both years) into ``OUT/aef`` unless it is
there, pools every 2024 tile to 8 x 8 pixel patches (:func:`terrabit.pixels.pool_tile`) and
prints one JSON object:

* ``pixel_pca10``: the share of the variance of every valid 2024 pixel's de-quantized vector
  in its top 10 principal components (real AEF: 0.79, FIELD.md); ``pooled_pca10`` likewise
  for the pooled patches;
* ``distinct_share``: distinct 64-bit sign codes over pooled patches (ties make a Hamming
  ranking arbitrary);
* ``knn10_acc``: leave-one-out kNN (k = 10, cosine) accuracy of pooled patches for the world's
  land-cover class at each block's centre, beside ``majority``;
* ``change``: blocks present in both years, those whose centre class changed, the ROC AUC of
  (1 - cosine) and of the Hamming distance between a block's two years for "changed"
  (scikit-learn), and precision at n = the number changed;
* with ``--recall``: ``benchmarks/pixel_publish.py``'s recall part (200 queries).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pyproj import Transformer
from sklearn.metrics import roc_auc_score

from terrabit.aef import dequantize
from terrabit.corpus.tiles import read_tile_index
from terrabit.pixels import pool_tile
from terrabit.world.aef import write_aef_tiles
from terrabit.world.landcover import classify

PATCH_PX = 8
YEARS = (2023, 2024)


def _pca10(x: np.ndarray) -> float:
    centred = x.astype(np.float64) - x.mean(axis=0)
    ev = np.linalg.eigvalsh(centred.T @ centred)[::-1]
    return round(float(ev[:10].sum() / ev.sum()), 3)


def _pooled(index: Path, year: int) -> dict[tuple[Any, ...], tuple[np.ndarray, float, float]]:
    """Every pooled block of ``year``: (tile origin, row, col) -> (vector, lon, lat of centre)."""
    out = {}
    for path in read_tile_index(index, year=year)["path"]:
        p = pool_tile(path, patch_px=PATCH_PX, year=year)
        with rasterio.open(path) as src:
            tr, epsg = src.transform, src.crs.to_epsg()
        half = PATCH_PX / 2
        x, y = tr * (np.asarray(p.cols) * PATCH_PX + half, np.asarray(p.rows) * PATCH_PX + half)
        lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(x, y)
        for r, c, v, a, b in zip(p.rows, p.cols, p.vectors, lon, lat, strict=True):
            out[(epsg, tr.c, tr.f, int(r), int(c))] = (v, float(a), float(b))
    return out


def _knn_accuracy(x: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    correct = 0
    for s in range(0, len(xn), 2048):
        sim = xn[s : s + 2048] @ xn.T
        sim[np.arange(sim.shape[0]), np.arange(s, s + sim.shape[0])] = -np.inf
        votes = labels[np.argpartition(-sim, k, axis=1)[:, :k]]
        for i, row in enumerate(votes):
            values, counts = np.unique(row, return_counts=True)
            correct += int(values[np.argmax(counts)] == labels[s + i])
    return round(correct / len(xn), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--recall", action="store_true")
    args = parser.parse_args()
    index = args.out / "aef" / "index.parquet"
    result: dict[str, Any] = {}
    if not index.exists():
        t0 = time.perf_counter()
        write_aef_tiles(args.out / "aef", seed=0, years=list(YEARS), show_progress=False)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
    pixels = []
    for path in read_tile_index(index, year=YEARS[1])["path"]:
        with rasterio.open(path) as src:
            codes = src.read()
        valid = ~(codes == -128).any(axis=0)
        pixels.append(dequantize(codes[:, valid]).T.astype(np.float32))
    result["pixels"] = int(sum(len(p) for p in pixels))
    result["pixel_pca10"] = _pca10(np.concatenate(pixels))
    blocks = {year: _pooled(index, year) for year in YEARS}
    now = blocks[YEARS[1]]
    x = np.stack([v for v, _, _ in now.values()])
    lon = np.array([a for _, a, _ in now.values()])
    lat = np.array([b for _, _, b in now.values()])
    labels = np.asarray(classify(lon, lat, year=YEARS[1], seed=0))
    result["patches"] = len(x)
    result["pooled_pca10"] = _pca10(x)
    result["distinct_share"] = round(len(np.unique(np.packbits(x > 0, axis=1), axis=0)) / len(x), 3)
    result["knn10_acc"] = _knn_accuracy(x, labels)
    result["majority"] = round(float(np.bincount(labels).max() / len(labels)), 3)
    both = [key for key in now if key in blocks[YEARS[0]]]
    v0 = np.stack([blocks[YEARS[0]][key][0] for key in both])
    v1 = np.stack([now[key][0] for key in both])
    lon = np.array([now[key][1] for key in both])
    lat = np.array([now[key][2] for key in both])
    changed = np.asarray(classify(lon, lat, year=YEARS[0], seed=0)) != np.asarray(
        classify(lon, lat, year=YEARS[1], seed=0)
    )
    cos = (v0 * v1).sum(1) / np.linalg.norm(v0, axis=1) / np.linalg.norm(v1, axis=1)
    ham = np.packbits(v0 > 0, axis=1) ^ np.packbits(v1 > 0, axis=1)
    ham = np.unpackbits(ham, axis=1).sum(axis=1).astype(np.int64)
    n = int(changed.sum())
    by_cos = np.argsort(cos, kind="stable")[:n]
    by_ham = np.lexsort((np.arange(len(ham)), -ham))[:n]
    result["change"] = {
        "pairs": len(both),
        "changed": n,
        "auc_cosine": round(float(roc_auc_score(changed, -cos)), 3),
        "auc_hamming": round(float(roc_auc_score(changed, ham)), 3),
        "precision_at_n_cosine": round(float(changed[by_cos].mean()), 3),
        "precision_at_n_hamming": round(float(changed[by_ham].mean()), 3),
    }
    if args.recall:
        sys.path.insert(0, str(Path(__file__).parent))
        from pixel_publish import recall_part

        result["recall"] = recall_part(args.out, 200, 0)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
