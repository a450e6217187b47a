"""Start-up: the wall time of a command-line search of a small corpus against
``terrabit --version`` (issue 18: within 3x).

    python benchmarks/cli_startup.py --repeats 9

A seeded world (``--rows`` patches, 1024-d) is published once into ``--workdir`` with the
binary codec; then, ``--repeats`` times and interleaved so that a change of machine load
hits every command alike, each command runs as a fresh process (``python -m terrabit``,
the interpreter and the installed package found as for any other command):

* ``terrabit --version``: the floor (Python, click, numpy);
* ``terrabit search C --bbox … --positive ID -k 5 --json``: a region search of the whole
  small corpus by one exemplar;
* the same with ``-o out.parquet``: the demo's search, written as GeoParquet.

Printed: the median and range of each, the ratio of each search's median to the floor's,
the same for CPU seconds (user + system: steadier on a loaded machine), the load
average before and after, and the heavy modules each search imported (numba,
scipy, pandas, ``pyarrow.dataset``, sklearn), read from ``-X importtime`` in one extra run.
The machine is shared: quote the ratios and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

HEAVY = ("numba", "scipy", "pandas", "pyarrow.dataset", "sklearn")


def _terrabit(*args: str) -> list[str]:
    return [sys.executable, "-m", "terrabit", *args]


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:].decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def _corpus(work: Path, rows: int) -> tuple[Path, str]:
    """A published seeded world of ``rows`` patches and the id of its first row."""
    world, corpus = work / f"world-{rows}", work / f"corpus-{rows}"
    if not (corpus / "manifest.parquet").is_file():
        _run(_terrabit("-q", "world", str(world), "--n", str(rows), "--no-aef", "--overwrite"))
        _run(_terrabit("-q", "publish", str(world / "patches"), "-o", str(corpus),
                       "--codec", "binary", "--overwrite"))  # fmt: skip
    first = sorted((corpus / "shards").glob("*.parquet"))[0]
    return corpus, str(pq.read_table(first, columns=["id"])["id"][0])


def _heavy_imports(cmd: list[str]) -> list[str]:
    """The modules of :data:`HEAVY` a command imports (``-X importtime`` lists every one)."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    return [name for name in HEAVY if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="patches of the world")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="terrabit-startup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus, exemplar = _corpus(work, args.rows)
    search = ["search", str(corpus), "--bbox", "-180,-90,180,90", "--positive", exemplar,
              "-k", "5"]  # fmt: skip
    commands = {
        "version": _terrabit("--version"),
        "search --json": _terrabit(*search, "--json"),
        "search -o": _terrabit(*search, "-o", str(work / "out.parquet"), "--overwrite"),
    }
    for cmd in commands.values():  # warm the file cache and the compiled-kernel cache
        _run(cmd)
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, cmd in commands.items():
            wall_s, cpu_s = _run(cmd)
            times[name].append(wall_s)
            cpu[name].append(cpu_s)
    load_after = os.getloadavg()[0]
    floor = statistics.median(times["version"])
    cpu_floor = statistics.median(cpu["version"])
    report = {
        "rows": args.rows,
        "repeats": args.repeats,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "commands": {
            name: {
                "median_s": round(statistics.median(t), 3),
                "min_s": round(min(t), 3),
                "max_s": round(max(t), 3),
                "x_version": round(statistics.median(t) / floor, 2),
                "cpu_median_s": round(statistics.median(cpu[name]), 3),
                "cpu_x_version": round(statistics.median(cpu[name]) / cpu_floor, 2),
                "heavy_imports": _heavy_imports(commands[name]),
            }
            for name, t in times.items()
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
