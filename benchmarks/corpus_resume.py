"""Resume: what ``publish --resume`` saves after a publish is killed, and that it gives the
same bytes.

    python benchmarks/corpus_resume.py --rows 1000000 --dims 1024 --kill-at 0.5,0.8

1. A full ``terrabit publish`` (fresh process) is timed, and its files hashed.
2. For each fraction f of ``--kill-at``: the same publish is started again in a fresh
   process and killed with SIGKILL after f × the full time (a crash: no cleanup runs);
   then ``terrabit publish --resume`` is timed and its corpus compared, file by file
   (SHA-256), with the full run's. What the resume skipped is read from the journal left
   by the killed run (cells already written, inputs already encoded).

The machine is shared: the ratio of resume to full time is what to quote.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from terrabit.corpus._fixture import write_input


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _command(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "terrabit", "-q", "publish", str(src), "-o", str(out),
            "--codec", "binary", "--name", "corpus", "--json", *extra]  # fmt: skip


def _timed(cmd: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"publish failed:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - started, json.loads(proc.stdout)


def _journal(staging: Path) -> dict[str, Any]:
    journal = staging / "_work" / "journal"
    plan = journal / "plan.json"
    return {
        "counted": plan.is_file(),
        "pieces_encoded": len(list(journal.glob("map-*.json"))),
        "cells_done": len(list(journal.glob("cell-*.arrow"))),
        "cells": len(json.loads(plan.read_text())["cells"]) if plan.is_file() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=1024)
    parser.add_argument("--kill-at", default="0.5,0.8", help="fractions of the full run time")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="terrabit-resume-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"in-{args.rows}-{args.dims}.parquet"
    if not src.exists():
        write_input(src, rows=args.rows, dims=args.dims, seed=0)
    full_out = work / "full"
    shutil.rmtree(full_out, ignore_errors=True)
    full_s, full = _timed(_command(src, full_out))
    reference = _digest(full_out)
    runs = []
    for fraction in (float(f) for f in args.kill_at.split(",")):
        out = work / f"killed-{fraction}"
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.Popen(_command(src, out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        time.sleep(fraction * full_s)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        staging = out.parent / f".{out.name}.publishing"
        left = _journal(staging)
        manifest_left = (out / "manifest.parquet").exists()
        resume_s, result = _timed(_command(src, out, "--resume"))
        runs.append(
            {
                "killed_after_s": round(fraction * full_s, 2),
                "journal_at_kill": left,
                "manifest_after_kill": manifest_left,
                "resume_s": round(resume_s, 2),
                "resume_vs_full": round(resume_s / full_s, 3),
                "resumed": result.get("resumed"),
                "identical_bytes": _digest(out) == reference,
            }
        )
        shutil.rmtree(out, ignore_errors=True)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "dims": args.dims,
                "cpus": os.cpu_count(),
                "load_average": list(os.getloadavg()),
                "full_s": round(full_s, 2),
                "shards": full["shards"],
                "runs": runs,
            },
            indent=2,
        )
    )
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
