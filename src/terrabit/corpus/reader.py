"""``open``: read a published corpus from a folder, an ``http(s)://`` or an ``s3://`` prefix.

A :class:`Corpus` holds the manifest (a pyarrow Table, one row per shard) and the codec;
:meth:`Corpus.read` prunes shards with the manifest, then row groups with the Parquet
statistics of the ``bbox`` covering columns, and reads only the columns asked for with
range requests. Before a shard is used its size, footer checksum and row count are
checked against the manifest, and every column chunk read is checked against the
checksum its footer lists (format 1.1; the full SHA-256 of local shards without them); a
disagreement is a :class:`~terrabit.errors.CorpusIntegrityError` naming the shard. A
region read fetches the ``bbox`` column of the candidate row groups first, then the
other columns of the row groups holding a row inside. In a row group only partly
inside the region, a column whose needed pages are a small part of its chunk is read
page by page with the Parquet page index (format 1.2: the OffsetIndex checked against
its SHA-256 in the footer, each page against its CRC; :mod:`terrabit.corpus.pages`);
fetched chunks and pages and decoded row groups are cached.

The parts: :mod:`~terrabit.corpus.manifest` (the manifest and a query's
:class:`Selection`), :class:`~terrabit.corpus.shard.Shard` (one shard's checked footer
and what follows from it), :mod:`~terrabit.corpus.regionrows` (a shard's rows in a
region) and :mod:`~terrabit.corpus.pageio` (row groups read by chunks or pages, cached).

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.corpus.writer import publish
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=200, dims=16), tmp / "c", max_rows=50)
>>> with open(tmp / "c") as corpus:
...     table = corpus.read((-180, -90, 180, 90), columns=["id", "embedding"])
...     table.num_rows, table.column_names, corpus.codec.spec
(200, ['id', 'embedding'], 'binary')
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit._arrow import array, to_numpy
from terrabit._validation import check_choice
from terrabit.codecs import Codec, from_dict
from terrabit.corpus import falsecolour, stac
from terrabit.corpus import format as fmt
from terrabit.corpus.falsecolour import FalseColour
from terrabit.corpus.manifest import (
    Selection,
    TimeWindow,
    load_manifest,
    parse_time,
    prune,
)
from terrabit.corpus.manifest import time_window as check_time_window
from terrabit.corpus.pageio import GroupReader
from terrabit.corpus.regionrows import read_region_rows
from terrabit.corpus.shard import MANIFEST_FIELDS, Shard, Verify
from terrabit.corpus.sources import FileSource, Source, open_source
from terrabit.errors import CorpusIntegrityError, InvalidInputError
from terrabit.region import Box, Region

__all__ = ["Corpus", "Selection", "open", "parse_time"]


class Corpus:
    """A published corpus: its manifest, codec and region reads (a context manager).

    Use :func:`open` to get one.
    """

    region_cache_entries = 4
    """Region reads (:meth:`read`) kept per open corpus: trying several exemplars in one
    region, the usual search session, reads the region once."""

    def __init__(self, source: Source, *, verify: Verify = "auto") -> None:
        self.source = source
        self.verify: Verify = check_choice("verify", verify, ("auto", "full", "footer", "none"))
        self.uri = source.root
        self.manifest, self.metadata = load_manifest(source)
        for path, size in zip(
            self.manifest.column("path").to_pylist(),
            self.manifest.column("bytes").to_pylist(),
            strict=True,
        ):
            if not isinstance(source, FileSource):
                source.set_size(path, size)
        self._by_path = {p: i for i, p in enumerate(self.manifest.column("path").to_pylist())}
        self._checks: list[dict[str, Any]] | None = None
        self._shards: dict[str, Shard] = {}
        self._io = GroupReader()
        self._region_reads: OrderedDict[tuple[Any, ...], pa.Table] = OrderedDict()
        self._codec: Codec | None = None
        self._rerank: Codec | None = None
        self._false_colour: FalseColour | None = None

    # ---------------------------------------------------------------- tunables
    @property
    def decoded_cache_bytes(self) -> int:
        """Memory for decoded row groups kept between reads (the byte ranges are kept by
        the source, within its own budget; default
        :data:`~terrabit.corpus.pageio.DECODED_CACHE_BYTES`)."""
        return self._io.decoded.budget_bytes

    @decoded_cache_bytes.setter
    def decoded_cache_bytes(self, value: int) -> None:
        self._io.decoded.budget_bytes = value

    @property
    def page_cache_bytes(self) -> int:
        """Memory for verified pages kept between reads (LRU; default
        :data:`~terrabit.corpus.pageio.PAGE_CACHE_BYTES`)."""
        return self._io.pages.budget_bytes

    @page_cache_bytes.setter
    def page_cache_bytes(self, value: int) -> None:
        self._io.pages.budget_bytes = value

    @property
    def page_read_max_fraction(self) -> float:
        """In a row group only partly inside a region, a column is read page by page
        when the pages holding the rows inside are at most this fraction of its chunk's
        bytes (default :data:`~terrabit.corpus.pageio.PAGE_READ_MAX_FRACTION`)."""
        return self._io.page_read_max_fraction

    @page_read_max_fraction.setter
    def page_read_max_fraction(self, value: float) -> None:
        self._io.page_read_max_fraction = value

    @property
    def _page_reads(self) -> bool:
        """Whether to read pages at all (``False`` forces whole column chunks; for tests)."""
        return self._io.page_reads

    @_page_reads.setter
    def _page_reads(self, value: bool) -> None:
        self._io.page_reads = value

    # --------------------------------------------------------------- properties
    @property
    def codec(self) -> Codec:
        """The fitted codec of the ``embedding`` column (exact, from the manifest)."""
        if self._codec is None:
            self._codec = self._stored_codec("codec")
        return self._codec

    @property
    def rerank_codec(self) -> Codec | None:
        """The codec of the ``rerank`` column, or ``None``."""
        if self._rerank is None and self.metadata.get("rerank_codec"):
            self._rerank = self._stored_codec("rerank_codec")
        return self._rerank

    def _stored_codec(self, key: str) -> Codec:
        """The codec the manifest metadata stores under ``key``; a damaged one (bad
        base64, wrong shapes, unknown spec) is one error naming the manifest."""
        try:
            return from_dict(self.metadata[key])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            # what is wrong, without the advice a codec error adds (the fix is ours)
            detail = f"no key {exc}" if isinstance(exc, KeyError) else str(exc).split("; ")[0]
            raise CorpusIntegrityError(
                f"{self.source.url(fmt.MANIFEST_NAME)}: the {key!r} stored in its 'terrabit' "
                f"metadata does not load ({detail})",
                fix="the manifest is damaged — restore it from a copy or republish the corpus "
                "with `terrabit publish`",
            ) from exc

    @property
    def false_colour_params(self) -> FalseColour | None:
        """The embedding false colour fitted at publish (format 1.5, Hamming codecs), or
        ``None`` for a corpus without it (published before format 1.5, or with a codec
        whose codes are not compared by Hamming distance)."""
        if self._false_colour is None and falsecolour.KEY in self.metadata:
            self._false_colour = FalseColour.from_dict(
                self.metadata[falsecolour.KEY], code_size=int(self.metadata["code_size"])
            )
        return self._false_colour

    def false_colour(self, codes: Any) -> np.ndarray:
        """The embedding false colour of this corpus's codes: ``uint8 [n, 3]`` RGB, the
        colours the browser app draws (:func:`terrabit.corpus.falsecolour.false_colour`).

        Parameters
        ----------
        codes : uint8 array ``[n, code_size]``, or a ``fixed_size_binary`` Arrow column
            Codes of this corpus (its ``embedding`` column, e.g. from :meth:`read`).

        Raises
        ------
        InvalidInputError
            The corpus has no false colour (the message says why and how to get one).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> from terrabit.corpus.writer import publish
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = publish(write_input(tmp / "in.parquet", rows=100, dims=16), tmp / "c")
        >>> with open(tmp / "c") as c:
        ...     c.false_colour(c.read(columns=["embedding"]).column("embedding")).shape
        (100, 3)
        """
        params = self.false_colour_params
        if params is None:
            raise InvalidInputError(self._no_false_colour())
        if isinstance(codes, pa.ChunkedArray | pa.Array):
            wanted = pa.binary(params.code_size)
            if not codes.type.equals(wanted):
                raise InvalidInputError(
                    f"codes is a {codes.type} column, expected {wanted}: pass this corpus's "
                    "embedding column"
                )
            codes = fmt.fixed_codes(codes, params.code_size)
        return params.colour(codes)

    def _no_false_colour(self) -> str:
        """Why this corpus has no false colour, and the fix."""
        version = str(self.metadata["format_version"])
        if not self.codec.hamming:
            why = f"its codec {self.codec.spec!r} is not compared by Hamming distance"
        elif fmt.version_tuple(version) < (1, 5):
            why = f"it was published in format {version}, before false colours (1.5)"
        else:
            why = f"its manifest metadata has no {falsecolour.KEY!r} key"
        return (
            f"{self.uri} has no embedding false colour: {why}; republish it with a Hamming "
            "codec (binary, itq+binary, rabitq, ...) using this terrabit"
        )

    @property
    def rows(self) -> int:
        """Total rows."""
        return int(self.metadata["rows"])

    @property
    def columns(self) -> list[str]:
        """Shard column names."""
        return list(self.metadata["columns"])

    @property
    def bytes_read(self) -> int:
        """Bytes fetched from the source so far (manifest, footers and data)."""
        return self.source.bytes_read

    def info(self) -> dict[str, Any]:
        """Counts, codec, extent and size (what ``terrabit info`` prints); ``collection``
        names the STAC Collection file beside the manifest (None before format 1.6)."""
        m = self.metadata
        return {
            "uri": self.uri,
            "format_version": m["format_version"],
            "rows": int(m["rows"]),
            "shards": int(m["shards"]),
            "bytes": int(m["bytes"]),
            "bytes_per_row": round(int(m["bytes"]) / max(int(m["rows"]), 1), 2),
            "codec": m["codec"].get("spec"),
            "rerank_codec": (m.get("rerank_codec") or {}).get("spec"),
            "dims": m["dims"],
            "code_size": m["code_size"],
            "bbox": m.get("bbox"),
            "tmin": m.get("tmin"),
            "tmax": m.get("tmax"),
            "columns": m["columns"],
            "max_rows": m.get("max_rows"),
            "row_group_rows": m.get("row_group_rows"),
            "provenance": m.get("provenance"),
            "codec_choice": m.get("codec_choice"),
            "false_colour": self._false_colour_info(),
            "collection": (
                stac.COLLECTION_NAME if self.source.exists(stac.COLLECTION_NAME) else None
            ),
        }

    def _false_colour_info(self) -> dict[str, Any] | None:
        """What :meth:`info` says of the false colour: its shape and sample, or None."""
        params = self.false_colour_params
        if params is None:
            return None
        return {
            "directions": falsecolour.DIRECTIONS,
            "bits": int(params.mean.shape[0]),
            "rows": params.rows,
            "lo": list(params.lo),
            "hi": list(params.hi),
        }

    # ------------------------------------------------------------------- shards
    def _shard(self, path: str) -> Shard:
        """The :class:`~terrabit.corpus.shard.Shard` at manifest ``path`` (made on first use)."""
        shard = self._shards.get(path)
        if shard is not None:
            return shard
        if path not in self._by_path:
            raise InvalidInputError(f"{path!r} is not a shard of this corpus")
        if self._checks is None:  # the manifest fields integrity checks compare, as Python
            self._checks = self.manifest.select(list(MANIFEST_FIELDS)).to_pylist()
        shard = self._shards[path] = Shard(
            self._checks[self._by_path[path]], self.source, verify=self.verify
        )
        return shard

    def footer(self, path: str) -> pq.FileMetaData:
        """The Parquet footer of a shard, checked against the manifest (cached)."""
        return self._shard(path).footer()

    def check_checksum(self, path: str) -> None:
        """Hash the whole shard and compare with the manifest ``checksum`` (cached)."""
        self._shard(path).check_checksum()

    def select(self, region: Any = None, *, time: tuple[Any, Any] | None = None) -> Selection:
        """The shards that may hold rows in ``region`` and ``time``: the region converted
        (:meth:`Region.from_any <terrabit.region.Region.from_any>`, bboxes without width
        or height allowed), the time window parsed and the manifest pruned, once.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> from terrabit.corpus.writer import publish
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
        >>> with open(tmp / "c") as c:
        ...     everything = c.select()
        ...     everything.region.is_world, everything.shards.num_rows == len(c.manifest)
        (True, True)
        """
        reg = Region.from_any(region, allow_degenerate=True)
        window = self.time_window(time)
        return Selection(reg, window, prune(self.manifest, reg.boxes, window))

    def select_shards(self, region: Any = None, *, time: tuple[Any, Any] | None = None) -> pa.Table:
        """Manifest rows of the shards that may hold rows in ``region`` and ``time``
        (:attr:`Selection.shards` of :meth:`select`)."""
        return self.select(region, time=time).shards

    def _selection(self, where: Any, time: tuple[Any, Any] | None) -> Selection:
        """``where`` if it is a :class:`Selection` (then ``time`` must be None), else
        :meth:`select`."""
        if isinstance(where, Selection):
            if time is not None:
                raise InvalidInputError(
                    "time is part of a Selection; pass it to select(), not with the selection",
                    params=("time",),
                )
            return where
        return self.select(where, time=time)

    def time_window(self, time: tuple[Any, Any] | None) -> TimeWindow | None:
        """``time`` as parsed ``(start, end)`` bounds, checked against this corpus.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> from terrabit.corpus.writer import publish
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = publish(write_input(tmp / "in.parquet", rows=20, dims=8), tmp / "c")
        >>> open(tmp / "c").time_window(("2024-01-01", None))[0]
        np.datetime64('2024-01-01T00:00:00.000000')
        """
        return check_time_window(time, self.columns)

    # --------------------------------------------------------------------- read
    def read(
        self,
        region: Any = None,
        *,
        columns: Sequence[str] | None = None,
        time: tuple[Any, Any] | None = None,
    ) -> pa.Table:
        """Exactly the rows whose geometry meets ``region`` (and whose time is in ``time``).

        The one exact read path: the manifest pruned by the shards' extents, row groups
        by their ``bbox`` statistics, rows by the ``bbox`` fields those do not settle, and
        the geometry tested only for the rows whose bbox does not lie inside the region.
        The last :attr:`region_cache_entries` reads are kept (a corpus is immutable once
        opened), so a repeated read costs no I/O.

        Parameters
        ----------
        region : Selection, bbox tuple, shapely geometry, GeoJSON, Region, or None
            In lon/lat degrees (anything :meth:`Region.from_any
            <terrabit.region.Region.from_any>` takes; a bbox without width or height is
            a point or a segment to touch); a :class:`Selection` from :meth:`select`
            is used as it is; ``None`` reads everything.
        columns : sequence of str, optional
            Shard columns to return (default: all); only these (plus what filtering
            needs) are fetched.
        time : (start, end), optional
            Keep rows with ``start <= datetime < end``; either end may be ``None``.

        Returns
        -------
        pyarrow.Table
            In manifest (geohash) order, then shard order.
        """
        sel = self._selection(region, time)
        wanted = list(self.columns if columns is None else columns)
        unknown = [c for c in wanted if c not in self.columns]
        if unknown:
            raise InvalidInputError(
                f"unknown columns {unknown}; this corpus has columns {self.columns}"
            )
        key = (
            None if sel.region.is_world else shapely.to_wkb(sel.region.geometry),
            None if sel.window is None else tuple(str(v) for v in sel.window),
            tuple(wanted),
        )
        kept = self._region_reads.get(key)
        if kept is not None:
            self._region_reads.move_to_end(key)
            return kept
        table = self._read_selection(sel, wanted)
        self._region_reads[key] = table
        while len(self._region_reads) > self.region_cache_entries:
            self._region_reads.popitem(last=False)
        return table

    def _read_selection(self, sel: Selection, wanted: list[str]) -> pa.Table:
        need = list(wanted)
        if sel.window is not None and "datetime" not in need:
            need.append("datetime")
        tables: list[pa.Table] = []
        for path in sel.shards.column("path").to_pylist():
            table = self._read_shard(path, sel.boxes, need, sel.geometry, sel.region.inner_boxes)
            if table.num_rows and sel.window is not None:
                table = _in_time(table, sel.window)
            if table.num_rows:
                tables.append(table.select(wanted))
        if not tables:
            return self.empty_table(wanted)
        return pa.concat_tables(tables)

    def empty_table(self, columns: Sequence[str]) -> pa.Table:
        """An empty table with this corpus's types for ``columns`` (unknown ones null)."""
        schema = fmt.shard_schema(
            int(self.metadata["code_size"]),
            time="datetime" in self.columns,
            rerank_code_size=self.metadata.get("rerank_code_size"),
        )
        fields = [schema.field(c) if c in schema.names else pa.field(c, pa.null()) for c in columns]
        return pa.schema(fields).empty_table()

    def read_shard(
        self,
        path: str,
        region: Any = None,
        *,
        columns: Sequence[str],
        time: tuple[Any, Any] | None = None,
        exact: bool = False,
    ) -> pa.Table:
        """Rows of one shard (manifest ``path``) in ``region`` and ``time``.

        Only the row groups whose ``bbox`` statistics meet the region are fetched, and
        only ``columns`` (plus ``bbox``/``datetime``/``geometry`` when filtering needs
        them; the result keeps exactly ``columns``). Rows are kept when their bbox meets
        the region's boxes; ``exact=True`` also tests the geometry against the region.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> from terrabit.corpus.writer import publish
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
        >>> with open(tmp / "c") as c:
        ...     path = c.manifest.column("path")[0].as_py()
        ...     c.read_shard(path, columns=["id"]).num_rows == c.manifest.column("rows")[0].as_py()
        True
        """
        if isinstance(region, Selection):
            sel = self._selection(region, time)  # time comes with the selection
            reg, window = sel.region, sel.window
        else:  # one shard: no manifest pruning
            reg, window = Region.from_any(region, allow_degenerate=True), self.time_window(time)
        wanted = list(columns)
        need = list(wanted)
        if window is not None and "datetime" not in need:
            need.append("datetime")
        geom = None if reg.is_world or not exact else reg.geometry
        table = self._read_shard(path, reg.boxes, need, geom, reg.inner_boxes)
        if table.num_rows and window is not None:
            table = _in_time(table, window)
        if table.num_rows == 0:
            return self.empty_table(wanted)
        return table.select(wanted)

    def _read_shard(
        self,
        path: str,
        boxes: list[Box],
        columns: list[str],
        geom: shapely.Geometry | None = None,
        inner: Sequence[Box] = (),
    ) -> pa.Table:
        """The rows of ``path`` whose bbox meets ``boxes`` (and, with ``geom``, whose
        geometry meets ``geom``), as ``columns``
        (:func:`~terrabit.corpus.regionrows.read_region_rows`)."""
        return read_region_rows(self._shard(path), self._io, boxes, columns, geom, inner)

    # ------------------------------------------------------------------ lifecycle
    def forget_region_reads(self) -> None:
        """Forget the region reads :meth:`read` keeps (byte ranges, decoded row groups
        and footers stay), so that the next read of a region assembles its rows again."""
        self._region_reads.clear()

    def drop_caches(self, *, footers: bool = True) -> None:
        """Forget fetched byte ranges and decoded row groups (and, with ``footers``, the
        checked footers), so that the next read fetches again."""
        self.source.close()
        self.forget_region_reads()
        self._io.clear()
        if footers:  # whether a shard was hashed whole is kept
            for shard in self._shards.values():
                shard.forget_footer()

    def close(self) -> None:
        """Drop caches."""
        self.drop_caches()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Corpus {self.uri!r}: {self.rows} rows in {len(self.manifest)} shards, "
            f"codec {self.metadata['codec'].get('spec')!r}>"
        )


