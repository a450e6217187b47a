"""Search benchmark: end-to-end latency, global-search shard fraction, rerank recall.

    python benchmarks/search_end_to_end.py [--rows 400000] [--dims 64] [--region-rows 100000]
        [--queries 20] [--noise 0.2] [--workdir DIR] [--input WORLD/patches]
        [--rerank int8,int4,norm+pca:64+int8]

A world-like input (``terrabit.corpus._fixture``: patches clustered around towns), or
``--input`` (e.g. the patches of ``terrabit world OUT --n 400000 --dim 256 --no-aef``),
is published ``binary`` codes alone, and once per ``--rerank`` spec with that rerank
column (default ``int8,int4,norm+pca:64+int8``: the last one is the recommended
recipe, 64 B/row). Then:

1. **End to end**: a bbox grown around the densest town until it holds about
   ``--region-rows`` patches; one exemplar (an id inside it), ``topk`` k=50.
   *cold* (median of ``--cold-repeats`` fresh opens): a freshly opened corpus (manifest,
   footers and — ``verify="auto"`` on a
   local folder — the SHA-256 of every shard touched), the numba kernels already
   compiled (compiling is a one-off per process, reported apart); also cold with
   ``verify="footer"`` (what a remote corpus does). *warm*: another exemplar in the same
   region on the same open corpus (the region read is cached per corpus; median of 7);
   *warm uncached*: the same with the region cache cleared (footers and the OS page
   cache warm). The OS page cache is never dropped.
2. **Global search**: exact global top-10 for ``--queries`` random exemplars; the mean
   and max fraction of shards scanned (the result is checked against a full scan).
3. **Rerank recall@10** against float32 cosine (the input vectors) over the region's
   candidates, for plain Hamming and for int8 / int4 rerank columns with Hamming
   shortlists of 1000, 5000, 10 % and 100 % of the candidates (ms: region cached), with
   each rerank column's bytes per row; and the asymmetric estimator (float query against
   the 1-bit codes): alone with the raw float vector, and as the shortlist of each
   re-rank (query = the exemplar's decoded rerank code).

Everything is seeded; times vary with the machine's load (2 shared cores here).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import shapely

from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.search.query import search


def _region(inp: Any, target: int) -> tuple[tuple[float, float, float, float], np.ndarray]:
    geoms = shapely.from_wkb(inp.column("geometry").to_numpy(zero_copy_only=False))
    c = shapely.centroid(geoms)
    x, y = shapely.get_x(c), shapely.get_y(c)
    cells, counts = np.unique(
        np.column_stack([np.round(x), np.round(y)]), axis=0, return_counts=True
    )
    cx, cy = cells[np.argmax(counts)]
    lo, hi = 0.01, 60.0
    for _ in range(40):  # bisect the half-width to hold ~target rows
        h = (lo + hi) / 2
        n = int(((np.abs(x - cx) <= h) & (np.abs(y - cy) <= h)).sum())
        if n < target:
            lo = h
        else:
            hi = h
    box = (float(cx - hi), float(max(cy - hi, -90)), float(cx + hi), float(min(cy + hi, 90)))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*box)))
    return box, inside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--region-rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument(
        "--noise",
        type=float,
        default=0.2,
        help="fixture noise (0.2: tight near-duplicate clusters)",
    )
    ap.add_argument("--max-rows", type=int, default=20_000, help="publish max_rows per shard")
    ap.add_argument("--workdir", default=None)
    ap.add_argument(
        "--cold-repeats", type=int, default=5, help="cold searches (fresh opens); the median"
    )
    ap.add_argument(
        "--input",
        default=None,
        help="publish this GeoParquet file or folder (e.g. a `terrabit world` OUT/patches) "
        "instead of the fixture",
    )
    ap.add_argument(
        "--rerank",
        default="int8,int4,norm+pca:64+int8",
        help="rerank codec specs to publish and compare (comma-separated)",
    )
    args = ap.parse_args()
    reranks = [r for r in args.rerank.split(",") if r]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="terrabit-search-bench-"))
    inp_path = work / "input.parquet"
    if args.input is not None:
        inp_path = Path(args.input)
    elif not inp_path.exists():
        write_input(inp_path, rows=args.rows, dims=args.dims, seed=7, noise=args.noise)
    dirs = {"binary": work / "c-binary"}
    for spec in reranks:
        dirs[spec] = work / ("c-" + spec.replace("+", "_").replace(":", "-").replace("=", "-"))
    t = time.perf_counter()
    for name, out in dirs.items():
        if not (out / "manifest.parquet").exists():
            publish(
                inp_path,
                out,
                rerank=None if name == "binary" else name,
                max_rows=args.max_rows,
                show_progress=False,
            )
    publish_s = time.perf_counter() - t
    inp = pq.read_table(inp_path, columns=["id", "geometry", "embedding"])
    ids = np.array(inp.column("id").to_pylist())
    X = inp.column("embedding").combine_chunks().values.to_numpy().reshape(inp.num_rows, -1)
    box, inside = _region(inp, args.region_rows)
    rng = np.random.default_rng(0)
    exemplar = str(ids[inside[rng.integers(len(inside))]])
    report: dict[str, Any] = {
        "input": str(args.input) if args.input else "fixture",
        "rows": inp.num_rows,
        "dims": int(X.shape[1]),
        "noise": None if args.input else args.noise,
        "region_bbox": box,
        "region_rows": len(inside),
        "publish_seconds_all": round(publish_s, 1),
    }

    # 1. end to end ------------------------------------------------------------------
    t = time.perf_counter()
    with open_corpus(dirs["binary"]) as warmup:  # compile numba kernels once
        search(warmup, (box[0], box[1], box[0] + 0.5, box[1] + 0.5), positives=[exemplar], k=5)
    report["first_call_compile_seconds"] = round(time.perf_counter() - t, 3)
    for verify in ("auto", "footer"):
        colds = []
        for _ in range(args.cold_repeats - 1):  # freshly opened each time
            t = time.perf_counter()
            with open_corpus(dirs["binary"], verify=verify) as corpus:  # type: ignore[arg-type]
                search(corpus, box, positives=[exemplar], k=50, rerank=False)
            colds.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with open_corpus(dirs["binary"], verify=verify) as corpus:  # type: ignore[arg-type]
            result = search(corpus, box, positives=[exemplar], k=50, rerank=False)
            colds.append((time.perf_counter() - t) * 1000)
            cold_ms = statistics.median(colds)
            warm, uncached = [], []
            others = [str(ids[i]) for i in inside[rng.choice(len(inside), 7, replace=False)]]
            for other in others:  # same region, another exemplar: the region read is cached
                t = time.perf_counter()
                search(corpus, box, positives=[other], k=50, rerank=False)
                warm.append((time.perf_counter() - t) * 1000)
            for other in others:  # the region read again (footers and OS cache warm)
                corpus.forget_region_reads()
                t = time.perf_counter()
                again = search(corpus, box, positives=[other], k=50, rerank=False)
                uncached.append((time.perf_counter() - t) * 1000)
            corpus.forget_region_reads()
            again = search(corpus, box, positives=[exemplar], k=50, rerank=False)
            assert again.shown.column("id").to_pylist() == result.shown.column("id").to_pylist()
        report[f"cold_ms_verify_{verify}"] = round(cold_ms, 1)
        report[f"warm_ms_verify_{verify}"] = round(statistics.median(warm), 1)
        report[f"warm_uncached_ms_verify_{verify}"] = round(statistics.median(uncached), 1)
        report["candidates"] = result.stats["candidates"]
        report["shards_read"] = result.stats["shards_read"]
        report[f"cold_bytes_read_verify_{verify}"] = result.stats["bytes_read"]

    # 2. global search -------------------------------------------------------------------
    fractions = []
    with open_corpus(dirs["binary"]) as corpus:
        report["shards_total"] = len(corpus.manifest)
        for row in rng.choice(len(ids), size=args.queries, replace=False):
            q = str(ids[row])
            g = search(corpus, positives=[q], k=10, global_=True)
            fractions.append(g.stats["shard_fraction"])
            if len(fractions) <= 3:  # check exactness against a full scan
                full = search(corpus, None, positives=[q], k=10, rerank=False)
                assert g.shown.column("id").to_pylist() == full.shown.column("id").to_pylist()
    report["global_shard_fraction_mean"] = round(float(np.mean(fractions)), 4)
    report["global_shard_fraction_max"] = round(float(np.max(fractions)), 4)

    # 3. rerank recall@10 vs float32 ---------------------------------------------------------
    Xr = X[inside] / np.linalg.norm(X[inside], axis=1, keepdims=True)
    queries = rng.choice(inside, size=args.queries, replace=False)
    shortlists = [1000, 5000, len(inside) // 10, len(inside)]
    names = ["hamming", "asym-float-query"]
    names += [f"{r}_shortlist_{m}" for r in reranks for m in shortlists]
    names += [f"asym+{r}_shortlist_{m}" for r in reranks for m in (100, 1000)]
    recall: dict[str, list[float]] = {n: [] for n in names}
    timing: dict[str, list[float]] = {n: [] for n in names}
    corpora = {name: open_corpus(d) for name, d in dirs.items()}
    for spec in reranks:
        report[f"rerank_bytes_per_row_{spec}"] = corpora[spec].metadata["rerank_code_size"]
    try:
        for q in queries:
            cos = Xr @ (X[q] / np.linalg.norm(X[q]))
            order = [int(inside[i]) for i in np.argsort(-cos, kind="stable") if inside[i] != q]
            truth = set(ids[order[:10]].tolist())
            for name in names:
                codec, _, m = name.partition("_shortlist_")
                asym = codec.startswith("asym")
                codec = codec.removeprefix("asym+")
                t = time.perf_counter()
                if codec == "asym-float-query":  # the raw float vector vs 1-bit codes
                    res = search(corpora["binary"], box, positives=[X[q]], k=11, asymmetric=True)
                else:
                    corpus = corpora["binary" if codec == "hamming" else codec]
                    res = search(
                        corpus,
                        box,
                        positives=[str(ids[q])],
                        k=10,
                        rerank_shortlist=int(m or 1),
                        asymmetric=asym,
                    )
                timing[name].append((time.perf_counter() - t) * 1000)
                got = set(res.shown.column("id").to_pylist()) - {str(ids[q])}
                recall[name].append(len(truth & got) / 10)
    finally:
        for c in corpora.values():
            c.close()
    for name in names:
        report[f"recall@10_{name}"] = round(float(np.mean(recall[name])), 4)
        report[f"ms_k10_{name}"] = round(statistics.median(timing[name][1:]), 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
