"""Shared helpers of the browser-app tests: the query on ``small_corpus`` and ways to
drive the page (wait for a search, read the result rows, the status, the URL hash).
The query itself is conftest's ``query`` fixture.

``conftest.py`` puts this folder on ``sys.path``; test modules ``from appdriver import …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import terrabit
from terrabit.search import search

K = 20
TIMEOUT_MS = 20_000


# ----------------------------------------------------------------------- the query


def hash_of(q: dict[str, Any], **extra: Any) -> str:
    parts = [
        "bbox=" + ",".join(f"{v:g}" for v in q["bbox"]),
        "pos={:g},{:g}".format(*q["pos"]),
        f"k={K}",
    ]
    parts += [f"{key}={value}" for key, value in extra.items()]
    return "#" + "&".join(parts)


def python_search(
    corpus_dir: Path, q: dict[str, Any], **kwargs: Any
) -> terrabit.search.SearchResult:
    with terrabit.open(corpus_dir) as corpus:
        return search(corpus, q["bbox"], positives=[q["pos"]], k=K, **kwargs)


# ------------------------------------------------------------------------- helpers


def runs(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.runs || 0)"))


def wait_for_run(page: Any, before: int) -> str:
    """Wait until a search finishes after `before` finished ones; its final state."""
    page.wait_for_function(
        "(n) => Number(document.body.dataset.runs || 0) > n", arg=before, timeout=TIMEOUT_MS
    )
    return str(page.evaluate("() => document.body.dataset.state"))


def click_map_centre(page: Any) -> str:
    """Click the middle of the map and wait for the search the click starts: its outcome
    (:func:`wait_for_run`)."""
    before = runs(page)
    m = page.locator("#map").bounding_box()
    assert m is not None
    page.mouse.click(m["x"] + m["width"] / 2, m["y"] + m["height"] / 2)
    return wait_for_run(page, before)


def open_app(page: Any, url: str, fragment: str = "") -> None:
    """Load the app (recording console warnings too) and wait until it has settled."""
    if not hasattr(page, "console_warnings"):
        warnings: list[str] = []
        page.console_warnings = warnings

        def on_console(msg: Any) -> None:
            # Chromium's software GL (--disable-gpu) reports its own readbacks as
            # "GL Driver Message ... GPU stall due to ReadPixels": not the app's doing.
            if msg.type == "warning" and "GL Driver Message" not in msg.text:
                warnings.append(f"console.warn: {msg.text}")

        page.on("console", on_console)
        requests: list[str] = []
        page.requested = requests
        page.on("request", lambda req: requests.append(req.url))
    # a smaller window: Chromium's software GL (--disable-gpu) renders it faster
    page.set_viewport_size({"width": 1024, "height": 680})
    page.goto(url + fragment)
    page.wait_for_function(
        "() => ['idle', 'done', 'error'].includes(document.body.dataset.state)",
        timeout=TIMEOUT_MS,
    )


def result_rows(page: Any) -> list[tuple[str, int]]:
    rows = page.locator("[data-testid=result-row]")
    ids = rows.evaluate_all("els => els.map(e => [e.dataset.id, Number(e.dataset.rank)])")
    return [(str(i), int(r)) for i, r in ids]


def status(page: Any) -> str:
    return str(page.locator("[data-testid=status]").inner_text())


def hash_params(page: Any) -> dict[str, str]:
    frag = str(page.evaluate("() => location.hash")).lstrip("#")
    return dict(p.split("=", 1) for p in frag.split("&") if "=" in p)


def assert_clean(page: Any) -> None:
    errors = list(page.console_errors) + list(getattr(page, "console_warnings", []))
    assert errors == [], f"console errors / warnings: {errors}"