def open(uri: str | os.PathLike[str], *, verify: Verify = "auto") -> Corpus:
    """Open a corpus at a folder, ``http(s)://`` or ``s3://`` root (or its manifest).

    Parameters
    ----------
    uri : str or path
        The corpus root (the folder holding ``manifest.parquet``) or the manifest itself.
    verify : {"auto", "full", "footer", "none"}
        What to check. ``footer``: a shard's size, footer checksum and row count against
        the manifest, every column chunk read against its checksum in the footer, and
        (format 1.2) the page index against its SHA-256 and every page read alone
        against its CRC; ``full``: also the SHA-256 of the whole file; ``auto``:
        ``footer``, or ``full`` for local shards without chunk checksums (format 1.0);
        ``none``: sizes and row counts only (page CRCs are still checked).

    Raises
    ------
    CorpusNotFoundError
        No ``manifest.parquet`` at ``uri``.

    Examples
    --------
    >>> open("/nonexistent/corpus")
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusNotFoundError: no corpus at '/nonexistent/corpus': \
/nonexistent/corpus/manifest.parquet does not exist; pass the corpus root, the folder \
holding manifest.parquet, or run `terrabit publish` first
    """
    text = os.fspath(uri).rstrip("/")
    if text.endswith("/" + fmt.MANIFEST_NAME) or text == fmt.MANIFEST_NAME:
        text = text[: -len(fmt.MANIFEST_NAME)].rstrip("/") or "."
    return Corpus(open_source(text), verify=verify)


def _in_time(table: pa.Table, window: TimeWindow) -> pa.Table:
    """The rows of ``table`` whose ``datetime`` lies in ``[start, end)``."""
    t = to_numpy(table.column("datetime").cast(pa.timestamp("us")))
    start, end = window
    keep = ~np.isnat(t)
    if start is not None:
        keep &= t >= start
    if end is not None:
        keep &= t < end
    return table.filter(array(keep))
