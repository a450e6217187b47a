"""RaBitQ in Debian's Chromium (issue 16, "Must show"): the 4-bit-query kernel's throughput
against the 1-bit symmetric Hamming kernel, same page, same data, and the same ranking as
Python.

Python writes ``--n`` codes of ``--bits`` bits (default 1M x 1024; random bytes), their
correction factors (3 float16 a row, as the ``rabitq`` column stores them; random but in
the ranges real rows give) and a ``rabitq`` codec fitted on clustered rows, with a held-out
query, next to the benchmark page (``web/scripts/bench_page``, built from ``web/src``). The
page (``window.rabitqBench``, ``bench_page/rabitq.ts``) times on one thread, codes resident
in each kernel's memory, interleaved ``--repeats`` times:

* ``hamming kernel``: the 1-bit kernel's distances of one code to all (``WasmKernel``);
* ``rabitq kernel``: the 4-bit-query kernel's bit-plane dots and popcounts (``RabitqKernel``);
* ``hamming + top-k``: the 1-bit kernel and the top ``--k``;
* ``rabitq query``: rotate + quantize the float query, the kernel, the estimator, the top k.

and returns its top ``--k`` and sampled scores for both metrics, which must equal Python's
``rabitq_scores(..., query_bits=4)`` (same top k, scores to 1e-6 relative).

    .venv/bin/python benchmarks/web_rabitq_chromium.py [--n 1000000] [--bits 1024] [--repeats 9]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from web_kernel_chromium import ARGS, CHROMIUM, vite_build

from terrabit.codecs import parse
from terrabit.codecs.rabitq import rabitq_scores


def write_data(out: Path, n: int, bits: int, seed: int, samples: int) -> dict[str, Any]:
    """Write ``meta.json``, ``codes.bin`` and ``factors.bin`` into ``out``; return the
    arrays Python scores (codec, query, codes, float16 factors, sampled rows)."""
    rng = np.random.default_rng(seed)
    d = bits
    centres = rng.normal(size=(16, d)) * 2.0
    rows = centres[rng.integers(0, 16, 4097)] + rng.normal(size=(4097, d)) + 0.5
    rows = rows.astype(np.float32)
    codec = parse(f"rabitq:seed={seed}").fit(rows[:-1])
    query = rows[-1]
    cs = (d + 7) // 8
    codes = rng.integers(0, 256, size=(n, cs), dtype=np.uint8)
    if d % 8:
        codes[:, -1] &= np.uint8((0xFF << (8 - d % 8)) & 0xFF)  # zero padding bits
    # the ranges real rows give (see codec.factors(rows)): |r| ~ sqrt(d), <x̄, ô> ~ 0.8
    real = codec.factors(rows[:-1]).astype(np.float64)
    norm = rng.uniform(real[:, 0].min(), real[:, 0].max(), n)
    ip_code = rng.uniform(real[:, 1].min(), real[:, 1].max(), n)
    ip_centroid = rng.normal(real[:, 2].mean(), real[:, 2].std() + 1e-6, n)
    factors = np.stack([norm, ip_code, ip_centroid], axis=1).astype("<f2")
    sample = np.linspace(0, n - 1, min(samples, n)).astype(np.int64)
    out.mkdir(parents=True, exist_ok=True)
    (out / "codes.bin").write_bytes(codes.tobytes())
    (out / "factors.bin").write_bytes(factors.tobytes())
    meta = {
        "n": n,
        "codeSize": cs,
        "factorWidth": 6,
        "codec": codec.to_dict(),
        "query": [float(v) for v in query],
        "sample": sample.tolist(),
    }
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return {"codec": codec, "query": query, "codes": codes, "factors": factors, "sample": sample}


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``), or the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files, no request log."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """A static file server of ``root`` on a free port; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def python_side(data: dict[str, Any], k: int) -> dict[str, Any]:
    """Python's scores, top k and time per metric."""
    out: dict[str, Any] = {}
    for metric in ("ip", "l2"):
        t0 = time.perf_counter()
        s = rabitq_scores(
            data["codec"],
            data["query"],
            data["codes"],
            data["factors"],
            metric=metric,
            query_bits=4,
        )
        ms = (time.perf_counter() - t0) * 1e3
        top = np.argsort(s, kind="stable")[:k]
        out[metric] = {"scores": s, "top": top.tolist(), "ms": ms}
    return out


