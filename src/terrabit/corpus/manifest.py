"""The manifest of a corpus and what a query selects from it.

:func:`load_manifest` reads ``manifest.parquet`` (one row per shard) and checks its
``terrabit`` metadata; :func:`time_window` parses a query's time filter and
:func:`prune` keeps the manifest rows of the shards whose extent and time range meet a
query; a :class:`Selection` carries the three, checked once, to the reads.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.corpus.sources import open_source
>>> from terrabit.corpus.writer import publish
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
>>> manifest, meta = load_manifest(open_source(str(tmp / "c")))
>>> prune(manifest, [(-180.0, -90.0, 180.0, 90.0)], None).num_rows == meta["shards"]
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit.corpus import format as fmt
from terrabit.corpus.boxes import overlaps
from terrabit.corpus.sources import Source
from terrabit.errors import CorpusIntegrityError, CorpusNotFoundError, InvalidInputError
from terrabit.region import Box, Region

__all__ = [
    "Selection",
    "TimeWindow",
    "check_text",
    "load_manifest",
    "parse_time",
    "prune",
    "time_window",
]

TimeWindow = tuple[np.datetime64 | None, np.datetime64 | None]
"""A parsed time filter ``(start, end)``: ``start <= datetime < end``; ``None`` is open."""


@dataclass(frozen=True)
class Selection:
    """A query's where and when, checked once, and the manifest rows they select.

    :meth:`Corpus.select <terrabit.corpus.reader.Corpus.select>` builds one;
    :meth:`Corpus.read <terrabit.corpus.reader.Corpus.read>` and
    :meth:`Corpus.read_shard <terrabit.corpus.reader.Corpus.read_shard>` take it
    instead of a region, so that a query converts its region, parses its time window
    and prunes the manifest once, however many shards it then reads.

    Attributes
    ----------
    region : Region
        Where (the whole Earth when nothing was given; ``region.is_world`` then).
    window : (start, end) or None
        When, parsed (``None``: any time).
    shards : pyarrow.Table
        The manifest rows of the shards whose extent (and time range) meets both.

    Examples
    --------
    >>> sel = Selection(Region.from_any(None), None, pa.table({"path": ["a.parquet"]}))
    >>> sel.boxes, sel.geometry is None
    ([(-180.0, -90.0, 180.0, 90.0)], True)
    """

    region: Region
    window: TimeWindow | None
    shards: pa.Table

    @property
    def boxes(self) -> list[Box]:
        """The region's boxes, for pruning by extent."""
        return self.region.boxes

    @property
    def geometry(self) -> shapely.Geometry | None:
        """The region's geometry for the exact test; ``None`` for the whole Earth."""
        return None if self.region.is_world else self.region.geometry


def parse_time(value: Any, name: str = "bound") -> np.datetime64 | None:
    """A time bound as ``datetime64[us]`` (UTC, naive); ``None`` stays open.

    Examples
    --------
    >>> parse_time("2024-01-31T12:00:00Z")
    np.datetime64('2024-01-31T12:00:00.000000')
    """
    if value is None:
        return None
    try:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        if isinstance(value, str):
            value = value.rstrip("Z").split("+")[0]
        return np.datetime64(value, "us")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"time {name} {value!r} is not a date or time; use ISO 8601 like '2024-01-31'"
        ) from exc


def time_window(time: tuple[Any, Any] | None, columns: Sequence[str]) -> TimeWindow | None:
    """``time`` as parsed ``(start, end)`` bounds, checked against a corpus's shard
    ``columns`` (it needs a ``datetime`` column).

    Examples
    --------
    >>> time_window(("2024-01-01", None), ["id", "datetime"])[0]
    np.datetime64('2024-01-01T00:00:00.000000')
    >>> time_window(None, ["id"]) is None
    True
    """
    if time is None:
        return None
    if "datetime" not in columns:
        raise InvalidInputError(
            f"this corpus has no datetime column (columns {list(columns)}); drop time="
        )
    if not isinstance(time, Sequence) or isinstance(time, str) or len(time) != 2:
        raise InvalidInputError(
            f"time must be (start, end) with start <= t < end (None for open), got {time!r}"
        )
    return parse_time(time[0], "start"), parse_time(time[1], "end")


