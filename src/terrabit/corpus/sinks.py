"""Where ``publish`` puts a corpus: a local folder, or an object-store prefix.

A publish builds the corpus in a staging folder (:mod:`terrabit.corpus.staging`); a
:class:`Sink` decides where that folder lives, refuses an output it must not replace, and
turns the finished folder into the corpus:

* :class:`FolderSink` — the staging folder is ``.NAME.publishing`` beside the output and
  is renamed onto it (the old corpus, if any, is replaced in one rename).
* :class:`ObjectStoreSink` (``s3://``, ``gs://``, ``az://``, through obstore with retries
  and timeouts) — the staging folder is a local work folder; the upload deletes an old
  manifest first, puts the shards, checks every shard's size in a listing, puts
  ``collection.json`` and then the manifest **last**, then deletes shards the new
  manifest does not name. Killed at any moment, the prefix holds the old corpus or no
  manifest — never a manifest naming shards that are missing or stale. Uploaded shards
  are journalled, so ``--resume`` does not upload them again.

Examples
--------
>>> sink = open_sink("/tmp/terrabit-doc/corpus")
>>> type(sink).__name__, sink.staging_dir().name
('FolderSink', '.corpus.publishing')
>>> open_sink("https://example.com/corpus")
Traceback (most recent call last):
...
terrabit.errors.InvalidInputError: cannot publish to 'https://example.com/corpus': \
http(s) hosts are read-only here; publish to a local folder or an object store (s3://, \
gs://, az://) and serve that
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from terrabit._atomic import check_parents, replace_dir
from terrabit._progress import progress_bar
from terrabit.corpus import format as fmt
from terrabit.corpus import stac
from terrabit.corpus.sources import ObjectStoreSource
from terrabit.corpus.staging import Staging
from terrabit.errors import InvalidInputError, OutputExistsError, ShardIOError

__all__ = ["FolderSink", "ObjectStoreSink", "Sink", "default_work_root", "open_sink"]

#: Parallel uploads to an object store.
UPLOAD_THREADS = 8
_OBJECT_SCHEMES = ("s3", "gs", "gcs", "az", "abfs", "abfss")


class Sink(ABC):
    """The output of a publish (see :func:`open_sink`)."""

    display: str
    name: str
    """The default name of the corpus (its STAC Collection id): the output's last part."""

    @abstractmethod
    def staging_dir(self) -> Path:
        """The staging folder this output's publish builds (and resumes) in."""

    @abstractmethod
    def check(self, *, overwrite: bool) -> None:
        """Refuse an output that must not be replaced (before any work)."""

    @abstractmethod
    def finish(self, staging: Staging, rows: list[dict[str, Any]], *, show: bool | None) -> None:
        """Make the finished staging folder (corpus files, manifest included) the corpus."""


