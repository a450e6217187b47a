"""Browser benchmarks in Debian's Chromium (issue 6, "Must show").

1. **Kernel**: in ONE page, on the SAME random codes (generated once in the page), score
   ``--n`` candidates (default 1M codes of 1024 bits) against one query and take the top
   ``--k`` with (a) the app's WebAssembly kernel in its scorer worker pool + bounded-heap
   top-k -- timed with the codes resident in the workers (``ScorerPool.score(...,
   {resident: true})``, what a repeated search of a region does) and shipped afresh each
   call -- and (b) a reference scorer written like the reference demo's (a 256-entry byte
   popcount lookup table on one thread, full sort of all candidates). Interleaved,
   ``--repeats`` times; prints the medians and the ratio (goal >= 5x) and checks that both
   return the same top-k.
2. **Library search** (no map): ``window.searchBench`` of the same page opens the served
   corpus and searches the region holding all its rows for rows like its first row (the
   top-k view, then the heatmap view: every candidate a result row), timing open / shard
   reads / the rest (scoring, the view, the result rows).
3. **URL load to first results**: publishes (once, cached under ``--workdir``) a corpus of
   ``--rows`` patches (default 100K, 1024 dims, binary codec), serves the built app and the
   corpus with ``terrabit.web.serve.make_server`` (HTTP Range), opens
   ``/#bbox=<the corpus extent>&ids=<first id>&view=topk&k=50`` in a fresh browser context
   and times it to the first ``[data-testid="result-row"]``.

The page is ``web/scripts/bench_page`` and the app is built from ``web/src`` into
``--workdir`` (never into ``src/terrabit/web/static``). ``--compare-page DIR`` and
``--compare-app DIR`` interleave (2) and (3) with builds of another revision, e.g. from
``git archive HEAD web | tar -x -C /tmp/before`` (link ``web/node_modules``, copy the bench
page in, build both with ``npx vite build [--config scripts/bench.vite.config.mjs]
--outDir ...``)::

    .venv/bin/python benchmarks/web_kernel_chromium.py [--n 1000000] [--repeats 7]
    .venv/bin/python benchmarks/web_kernel_chromium.py --skip-kernel \\
        --compare-page /tmp/before/page --compare-app /tmp/before/app
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def vite_build(out: Path, *, bench_page: bool) -> Path:
    """Build the app (or the benchmark page) from ``web/`` into ``out``."""
    cmd = ["npx", "vite", "build", "--outDir", str(out), "--logLevel", "warn"]
    if bench_page:
        cmd[3:3] = ["--config", "scripts/bench.vite.config.mjs"]
    subprocess.run(cmd, cwd=WEB, check=True)
    return out


def make_corpus(workdir: Path, rows: int, dims: int) -> Path:
    """Publish (once) a world-like corpus of ``rows`` rows with the binary codec."""
    from terrabit.corpus import publish
    from terrabit.corpus._fixture import write_input

    corpus = workdir / f"corpus_{rows}_{dims}"
    if (corpus / "manifest.parquet").is_file():
        return corpus
    src = write_input(workdir / f"input_{rows}_{dims}.parquet", rows=rows, dims=dims, seed=7)
    publish(src, corpus, codec="binary", overwrite=True, show_progress=False)
    src.unlink()
    return corpus


@contextmanager
def serving(corpus: Path, app: Path) -> Iterator[str]:
    """A running ``terrabit serve``-style server; yields its base URL."""
    from terrabit.web.serve import make_server

    with make_server(corpus, port=0, app_dir=app) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield str(server.url)
        finally:
            server.shutdown()


def kernel_bench(
    browser: Any, url: str, n: int, code_size: int, k: int, repeats: int
) -> dict[str, Any]:
    """Run ``window.bench`` of the benchmark page."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("typeof window.bench === 'function'", timeout=60_000)
    res: dict[str, Any] = page.evaluate(
        "([n, cs, k, r]) => window.bench(n, cs, k, r)", [n, code_size, k, repeats]
    )
    context.close()
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    ours = statistics.median(res["oursMs"])
    shipped = statistics.median(res["oursShippedMs"])
    ref = statistics.median(res["referenceMs"])
    return {
        "n": n,
        "code_bits": 8 * code_size,
        "k": k,
        "workers": res["workers"],
        "ours_resident_ms": [round(x, 1) for x in res["oursMs"]],
        "ours_shipped_ms": [round(x, 1) for x in res["oursShippedMs"]],
        "reference_ms": [round(x, 1) for x in res["referenceMs"]],
        "ours_median_ms": round(ours, 1),
        "ours_shipped_median_ms": round(shipped, 1),
        "reference_median_ms": round(ref, 1),
        "speedup": round(ref / ours, 2),
        "speedup_shipped": round(ref / shipped, 2),
        "same_topk": bool(res["agree"]),
    }


def first_results(
    browser: Any, apps: dict[str, Path], corpus: Path, k: int, repeats: int
) -> dict[str, Any]:
    """Seconds from URL load to the first result row (region: the whole corpus), apps
    interleaved, each load in a fresh browser context (no Cache API carried over)."""
    box, first = region_query(corpus)
    bbox = ",".join(str(v) for v in box)
    hash_ = f"bbox={bbox}&ids={first}&view=topk&k={k}"
    times: dict[str, list[float]] = {name: [] for name in apps}
    status: dict[str, str] = {}
    for _ in range(repeats):
        for name, app in apps.items():
            with serving(corpus, app) as base:  # one server and one fresh context per load
                context = browser.new_context()
                page = context.new_page()
                page.set_default_timeout(300_000)
                t0 = time.perf_counter()
                page.goto(base + "#" + hash_)
                page.wait_for_selector('[data-testid="result-row"]', timeout=300_000)
                times[name].append(time.perf_counter() - t0)
                status[name] = page.inner_text('[data-testid="status"]')
                context.close()
    rows = pq.read_table(corpus / "manifest.parquet", columns=["rows"])["rows"].to_pylist()
    out: dict[str, Any] = {"rows": sum(rows), "shards": len(rows), "hash": hash_}
    for name, ts in times.items():
        out[name] = {
            "seconds": [round(t, 2) for t in ts],
            "median_s": round(statistics.median(ts), 2),
            "status": status[name],
        }
    return out


