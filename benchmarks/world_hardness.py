"""Is the synthetic world as hard as real models' embeddings? Its PCA curve and recall@10
of each codec against float32, beside Clay v1.5's published figures (FIELD.md).

    .venv/bin/terrabit world W --no-aef          # the default world: 200K rows, d = 1024
    .venv/bin/python benchmarks/world_hardness.py W/patches

Recall@10: 500 held-out query rows (never in the database), exact float32 cosine
neighbours as the truth; float codecs search their decoded vectors by cosine, ``binary``
its sign bits by Hamming distance; codecs are fitted on 8,000 database rows. "rotated
3-bit" is ``turbo:bits=3`` (a Haar rotation, then a 3-bit scalar quantizer: the closest
codec to the paper's rotation + affine 3-bit). Land-cover kNN (k = 5, cosine) is scored on
a longitude band held out from the database (a spatial split) against the majority class.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pyarrow.parquet as pq

from terrabit.codecs import parse
from terrabit.evaluate._neighbors import search
from terrabit.kernels import hamming_topk
from terrabit.world.hardness import pca_variance

#: Clay v1.5 recall@10 against float32 (FIELD.md), by our codec spec.
CLAY = {
    "int8": 0.99,
    "int4": 0.91,
    "int2": 0.54,
    "binary": 0.65,
    "rot+int2": 0.71,
    "turbo:bits=3": 0.88,
    "rot+int4": 0.95,
}


def load(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings, labels and anchor longitudes of a world's ``patches``."""
    table = pq.read_table(path, columns=["embedding", "label", "bbox"])
    flat = table.column("embedding").combine_chunks().values.to_numpy()
    x = np.asarray(flat, dtype=np.float32).reshape(table.num_rows, -1)
    bbox = table.column("bbox").combine_chunks()
    lon = (bbox.field("xmin").to_numpy() + bbox.field("xmax").to_numpy()) / 2
    return x, np.asarray(table.column("label").to_pylist()), lon


def codec_recall(x: np.ndarray, specs: list[str], queries: int = 500) -> dict[str, float]:
    """Recall@10 of each codec against the float32 cosine neighbours of held-out rows."""
    rng = np.random.default_rng(0)
    order = rng.permutation(x.shape[0])
    q, db = x[order[:queries]], x[order[queries:]]
    fit = db[rng.choice(db.shape[0], min(8000, db.shape[0]), replace=False)]
    _, truth = search(db, q, 10, metric="cosine")
    out = {}
    for spec in specs:
        codec = parse(spec).fit(fit)
        cdb, cq = codec.encode(db), codec.encode(q)
        if codec.hamming:
            _, got = hamming_topk(cq, cdb, 10)
        else:
            _, got = search(codec.decode(cdb), codec.decode(cq), 10, metric="cosine")
        hits = (got[:, :, None] == truth[:, None, :]).any(axis=2).sum(axis=1)
        out[spec] = round(float(np.mean(hits / 10)), 3)
    return out


def knn_accuracy(x: np.ndarray, labels: np.ndarray, lon: np.ndarray) -> tuple[float, float]:
    """k = 5 cosine kNN accuracy on the longitude band 20..60 E, and the majority share."""
    test = (lon > 20) & (lon < 60)
    pick = np.random.default_rng(0).choice(np.flatnonzero(test), 2000, replace=False)
    _, nb = search(x[~test], x[pick], 5, metric="cosine")
    train = labels[~test]
    pred = np.array([max(set(r), key=list(r).count) for r in train[nb]])
    values, counts = np.unique(train, return_counts=True)
    majority = values[np.argmax(counts)]
    return round(float(np.mean(pred == labels[pick])), 3), round(
        float(np.mean(labels[pick] == majority)), 3
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("patches", help="a world's patches/ folder (or any GeoParquet of the schema)")
    args = ap.parse_args()
    x, labels, lon = load(args.patches)
    recall = codec_recall(x, list(CLAY))
    acc, majority = knn_accuracy(x, labels, lon)
    report = {
        "rows": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "load_average": list(os.getloadavg()),
        "pca_variance": pca_variance(x),
        "recall_at_10": recall,
        "clay_v1_5_recall_at_10": CLAY,
        "max_abs_gap_to_clay": round(max(abs(recall[k] - v) for k, v in CLAY.items()), 3),
        "knn_accuracy": acc,
        "majority_share": majority,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
