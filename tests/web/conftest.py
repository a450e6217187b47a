"""Fixtures for the browser-app tests: Chromium (Playwright), a small corpus, the built
app and a running ``terrabit serve``.

- ``chromium_browser`` (session): Debian's ``/usr/bin/chromium`` driven by Python
  Playwright (never ``playwright install``). Missing browser: skipped with the reason
  locally, a failure under CI (``CI`` set) -- never a silent skip there.
- ``page`` (function): a fresh context + page; ``page.console_errors`` collects console
  errors and uncaught page errors (tests assert it is empty).
- ``small_corpus`` (session): 2000 rows x 64 dims published with ``keep=["label", "year"]``.
- ``built_app`` (session): ``src/terrabit/web/static`` (rebuilt with ``npx vite build`` +
  ``node scripts/static_hash.mjs`` when missing or stale against ``web/``).
- ``app_url`` (session): base URL (``http://127.0.0.1:PORT/``) of ``terrabit serve
  small_corpus``; the corpus is at ``app_url + "corpus/"``.
- ``query`` (session): a region around the corpus's densest cluster and a positive
  point on a patch inside it (``{"bbox": (…), "pos": (lon, lat)}``).
- ``app_server`` (function): a factory for extra servers, optionally with faults:
  ``app_server(corpus_dir, fail=lambda path: 500 if "shards/" in path else None,
  ranges=False)`` returns a base URL (stopped after the test).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import terrabit
from terrabit.web import packaged_app_dir, source_hash
from terrabit.web.serve import AppServer, RequestHandler, make_server

# the test modules share `appdriver.py` (this folder is not a package)
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
STATIC_DIR = packaged_app_dir()
CHROMIUM = Path(os.environ.get("TERRABIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = bool(os.environ.get("CI"))
BUILD_HINT = "run `npm ci && npm run build` in web/ and commit src/terrabit/web/static/"


def static_state(static_dir: Path = STATIC_DIR, web_dir: Path = WEB_DIR) -> tuple[bool, str]:
    """``(fresh, why)``: whether ``static_dir`` is the build of the sources in ``web_dir``."""
    if not (static_dir / "index.html").is_file():
        return False, f"{static_dir / 'index.html'} is missing (the app is not built)"
    info_path = static_dir / "build-info.json"
    if not info_path.is_file():
        return False, f"{info_path} is missing (built without scripts/static_hash.mjs)"
    try:
        built = json.loads(info_path.read_text())["source_hash"]
    except (ValueError, KeyError, TypeError) as exc:
        return False, f"{info_path} is unreadable: {exc!r}"
    current = source_hash(web_dir)
    if built != current:
        return False, f"static build is of sources {built}, but web/ now hashes to {current}"
    return True, f"static build matches web/ ({current})"


# Recorded before any fixture may rebuild the app: test_static_fresh checks this state,
# so that a stale committed build fails even when built_app rebuilt it during the run.
STATIC_STATE_AT_START = static_state() if WEB_DIR.is_dir() else (True, "no web/ sources")


@pytest.fixture(scope="session")
def static_state_at_start() -> tuple[bool, str]:
    """``(fresh, why)`` of the packaged build when the run started (before any rebuild)."""
    fresh, why = STATIC_STATE_AT_START
    return fresh, why if fresh else f"{why}; {BUILD_HINT}"


@pytest.fixture(scope="session")
def static_checker() -> Callable[[Path, Path], tuple[bool, str]]:
    """:func:`static_state` (``(static_dir, web_dir) -> (fresh, why)``) for tests."""
    return static_state


def _fail_or_skip(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


# -- browser ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``) for the whole session."""
    if not CHROMIUM.is_file():
        _fail_or_skip(
            f"Chromium is not installed at {CHROMIUM}; install Debian's `chromium` package "
            "(or set TERRABIT_CHROMIUM) to run the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("Python Playwright is not installed; `pip install playwright`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    """A new context and page; console/page errors accumulate in ``page.console_errors``."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc else ""
            errors.append(f"console.error: {msg.text}{where}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.console_errors = errors
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()


# -- data ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of 2000 world-like rows, 64 dims, with ``label`` and ``year`` kept."""
    from terrabit.corpus import publish
    from terrabit.corpus._fixture import write_input

    root = tmp_path_factory.mktemp("web-corpus")
    src = write_input(root / "input.parquet", rows=2000, dims=64, seed=0)
    out = root / "corpus"
    publish(src, out, keep=["label", "year"], show_progress=False)
    return out


@pytest.fixture(scope="session")
def query(small_corpus: Path) -> dict[str, Any]:
    """A region around the densest cluster and a positive point on a patch inside it."""
    with terrabit.open(small_corpus) as corpus:
        table = corpus.read(None, columns=["id", "bbox"])
    bbox = table.column("bbox").combine_chunks()
    x = (bbox.field("xmin").to_numpy() + bbox.field("xmax").to_numpy()) / 2
    y = (bbox.field("ymin").to_numpy() + bbox.field("ymax").to_numpy()) / 2
    # densest 2-degree cell
    cells = np.floor(x / 2).astype(int) * 1000 + np.floor(y / 2).astype(int)
    values, counts = np.unique(cells, return_counts=True)
    best = values[np.argmax(counts)]
    inside = np.flatnonzero(cells == best)
    cx, cy = float(np.median(x[inside])), float(np.median(y[inside]))
    region = (round(cx - 1.5, 4), round(cy - 1.0, 4), round(cx + 1.5, 4), round(cy + 1.0, 4))
    # the patch nearest the cluster centre; its centre is the click point
    near = inside[np.argmin((x[inside] - cx) ** 2 + (y[inside] - cy) ** 2)]
    point = (round(float(x[near]), 6), round(float(y[near]), 6))
    return {"bbox": region, "pos": point}


# -- the app ------------------------------------------------------------------------------
def _run(cmd: list[str], cwd: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        pytest.fail(f"`{' '.join(cmd)}` failed in {cwd} (exit {proc.returncode}):\n{tail}")


def build_app() -> Path:
    """Rebuild ``static/`` if missing or stale (under a lock shared by concurrent runs)."""
    if not (WEB_DIR / "package.json").is_file():
        # An installed package without the repository: use what is packaged.
        if not (STATIC_DIR / "index.html").is_file():
            _fail_or_skip(f"the app is not built and there is no web/ to build it; {BUILD_HINT}")
        return STATIC_DIR
    lock_path = Path(tempfile.gettempdir()) / "terrabit-web-build.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fresh, _ = static_state()
            if not fresh:
                if not (WEB_DIR / "node_modules").is_dir():
                    pytest.fail(f"web/node_modules is missing; {BUILD_HINT}")
                npx = shutil.which("npx")
                node = shutil.which("node")
                if npx is None or node is None:
                    pytest.fail(f"node/npx not found on PATH; {BUILD_HINT}")
                _run([npx, "vite", "build", "--logLevel", "warn"], WEB_DIR)
                _run([node, "scripts/static_hash.mjs"], WEB_DIR)
                fresh, why = static_state()
                if not fresh:  # sources changed while building: report, do not loop
                    pytest.fail(f"the app build is stale right after building: {why}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return STATIC_DIR


@pytest.fixture(scope="session")
def built_app() -> Path:
    """The built app folder (``src/terrabit/web/static``), rebuilt first if stale."""
    return build_app()


@contextlib.contextmanager
def _running(server: AppServer) -> Iterator[str]:
    with server:
        yield server.url


@pytest.fixture(scope="session")
def app_url(small_corpus: Path, built_app: Path) -> Iterator[str]:
    """Base URL of ``terrabit serve small_corpus`` on a free loopback port."""
    server = make_server(small_corpus, host="127.0.0.1", port=0, app_dir=built_app)
    with _running(server) as url:
        yield url


def faulty_handler(
    fail: Callable[[str], int | None] | None = None, *, ranges: bool = True
) -> type[RequestHandler]:
    """A request handler that answers ``fail(path)`` (an HTTP status) when not None, and
    ignores ``Range`` (200 with the whole file, no ``Accept-Ranges``) when not ``ranges``.

    ``path`` is the request path without the query, e.g. ``/corpus/shards/u4.parquet``.
    """

    class FaultyHandler(RequestHandler):
        def _respond(self, *, body: bool) -> None:
            status = fail(self.path.split("?", 1)[0]) if fail is not None else None
            if status is not None:
                self.send_error(status, "injected fault")
                return
            if not ranges:
                for name in ("Range", "If-Range"):
                    del self.headers[name]
            super()._respond(body=body)

        def _common_headers(self, etag: str, modified: str, in_corpus: bool) -> None:
            if ranges:
                super()._common_headers(etag, modified, in_corpus)
                return
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            if in_corpus:
                self._cors()

    return FaultyHandler


@pytest.fixture
def app_server(small_corpus: Path, built_app: Path) -> Iterator[Callable[..., str]]:
    """Factory: ``app_server(corpus_dir=small_corpus, *, fail=None, ranges=True, app_dir=
    built_app)`` starts another server (see :func:`faulty_handler`) and returns its URL."""
    stack = contextlib.ExitStack()

    def start(
        corpus_dir: Path | None = None,
        *,
        fail: Callable[[str], int | None] | None = None,
        ranges: bool = True,
        app_dir: Path | None = None,
    ) -> str:
        server = make_server(
            corpus_dir if corpus_dir is not None else small_corpus,
            port=0,
            app_dir=app_dir if app_dir is not None else built_app,
            handler=faulty_handler(fail, ranges=ranges),
        )
        return stack.enter_context(_running(server))

    with stack:
        yield start