class FolderSink(Sink):
    """A local corpus folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = str(path)
        self.name = Path(os.path.abspath(path)).name or "corpus"

    def staging_dir(self) -> Path:
        return self.path.parent / f".{self.path.name}.publishing"

    def check(self, *, overwrite: bool) -> None:
        out = check_parents(self.path, option="out")
        if out.is_file():
            raise OutputExistsError(
                f"out={str(out)!r} is a file, not a corpus folder; choose a folder path",
                params=("out",),
            )
        if not out.exists():
            return
        if (out / fmt.MANIFEST_NAME).is_file():
            if not overwrite:
                raise OutputExistsError(
                    f"out={str(out)!r} already holds a corpus; pass overwrite=True to replace "
                    "it or choose another folder",
                    params=("out", "overwrite"),
                )
            return
        if any(out.iterdir()):
            raise OutputExistsError(
                f"out={str(out)!r} exists and is not a terrabit corpus (no "
                f"{fmt.MANIFEST_NAME}); refusing to replace it even with overwrite=True; "
                "choose a new or empty folder",
                params=("out", "overwrite"),
            )

    def finish(self, staging: Staging, rows: list[dict[str, Any]], *, show: bool | None) -> None:
        staging.drop_work()
        replace_dir(staging.root, self.path)


class ObjectStoreSink(Sink):
    """A corpus under an object-store prefix, uploaded from a local staging folder."""

    def __init__(self, url: str, *, work_dir: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.display = self.url
        self.name = self.url.partition("://")[2].rsplit("/", 1)[-1] or "corpus"
        self.work_dir = work_dir
        # uploads are big: longer retries, and a timeout per request
        self._store = ObjectStoreSource(self.url, retries=5, retry_timeout_s=120, timeout_s=300)

    def staging_dir(self) -> Path:
        root = self.work_dir if self.work_dir is not None else default_work_root()
        return root / f"publish-{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"

    def _list(self, prefix: str = "") -> dict[str, int]:
        """``{path: size}`` of the objects under the output (or ``prefix`` in it)."""
        return self._store.sizes(prefix)

    def check(self, *, overwrite: bool) -> None:
        objects = self._list()
        if fmt.MANIFEST_NAME in objects:
            if not overwrite:
                raise OutputExistsError(
                    f"out={self.url!r} already holds a corpus; pass overwrite=True to replace "
                    "it or choose another prefix",
                    params=("out", "overwrite"),
                )
            return
        foreign = sorted(p for p in objects if not _is_corpus_file(p))
        if foreign:
            raise OutputExistsError(
                f"out={self.url!r} holds objects that are not a terrabit corpus "
                f"({foreign[0]!r}{' and more' if len(foreign) > 1 else ''}); refusing to "
                "publish there even with overwrite=True; choose a new or empty prefix",
                params=("out", "overwrite"),
            )

    def finish(self, staging: Staging, rows: list[dict[str, Any]], *, show: bool | None) -> None:
        remote = self._list()
        if fmt.MANIFEST_NAME in remote:  # replacing a corpus: first make it no corpus
            self._store.delete([fmt.MANIFEST_NAME])
        done: dict[str, str] = staging.load_json("uploaded") or {}
        todo = [
            r
            for r in rows
            if done.get(r["path"]) != r["checksum"] or remote.get(r["path"]) != r["bytes"]
        ]
        lock = threading.Lock()
        total = sum(r["bytes"] for r in todo)
        with (
            progress_bar(f"publish: uploading to {self.url}", total, show=show) as bar,
            ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool,
        ):

            def upload(row: dict[str, Any]) -> None:
                self._put(row["path"], staging.root / row["path"])
                with lock:
                    done[row["path"]] = row["checksum"]
                    staging.save_json("uploaded", done)
                    bar.advance(row["bytes"])

            for _ in pool.map(upload, todo):
                pass
        listed = self._list(f"{fmt.SHARDS_DIR}/")
        wrong = [r["path"] for r in rows if listed.get(r["path"]) != r["bytes"]]
        if wrong:
            raise ShardIOError(
                f"{len(wrong)} uploaded shard(s) are missing or have the wrong size in "
                f"{self.url} ({wrong[0]!r}); the manifest was not written — rerun with "
                "resume=True",
                params=("resume",),
            )
        self._put(stac.COLLECTION_NAME, staging.root / stac.COLLECTION_NAME)
        self._put(fmt.MANIFEST_NAME, staging.root / fmt.MANIFEST_NAME)
        names = {r["path"] for r in rows}
        stale = sorted(p for p in listed if p not in names)
        if stale:
            self._store.delete(stale)
        staging.remove()

    def _put(self, key: str, path: Path) -> None:
        self._store.put(key, path)


def _is_corpus_file(path: str) -> bool:
    """Whether ``path`` may be left by an unfinished publish (a shard, or the collection
    put just before the manifest)."""
    is_shard = path.startswith(f"{fmt.SHARDS_DIR}/") and path.endswith(".parquet")
    return is_shard or path == stac.COLLECTION_NAME


def default_work_root() -> Path:
    """Where object-store publishes stage their corpus by default:
    ``$TERRABIT_WORK_DIR``, else ``$XDG_CACHE_HOME/terrabit`` (``~/.cache/terrabit``).

    Examples
    --------
    >>> default_work_root().name in ("terrabit",) or "TERRABIT_WORK_DIR" in os.environ
    True
    """
    explicit = os.environ.get("TERRABIT_WORK_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "terrabit"


def open_sink(
    out: str | os.PathLike[str], *, work_dir: str | os.PathLike[str] | None = None
) -> Sink:
    """The :class:`Sink` for ``-o OUT``: a local folder or an object-store prefix.

    ``work_dir`` (object stores only) is where the corpus is staged before the upload
    (default :func:`default_work_root`); it needs room for the whole corpus plus the
    encoded rows.
    """
    text = os.fspath(out)
    scheme, sep, _ = text.partition("://")
    scheme = scheme.lower() if sep else ""
    if scheme in ("", "file"):
        if work_dir is not None:
            raise InvalidInputError(
                "work_dir is for object-store outputs (s3://...); a local corpus is staged "
                "beside its folder (.NAME.publishing)",
                params=("work_dir",),
            )
        return FolderSink(Path(text[len("file://") :] if scheme == "file" else text))
    if scheme in ("http", "https"):
        raise InvalidInputError(
            f"cannot publish to {text!r}: http(s) hosts are read-only here; publish to a "
            "local folder or an object store (s3://, gs://, az://) and serve that"
        )
    if scheme in _OBJECT_SCHEMES:
        return ObjectStoreSink(text, work_dir=None if work_dir is None else Path(work_dir))
    raise InvalidInputError(
        f"unsupported output {text!r}; use a local folder, s3://, gs:// or az://"
    )
