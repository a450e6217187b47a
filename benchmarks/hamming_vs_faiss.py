"""Exact Hamming top-k: terrabit's numba kernel against faiss ``IndexBinaryFlat``.

Default: 1000 queries x 1M codes x 1024 bits (128 bytes), k=10, both on 2 threads.
Prints QPS for both, their ratio (goal >= 5x), the single-query latency over the whole
database (goal <= 10 ms), the one-off compile/cache-load time, the CPU seconds each run
used (less sensitive than wall time to other processes on the machine) and the load
average so a noisy run can be told apart from a quiet one.

    .venv/bin/python benchmarks/hamming_vs_faiss.py
    .venv/bin/python benchmarks/hamming_vs_faiss.py --n 200000 --nq 200 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load avg {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cpus"


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[float], Any]:
    """Wall and process-CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="database codes")
    parser.add_argument("--nq", type=int, default=1000, help="queries in the batch")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--code-bytes", type=int, default=128, help="bytes per code")
    parser.add_argument("--repeat", type=int, default=3, help="timed batch runs (best kept)")
    parser.add_argument("--single", type=int, default=50, help="single queries timed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-faiss", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    import numba

    from terrabit.search import hamming_topk

    import_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    codes = rng.integers(0, 256, (args.n, args.code_bytes), dtype=np.uint8)
    queries = rng.integers(0, 256, (args.nq, args.code_bytes), dtype=np.uint8)
    single = rng.integers(0, 256, (args.single + 5, args.code_bytes), dtype=np.uint8)
    print(
        f"{args.nq} queries x {args.n:,} codes x {args.code_bytes * 8} bits, k={args.k}, "
        f"threads={args.threads} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}); "
        f"{_load()}"
    )

    # one-off cost: compiling (first ever run) or loading the on-disk numba cache
    t0 = time.perf_counter()
    small = codes[: min(args.n, 4096)]
    hamming_topk(queries[: min(args.nq, 8)], small, args.k, threads=args.threads)
    hamming_topk(queries[0], small, args.k, threads=args.threads)
    print(
        f"terrabit: import {import_s:.2f} s, first calls (numba compile or cache load) "
        f"{time.perf_counter() - t0:.2f} s; threading layer {numba.threading_layer()}"
    )

    # warm the database pages and the kernels on the full size, then time
    hamming_topk(queries[: min(args.nq, 64)], codes, args.k, threads=args.threads)
    walls, cpus, (ours_d, ours_i) = _timed(
        lambda: hamming_topk(queries, codes, args.k, threads=args.threads), args.repeat
    )
    ours_best = min(walls)
    ours_qps = args.nq / ours_best
    print(
        f"terrabit batch: best {ours_best:.3f} s (runs {', '.join(f'{w:.3f}' for w in walls)}), "
        f"{ours_qps:,.0f} QPS; CPU {min(cpus):.3f} s; {_load()}"
    )

    for q in single[:5]:
        hamming_topk(q, codes, args.k, threads=args.threads)
    lat, lat_cpu, _ = _timed(lambda: None, 0)
    for q in single[5:]:
        c0, t0 = time.process_time(), time.perf_counter()
        hamming_topk(q, codes, args.k, threads=args.threads)
        lat.append(time.perf_counter() - t0)
        lat_cpu.append(time.process_time() - c0)
    print(
        f"terrabit single query over {args.n:,}: median {1e3 * statistics.median(lat):.2f} ms, "
        f"min {1e3 * min(lat):.2f} ms, p90 {1e3 * float(np.percentile(lat, 90)):.2f} ms "
        f"(median CPU {1e3 * statistics.median(lat_cpu):.2f} ms) over {args.single} queries; "
        f"{_load()}"
    )

    one = []
    for q in single[5:]:
        t0 = time.perf_counter()
        hamming_topk(q, codes, args.k, threads=1)
        one.append(time.perf_counter() - t0)
    print(
        f"terrabit single query, threads=1: median {1e3 * statistics.median(one):.2f} ms, "
        f"min {1e3 * min(one):.2f} ms"
    )

    if args.skip_faiss:
        return
    import faiss

    faiss.omp_set_num_threads(args.threads)
    index = faiss.IndexBinaryFlat(args.code_bytes * 8)
    index.add(codes)
    index.search(queries[: min(args.nq, 64)], args.k)
    fwalls, fcpus, (faiss_d, faiss_i) = _timed(lambda: index.search(queries, args.k), args.repeat)
    faiss_best = min(fwalls)
    faiss_qps = args.nq / faiss_best
    print(
        f"faiss IndexBinaryFlat batch: best {faiss_best:.3f} s "
        f"(runs {', '.join(f'{w:.3f}' for w in fwalls)}), {faiss_qps:,.0f} QPS; "
        f"CPU {min(fcpus):.3f} s; {_load()}"
    )
    flat = []
    for q in single[5:]:
        t0 = time.perf_counter()
        index.search(q[None], args.k)
        flat.append(time.perf_counter() - t0)
    print(f"faiss single query: median {1e3 * statistics.median(flat):.2f} ms")
    same = bool(np.array_equal(ours_d, faiss_d) and np.array_equal(ours_i, faiss_i))
    print(f"results identical to faiss (distances and indices): {same}")
    print(
        f"RATIO terrabit/faiss QPS = {ours_qps / faiss_qps:.2f}x (goal >= 5x); "
        f"CPU-time ratio {min(fcpus) / min(cpus):.2f}x; "
        f"single query {1e3 * statistics.median(lat):.2f} ms (goal <= 10 ms)"
    )


if __name__ == "__main__":
    main()