def prune(manifest: pa.Table, boxes: list[Box], window: TimeWindow | None) -> pa.Table:
    """The rows of ``manifest`` whose shard extent meets one of ``boxes`` and, with a
    ``window``, whose ``[tmin, tmax]`` meets it.

    Examples
    --------
    >>> m = pa.table({"xmin": [0.0, 10.0], "ymin": [0.0, 10.0], "xmax": [1.0, 11.0],
    ...               "ymax": [1.0, 11.0], "path": ["a", "b"]})
    >>> prune(m, [(0.5, 0.5, 2.0, 2.0)], None).column("path").to_pylist()
    ['a']
    """
    cols = [manifest.column(n).to_numpy() for n in fmt.BBOX_FIELDS]
    keep = overlaps(cols[0], cols[1], cols[2], cols[3], boxes)
    if window is not None:
        tmin = manifest.column("tmin").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        tmax = manifest.column("tmax").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        start, end = window
        if start is not None:
            keep &= tmax >= start
        if end is not None:
            keep &= tmin < end
    return manifest.filter(pa.array(keep))


def load_manifest(source: Source) -> tuple[pa.Table, dict[str, Any]]:
    """The manifest table of the corpus at ``source`` and its checked ``terrabit``
    metadata.

    Raises
    ------
    CorpusNotFoundError
        No ``manifest.parquet`` at the source's root.
    CorpusIntegrityError
        It is not readable Parquet, lacks the metadata or its columns.

    Examples
    --------
    >>> import tempfile
    >>> from terrabit.corpus.sources import open_source
    >>> load_manifest(open_source(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusNotFoundError: no corpus at ...
    """
    if not source.exists(fmt.MANIFEST_NAME):
        raise CorpusNotFoundError(
            f"no corpus at {source.root!r}: {source.url(fmt.MANIFEST_NAME)} does not exist; "
            "pass the corpus root, the folder holding manifest.parquet, or run "
            "`terrabit publish` first"
        )
    raw = source.read_all(fmt.MANIFEST_NAME)
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorpusIntegrityError(
            f"{source.url(fmt.MANIFEST_NAME)} is not a readable Parquet file ({exc}); "
            "republish the corpus with `terrabit publish`"
        ) from exc
    blob = (table.schema.metadata or {}).get(fmt.METADATA_KEY)
    if blob is None:
        raise CorpusIntegrityError(
            f"{source.url(fmt.MANIFEST_NAME)} has no 'terrabit' metadata: it was not "
            "written by `terrabit publish`; republish the corpus"
        )
    try:
        meta = json.loads(blob)
    except ValueError as exc:
        raise CorpusIntegrityError(
            f"{source.url(fmt.MANIFEST_NAME)}: the 'terrabit' metadata is not JSON"
        ) from exc
    meta = fmt.check_corpus_metadata(meta, where=source.url(fmt.MANIFEST_NAME))
    expected = fmt.manifest_schema(int(meta["code_size"]))
    missing = [n for n in expected.names if n not in table.column_names]
    if missing:
        raise CorpusIntegrityError(
            f"{source.url(fmt.MANIFEST_NAME)} lacks columns {missing}; republish the corpus"
        )
    check_text(table, where=source.url(fmt.MANIFEST_NAME))
    return table, meta


def check_text(table: pa.Table, *, where: str) -> None:
    """Refuse a manifest whose text columns (``path``, ``geohash``, ``checksum``) hold
    bytes that are not UTF-8, naming the column and the first rows.

    Parquet does not check that a string column holds UTF-8; a damaged manifest read
    without this check fails later, deep in a search, with Python's ``UnicodeDecodeError``.

    Raises
    ------
    CorpusIntegrityError
        A string column holds invalid UTF-8.

    Examples
    --------
    >>> offsets = pa.py_buffer(bytes([0, 0, 0, 0, 1, 0, 0, 0]))
    >>> bad = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(bytes([255]))])
    >>> check_text(pa.table({"path": bad}), where="c/manifest.parquet")
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusIntegrityError: c/manifest.parquet: column 'path' holds bytes that \
are not UTF-8 text (rows [0]); the manifest is damaged — restore it from a copy or republish \
the corpus with `terrabit publish`
    """
    for name in table.column_names:
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        try:
            column.validate(full=True)
        except pa.ArrowInvalid as exc:
            rows = [i for i, v in enumerate(column.cast(pa.binary()).to_pylist()) if not _utf8(v)]
            raise CorpusIntegrityError(
                f"{where}: column {name!r} holds bytes that are not UTF-8 text "
                f"(rows {rows[:10]}{' …' if len(rows) > 10 else ''})",
                fix="the manifest is damaged — restore it from a copy or republish the corpus "
                "with `terrabit publish`",
            ) from exc


def _utf8(value: bytes | None) -> bool:
    """Whether ``value`` (a binary cell; ``None`` is a null) decodes as UTF-8."""
    if value is None:
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