def region_query(corpus: Path) -> tuple[list[float], str]:
    """A bbox holding every row of ``corpus`` (its extent, padded) and its first row id."""
    manifest = pq.read_table(corpus / "manifest.parquet").to_pydict()
    box = [
        min(manifest["xmin"]) - 0.01,
        min(manifest["ymin"]) - 0.01,
        max(manifest["xmax"]) + 0.01,
        max(manifest["ymax"]) + 0.01,
    ]
    shard = sorted((corpus / "shards").glob("*.parquet"))[0]
    first = str(pq.read_table(shard, columns=["id"]).column("id")[0].as_py())
    return [round(v, 4) for v in box], first


def library_search(
    browser: Any, pages: dict[str, Path], corpus: Path, k: int, repeats: int, view: str
) -> dict[str, Any]:
    """The library alone (``window.searchBench`` of each bench page), pages interleaved."""
    box, first = region_query(corpus)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
    for _ in range(repeats):
        for name, page_dir in pages.items():
            # one server and one fresh context (no Cache API carried over) per load
            with serving(corpus, page_dir) as base:
                context = browser.new_context()
                page = context.new_page()
                page.set_default_timeout(120_000)
                page.goto(base)
                page.wait_for_function("typeof window.searchBench === 'function'")
                res = page.evaluate(
                    "([u, b, id, k, v]) => window.searchBench(u, b, id, k, v)",
                    [base + "corpus/", box, first, k, view],
                )
                runs[name].append(res)
                context.close()
    out: dict[str, Any] = {"view": view, "bbox": box, "id": first}
    for name, rs in runs.items():
        out[name] = {
            key: round(statistics.median(r[key] for r in rs), 1)
            for key in ("openMs", "readMs", "afterReadMs", "searchMs", "candidates")
        }
        out[name]["search_ms_all"] = [round(r["searchMs"]) for r in rs]
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="candidates to score")
    parser.add_argument("--bits", type=int, default=1024, help="code length in bits")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the served corpus")
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/terrabit-web-bench")
    parser.add_argument("--app", default=None, help="a built app to time (default: build web/)")
    parser.add_argument(
        "--compare-page",
        default=None,
        help="a bench page built from another revision: library search timed against it",
    )
    parser.add_argument(
        "--compare-app",
        default=None,
        help="an app built from another revision: URL-load timing interleaved against it",
    )
    parser.add_argument("--skip-kernel", action="store_true")
    parser.add_argument("--skip-library", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    ns = parser.parse_args(argv[1:])

    from playwright.sync_api import sync_playwright

    workdir = Path(ns.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(workdir, ns.rows, ns.bits)
    out: dict[str, Any] = {}
    page_dir = vite_build(workdir / "bench_page", bench_page=True)
    with sync_playwright() as pw:
        # a fresh browser per stage: the 1M-code page must not slow down (or stall) the next
        def fresh() -> Any:
            return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        if not ns.skip_kernel:
            browser = fresh()
            try:
                with serving(corpus, page_dir) as base:
                    out["kernel"] = kernel_bench(
                        browser, base, ns.n, ns.bits // 8, ns.k, ns.repeats
                    )
            finally:
                browser.close()
            print(json.dumps({"kernel": out["kernel"]}, indent=1), flush=True)
        if not ns.skip_library:
            pages = {"this": page_dir}
            if ns.compare_page:
                pages["compare"] = Path(ns.compare_page)
            for view in ("topk", "heatmap"):
                browser = fresh()
                try:
                    out[f"library_{view}"] = library_search(
                        browser, pages, corpus, ns.k, ns.load_repeats, view
                    )
                finally:
                    browser.close()
                print(json.dumps({f"library_{view}": out[f"library_{view}"]}), flush=True)
        if not ns.skip_load:
            app = Path(ns.app) if ns.app else vite_build(workdir / "app", bench_page=False)
            apps = {"this": app}
            if ns.compare_app:
                apps["compare"] = Path(ns.compare_app)
            browser = fresh()
            try:
                out["first_results"] = first_results(browser, apps, corpus, ns.k, ns.load_repeats)
            finally:
                browser.close()
            print(json.dumps({"first_results": out["first_results"]}, indent=1), flush=True)
    kern = out.get("kernel")
    if kern is not None:
        print(
            f"kernel: ours {kern['ours_median_ms']} ms (codes resident in the workers),"
            f" {kern['ours_shipped_median_ms']} ms (codes shipped each call); reference"
            f" {kern['reference_median_ms']} ms -> {kern['speedup']}x resident,"
            f" {kern['speedup_shipped']}x shipped (goal >= 5x);"
            f" same top-{ns.k}: {kern['same_topk']}"
        )
        if not kern["same_topk"]:
            return 1
    load = out.get("first_results")
    if load is not None:
        for name in ("this", "compare"):
            if name in load:
                print(
                    f"URL load -> first results, {load['rows']} rows ({name}):"
                    f" median {load[name]['median_s']} s"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
