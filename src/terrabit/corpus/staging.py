"""Resumable publishing: the staging folder of a publish, its journal and its lock.

A publish builds the whole corpus in a **staging folder** (beside a local output as
``.NAME.publishing``, or under a work folder for an object-store output) and only then
makes it the corpus: a rename for a local folder, an upload with the manifest last for
``s3://``. The folder holds a journal, so that a publish that failed or was killed can
be **resumed** (``publish --resume``) without redoing what it finished:

``_work/journal/key.json``
    what the publish was asked to do: the inputs (paths, sizes, modification times,
    footers) and every option that changes the output's bytes. Resuming with anything
    different is refused.
``_work/journal/plan.json``
    the chosen cells and the fitted codecs, written once counting is over (resuming
    skips the count and the duplicate check).
``_work/journal/map*.json``
    the part files of an encoded input (the local engine: the whole pass; the Dask
    engine: one per piece).
``_work/journal/cell-*.arrow``
    the manifest rows of a finished cell (its shards are in place beside it); the cell's
    part files are deleted only after this is written.
``_work/journal/uploaded-*.json``
    the shards already uploaded to an object store, with their checksums.

Every journal file is written under a temporary name then renamed, so a crash leaves
either the old state or the new one. A lock (``_work/lock``, ``fcntl.flock``) stops two
publishes from sharing a staging folder.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp()) / ".c.publishing"
>>> with Staging.begin(root, {"inputs": ["a.parquet"]}, resume=False) as staging:
...     staging.save_json("plan", {"cells": [["9q", 0, 1]]})
...     staging.load_json("plan")
{'cells': [['9q', 0, 1]]}
>>> with Staging.begin(root, {"inputs": ["a.parquet"]}, resume=True) as staging:
...     staging.resumed, staging.load_json("plan") is not None
(True, True)
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from terrabit._atomic import make_dirs
from terrabit.errors import InvalidInputError, OutputExistsError

__all__ = ["Staging"]

log = logging.getLogger(__name__)

WORK = "_work"
JOURNAL = "journal"
LOCK = "lock"


class Staging:
    """A staging folder and its journal (use :meth:`begin`)."""

    def __init__(self, root: Path, *, resumed: bool) -> None:
        self.root = root
        self.work = root / WORK
        self.journal = self.work / JOURNAL
        self.resumed = resumed

    @classmethod
    @contextmanager
    def begin(cls, root: Path, key: dict[str, Any], *, resume: bool) -> Iterator[Staging]:
        """Open the staging folder ``root`` for a publish described by ``key``.

        With ``resume`` an unfinished publish in ``root`` made with the same ``key`` is
        continued (a different key is refused, naming what differs); without it, or when
        there is nothing to resume, ``root`` starts empty. The folder is locked while the
        block runs and left in place afterwards (the caller removes or renames it).
        """
        key = json.loads(json.dumps(key, sort_keys=True))  # what a reload gives back
        resumed = False
        make_dirs(root.parent, output=root)
        fresh = root.exists() and not (root / WORK / JOURNAL / "key.json").is_file()
        if fresh and any(root.iterdir()) and not (root / WORK).is_dir():
            raise OutputExistsError(
                f"the staging folder {str(root)!r} exists and is not a terrabit publish; "
                "remove it or choose another output"
            )
        with _locked(root):
            staging = cls(root, resumed=False)
            old = staging.load_json("key")
            if old is not None and resume:
                if old != key:
                    raise InvalidInputError(
                        f"cannot continue the unfinished publish in {str(root)!r}: it was "
                        f"started with different {_differences(old, key)}; rerun without "
                        "resume=True to start over",
                        params=("resume",),
                    )
                resumed = True
            elif old is not None:
                log.warning(
                    "discarding the unfinished publish in %s (pass --resume to continue it)",
                    root,
                )
            if not resumed:
                staging.clear()
                staging.save_json("key", key)
            staging.resumed = resumed
            yield staging

    def clear(self) -> None:
        """Empty the staging folder (keeping the lock)."""
        for child in self.root.iterdir():
            if child.name == WORK:
                for inner in child.iterdir():
                    if inner.name != LOCK:
                        _remove(inner)
            else:
                _remove(child)
        self.journal.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------------- records

    def _path(self, name: str, suffix: str) -> Path:
        return self.journal / f"{name}.{suffix}"

    def save_json(self, name: str, data: Any) -> None:
        """Record ``data`` as ``journal/NAME.json`` (atomically)."""
        _write_atomic(self._path(name, "json"), json.dumps(data, sort_keys=True).encode())

    def load_json(self, name: str) -> Any:
        """``journal/NAME.json``, or None when it was never recorded."""
        path = self._path(name, "json")
        return json.loads(path.read_text()) if path.is_file() else None

    def save_table(self, name: str, table: pa.Table) -> None:
        """Record ``table`` as ``journal/NAME.arrow`` (atomically)."""
        sink = pa.BufferOutputStream()
        with ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        _write_atomic(self._path(name, "arrow"), sink.getvalue().to_pybytes())

    def load_table(self, name: str) -> pa.Table | None:
        """``journal/NAME.arrow``, or None when it was never recorded."""
        path = self._path(name, "arrow")
        if not path.is_file():
            return None
        with pa.OSFile(str(path)) as source:
            return ipc.open_file(source).read_all()

    def names(self, prefix: str) -> list[str]:
        """The recorded names that start with ``prefix``."""
        if not self.journal.is_dir():
            return []
        return sorted(p.name.rsplit(".", 1)[0] for p in self.journal.glob(f"{prefix}*"))

    def remove(self) -> None:
        """Remove the whole staging folder (nothing left to resume); best effort, so an
        error being reported is not masked by one in cleaning up."""
        shutil.rmtree(self.root, ignore_errors=True)

    def drop_work(self) -> None:
        """Remove the work folder (journal, parts, lock): the staging folder then holds
        only the corpus."""
        _remove(self.work)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    detail: list[str] = []
    for k in keys:
        if isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
            inner = sorted(j for j in set(old[k]) | set(new[k]) if old[k].get(j) != new[k].get(j))
            detail.extend(f"{k}.{j}" for j in inner)
        else:
            detail.append(k)
    return ", ".join(detail) or "settings"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root/_work/lock`` (refusing a second publish)."""
    (root / WORK).mkdir(parents=True, exist_ok=True)
    path = root / WORK / LOCK
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputExistsError(
                f"another publish is using {str(root)!r}; wait for it to finish or stop it"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
