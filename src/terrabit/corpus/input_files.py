"""The input files of a publish: local paths, folders, globs and URLs, found and opened.

:func:`find_inputs` expands what the user names (files, folders of ``*.parquet``,
globs, ``http(s)://`` files, object-store folders and globs) into a sorted list of
:data:`InputPath`; :func:`open_input` gives what ``pyarrow.parquet.ParquetFile`` reads
for one of them. Reading and validating their rows is :class:`terrabit.corpus._inputs.InputSet`'s.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_input(tmp / "b.parquet", rows=5, dims=8)
>>> _ = write_input(tmp / "a.parquet", rows=5, dims=8)
>>> [p.name for p in find_inputs([tmp])]
['a.parquet', 'b.parquet']
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from terrabit import geoparquet
from terrabit.errors import InvalidInputError

__all__ = ["STREAM_BUFFER", "InputPath", "URLInput", "find_inputs", "open_input", "open_parquet"]

STREAM_BUFFER = 1 << 20
"""Parquet read buffer: column chunks are streamed page by page, never read whole."""


class URLInput:
    """One remote input file (``http(s)://``, ``s3://``, ...), read with range requests
    through :mod:`terrabit.corpus.sources`."""

    def __init__(self, url: str) -> None:
        from terrabit.corpus.sources import open_source  # lazy: sources is optional here

        self.url = url
        root, _, self.name = url.rstrip("/").rpartition("/")
        self._source = open_source(root, cache_bytes=_URL_CACHE_BYTES)

    def open(self) -> Any:
        """A fresh seekable file over the URL (each reader gets its own position)."""
        try:
            self._source.size(self.name)
        except FileNotFoundError as exc:
            raise InvalidInputError(f"input {self.url!r} does not exist") from exc
        return self._source.open(self.name)

    def __str__(self) -> str:
        return self.url

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled as its URL (the store is opened again where it is unpickled)."""
        return URLInput, (self.url,)

    def __lt__(self, other: URLInput) -> bool:
        return self.url < other.url


InputPath = Path | URLInput
_URL_CACHE_BYTES = 8 << 20


def open_input(path: InputPath) -> Any:
    """What ``pyarrow.parquet.ParquetFile`` reads for an input: a local path or a file
    over a URL."""
    return path.open() if isinstance(path, URLInput) else str(path)


def open_parquet(path: InputPath) -> pq.ParquetFile:
    """The input ``path`` opened as a Parquet file (its footer read); one that is empty
    or not Parquet is one error naming it (see :func:`terrabit.geoparquet.open_parquet`)."""
    return geoparquet.open_parquet(open_input(path), name=str(path))


_LISTABLE = ("s3", "gs", "gcs", "az", "abfs", "abfss")


def _list_objects(text: str) -> list[str]:
    """The ``*.parquet`` object URLs below an object-store folder (``s3://b/dir/``) or
    matching a glob (``s3://b/dir/*.parquet``; ``*`` also matches ``/``)."""
    from terrabit.corpus.sources import ObjectStoreSource

    scheme, _, rest = text.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme.lower() not in _LISTABLE or not bucket:
        raise InvalidInputError(
            f"input {text!r}: folders and globs work over object stores (s3://, gs://, az://) "
            "only, not http(s) (which cannot list files); list the files"
        )
    glob_at = min((key.index(ch) for ch in "*?[" if ch in key), default=len(key))
    prefix = key[: key.rfind("/", 0, glob_at) + 1]
    root = f"{scheme}://{bucket}"
    store = ObjectStoreSource(root)
    try:
        keys = sorted(store.sizes(prefix))
    finally:
        store.close()
    if glob_at < len(key):
        chosen = [k for k in keys if fnmatch.fnmatchcase(k, key)]
    else:
        chosen = [k for k in keys if k.endswith(".parquet")]
    if not chosen:
        raise InvalidInputError(f"input {text!r} matches no object; check the path")
    return [f"{root}/{k}" for k in chosen]


def find_inputs(inputs: Sequence[str | os.PathLike[str]]) -> list[InputPath]:
    """Expand files, folders (``*.parquet`` below them), globs and file URLs to a sorted
    list (local files first)."""
    found: set[Path] = set()
    urls: dict[str, URLInput] = {}
    for item in inputs:
        text = os.fspath(item)
        if "://" in text and not text.startswith("file://"):
            if any(ch in text for ch in "*?[") or text.endswith("/"):
                for url in _list_objects(text):
                    urls.setdefault(url, URLInput(url))
                continue
            try:
                urls.setdefault(text, URLInput(text))
            except InvalidInputError as exc:
                raise InvalidInputError(f"input {text!r}: {exc}") from exc
            continue
        text = text.removeprefix("file://")
        path = Path(text)
        if path.is_dir():
            found.update(p for p in path.rglob("*.parquet") if p.is_file())
        elif path.is_file():
            found.add(path)
        elif any(ch in text for ch in "*?["):
            matches = [Path(p) for p in glob.glob(text, recursive=True)]
            if not matches:
                raise InvalidInputError(f"input glob {text!r} matches no file")
            found.update(p for p in matches if p.is_file())
        else:
            raise InvalidInputError(
                f"input {text!r} does not exist; pass GeoParquet files, folders or globs"
            )
    if not found and not urls:
        raise InvalidInputError(
            "no input files: the inputs hold no *.parquet file; pass GeoParquet files, "
            "folders or globs"
        )
    local: list[InputPath] = sorted(p.resolve() for p in found)
    return local + [urls[k] for k in sorted(urls)]