def compare(py: dict[str, Any], page: dict[str, Any], sample: np.ndarray) -> dict[str, Any]:
    """Same top k, and the largest score difference (relative to the largest score)."""
    out: dict[str, Any] = {}
    for metric in ("ip", "l2"):
        s = py[metric]["scores"]
        scale = float(np.abs(s).max())
        got = np.asarray(page["sampleScores"][metric])
        top = page["top"][metric]
        worst = float(np.abs(got - s[sample]).max()) / scale
        out[metric] = {
            "same_topk": top == py[metric]["top"],
            "max_rel_diff_sampled": worst,
            "python_ms": round(py[metric]["ms"], 1),
        }
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="codes to score")
    parser.add_argument("--bits", type=int, default=1024, help="code length in bits (= dims)")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=2000, help="rows whose scores are compared")
    parser.add_argument("--workdir", default="/tmp/terrabit-web-rabitq")
    ns = parser.parse_args(argv[1:])

    from playwright.sync_api import sync_playwright

    workdir = Path(ns.workdir)
    page_dir = vite_build(workdir / "bench_page", bench_page=True)
    data = write_data(page_dir / "rabitq", ns.n, ns.bits, ns.seed, ns.samples)
    py = python_side(data, ns.k)
    load_before = os.getloadavg()
    with sync_playwright() as pw, serving(page_dir) as base:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base)
            page.wait_for_function("typeof window.rabitqBench === 'function'", timeout=60_000)
            res: dict[str, Any] = page.evaluate(
                "([u, k, r]) => window.rabitqBench(u, k, r)", [base + "rabitq/", ns.k, ns.repeats]
            )
            version = browser.version
        finally:
            browser.close()
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    load_after = os.getloadavg()
    timings: dict[str, Any] = {}
    for name, key in (
        ("hamming kernel", "hammingKernelMs"),
        ("rabitq kernel", "rabitqKernelMs"),
        ("hamming + top-k", "hammingTopkMs"),
        ("rabitq query", "rabitqQueryMs"),
    ):
        ms = statistics.median(res[key])
        timings[name] = {
            "median_ms": round(ms, 1),
            "min_ms": round(min(res[key]), 1),
            "all_ms": [round(x, 1) for x in res[key]],
            "mcodes_per_s": round(ns.n / ms / 1e3, 1),
        }
    check = compare(py, res, data["sample"])
    ham, rab = timings["hamming kernel"]["median_ms"], timings["rabitq kernel"]["median_ms"]
    report = {
        "n": ns.n,
        "bits": ns.bits,
        "k": ns.k,
        "repeats": ns.repeats,
        "chromium": version,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "timings": timings,
        "rabitq_kernel_vs_hamming": round(rab / ham, 2),
        "python": check,
    }
    print(json.dumps(report, indent=1))
    print(f"\n| {ns.n:,} codes x {ns.bits} bits, one thread | median ms | min ms | Mcodes/s |")
    print("|---|---:|---:|---:|")
    for name, t in timings.items():
        print(f"| {name} | {t['median_ms']} | {t['min_ms']} | {t['mcodes_per_s']} |")
    same = all(c["same_topk"] and c["max_rel_diff_sampled"] < 1e-6 for c in check.values())
    print(
        f"\nrabitq kernel / hamming kernel time: {report['rabitq_kernel_vs_hamming']}x;"
        f" same top-{ns.k} and scores as Python (ip, l2): {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
