"""Time from loading a shared URL (``#bbox=…&pos=…``) to the first results, in Chromium.

Publishes a world-like corpus, serves it with the built app (``terrabit serve``'s
``make_server``), and opens the URL in fresh pages of Debian's Chromium (Python
Playwright). Reports, per run, the page's own clock at the app's ``performance.mark``s
(``terrabit:booting``, ``terrabit:searching``, ``terrabit:done``: script start, search
start, results shown) and the median over the runs, and the page's long tasks (a
``PerformanceObserver`` of ``longtask`` entries registered before any script runs: the main
thread busy > 50 ms at a stretch) from load to results — their count, total and the longest
(issue 17's goal: none over 200 ms). Also the size of the built app's files. ``--app DIR``
measures another build (say, an older commit's ``src/terrabit/web/static``) on the same
corpus, for a before/after in one run.

    .venv/bin/python benchmarks/web_ui_load.py --rows 20000 --repeats 5
    .venv/bin/python benchmarks/web_ui_load.py --rows 100000 --whole --repeats 3
    .venv/bin/python benchmarks/web_ui_load.py --rows 100000 --whole --view heatmap --repeats 3
    .venv/bin/python benchmarks/web_ui_load.py --rows 200000 --whole --app OLD --app NEW

The app must be built first (``cd web && npx vite build``). On a shared 2-core machine the
figures are noisy: compare medians from one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import terrabit
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.web.serve import make_server, packaged_app_dir

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def query_for(corpus_dir: Path, *, whole: bool = False) -> str:
    """A 3°x2° box around the densest cluster (``whole``: the corpus's whole extent, so
    every row is a candidate) and a positive on a patch near the cluster's centre."""
    with terrabit.open(corpus_dir) as corpus:
        table = corpus.read(None, columns=["bbox"])
    bbox = table.column("bbox").combine_chunks()
    x = (bbox.field("xmin").to_numpy() + bbox.field("xmax").to_numpy()) / 2
    y = (bbox.field("ymin").to_numpy() + bbox.field("ymax").to_numpy()) / 2
    cells = np.floor(x / 2).astype(int) * 1000 + np.floor(y / 2).astype(int)
    values, counts = np.unique(cells, return_counts=True)
    inside = np.flatnonzero(cells == values[np.argmax(counts)])
    cx, cy = float(np.median(x[inside])), float(np.median(y[inside]))
    near = inside[np.argmin((x[inside] - cx) ** 2 + (y[inside] - cy) ** 2)]
    box = (cx - 1.5, cy - 1.0, cx + 1.5, cy + 1.0)
    if whole:
        box = (-180.0, -90.0, 180.0, 90.0)
    return "#bbox={:.4f},{:.4f},{:.4f},{:.4f}&pos={:.6f},{:.6f}&k=20".format(
        *box, float(x[near]), float(y[near])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--view", default="topk", help="the view to load (topk, heatmap, …)")
    parser.add_argument(
        "--whole", action="store_true", help="search the whole corpus (every row a candidate)"
    )
    parser.add_argument("--dims", type=int, default=64, help="embedding dimension (1-bit codes)")
    parser.add_argument(
        "--app",
        action="append",
        type=Path,
        help="built app folder(s) to measure, interleaved run by run [default: the packaged app]",
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    apps = args.app or [packaged_app_dir()]
    for app in apps:
        sizes = {p.name: p.stat().st_size for p in sorted((app / "assets").iterdir())}
        print(f"built app {app} (bytes):")
        for name, size in sizes.items():
            print(f"  {size:>10,}  {name}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = write_input(root / "in.parquet", rows=args.rows, dims=args.dims)
        publish(src, root / "corpus", keep=["label", "year"], show_progress=False)
        fragment = query_for(root / "corpus", whole=args.whole) + f"&view={args.view}"
        print(f"corpus: {args.rows:,} rows x {args.dims}-bit codes; query {fragment}")
        servers = [make_server(root / "corpus", port=0, app_dir=app) for app in apps]
        with contextlib.ExitStack() as stack, sync_playwright() as pw:
            for server in servers:
                stack.enter_context(server)
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            totals: dict[int, list[float]] = {j: [] for j in range(len(apps))}
            longest: dict[int, list[float]] = {j: [] for j in range(len(apps))}
            for i in range(args.repeats):
                for j, server in enumerate(servers):
                    done, worst = _one_run(
                        browser, server.url + fragment, f"run {i + 1} app {j + 1}"
                    )
                    totals[j].append(done)
                    longest[j].append(worst)
            browser.close()
    for j, app in enumerate(apps):
        print(
            f"app {j + 1} ({app}): median URL load -> first results "
            f"{statistics.median(totals[j]):.0f} ms; longest task, median of runs "
            f"{statistics.median(longest[j]):.0f} ms, worst {max(longest[j]):.0f} ms"
        )


LONG_TASKS = """
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
} catch (e) {}
"""


def _one_run(browser: Any, url: str, name: str) -> tuple[float, float]:
    """Load ``url`` in a fresh context: (ms to results, the longest task in ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.body.dataset.state)", timeout=120_000
    )
    wall = time.perf_counter() - t0
    page.wait_for_timeout(300)  # a task still running when the results show is counted
    marks = page.evaluate(
        "() => Object.fromEntries(performance.getEntriesByType('mark')"
        ".filter(m => m.name.startsWith('terrabit:'))"
        ".map(m => [m.name.slice(9), m.startTime]))"
    )
    tasks = page.evaluate("() => window.__longTasks")
    state = page.evaluate("() => document.body.dataset.state")
    status = page.locator("[data-testid=status]").inner_text()
    done = marks.get("done", marks.get("error", float("nan")))
    in_load = [d for start, d in tasks if start <= done + 300]
    worst = max(in_load, default=0.0)
    print(
        f"{name}: {state}; page clock: booting {marks.get('booting', 0):.0f} ms, "
        f"searching {marks.get('searching', float('nan')):.0f} ms, results {done:.0f} ms; "
        f"wall {wall:.2f} s; long tasks {len(in_load)} ({sum(in_load):.0f} ms), longest "
        f"{worst:.0f} ms; {status}"
    )
    context.close()
    return done, worst


if __name__ == "__main__":
    main()
