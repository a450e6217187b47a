"""The packaged app (``src/terrabit/web/static``) is the build of the current ``web/``
sources: ``static/build-info.json`` (written by ``web/scripts/static_hash.mjs`` after
``vite build``) records the sources' hash, and Python's :func:`terrabit.web.source_hash`
computes the same hash (tested against the Node script)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from terrabit.web import source_files, source_hash

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

NODE = shutil.which("node")
SCRIPT = WEB_DIR / "scripts" / "static_hash.mjs"
needs_node = pytest.mark.skipif(
    NODE is None or not SCRIPT.is_file(), reason="node or web/scripts/static_hash.mjs missing"
)


def node_hash(web_dir: Path) -> str:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(SCRIPT), "--print", "--dir", str(web_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout.strip()


@pytest.mark.skipif(not WEB_DIR.is_dir(), reason="no web/ sources (an installed package)")
def test_static_build_is_fresh(static_state_at_start: tuple[bool, str]) -> None:
    fresh, why = static_state_at_start
    assert fresh, f"src/terrabit/web/static/ was stale or missing when the run started: {why}"


def test_static_state_detects_changes(
    tmp_path: Path, static_checker: Callable[[Path, Path], tuple[bool, str]]
) -> None:
    static_state = static_checker
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html>")
    (web / "src" / "main.ts").write_text("export {};\n")
    static = tmp_path / "static"
    static.mkdir()
    assert static_state(static, web) == (
        False,
        f"{static / 'index.html'} is missing (the app is not built)",
    )
    (static / "index.html").write_text("built")
    assert not static_state(static, web)[0]
    (static / "build-info.json").write_text(f'{{"source_hash": "{source_hash(web)}"}}')
    assert static_state(static, web)[0]
    (web / "src" / "main.ts").write_text("export const x = 1;\n")
    fresh, why = static_state(static, web)
    assert not fresh and "web/ now hashes to" in why


def test_source_hash_covers_the_right_files(tmp_path: Path) -> None:
    web = tmp_path / "web"
    for rel in [
        "index.html",
        "package-lock.json",
        "vite.config.ts",
        "src/main.ts",
        "src/lib/a.ts",
        "src/wasm/kernel.wasm",
        "public/favicon.svg",
        "src/.DS_Store",
        ".hidden/x.ts",
        "src/.cache/y.ts",
        "node_modules/dep/index.js",
        "tests/unit/a.test.ts",
        "README.md",
    ]:
        (web / rel).parent.mkdir(parents=True, exist_ok=True)
        (web / rel).write_bytes(rel.encode())
    assert source_files(web) == [
        "index.html",
        "package-lock.json",
        "public/favicon.svg",
        "src/lib/a.ts",
        "src/main.ts",
        "src/wasm/kernel.wasm",
        "vite.config.ts",
    ]
    before = source_hash(web)
    (web / "tests/unit/a.test.ts").write_text("changed")  # not a build input
    (web / "src/.DS_Store").write_text("changed")
    assert source_hash(web) == before
    (web / "public/favicon.svg").write_text("changed")
    assert source_hash(web) != before
    (web / "public/favicon.svg").write_bytes(b"public/favicon.svg")
    assert source_hash(web) == before
    (web / "src/main.ts").rename(web / "src/main2.ts")  # a rename is a change
    assert source_hash(web) != before


@needs_node
def test_python_and_node_hashes_agree(tmp_path: Path) -> None:
    web = tmp_path / "web"
    files = {
        "index.html": b"<!doctype html>\r\n",
        "src/main.ts": b"export {};\n",
        "src/lib/\u00e9t\u00e9.ts": "// caf\u00e9\n".encode(),
        "src/lib/Z.ts": b"",
        "src/lib_a.ts": b"\x00\xff binary",
        "public/data.bin": bytes(range(256)),
        "src/.skip": b"skipped",
    }
    for rel, data in files.items():
        (web / rel).parent.mkdir(parents=True, exist_ok=True)
        (web / rel).write_bytes(data)
    assert node_hash(web) == source_hash(web)
    (web / "src/main.ts").write_bytes(b"export const y = 2;\n")
    assert node_hash(web) == source_hash(web)


@needs_node
def test_python_and_node_hashes_agree_on_the_real_sources() -> None:
    assert node_hash(WEB_DIR) == source_hash(WEB_DIR)
