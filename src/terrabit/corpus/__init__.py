"""The static corpus (``spec/corpus-v1.md``): ``publish`` (writer) and ``open`` (reader).

A corpus is a folder or URL prefix holding ``manifest.parquet`` and GeoParquet shards,
one per adaptive geohash cell, with compressed embeddings; it is served by any static
host that answers HTTP Range requests.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit import corpus
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> result = corpus.publish(write_input(tmp / "in.parquet", rows=100, dims=16), tmp / "c")
>>> with corpus.open(tmp / "c") as c:
...     c.read((-180, -90, 180, 90), columns=["id"]).num_rows
100
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from terrabit._compat import lazy_attributes

if TYPE_CHECKING:
    from terrabit.corpus._validate import validate_corpus
    from terrabit.corpus.options import PublishOptions
    from terrabit.corpus.reader import Corpus, open
    from terrabit.corpus.sources import (
        FileSource,
        HTTPSource,
        ObjectStoreSource,
        RangeFile,
        Source,
        open_source,
    )
    from terrabit.corpus.writer import PublishResult, publish

__all__ = [
    "Corpus",
    "FileSource",
    "HTTPSource",
    "ObjectStoreSource",
    "PublishOptions",
    "PublishResult",
    "RangeFile",
    "Source",
    "open",
    "open_source",
    "publish",
    "validate_corpus",
]

# imported on first use: a command that only reads a corpus does not load the writer and the
# validator (a third of a second of imports on the CLI's path)
_HOME = {
    "validate_corpus": "_validate",
    "PublishOptions": "options",
    "Corpus": "reader",
    "open": "reader",
    "FileSource": "sources",
    "HTTPSource": "sources",
    "ObjectStoreSource": "sources",
    "RangeFile": "sources",
    "Source": "sources",
    "open_source": "sources",
    "PublishResult": "writer",
    "publish": "writer",
}


__getattr__ = lazy_attributes(__name__, _HOME)
