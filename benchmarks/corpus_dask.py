"""Publish on Dask: rows/s of ``--engine local`` vs a Dask LocalCluster, peak memory per
worker, identical bytes, and a projection for 50M rows on N workers.

    python benchmarks/corpus_dask.py --rows 1000000 --dims 1024 --workers 2 --repeats 2

1. A world-like float32 input (``terrabit.corpus._fixture.write_input``, one file of
   16384-row row groups) is published with 1024-bit ``binary`` codes by each engine in a
   fresh process, interleaved (local, dask, local, dask, ...); the medians are reported.
2. The Dask runs use ``LocalCluster(n_workers=W, threads_per_worker=1, processes=True)``
   started inside the timed process (its start-up, about 1-2 s, is counted). Peak memory
   per worker is each worker process's own ``VmHWM``; the client's is reported apart.
3. The task stream gives the measured cost of each phase in task-seconds: count and map
   per input row, reduce per cell (and per row); with the client's serial time (sampling,
   fitting, choosing cells, the manifest) this projects the wall time of 50M rows on N
   workers as ``client + (rows * (count + map) + cells * reduce) / N`` — ideal scaling
   of the task phases, i.e. a lower bound that ignores the shared file system.
4. Every file of the two corpora is compared by SHA-256.

The machine is shared (2 cores, other jobs): the ratio of one run's medians is what to
quote, not the absolute rates.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from terrabit.corpus._fixture import write_input

_CHILD = r"""
import json, sys, time
from pathlib import Path

def vmhwm_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0

def main():
    from terrabit.corpus import publish
    src, out, engine = sys.argv[1:4]
    workers, max_rows = int(sys.argv[4]), int(sys.argv[5])
    started = time.perf_counter()
    report = {}
    if engine == "local":
        r = publish(src, out, codec="binary", max_rows=max_rows, show_progress=False,
                    name="corpus")  # one name: collection.json's id, whatever the folder
    else:
        import distributed
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as lc, distributed.Client(lc) as c:
            with distributed.get_task_stream(c) as ts:
                r = publish(src, out, codec="binary", max_rows=max_rows, show_progress=False,
                            engine="dask", scheduler=c, name="corpus")
            report["worker_peak_mib"] = sorted(round(v, 1) for v in c.run(vmhwm_mib).values())
            phases = {}
            for t in ts.data:
                key = str(t["key"])
                if not key.startswith("terrabit-publish-"):
                    continue
                phase = key.split("-")[2]
                span = [s for s in t["startstops"] if s["action"] == "compute"]
                if not span:
                    continue
                new = {"tasks": 0, "task_s": 0.0, "first": 1e300, "last": 0.0}
                p = phases.setdefault(phase, new)
                p["tasks"] += 1
                p["task_s"] += sum(s["stop"] - s["start"] for s in span)
                p["first"] = min(p["first"], min(s["start"] for s in span))
                p["last"] = max(p["last"], max(s["stop"] for s in span))
            for p in phases.values():
                p["span_s"] = round(p.pop("last") - p.pop("first"), 3)
                p["task_s"] = round(p["task_s"], 3)
            report["phases"] = phases
    report.update(r.to_dict())
    report["wall_s"] = round(time.perf_counter() - started, 3)
    report["client_peak_mib"] = round(vmhwm_mib(), 1)
    print(json.dumps(report))

if __name__ == "__main__":
    main()
"""


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(script: Path, src: Path, out: Path, engine: str, workers: int, max_rows: int) -> Any:
    if out.exists():
        shutil.rmtree(out)
    proc = subprocess.run(
        [sys.executable, str(script), str(src), str(out), engine, str(workers), str(max_rows)],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.exit(f"the {engine} publish failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _project(dask: dict[str, Any], rows: int, target_rows: int, workers: list[int]) -> Any:
    """Wall time of ``target_rows`` on N workers from the measured per-row/per-cell costs."""
    phases = dask["phases"]
    per_row = (phases["count"]["task_s"] + phases["map"]["task_s"]) / rows
    cells = phases["reduce"]["tasks"]
    per_cell = phases["reduce"]["task_s"] / cells
    task_wall = sum(p["span_s"] for p in phases.values())
    client_s = max(0.0, dask["seconds"] - task_wall)  # sample + fit + cells + manifest
    target_cells = cells * target_rows / rows  # cells hold about max_rows/2..max_rows rows
    out = {
        "count_map_task_s_per_million_rows": round(per_row * 1e6, 2),
        "reduce_task_s_per_cell": round(per_cell, 3),
        "rows_per_cell": round(rows / cells),
        "client_serial_s": round(client_s, 2),
        "target_rows": target_rows,
        "target_cells": round(target_cells),
        "projected_wall_s": {},
    }
    for n in workers:
        t = client_s + (target_rows * per_row + target_cells * per_cell) / n
        out["projected_wall_s"][n] = round(t, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-rows", type=int, default=100_000)
    parser.add_argument("--project-rows", type=int, default=50_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep-input", action="store_true")
    parser.add_argument(
        "--levels",
        type=int,
        default=0,
        help="round the float32 values to this many levels (255: AEF-like dequantized int8, "
        "about 1 KB/row on disk instead of 4 KB; lets 10M rows fit on this machine's disk)",
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="terrabit-dask-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    script = work / "child.py"
    script.write_text(_CHILD)
    suffix = f"-q{args.levels}" if args.levels else ""
    src = work / f"in-{args.rows}-{args.dims}{suffix}.parquet"
    if not src.exists():
        t = time.perf_counter()
        write_input(src, rows=args.rows, dims=args.dims, seed=0, levels=args.levels)
        print(f"input written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    runs: dict[str, list[Any]] = {"local": [], "dask": []}
    for k in range(args.repeats):
        for engine in ("local", "dask"):
            r = _run(script, src, work / engine, engine, args.workers, args.max_rows)
            runs[engine].append(r)
            print(f"run {k} {engine}: {r['seconds']} s", file=sys.stderr)
    identical = _digest(work / "local") == _digest(work / "dask")
    median = {e: statistics.median(r["seconds"] for r in rs) for e, rs in runs.items()}
    best_dask = min(runs["dask"], key=lambda r: r["seconds"])
    report = {
        "rows": args.rows,
        "dims": args.dims,
        "workers": args.workers,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "input_bytes": src.stat().st_size,
        "input_levels": args.levels or "float32 (all values)",
        "shards": runs["local"][0]["shards"],
        "identical_bytes": identical,
        "seconds": {e: [r["seconds"] for r in rs] for e, rs in runs.items()},
        "rows_per_s_median": {e: round(args.rows / s) for e, s in median.items()},
        "dask_vs_local_speed": round(median["local"] / median["dask"], 3),
        "local_peak_mib": max(r["client_peak_mib"] for r in runs["local"]),
        "dask_client_peak_mib": max(r["client_peak_mib"] for r in runs["dask"]),
        "dask_worker_peak_mib": max(
            (r["worker_peak_mib"] for r in runs["dask"]), key=lambda v: max(v)
        ),
        "dask_phases_fastest_run": best_dask["phases"],
        "projection": _project(best_dask, args.rows, args.project_rows, [2, 8, 32, 128]),
    }
    print(json.dumps(report, indent=2))
    for engine in ("local", "dask"):
        shutil.rmtree(work / engine, ignore_errors=True)
    if not args.keep_input and args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
