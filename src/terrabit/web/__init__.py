"""The browser app: serve it with a corpus (:func:`serve`), or write it as a static site
pointing at a remote corpus (:func:`write_site`).

The app itself is TypeScript in the repository's ``web/`` folder; its vite build is
shipped inside this package (``terrabit/web/static``) so that a plain ``pip install``
serves it. :func:`source_hash` fingerprints the app's sources; the build records it in
``static/build-info.json`` (``web/scripts/static_hash.mjs`` computes the same hash in
Node) so that a stale build is detected.

Examples
--------
>>> import tempfile, pathlib
>>> web = pathlib.Path(tempfile.mkdtemp())
>>> (web / "src").mkdir(); _ = (web / "src" / "main.ts").write_text("export {};\\n")
>>> source_hash(web)[:7], len(source_files(web))
('sha256:', 1)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from terrabit.web.serve import AppServer, make_server, packaged_app_dir, serve
from terrabit.web.site import write_site

__all__ = [
    "HASHED_DIRS",
    "HASHED_FILES",
    "AppServer",
    "make_server",
    "packaged_app_dir",
    "serve",
    "source_files",
    "source_hash",
    "write_site",
]

#: What the build output depends on, relative to ``web/`` (keep equal to static_hash.mjs).
HASHED_FILES = ("index.html", "package-lock.json", "vite.config.ts")
HASHED_DIRS = ("src", "public")


def source_files(web_dir: str | os.PathLike[str]) -> list[str]:
    """The ``/``-separated paths, relative to ``web_dir``, that :func:`source_hash` reads.

    ``HASHED_FILES`` that exist plus every file under ``HASHED_DIRS`` (names starting
    with ``.`` skipped), sorted by their UTF-8 bytes.
    """
    root = Path(web_dir)
    files = [name for name in HASHED_FILES if (root / name).is_file()]
    for name in HASHED_DIRS:
        top = root / name
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fname in filenames:
                full = Path(dirpath) / fname
                if not fname.startswith(".") and full.is_file():
                    files.append(full.relative_to(root).as_posix())
    return sorted(files, key=lambda p: p.encode("utf-8"))


def source_hash(web_dir: str | os.PathLike[str]) -> str:
    """``"sha256:<hex>"`` fingerprint of the app sources in ``web_dir`` (the ``web/`` folder).

    sha256 over the lines ``"<sha256 hex of the file>  <relative path>\\n"`` of
    :func:`source_files`; equal to ``node web/scripts/static_hash.mjs --print``.
    """
    root = Path(web_dir)
    outer = hashlib.sha256()
    for rel in source_files(root):
        inner = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        outer.update(f"{inner}  {rel}\n".encode())
    return "sha256:" + outer.hexdigest()
