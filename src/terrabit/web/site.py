"""``terrabit site``: the browser app as a static site pointing at a remote corpus.

The packaged app (``terrabit/web/static``) is copied into a new folder together with
``config.json`` (``{"corpus": URL}``), which the app reads when the page URL has no
``?corpus=``. Upload the folder to any static host; the corpus host must answer HTTP
Range requests (and send CORS headers when it is on another origin).

Examples
--------
>>> import tempfile, pathlib, json
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> app = tmp / "app"; app.mkdir(); _ = (app / "index.html").write_text("<!doctype html>")
>>> result = write_site("https://data.example.org/corpus/", tmp / "site", app_dir=app)
>>> sorted(p.name for p in result.outdir.iterdir())
['config.json', 'index.html']
>>> json.loads((result.outdir / "config.json").read_text())
{'corpus': 'https://data.example.org/corpus/'}
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terrabit._atomic import atomic_dir, check_output
from terrabit.errors import InvalidInputError
from terrabit.web.serve import _check_app, packaged_app_dir

__all__ = ["SiteResult", "check_corpus_url", "write_site"]

CONFIG_NAME = "config.json"
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_CLOUD_HINT = {
    "s3": "https://BUCKET.s3.REGION.amazonaws.com/PREFIX/",
    "gs": "https://storage.googleapis.com/BUCKET/PREFIX/",
    "gcs": "https://storage.googleapis.com/BUCKET/PREFIX/",
    "az": "https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX/",
    "abfs": "https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX/",
    "abfss": "https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX/",
}


@dataclass(frozen=True)
class SiteResult:
    """What :func:`write_site` wrote."""

    outdir: Path
    corpus: str
    files: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``outdir`` as a string)."""
        return {
            "outdir": str(self.outdir),
            "corpus": self.corpus,
            "files": self.files,
            "bytes": self.bytes,
        }


def check_corpus_url(url: str) -> str:
    """Validate the corpus location a site points at; return it (stripped).

    An ``http(s)://`` URL with a host, or a relative URL path (resolved by the browser
    against the site's ``config.json``, e.g. ``corpus/`` or ``../data/corpus``).

    Examples
    --------
    >>> check_corpus_url("https://data.example.org/corpus"), check_corpus_url("corpus/")
    ('https://data.example.org/corpus', 'corpus/')
    >>> check_corpus_url("s3://bucket/corpus")
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: CORPUS_URL 's3://bucket/corpus': a browser cannot \
read s3:// URLs; give the bucket's https:// address, e.g. \
https://BUCKET.s3.REGION.amazonaws.com/PREFIX/
    """
    text = url.strip() if isinstance(url, str) else url
    if not isinstance(text, str) or not text:
        raise InvalidInputError(
            "CORPUS_URL is empty; give the corpus' https:// URL or a path relative to the site"
        )
    if any(ch.isspace() for ch in text) or "\\" in text or any(ord(ch) < 32 for ch in text):
        raise InvalidInputError(
            f"CORPUS_URL {text!r} contains spaces, backslashes or control characters; "
            "percent-encode them (%20) and use '/' as the separator"
        )
    match = _SCHEME_RE.match(text)
    if match is None:
        if text.startswith("//"):
            raise InvalidInputError(
                f"CORPUS_URL {text!r} is protocol-relative; write the scheme: https:{text}"
            )
        return text  # a relative (or root-relative) URL path
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        parts = urllib.parse.urlsplit(text)
        if not parts.hostname:
            raise InvalidInputError(
                f"CORPUS_URL {text!r} has no host; write it as https://HOST/PATH/"
            )
        return text
    if scheme in _CLOUD_HINT:
        raise InvalidInputError(
            f"CORPUS_URL {text!r}: a browser cannot read {scheme}:// URLs; give the "
            f"bucket's https:// address, e.g. {_CLOUD_HINT[scheme]}"
        )
    if len(scheme) == 1:  # C:\... or C:/...: a local Windows path
        raise InvalidInputError(
            f"CORPUS_URL {text!r} looks like a local path; a site needs an https:// URL or "
            "a path relative to the site (serve a local corpus with `terrabit serve`)"
        )
    raise InvalidInputError(
        f"CORPUS_URL {text!r} has an unsupported scheme {scheme + ':'!r}; use an "
        "http(s):// URL or a path relative to the site"
    )


def write_site(
    corpus_url: str,
    outdir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    app_dir: str | os.PathLike[str] | None = None,
) -> SiteResult:
    """Write the browser app into ``outdir`` with ``config.json`` = ``{"corpus": corpus_url}``.

    Parameters
    ----------
    corpus_url : str
        Where the deployed app finds the corpus: ``https://...`` or a path relative to
        the site (see :func:`check_corpus_url`).
    outdir : path
        The folder to write (atomically: a temporary folder beside it, then a rename).
        An existing one is replaced only with ``overwrite``.
    app_dir : path, optional
        The built app to copy (default: the packaged ``terrabit/web/static``).

    Raises
    ------
    InvalidInputError
        A ``corpus_url`` a browser cannot read.
    OutputExistsError
        ``outdir`` exists and ``overwrite`` is false.
    TerrabitError
        The app is not built.
    """
    url = check_corpus_url(corpus_url)
    target = check_output(outdir, overwrite=overwrite, option="OUTDIR")
    app = _check_app(Path(app_dir) if app_dir is not None else packaged_app_dir())
    if target.resolve().is_relative_to(app):
        raise InvalidInputError(
            f"OUTDIR {os.fspath(outdir)!r} is inside the app folder {app}; choose another folder"
        )
    files = 0
    size = 0
    with atomic_dir(target, overwrite=overwrite) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; a site is for web servers to read
        shutil.copytree(app, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(CONFIG_NAME))
        (tmp / CONFIG_NAME).write_text(json.dumps({"corpus": url}, indent=2) + "\n")
        for path in tmp.rglob("*"):
            if path.is_file():
                files += 1
                size += path.stat().st_size
    return SiteResult(outdir=target, corpus=url, files=files, bytes=size)
