"""Corpus benchmark: cold and warm region search latency, the reader's share.

    python benchmarks/corpus_cold_read.py [--rows 400000 --dims 256 --region-rows 100000]

Publishes a seeded world-like input (``binary`` codes, ``--max-rows`` per shard), picks a
box holding about ``--region-rows`` rows, and times ``search`` over it:

* **cold**: a freshly opened corpus (manifest, footers, chunks fetched and verified;
  the OS file cache is warm), for ``verify="auto"`` (the default) and ``"footer"``;
* **warm**: another exemplar in the same region (the search's region cache hits);
* **warm, region cache cleared**: the search's region cache is emptied, so the region
  is read again through the corpus (its footers, verified chunks and decoded row groups
  are kept).

Medians of ``--repeats``, wall and CPU (all threads) milliseconds. The same script run
with an older checkout on its ``PYTHONPATH`` gives the figures to compare with
(interleave the runs; the machine is shared and times swing).
"""

from __future__ import annotations

import argparse
import json
import os
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


def _region(path: Path, target: int) -> tuple[tuple[float, float, float, float], list[str]]:
    """A box around the densest 1-degree cell holding about ``target`` rows, its ids."""
    inp = pq.read_table(path, columns=["id", "geometry"])
    geoms = shapely.from_wkb(inp.column("geometry").to_numpy(zero_copy_only=False))
    c = shapely.centroid(geoms)
    x, y = shapely.get_x(c), shapely.get_y(c)
    cells, counts = np.unique(
        np.column_stack([np.round(x), np.round(y)]), axis=0, return_counts=True
    )
    cx, cy = cells[np.argmax(counts)]
    lo, hi = 0.01, 60.0
    for _ in range(40):
        h = (lo + hi) / 2
        n = int(((np.abs(x - cx) <= h) & (np.abs(y - cy) <= h)).sum())
        lo, hi = (h, hi) if n < target else (lo, h)
    box = (float(cx - hi), float(max(cy - hi, -90)), float(cx + hi), float(min(cy + hi, 90)))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*box)))
    ids = inp.column("id").take(inside[:64]).to_pylist()
    return box, ids


def _ms(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU (all threads) milliseconds since ``start``."""
    return (
        round((time.perf_counter() - start[0]) * 1000, 1),
        round((time.process_time() - start[1]) * 1000, 1),
    )


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--region-rows", type=int, default=100_000)
    ap.add_argument("--max-rows", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--row-group-rows", type=int, default=None)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="terrabit-cold-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"in-{args.rows}-{args.dims}.parquet"
    if not src.exists():
        write_input(src, rows=args.rows, dims=args.dims, seed=7)
    out = work / f"corpus-{args.row_group_rows or 'default'}"
    if not (out / "manifest.parquet").exists():
        extra = {} if args.row_group_rows is None else {"row_group_rows": args.row_group_rows}
        publish(src, out, max_rows=args.max_rows, show_progress=False, **extra)
    box, ids = _region(src, args.region_rows)
    report: dict[str, Any] = {
        "rows": args.rows,
        "dims": args.dims,
        "region_bbox": box,
        "load_average": list(os.getloadavg()),
    }
    with open_corpus(out) as warmup:  # compile numba kernels once
        search(warmup, box, positives=[ids[0]], k=5, rerank=False)
    for verify in ("auto", "footer"):
        cold, warm, uncached = [], [], []
        for rep in range(args.repeats):
            t = _now()
            with open_corpus(out, verify=verify) as corpus:  # type: ignore[arg-type]
                first = search(corpus, box, positives=[ids[rep]], k=50, rerank=False)
                cold.append(_ms(t))
                t = _now()
                search(corpus, box, positives=[ids[rep + 10]], k=50, rerank=False)
                warm.append(_ms(t))
                corpus.forget_region_reads()
                t = _now()
                again = search(corpus, box, positives=[ids[rep]], k=50, rerank=False)
                uncached.append(_ms(t))
                assert again.shown.column("id").equals(first.shown.column("id"))
                report["candidates"] = first.stats.get("candidates")
                report[f"bytes_read_cold_{verify}"] = first.stats.get("bytes_read")
        for name, values in (
            ("cold", cold),
            ("warm", warm),
            ("warm_region_cache_cleared", uncached),
        ):
            report[f"{name}_ms_{verify}"] = statistics.median(v[0] for v in values)
            report[f"{name}_cpu_ms_{verify}"] = statistics.median(v[1] for v in values)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
