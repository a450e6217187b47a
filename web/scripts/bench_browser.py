"""Time a search in Chromium: URL load (the query in the hash) to the first result row.

Serves the built app and a corpus with ``terrabit.web.serve.make_server`` (HTTP Range),
opens ``/#HASH`` in Debian's Chromium (Playwright, headless) and reports the seconds to
the first ``[data-testid="result-row"]``, the status line and the scoring workers seen.
``FIRST`` in the hash is replaced by the corpus's first row id.

    /work/main/.venv/bin/python web/scripts/bench_browser.py CORPUS \\
        "bbox=-180,-90,180,90&ids=FIRST&view=topk&k=20" [--app DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import threading
import time

import pyarrow.parquet as pq

from terrabit.web.serve import make_server, packaged_app_dir

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def first_id(corpus: str) -> str:
    """The first row id of the corpus's first shard."""
    shard = sorted(pathlib.Path(corpus, "shards").glob("*.parquet"))[0]
    return str(pq.read_table(shard, columns=["id"]).column("id")[0].as_py())


def run(corpus: str, hash_: str, app: str, repeats: int) -> dict[str, object]:
    """Load the page ``repeats`` times (fresh browser context each) and time it."""
    from playwright.sync_api import sync_playwright

    hash_ = hash_.replace("FIRST", first_id(corpus))
    times: list[float] = []
    status = ""
    workers = 0
    with make_server(corpus, port=0, app_dir=app) as server, sync_playwright() as p:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for _ in range(repeats):
                context = browser.new_context()
                page = context.new_page()
                seen: list[str] = []
                page.on("worker", lambda w: seen.append(w.url))  # noqa: B023 - used at once
                t0 = time.perf_counter()
                page.goto(server.url + "#" + hash_)
                page.wait_for_selector('[data-testid="result-row"]', timeout=300_000)
                times.append(time.perf_counter() - t0)
                status = page.inner_text('[data-testid="status"]')
                workers = sum("scorer" in url for url in seen)
                context.close()
        finally:
            browser.close()
            server.shutdown()
    return {
        "hash": hash_,
        "seconds_to_first_results": [round(t, 2) for t in times],
        "median_s": round(statistics.median(times), 2),
        "status": status,
        "scoring_workers": workers,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("hash")
    parser.add_argument("--app", default=str(packaged_app_dir()))
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args(argv[1:])
    print(json.dumps(run(ns.corpus, ns.hash, ns.app, ns.repeats), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
