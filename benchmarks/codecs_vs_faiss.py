"""Our int8 / int4 / PQ recall@10 against faiss's ScalarQuantizer / PQ on the same data.

Both sides search the same way: the database is encoded, queries stay float32, and the
top-10 by (asymmetric) distance to the decoded database vectors is compared with the
exact float32 top-10 (queries held out of the database). Expected: ours within 0.01 of
faiss. faiss ``IndexRaBitQ`` (1 bit per dimension + per-vector factors, asymmetric
estimator, float queries ``qb=0``; its code is ``d/8`` bytes plus per-vector factors) is
reported beside our 1-bit-per-dimension Hamming codes and beside our ``rabitq`` scored the
same way (float query, :func:`terrabit.codecs.rabitq_scores`, squared-L2 estimate); faiss's
``IndexRaBitQ`` does not rotate the data itself, so it is also run behind a seeded random
rotation (``RR+IndexRaBitQ``: ``IndexPreTransform(RandomRotationMatrix)``), as RaBitQ and our
``rabitq`` do.

Metrics: ``l2`` on the raw vectors and ``cosine`` (every vector L2-normalised first).

Run::

    .venv/bin/python benchmarks/codecs_vs_faiss.py                # synthetic 20k x 1024
    .venv/bin/python benchmarks/codecs_vs_faiss.py --npz W/labelled.npz --skip-synthetic
    .venv/bin/python benchmarks/codecs_vs_faiss.py --npy geoclip.npy --skip-synthetic

``--npy``: a real model's float matrix, split by ``one_bit_codes.npy_split`` (duplicates
dropped, ``--queries`` held-out queries, the rest the database).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_bit_codes import hamming_topk, npy_split, recall, synthetic

from terrabit.codecs import parse, rabitq_scores

K = 10
BEST_ONE_BIT = "norm+pca:{k}+rot+thermo:bits={d}"


def exact_topk(db: NDArray[np.float32], q: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    index = faiss.IndexFlatL2(db.shape[1])
    index.add(db)
    return index.search(q, k)[1].astype(np.int64)


def faiss_recall(index: Any, db: NDArray[np.float32], q: NDArray[np.float32], truth: Any) -> float:
    index.train(db)
    index.add(db)
    return recall(index.search(q, K)[1].astype(np.int64), truth)


def ours_recall(spec: str, db: NDArray[np.float32], q: NDArray[np.float32], truth: Any) -> float:
    codec = parse(spec).fit(db)
    if spec == "rabitq":  # asymmetric: float query against the codes and their factors
        codes, factors = codec.encode(db), codec.factors(db)
        found = np.stack([np.argsort(rabitq_scores(codec, v, codes, factors))[:K] for v in q])
        return recall(found.astype(np.int64), truth)
    if codec.hamming:
        return recall(hamming_topk(codec.encode(db), codec.encode(q), K), truth)
    return recall(exact_topk(codec.decode(codec.encode(db)), q, K), truth)


def compare(db: NDArray[np.float32], q: NDArray[np.float32], label: str) -> list[dict[str, Any]]:
    d = db.shape[1]
    truth = exact_topk(db, q, K)
    m = d // 8 if d % 8 == 0 else d // 4

    def rabitq() -> Any:
        index = faiss.IndexRaBitQ(d, faiss.METRIC_L2)
        index.qb = 0  # float queries: the strongest (asymmetric) RaBitQ estimator
        return index

    def rotated_rabitq() -> Any:  # faiss's RaBitQ does not rotate by itself; the paper does
        rotation = faiss.RandomRotationMatrix(d, d)
        rotation.init(0)
        return faiss.IndexPreTransform(rotation, rabitq())

    pairs: list[tuple[str, str, Any]] = [
        (
            "int8",
            "SQ QT_8bit",
            lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit),
        ),
        (
            "int4",
            "SQ QT_4bit",
            lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_4bit),
        ),
        (f"pq:m={m}", f"PQ{m}x8", lambda: faiss.IndexPQ(d, m, 8)),
        ("binary", "IndexRaBitQ", rabitq),
        (
            "rot+binary:threshold=median",
            "IndexRaBitQ",
            rabitq,
        ),
        (BEST_ONE_BIT.format(k=min(d, 64), d=d), "IndexRaBitQ", rabitq),
        ("rabitq", "IndexRaBitQ", rabitq),
        ("rabitq", "RR+IndexRaBitQ", rotated_rabitq),
    ]
    rows = []
    cache: dict[str, float] = {}
    mine: dict[str, float] = {}
    for spec, peer, make in pairs:
        t0 = time.perf_counter()
        if spec not in mine:
            mine[spec] = ours_recall(spec, db, q, truth)
        ours = mine[spec]
        if peer not in cache:
            cache[peer] = faiss_recall(make(), db, q, truth)
        theirs = cache[peer]
        row = {
            "data": label,
            "codec": spec,
            "faiss": peer,
            "recall_ours": ours,
            "recall_faiss": theirs,
            "diff": ours - theirs,
            "ratio": ours / theirs if theirs else float("nan"),
            "seconds": time.perf_counter() - t0,
        }
        rows.append(row)
        print(
            f"  {label:10s} {spec:42s} {ours:.3f}  vs {peer:12s} {theirs:.3f}",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--npz", help="labelled npz with x_train (database) and x_test (queries)")
    ap.add_argument("--npy", help="float matrix [n, d] (.npy): seeded queries/database split")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true", help="only the --npz data")
    args = ap.parse_args()
    faiss.omp_set_num_threads(2)

    sets: list[tuple[str, NDArray[np.float32], NDArray[np.float32]]] = []
    if not args.skip_synthetic:
        x = synthetic(args.n + args.queries, args.dim)
        sets.append(("synthetic", x[: args.n], x[args.n :]))
    if args.npz:
        with np.load(args.npz) as f:
            sets.append(
                (
                    Path(args.npz).name,
                    np.ascontiguousarray(f["x_train"], dtype=np.float32),
                    np.ascontiguousarray(f["x_test"], dtype=np.float32)[:2000],
                )
            )
    if args.npy:
        db, q = npy_split(args.npy, queries=args.queries)
        sets.append((Path(args.npy).name, db, q))
    rows: list[dict[str, Any]] = []
    for name, db, q in sets:
        rows += compare(db, q, f"{name}/l2")
        dbn = db / np.linalg.norm(db, axis=1, keepdims=True)
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        rows += compare(dbn, qn, f"{name}/cos")
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| data | ours | recall@10 | faiss | recall@10 | diff | ratio |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['data']} | `{r['codec']}` | {r['recall_ours']:.3f} | {r['faiss']} | "
            f"{r['recall_faiss']:.3f} | {r['diff']:+.3f} | {r['ratio']:.3f} |"
        )


if __name__ == "__main__":
    main()
