"""The pass-through columns (``publish --keep``) of a search's result rows.

A search reads only what it scores (ids, geometries, codes); what a person wants to see
next to a hit — its ``label``, its ``year`` — is fetched afterwards for the few rows
shown, from the row groups around those rows only.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus import open as open_corpus, publish
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.search.query import search
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=200, dims=16), tmp / "c",
...             keep=["label"], show_progress=False)
>>> with open_corpus(tmp / "c") as corpus:
...     result = search(corpus, None, positives=["p000000003"], k=2)
...     attrs = row_attributes(corpus, result.shown)
>>> passthrough_columns(corpus), sorted(attrs[result.shown.column("id")[0].as_py()])
(['label'], ['label'])
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import shapely

from terrabit._arrow import array, to_numpy
from terrabit.corpus.format import RESERVED_COLUMNS
from terrabit.corpus.reader import Corpus

__all__ = ["STANDARD_COLUMNS", "passthrough_columns", "row_attributes", "row_columns"]

STANDARD_COLUMNS = RESERVED_COLUMNS
"""Shard columns defined by the corpus format; every other column is passed through."""

_PAD = 1e-9  # degrees: a point's box still has an area


def passthrough_columns(corpus: Corpus) -> list[str]:
    """The corpus's pass-through columns, in shard order."""
    return [c for c in corpus.columns if c not in STANDARD_COLUMNS]


def row_columns(corpus: Corpus, rows: pa.Table, columns: list[str]) -> pa.Table:
    """``id`` and the corpus ``columns`` (any shard columns, their Arrow types kept) of the
    corpus rows whose ids are in ``rows``, in no particular order.

    ``rows`` needs ``id`` and ``geometry`` (WKB): only the shards and row groups meeting
    those rows' boxes are read. Ids not found (a corpus changed since the search) are
    left out.
    """
    if rows.num_rows == 0:
        return corpus.empty_table(["id", *columns])
    ids = rows.column("id")
    geoms = shapely.from_wkb(to_numpy(rows.column("geometry")))
    b = shapely.bounds(geoms)
    boxes = shapely.box(b[:, 0] - _PAD, b[:, 1] - _PAD, b[:, 2] + _PAD, b[:, 3] + _PAD)
    region = shapely.union_all(boxes)
    wanted = array(ids.to_pylist(), pa.string())
    parts = []
    for path in corpus.select_shards(region).column("path").to_pylist():
        table = corpus.read_shard(path, region, columns=["id", *columns])
        parts.append(table.filter(pc.is_in(table.column("id"), value_set=wanted)))
    return pa.concat_tables(parts) if parts else corpus.empty_table(["id", *columns])


def row_attributes(
    corpus: Corpus, rows: pa.Table, *, columns: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{id: {column: value}}`` of the pass-through ``columns`` (default: all) of ``rows``
    (:func:`row_columns` as Python values)."""
    names = passthrough_columns(corpus) if columns is None else list(columns)
    if not names or rows.num_rows == 0:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for record in row_columns(corpus, rows, names).to_pylist():
        out[str(record.pop("id"))] = record
    return out
