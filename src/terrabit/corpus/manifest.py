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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit._arrow import from_numpy, to_numpy
from terrabit.corpus import format as fmt
from terrabit.corpus.boxes import overlaps
from terrabit.corpus.sources import Source
from terrabit.errors import CorpusIntegrityError, CorpusNotFoundError, InvalidInputError
from terrabit.region import Box, Region

__all__ = [
    "Selection",
    "TimeWindow",
    "check_sanity",
    "check_text",
    "encode_manifest",
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
    cols = [to_numpy(manifest.column(n)) for n in fmt.BBOX_FIELDS]
    keep = overlaps(cols[0], cols[1], cols[2], cols[3], boxes)
    if window is not None:
        tmin = to_numpy(manifest.column("tmin").cast(pa.timestamp("us")))
        tmax = to_numpy(manifest.column("tmax").cast(pa.timestamp("us")))
        start, end = window
        if start is not None:
            keep &= tmax >= start
        if end is not None:
            keep &= tmin < end
    return manifest.filter(from_numpy(np.asarray(keep, bool)))


def encode_manifest(manifest: pa.Table, meta: Mapping[str, Any]) -> bytes:
    """The bytes of ``manifest.parquet``: the shard table with the ``terrabit`` metadata,
    its GeoParquet ``geo`` metadata (since 1.6, when the table has ``geometry``) and,
    last, the file's own digest (:func:`terrabit.corpus.format.seal`), which
    :func:`load_manifest` checks before trusting a byte.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus._fixture import write_input
    >>> from terrabit.corpus.sources import open_source
    >>> from terrabit.corpus.writer import publish
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
    >>> table, meta = load_manifest(open_source(str(tmp / "c")))
    >>> encode_manifest(table, meta) == (tmp / "c" / "manifest.parquet").read_bytes()
    True
    """
    from terrabit.corpus import shards  # the writer's (numba) imports stay off the read path

    kv = {fmt.METADATA_KEY: json.dumps(dict(meta), sort_keys=True).encode()}
    if "geometry" in manifest.column_names and meta.get("bbox") is not None:
        geo = fmt.geo_metadata(meta["bbox"], ["Polygon"], orientation="counterclockwise")
        kv[fmt.GEO_KEY] = json.dumps(geo).encode()
    kv[fmt.DIGEST_KEY] = fmt.DIGEST_PLACEHOLDER
    table = manifest.replace_schema_metadata(None)
    return fmt.seal(shards.write_parquet(table, kv, compression="zstd"))


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
    where = source.url(fmt.MANIFEST_NAME)
    sealed = fmt.check_seal(raw, where=where)  # every byte, before any is trusted
    try:
        table = pq.ParquetFile(pa.BufferReader(raw)).read()  # no pyarrow.dataset import
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
    meta = fmt.check_corpus_metadata(meta, where=where)
    version = fmt.version_tuple(str(meta["format_version"]))
    if not sealed and version >= (1, 6):
        raise CorpusIntegrityError(
            f"{where} carries no digest of its own ({fmt.DIGEST_KEY.decode()}), which every "
            f"manifest of format 1.6 and later does (this one says {meta['format_version']})",
            fix="the manifest is damaged — restore it from a copy or republish the corpus",
        )
    expected = fmt.manifest_schema().names
    if version < (1, 6):  # GeoParquet footprints since 1.6
        expected = [n for n in expected if n not in ("geometry", "bbox")]
    missing = [n for n in expected if n not in table.column_names]
    if missing:
        raise CorpusIntegrityError(f"{where} lacks columns {missing}; republish the corpus")
    check_text(table, where=where)
    check_sanity(table, meta, where=where)
    return table, meta


def check_sanity(table: pa.Table, meta: dict[str, Any], *, where: str) -> None:
    """Refuse a manifest that contradicts itself: what every writer guarantees (a row per
    shard, rows and bytes summing to the totals, extents finite, ordered and on the globe,
    summary radii within the code's bits). Cheap: no shard is read.

    Raises
    ------
    CorpusIntegrityError
        Naming each contradiction.

    Examples
    --------
    >>> t = pa.table({"path": ["s/a"], "rows": [3], "bytes": [10], "xmin": [1.0],
    ...               "ymin": [0.0], "xmax": [0.0], "ymax": [1.0]})
    >>> check_sanity(t, {"shards": 1, "rows": 3, "bytes": 10, "code_size": 1}, where="m")
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusIntegrityError: m contradicts itself: 1 shard extents are not \
finite, ordered and within ±180°/±90° (first: 's/a'); the manifest is damaged — restore it \
from a copy or republish the corpus
    """
    problems: list[str] = []
    n = table.num_rows
    if n != int(meta["shards"]):
        problems.append(f"it has {n} shard rows where its metadata says {meta['shards']}")
    for column in ("rows", "bytes"):
        values = np.asarray(to_numpy(table.column(column)), np.int64)
        if int(values.sum()) != int(meta[column]) or (values <= 0).any():
            problems.append(
                f"its shards' {column} sum to {int(values.sum())} where its metadata says "
                f"{meta[column]}"
            )
    box = np.column_stack(
        [np.asarray(to_numpy(table.column(k)), np.float64) for k in fmt.BBOX_FIELDS]
    ).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(box).all(axis=1)
        bad |= (box[:, 0] > box[:, 2]) | (box[:, 1] > box[:, 3])
        bad |= (np.abs(box[:, [0, 2]]) > 180).any(axis=1)
        bad |= (np.abs(box[:, [1, 3]]) > 90).any(axis=1)
    if bad.any():
        first = table.column("path")[int(np.flatnonzero(bad)[0])].as_py()
        problems.append(
            f"{int(bad.sum())} shard extents are not finite, ordered and within ±180°/±90° "
            f"(first: {first!r})"
        )
    if "summary_radii" in table.column_names:
        flat = table.column("summary_radii").combine_chunks().flatten()
        radii = np.asarray(to_numpy(flat), np.int64)
        bits = 8 * int(meta["code_size"])
        if radii.size and (radii.min() < 0 or radii.max() > bits):
            problems.append(f"its summary radii lie outside 0..{bits} bits")
    if problems:
        raise CorpusIntegrityError(
            f"{where} contradicts itself: {'; '.join(problems)}",
            fix="the manifest is damaged — restore it from a copy or republish the corpus",
        )


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
