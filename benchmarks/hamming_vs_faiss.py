"""Exact Hamming top-k: terrabit's numba kernel against faiss ``IndexBinaryFlat``.

Default: 1000 queries x 1M codes x 1024 bits (128 bytes), k=10, both on 2 threads.
The batch runs are interleaved (terrabit, faiss, terrabit, faiss, ...) so both see the same
load from other processes; the ratio is the median of the per-round ratios, with its min and
max (the spread). Also printed: the single-query latency over the whole database (goal
<= 10 ms), the one-off compile/cache-load time, the CPU seconds of each run (less sensitive
than wall time to other processes) and the load average so a noisy run can be told apart
from a quiet one. ``--with-xor`` adds terrabit's XOR + popcount kernel (what batches used
before the bit-sliced kernel) to every round.

    .venv/bin/python benchmarks/hamming_vs_faiss.py
    .venv/bin/python benchmarks/hamming_vs_faiss.py --n 200000 --nq 200 --repeat 3
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


def _run(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and process-CPU seconds of one call, and its result."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _spread(values: list[float], fmt: str = "{:.3f}") -> str:
    """``median (min .. max)`` of a list of numbers."""
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))} .. {fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="database codes")
    parser.add_argument("--nq", type=int, default=1000, help="queries in the batch")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--code-bytes", type=int, default=128, help="bytes per code")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--single", type=int, default=50, help="single queries timed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-faiss", action="store_true")
    parser.add_argument("--with-xor", action="store_true", help="also time the XOR kernel")
    args = parser.parse_args()

    t0 = time.perf_counter()
    import numba

    from terrabit.kernels import hamming as hamming_module
    from terrabit.kernels import hamming_topk

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
    hamming_topk(queries[: min(args.nq, 64)], small, args.k, threads=args.threads)
    hamming_topk(queries[: min(args.nq, 8)], small, args.k, threads=args.threads)
    hamming_topk(queries[0], small, args.k, threads=args.threads)
    print(
        f"terrabit: import {import_s:.2f} s, first calls (numba compile or cache load) "
        f"{time.perf_counter() - t0:.2f} s; threading layer {numba.threading_layer()}"
    )

    def ours() -> Any:
        return hamming_topk(queries, codes, args.k, threads=args.threads)

    def xor_kernel() -> Any:
        saved = hamming_module.BS_MIN_QUERIES
        hamming_module.BS_MIN_QUERIES = 1 << 62  # route the batch to the XOR kernel
        try:
            return hamming_topk(queries, codes, args.k, threads=args.threads)
        finally:
            hamming_module.BS_MIN_QUERIES = saved

    runners: dict[str, Callable[[], Any]] = {"terrabit": ours}
    if args.with_xor:
        runners["terrabit-xor"] = xor_kernel
    if not args.skip_faiss:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        index = faiss.IndexBinaryFlat(args.code_bytes * 8)
        index.add(codes)
        runners["faiss"] = lambda: index.search(queries, args.k)

    # warm the database pages and every kernel on the full size, then interleave rounds
    for fn in runners.values():
        fn()
    walls: dict[str, list[float]] = {name: [] for name in runners}
    cpus: dict[str, list[float]] = {name: [] for name in runners}
    results: dict[str, Any] = {}
    for _ in range(args.repeat):
        for name, fn in runners.items():
            wall, cpu, results[name] = _run(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name in runners:
        qps = [args.nq / w for w in walls[name]]
        print(
            f"{name} batch: wall {_spread(walls[name])} s, QPS {_spread(qps, '{:,.0f}')}, "
            f"CPU {_spread(cpus[name])} s over {args.repeat} rounds"
        )
    print(_load())

    for q in single[:5]:
        hamming_topk(q, codes, args.k, threads=args.threads)
    lat: list[float] = []
    one: list[float] = []
    for q in single[5:]:
        lat.append(_run(lambda q=q: hamming_topk(q, codes, args.k, threads=args.threads))[0])
        one.append(_run(lambda q=q: hamming_topk(q, codes, args.k, threads=1))[0])
    print(
        f"terrabit single query over {args.n:,}: median {1e3 * statistics.median(lat):.2f} ms, "
        f"p90 {1e3 * float(np.percentile(lat, 90)):.2f} ms over {args.single} queries; "
        f"threads=1: median {1e3 * statistics.median(one):.2f} ms"
    )
    if "faiss" not in runners:
        return
    flat = [_run(lambda q=q: index.search(q[None], args.k))[0] for q in single[5:]]
    print(f"faiss single query: median {1e3 * statistics.median(flat):.2f} ms")
    want_d, want_i = results["faiss"]
    for name in runners:
        if name != "faiss":
            got_d, got_i = results[name]
            same = bool(np.array_equal(got_d, want_d) and np.array_equal(got_i, want_i))
            print(f"{name} results identical to faiss (distances and indices): {same}")
    for name in runners:
        if name == "faiss":
            continue
        ratios = [f / o for f, o in zip(walls["faiss"], walls[name], strict=True)]
        cpu_ratios = [f / o for f, o in zip(cpus["faiss"], cpus[name], strict=True)]
        print(
            f"RATIO {name}/faiss QPS = {_spread(ratios, '{:.2f}')}x per round (goal >= 5x); "
            f"CPU-time ratio {_spread(cpu_ratios, '{:.2f}')}x"
        )
    print(f"single query {1e3 * statistics.median(lat):.2f} ms (goal <= 10 ms)")


if __name__ == "__main__":
    main()
