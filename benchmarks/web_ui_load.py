"""Time from loading a shared URL (``#bbox=…&pos=…``) to the first results, in Chromium.

Publishes a world-like corpus, serves it with the built app (``terrabit serve``'s
``make_server``), and opens the URL in fresh pages of Debian's Chromium (Python
Playwright). Reports, per run, the page's own clock at the app's ``performance.mark``s
(``terrabit:booting``, ``terrabit:searching``, ``terrabit:done``: script start, search
start, results shown) and the median over the runs, and the page's long tasks (a
``PerformanceObserver`` of ``longtask`` entries registered before any script runs: the main
thread busy > 50 ms at a stretch) from load to results — their count, total and the longest
(issue 17's goal: none over 200 ms). With ``--trace``, a Chrome trace of each load splits every
long task of the page's main thread into the compositor's frame commit (here, where headless
Chromium renders WebGL in software, committing a map frame alone takes 100-500 ms; with a GPU it
takes a few ms) and everything else — the app's script, message decoding, layout — whose
longest is the figure the app itself controls. Also the size of the built app's files. ``--app DIR``
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
import json
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
        "--trace", action="store_true", help="split long tasks by a Chrome trace (see above)"
    )
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
            own: dict[int, list[float]] = {j: [] for j in range(len(apps))}
            for i in range(args.repeats):
                for j, server in enumerate(servers):
                    done, worst, not_commit = _one_run(
                        browser, server.url + fragment, f"run {i + 1} app {j + 1}", args.trace
                    )
                    totals[j].append(done)
                    longest[j].append(worst)
                    own[j].append(not_commit)
            browser.close()
    for j, app in enumerate(apps):
        traced = (
            f"; longest task without the frame commit, median {statistics.median(own[j]):.0f} ms, "
            f"worst {max(own[j]):.0f} ms"
            if args.trace
            else ""
        )
        print(
            f"app {j + 1} ({app}): median URL load -> first results "
            f"{statistics.median(totals[j]):.0f} ms; longest task, median of runs "
            f"{statistics.median(longest[j]):.0f} ms, worst {max(longest[j]):.0f} ms{traced}"
        )


LONG_TASKS = """
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
} catch (e) {}
"""


def _one_run(browser: Any, url: str, name: str, trace: bool) -> tuple[float, float, float]:
    """Load ``url`` in a fresh context: ms to results, the longest task and (traced) the
    longest task less its frame commit, in ms."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    if trace:
        categories = ["devtools.timeline", "disabled-by-default-devtools.timeline"]
        browser.start_tracing(page=page, categories=categories)
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
    not_commit = float("nan")
    split = ""
    if trace:
        parts = _task_parts(json.loads(browser.stop_tracing()))
        not_commit = max((total - commit for total, commit in parts), default=0.0)
        split = f"; without the frame commit the longest is {not_commit:.0f} ms"
    stages = ", ".join(
        f"{k[6:]} {v:.0f}"
        for k, v in sorted(marks.items(), key=lambda kv: kv[1])
        if k[:6] == "stage:"
    )
    print(
        f"{name}: {state}; page clock: booting {marks.get('booting', 0):.0f} ms, "
        f"searching {marks.get('searching', float('nan')):.0f} ms ({stages}), "
        f"results {done:.0f} ms; "
        f"wall {wall:.2f} s; long tasks {len(in_load)} ({sum(in_load):.0f} ms), longest "
        f"{worst:.0f} ms{split}; {status}"
    )
    context.close()
    return done, worst, not_commit


TASKS = ("RunTask", "ThreadControllerImpl::RunTask")


def _task_parts(trace: dict[str, Any]) -> list[tuple[float, float]]:
    """(duration, frame-commit time) in ms of every task over 50 ms on the page's main thread."""
    events = trace["traceEvents"]
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e["args"].get("name") == "CrRendererMain"
    }
    spans = [e for e in events if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X"]
    commits = sorted((e["ts"], e["ts"] + e.get("dur", 0)) for e in spans if e["name"] == "Commit")
    out = []
    for task in spans:
        if task["name"] not in TASKS or task.get("dur", 0) <= 50_000:
            continue
        t0, t1 = task["ts"], task["ts"] + task["dur"]
        commit = sum(min(b, t1) - max(a, t0) for a, b in commits if a < t1 and b > t0)
        out.append((task["dur"] / 1000, commit / 1000))
    return out


if __name__ == "__main__":
    main()
