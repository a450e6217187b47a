"""How fast is ``terrabit world``, how much memory does it hold, and what did it measure?

Generates a world (default: the demo world, 200K rows, dim 1024, without the AEF part)
into a temporary folder and prints one JSON line: wall seconds, rows per second, peak
resident memory, bytes on disk, and the intrinsic dimension and kNN accuracy (k=5, on the
spatially split ``labelled.npz``) of what it wrote.

Run::

    .venv/bin/python benchmarks/world_speed.py                 # the default world
    .venv/bin/python benchmarks/world_speed.py --n 1000000     # bounded memory at 1M rows
    .venv/bin/python benchmarks/world_speed.py --aef           # include AEF tiles + zones
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aef", action="store_true", help="also write AEF tiles and zones")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep it")
    args = parser.parse_args(argv)

    t_import = time.perf_counter()
    from sklearn.neighbors import KNeighborsClassifier

    from terrabit.world.generate import generate_world

    t0 = time.perf_counter()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    root = Path(tempfile.mkdtemp(prefix="world-speed-"))
    out = args.keep if args.keep is not None else root / "world"
    try:
        summary = generate_world(
            out, n=args.n, dim=args.dim, seed=args.seed, aef=args.aef, overwrite=True
        )
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime - cpu0
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with np.load(out / "labelled.npz") as z:
            knn = KNeighborsClassifier(n_neighbors=5).fit(z["x_train"], z["y_train"])
            acc = float(np.mean(knn.predict(z["x_test"]) == z["y_test"]))
            majority = float(np.bincount(z["y_test"]).max() / len(z["y_test"]))
            n_train, n_test = len(z["y_train"]), len(z["y_test"])
        result = {
            "n": args.n,
            "dim": args.dim,
            "aef": args.aef,
            "seconds_total": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "seconds_including_imports": round(time.perf_counter() - t_import, 2),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "rows_per_second": round(args.n / wall),
            "peak_rss_mib": round(peak_mib),
            "patches_bytes": _disk_bytes(out / "patches"),
            "labelled_bytes": (out / "labelled.npz").stat().st_size,
            "intrinsic_dim": summary.intrinsic_dim,
            "knn5_accuracy": round(acc, 4),
            "majority_baseline": round(majority, 4),
            "labelled_train_test": [n_train, n_test],
            "classes": summary.classes,
            "changes": summary.changes,
        }
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
