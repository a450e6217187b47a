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
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit._validation import check_choice
from terrabit.codecs import Codec, from_dict
from terrabit.corpus import format as fmt
from terrabit.corpus import pages as pg
from terrabit.corpus.boxes import bbox_leaves_needed, covers_box, inside_boxes, overlaps, spanned
from terrabit.corpus.manifest import (
    Selection,
    TimeWindow,
    load_manifest,
    parse_time,
    prune,
)
from terrabit.corpus.manifest import time_window as check_time_window
from terrabit.corpus.shard import BBOX_LEAVES, MANIFEST_FIELDS, Shard, Verify
from terrabit.corpus.sources import FileSource, Source, open_source
from terrabit.errors import InvalidInputError, ShardIOError
from terrabit.region import Box, Region

__all__ = ["Corpus", "Selection", "open", "parse_time"]


# ------------------------------------------------------------------------------- corpus


class Corpus:
    """A published corpus: its manifest, codec and region reads (a context manager).

    Use :func:`open` to get one.
    """

    decoded_cache_bytes = 256 * 1024 * 1024
    """Memory for decoded row groups kept between reads (the byte ranges are kept by the
    source, within its own budget)."""

    page_read_max_fraction = 0.9
    """In a row group only partly inside a region, a column is read page by page when
    the pages holding the rows inside are at most this fraction of its chunk's bytes;
    otherwise the whole chunk is read (one request, decoded by pyarrow)."""

    _page_reads = True
    """Whether to read pages at all (``False`` forces whole column chunks; for tests)."""

    region_cache_entries = 4
    """Region reads (:meth:`read`) kept per open corpus: trying several exemplars in one
    region, the usual search session, reads the region once."""

    page_cache_bytes = 32 * 1024 * 1024
    """Memory for verified pages kept between reads (LRU). They are kept here rather
    than as blocks of the source, whose lookup serves a read from one block only: a
    page kept at a chunk's first byte would hide the whole chunk."""

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
        self._pages: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._no_pages: set[tuple[str, tuple[Any, ...], tuple[str, ...]]] = set()
        self._pages_bytes = 0
        self._decoded: OrderedDict[tuple[str, tuple[Any, ...], tuple[str, ...]], pa.Table] = (
            OrderedDict()
        )
        self._decoded_bytes = 0
        self._region_reads: OrderedDict[tuple[Any, ...], pa.Table] = OrderedDict()
        self._codec: Codec | None = None
        self._rerank: Codec | None = None

    # --------------------------------------------------------------- properties
    @property
    def codec(self) -> Codec:
        """The fitted codec of the ``embedding`` column (exact, from the manifest)."""
        if self._codec is None:
            self._codec = from_dict(self.metadata["codec"])
        return self._codec

    @property
    def rerank_codec(self) -> Codec | None:
        """The codec of the ``rerank`` column, or ``None``."""
        if self._rerank is None and self.metadata.get("rerank_codec"):
            self._rerank = from_dict(self.metadata["rerank_codec"])
        return self._rerank

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
        """Counts, codec, extent and size (what ``terrabit info`` prints)."""
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
                table = self._in_time(table, sel.window)
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
            reg, window = self._selection(region, time).region, region.window
        else:  # one shard: no manifest pruning
            reg, window = Region.from_any(region, allow_degenerate=True), self.time_window(time)
        wanted = list(columns)
        need = list(wanted)
        if window is not None and "datetime" not in need:
            need.append("datetime")
        geom = None if reg.is_world or not exact else reg.geometry
        table = self._read_shard(path, reg.boxes, need, geom, reg.inner_boxes)
        if table.num_rows and window is not None:
            table = self._in_time(table, window)
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
        geometry meets ``geom``), as ``columns`` (``bbox`` is fetched only as far as
        the filter needs it, unless asked for).

        Row groups wholly inside a box (and, with ``geom``, whose extent ``geom``
        covers) are read as they are. For each other group that meets a box, only the
        ``bbox`` fields its statistics do not settle are read (a group the box cuts on
        its right side needs ``xmin`` alone), then ``columns`` for the rows that meet a
        box, page by page where that pays (:meth:`_read_partial`).

        With ``geom``, the ``geometry`` column is fetched (page by page where it pays)
        only for the rows whose bbox ``geom`` does not cover: a geometry lies inside
        its bbox, so the others meet ``geom`` for sure; ``inner`` are boxes inside
        ``geom`` (:attr:`Region.inner_boxes <terrabit.region.Region.inner_boxes>`), which
        settle that by comparing numbers.
        """
        md = self.footer(path)
        groups, partial = self._shard(path).row_group_hits(boxes)
        if not groups:
            return pa.table({})
        if geom is None and not partial:
            return self._read_groups(path, md, groups, columns).select(columns)
        key = (
            path,
            ("shard", tuple(boxes), None if geom is None else shapely.to_wkb(geom)),
            tuple(columns),
        )
        kept = self._decoded.get(key)
        if kept is not None:  # the same read again: the assembled rows are kept
            self._decoded.move_to_end(key)
            return kept
        table = self._assemble(path, md, boxes, columns, (geom, inner), groups, partial)
        self._keep_decoded(key, table)
        return table

    def _bbox_bounds(
        self,
        path: str,
        md: pq.FileMetaData,
        groups: list[int],
        sizes: npt.NDArray[np.int64],
        boxes: list[Box],
        full: bool,
        exact: bool,
    ) -> tuple[list[npt.NDArray[Any]], list[npt.NDArray[Any]], pa.Array | None]:
        """Lower and upper bounds of each ``bbox`` field for the rows of ``groups``
        (concatenated; ``sizes`` are their row counts): the stored values of the fields
        read, the group's statistics for the others; and the ``bbox`` column itself when
        ``full``, which reads all four fields.

        With ``exact`` (the geometries are tested next), a group a box cuts on more
        than one side, or of a shard with multi-part geometries, has all four fields
        read: they tell the rows wholly inside the box, whose geometries then need no
        test; one field settles that only for connected geometries on one side."""
        mins, maxs, known = self._shard(path).leaf_stats()
        lo = [np.repeat(mins[k, groups], sizes) for k in range(4)]
        hi = [np.repeat(maxs[k, groups], sizes) for k in range(4)]
        if full:
            bbox = self._read_groups(path, md, groups, ["bbox"]).column("bbox").combine_chunks()
            for k, name in enumerate(fmt.BBOX_FIELDS):
                lo[k] = hi[k] = bbox.field(name).to_numpy(zero_copy_only=False)
            return lo, hi, bbox
        by_fields: dict[tuple[int, ...], list[int]] = {}
        multi = exact and not self._shard(path).connected()
        for i, g in enumerate(groups):
            fields = bbox_leaves_needed(mins[:, g], maxs[:, g], boxes)
            if not known[g] or (exact and fields and (multi or len(fields) > 1)):
                fields = (0, 1, 2, 3)  # no statistics, or a corner / multi-part geometries
            if fields:
                by_fields.setdefault(fields, []).append(i)
        starts = np.cumsum(sizes) - sizes
        for fields, idx in by_fields.items():
            names = [BBOX_LEAVES[k] for k in fields]
            read = self._read_groups(path, md, [groups[i] for i in idx], names)
            bbox = read.column("bbox").combine_chunks()
            rows = np.concatenate([np.arange(starts[i], starts[i] + sizes[i]) for i in idx])
            for k in fields:
                values = bbox.field(fmt.BBOX_FIELDS[k]).to_numpy(zero_copy_only=False)
                lo[k][rows] = values
                hi[k][rows] = values
        return lo, hi, None

    def _assemble(
        self,
        path: str,
        md: pq.FileMetaData,
        boxes: list[Box],
        columns: list[str],
        exact: tuple[shapely.Geometry | None, Sequence[Box]],
        groups: list[int],
        partial: set[int],
    ) -> pa.Table:
        """:meth:`_read_shard` past the row-group statistics (``exact``: its ``geom`` and
        ``inner``)."""
        geom, inner = exact
        if geom is not None:
            x0, y0, x1, y1, known = self._shard(path).group_stats()
            idx = np.array(groups)
            extent = shapely.box(x0[idx], y0[idx], x1[idx], y1[idx])
            covered = known[idx] & shapely.covers(geom, extent)
            partial = partial | {g for g, c in zip(groups, covered, strict=True) if not c}
        part = [g for g in groups if g in partial]
        sizes = np.array([md.row_group(g).num_rows for g in part], dtype=np.int64)
        starts = np.cumsum(sizes) - sizes
        bbox: pa.Array | None = None
        hit = certain = np.zeros(0, dtype=bool)
        if part:
            lo, hi, bbox = self._bbox_bounds(
                path, md, part, sizes, boxes, "bbox" in columns, geom is not None
            )
            # the fields not read pass their tests for every row (by the statistics):
            # take the bound that passes, so only the fields read decide
            hit = overlaps(hi[0], hi[1], lo[2], lo[3], boxes)
            if geom is not None:
                certain = inside_boxes(lo[0], lo[1], hi[2], hi[3], inner) & hit
                test = hit & ~certain
                outer = [
                    np.asarray(v, dtype=np.float64)[test] for v in (lo[0], lo[1], hi[2], hi[3])
                ]
                certain[test] = shapely.covers(geom, shapely.box(*outer))
                if self._shard(path).connected():
                    certain |= hit & spanned(lo, hi, [b for b in boxes if covers_box(b, geom)])
        pieces: dict[int, pa.Table] = {}
        whole: list[int] = []
        for g in groups:
            if g not in partial:
                whole.append(g)
                continue
            k = part.index(g)
            at, n = int(starts[k]), int(sizes[k])
            rows = np.flatnonzero(hit[at : at + n])
            if geom is not None and len(rows):
                unsure = rows[~certain[at + rows]]
                if len(unsure):
                    wkb = self._take(path, md, g, unsure, "geometry")
                    ok = shapely.intersects(
                        shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)), geom
                    )
                    rows = np.union1d(rows[certain[at + rows]], unsure[ok])
            if not len(rows):
                continue
            table = None
            if self._page_reads and len(rows) < n:
                kept = None if bbox is None else bbox.slice(at, n).take(rows)
                table = self._read_partial(path, md, g, rows, columns, kept)
            if table is None:
                full = self._read_groups(path, md, [g], columns).select(columns)
                table = full if len(rows) == n else full.take(pa.array(rows))
            pieces[g] = table
        if whole:
            table = self._read_groups(path, md, whole, columns).select(columns)
            at = 0
            for g in whole:
                n = md.row_group(g).num_rows
                pieces[g] = table.slice(at, n)
                at += n
        if not pieces:
            return pa.table({})
        if len(pieces) == 1:
            return next(iter(pieces.values()))
        # one chunk per column, as a whole-shard read gives: later steps run per chunk
        return pa.concat_tables([pieces[g] for g in sorted(pieces)]).combine_chunks()

    def _take(
        self,
        path: str,
        md: pq.FileMetaData,
        g: int,
        rows: npt.NDArray[np.int64],
        column: str,
    ) -> pa.ChunkedArray:
        """``column`` of the rows ``rows`` of row group ``g`` (by pages where it pays)."""
        table = None
        if self._page_reads:
            table = self._read_partial(path, md, g, rows, [column], None)
        if table is None:
            table = self._read_groups(path, md, [g], [column]).take(pa.array(rows))
        return table.column(column)

    def _pages_may_pay(
        self, path: str, md: pq.FileMetaData, g: int, name: str, rows: npt.NDArray[np.int64]
    ) -> bool:
        """Whether reading column ``name`` of row group ``g`` page by page may pay, before
        fetching the page index: a flat column without dictionary whose chunk holds,
        by the writer's page size, enough pages that ``rows`` miss some (pages assumed
        to hold equal numbers of rows; a hint only, the page index decides)."""
        leaves = self._shard(path).leaves()
        if name == "bbox" or name not in leaves:
            return False
        col = md.row_group(g).column(leaves[name])
        if col.has_dictionary_page:
            return False
        page_bytes = self._shard(path).page_bytes()
        if page_bytes is None:
            return True
        pages = -(-col.total_uncompressed_size // page_bytes)
        if pages <= 1:
            return False
        n = md.row_group(g).num_rows
        touched = len(np.unique(rows * pages // max(n, 1)))
        return touched < pages and touched <= self.page_read_max_fraction * pages

    def _chunk_pages(self, path: str, md: pq.FileMetaData, g: int, j: int) -> list[pg.PageLocation]:
        """The page locations of one chunk, checked to start at its first data page and
        end with it."""
        col = md.row_group(g).column(j)
        first = col.data_page_offset
        if col.has_dictionary_page and col.dictionary_page_offset:
            first = min(first, col.dictionary_page_offset)
        end = first + col.total_compressed_size
        shard = self._shard(path)
        for by_footer in (False, True):
            locs = shard.page_locations(by_footer=by_footer)
            assert locs is not None
            try:
                index = locs.get(g, j)
            except pg.PageFormatError as exc:
                if shard.by_footer:
                    raise shard.integrity(f"unreadable page index ({exc})") from exc
                continue
            if (
                index
                and index[0].offset == col.data_page_offset
                and index[-1].offset + index[-1].compressed_page_size == end
            ):
                return index
            if shard.by_footer:
                break
        raise shard.integrity(
            f"the page index of column {md.schema.column(j).path!r} of row group {g} does "
            "not match its chunk",
        )

    def _read_partial(
        self,
        path: str,
        md: pq.FileMetaData,
        g: int,
        rows: npt.NDArray[np.int64],
        columns: list[str],
        bbox: pa.Array | None,
    ) -> pa.Table | None:
        """``columns`` of the rows ``rows`` (indices in row group ``g``), reading each
        column whose needed pages are at most :attr:`page_read_max_fraction` of its
        chunk page by page; ``None`` when no column is worth it (read the group)."""
        key = (path, ("pages", g, rows.tobytes()), tuple(columns))
        kept = self._decoded.get(key)
        if kept is not None:
            self._decoded.move_to_end(key)
            return kept
        if key in self._no_pages:
            return None
        if len(rows) > self.page_read_max_fraction * md.row_group(g).num_rows or not any(
            self._pages_may_pay(path, md, g, name, rows) for name in columns
        ):  # pages could not pay: do not fetch the page index for nothing
            self._no_pages.add(key)
            return None
        if self._shard(path).page_locations() is None:
            return None
        schema = self._shard(path).arrow_schema()
        leaves = {md.schema.column(j).path: j for j in range(md.num_columns)}
        n_rows = md.row_group(g).num_rows
        plans: dict[str, tuple[pg.Leaf, list[pg.PageLocation], list[int]]] = {}
        for name in columns:
            j = leaves.get(name)
            if name == "bbox" or j is None:
                continue
            try:
                leaf = pg.Leaf.from_metadata(md, g, j, arrow_schema=schema)
            except pg.PageUnsupported:
                continue
            index = self._chunk_pages(path, md, g, j)
            bounds = [p.first_row_index for p in index] + [n_rows]
            which = sorted(set(np.searchsorted(bounds, rows, side="right").tolist()))
            need = sum(index[p - 1].compressed_page_size for p in which)
            chunk = md.row_group(g).column(j).total_compressed_size
            if need <= self.page_read_max_fraction * chunk:
                plans[name] = (leaf, index, [p - 1 for p in which])
        if not plans:
            if len(self._no_pages) > 100_000:
                self._no_pages.clear()
            self._no_pages.add(key)
            return None
        arrays: dict[str, pa.Array] = {} if bbox is None else {"bbox": bbox}
        arrays.update(self._read_pages(path, md, g, rows, plans))
        rest = [c for c in columns if c not in arrays]
        if rest:
            table = self._read_groups(path, md, [g], rest)
            idx = pa.array(rows)
            for c in rest:
                arrays[c] = table.column(c).take(idx)
        out = pa.Table.from_arrays(
            [arrays[c] for c in columns], schema=pa.schema([schema.field(c) for c in columns])
        )
        self._keep_decoded(key, out)
        return out

    def _read_pages(
        self,
        path: str,
        md: pq.FileMetaData,
        g: int,
        rows: npt.NDArray[np.int64],
        plans: dict[str, tuple[pg.Leaf, list[pg.PageLocation], list[int]]],
    ) -> dict[str, pa.Array]:
        """Fetch the planned pages not kept yet (neighbours in one request), decode them
        (each checked against its CRC), keep them, and take ``rows`` of each column."""
        n_rows = md.row_group(g).num_rows
        leaves = {md.schema.column(j).path: j for j in range(md.num_columns)}
        wanted: list[tuple[int, int]] = []
        for name, (_, index, which) in plans.items():
            col = md.row_group(g).column(leaves[name])
            lo = col.data_page_offset
            hi = lo + col.total_compressed_size
            for p in which:
                loc = index[p]
                if loc.offset < lo or loc.offset + loc.compressed_page_size > hi:
                    raise self._shard(path).integrity(
                        f"the page index of column {name!r} points outside its chunk"
                    )
                wanted.append((loc.offset, loc.compressed_page_size))
        got: dict[int, bytes] = {}
        todo = []
        for offset, length in sorted(set(wanted)):
            kept = self._pages.get((path, offset))
            if kept is not None:
                self._pages.move_to_end((path, offset))
            else:  # a whole chunk kept by the source holds the page too
                kept = self.source.block(path, offset, length)
            if kept is None or len(kept) != length:
                todo.append((offset, length))
            else:
                got[offset] = kept
        runs: list[list[tuple[int, int]]] = []
        for offset, length in todo:
            if runs and offset - sum(runs[-1][-1]) <= self.source.coalesce_gap:
                runs[-1].append((offset, length))
            else:
                runs.append([(offset, length)])
        fresh: set[int] = set()
        for run in runs:
            start = run[0][0]
            data = self.source.fetch(path, start, sum(run[-1]) - start)
            for offset, length in run:
                got[offset] = data[offset - start : offset - start + length]
                fresh.add(offset)
        out: dict[str, pa.Array] = {}
        for name, (leaf, index, which) in plans.items():
            parts = []
            firsts = []
            where = f"column {name!r} of row group {g}"
            for p in which:
                loc = index[p]
                data = got[loc.offset]
                end = index[p + 1].first_row_index if p + 1 < len(index) else n_rows
                try:
                    arr = pg.decode_pages(data, leaf, where=where)
                except pg.PageUnsupported:
                    arr = None
                except pg.PageFormatError as exc:
                    raise self._shard(path).integrity(str(exc)) from exc
                if arr is None:
                    break
                if len(data) != loc.compressed_page_size or len(arr) != end - loc.first_row_index:
                    raise self._shard(path).integrity(
                        f"{where}: a page holds {len(arr)} rows, its index says "
                        f"{end - loc.first_row_index}",
                    )
                parts.append(arr)
                firsts.append(loc.first_row_index)
            else:
                for p in which:
                    if index[p].offset in fresh:
                        self._keep_page(path, index[p].offset, got[index[p].offset])
                sizes = np.array([len(a) for a in parts], dtype=np.int64)
                base = np.cumsum(sizes) - sizes
                k = np.searchsorted(np.array(firsts), rows, side="right") - 1
                joined = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
                out[name] = joined.take(pa.array(base[k] + rows - np.array(firsts)[k]))
        return out

    def _read_groups(
        self, path: str, md: pq.FileMetaData, groups: list[int], columns: list[str]
    ) -> pa.Table:
        """``columns`` of row groups ``groups``; with column-chunk checksums, the chunks
        are fetched (coalesced), verified and kept first, and decoded from them only.
        Decoded results are kept too (LRU, ``decoded_cache_bytes``), so a repeated read
        costs neither a fetch nor a decode."""
        key = (path, tuple(groups), tuple(columns))
        hit = self._decoded.get(key)
        if hit is not None:
            self._decoded.move_to_end(key)
            return hit
        table = self._decode_groups(path, md, groups, columns)
        self._keep_decoded(key, table)
        return table

    def _keep_decoded(
        self, key: tuple[str, tuple[Any, ...], tuple[str, ...]], table: pa.Table
    ) -> None:
        """Keep a decoded table (LRU within :attr:`decoded_cache_bytes`)."""
        if key in self._decoded or table.nbytes > self.decoded_cache_bytes // 4:
            return
        self._decoded[key] = table
        self._decoded_bytes += table.nbytes
        while self._decoded_bytes > self.decoded_cache_bytes:
            _, old = self._decoded.popitem(last=False)
            self._decoded_bytes -= old.nbytes

    def _decode_groups(
        self, path: str, md: pq.FileMetaData, groups: list[int], columns: list[str]
    ) -> pa.Table:
        sums = self._shard(path).chunk_sums
        if sums is None or self.verify == "none":
            pfile = pq.ParquetFile(self.source.open(path), metadata=md)
            return pfile.read_row_groups(groups, columns=columns, use_threads=False)
        wanted = set(columns)  # top-level columns, or leaves such as "bbox.xmin"
        leaves = [
            j
            for j in range(md.num_columns)
            if md.schema.column(j).path in wanted
            or md.schema.column(j).path.split(".")[0] in wanted
        ]
        self._fetch_chunks(path, md, sums, groups, leaves)
        pfile = self._shard(path).parquet_file()
        try:
            return pfile.read_row_groups(groups, columns=columns, use_threads=False)
        except ShardIOError as exc:  # pragma: no cover - a chunk range pyarrow did not use
            raise self._shard(path).integrity(str(exc)) from exc

    def _fetch_chunks(
        self,
        path: str,
        md: pq.FileMetaData,
        sums: list[str],
        groups: list[int],
        leaves: list[int],
    ) -> None:
        """Fetch the column chunks ``groups x leaves`` not kept yet (neighbours in one
        request), check each against its checksum and keep it in the source."""
        ranges = self._shard(path).chunk_ranges()
        n_cols = md.num_columns
        todo = sorted(
            (ranges[g * n_cols + j], g * n_cols + j)
            for g in groups
            for j in leaves
            if self.source.block(path, *ranges[g * n_cols + j]) is None
        )
        runs: list[list[tuple[tuple[int, int], int]]] = []
        for item in todo:
            (offset, _), _ = item
            if runs:
                (last_off, last_len), _ = runs[-1][-1]
                if offset - (last_off + last_len) <= self.source.coalesce_gap:
                    runs[-1].append(item)
                    continue
            runs.append([item])
        for run in runs:
            start = run[0][0][0]
            end = run[-1][0][0] + run[-1][0][1]
            data = self.source.fetch(path, start, end - start)
            for (offset, length), k in run:
                chunk = data[offset - start : offset - start + length]
                if len(chunk) != length or fmt.chunk_checksum(chunk) != sums[k]:
                    g, j = divmod(k, n_cols)
                    raise self._shard(path).integrity(
                        f"column chunk {md.schema.column(j).path!r} of row group {g} differs "
                        "from its checksum",
                    )
                self.source.put_block(path, offset, chunk)

    def _keep_page(self, path: str, offset: int, data: bytes) -> None:
        key = (path, offset)
        if key in self._pages or len(data) > self.page_cache_bytes // 4:
            return
        self._pages[key] = data
        self._pages_bytes += len(data)
        while self._pages_bytes > self.page_cache_bytes:
            _, old = self._pages.popitem(last=False)
            self._pages_bytes -= len(old)

    def _in_time(self, table: pa.Table, times: tuple[np.datetime64 | None, ...]) -> pa.Table:
        """The rows of ``table`` whose ``datetime`` lies in ``[start, end)``."""
        t = table.column("datetime").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        start, end = times
        keep = ~np.isnat(t)
        if start is not None:
            keep &= t >= start
        if end is not None:
            keep &= t < end
        return table.filter(pa.array(keep))

    # ------------------------------------------------------------------ lifecycle
    def drop_caches(self, *, footers: bool = True) -> None:
        """Forget fetched byte ranges and decoded row groups (and, with ``footers``, the
        checked footers), so that the next read fetches again."""
        self.source.close()
        self._region_reads.clear()
        self._decoded.clear()
        self._decoded_bytes = 0
        self._pages.clear()
        self._pages_bytes = 0
        self._no_pages.clear()
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
