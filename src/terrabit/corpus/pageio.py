"""Page I/O: the columns of a shard's row groups, read by whole chunks or by pages.

A :class:`GroupReader` reads ``columns`` of row groups of a :class:`~terrabit.corpus.shard.Shard`.
With column-chunk checksums (format 1.1) the chunks are fetched (neighbours coalesced
into one request), each checked against its checksum and kept by the source, and
decoded by pyarrow from them only. For a few rows of a row group, a column whose
needed pages are a small part of its chunk is read page by page with the page index
(format 1.2: each page checked against its CRC; :mod:`terrabit.corpus.pages`). Decoded
tables and verified pages are kept between reads, each in a
:class:`~terrabit.corpus.caches.ByteLRU`.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.corpus.shard import MANIFEST_FIELDS, Shard
>>> from terrabit.corpus.sources import open_source
>>> from terrabit.corpus.writer import publish
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
>>> manifest = pq.read_table(tmp / "c" / "manifest.parquet")
>>> row = manifest.select(list(MANIFEST_FIELDS)).to_pylist()[0]
>>> shard = Shard(row, open_source(str(tmp / "c")), verify="footer")
>>> io = GroupReader()
>>> io.read_groups(shard, [0], ["id"]).num_rows == row["rows"]
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit._arrow import array
from terrabit.corpus import format as fmt
from terrabit.corpus import pages as pg
from terrabit.corpus.caches import ByteLRU
from terrabit.corpus.shard import Shard
from terrabit.errors import ShardIOError

__all__ = [
    "DECODED_CACHE_BYTES",
    "PAGE_CACHE_BYTES",
    "PAGE_READ_MAX_FRACTION",
    "DecodedKey",
    "GroupReader",
]

DECODED_CACHE_BYTES = 256 * 1024 * 1024
"""Memory for decoded row groups kept between reads (the byte ranges are kept by the
source, within its own budget)."""

PAGE_CACHE_BYTES = 32 * 1024 * 1024
"""Memory for verified pages kept between reads (LRU). They are kept here rather than
as blocks of the source, whose lookup serves a read from one block only: a page kept
at a chunk's first byte would hide the whole chunk."""

PAGE_READ_MAX_FRACTION = 0.9
"""In a row group only partly inside a region, a column is read page by page when the
pages holding the rows inside are at most this fraction of its chunk's bytes; otherwise
the whole chunk is read (one request, decoded by pyarrow)."""

DecodedKey = tuple[str, tuple[Any, ...], tuple[str, ...]]
"""A decoded table's key: shard path, what of it (row groups, pages, a region), columns."""

_Plan = tuple[pg.Leaf, list[pg.PageLocation], list[int]]
"""A column read by pages: its leaf, its chunk's page locations, the pages needed."""


class GroupReader:
    """Reads columns of shards' row groups, whole or page by page, and keeps decoded
    tables (:attr:`decoded`) and verified pages (:attr:`pages`).

    Attributes
    ----------
    decoded : ByteLRU
        Decoded tables by :data:`DecodedKey` (budget :data:`DECODED_CACHE_BYTES`).
    pages : ByteLRU
        Verified pages by ``(shard path, offset)`` (budget :data:`PAGE_CACHE_BYTES`).
    page_read_max_fraction : float
        :data:`PAGE_READ_MAX_FRACTION`.
    page_reads : bool
        Whether to read pages at all (``False`` forces whole column chunks; for tests).
    """

    def __init__(self) -> None:
        self.decoded: ByteLRU[DecodedKey, pa.Table] = ByteLRU(
            DECODED_CACHE_BYTES, size=lambda table: table.nbytes
        )
        self.pages: ByteLRU[tuple[str, int], bytes] = ByteLRU(PAGE_CACHE_BYTES, size=len)
        self.page_read_max_fraction = PAGE_READ_MAX_FRACTION
        self.page_reads = True
        self._no_pages: set[DecodedKey] = set()

    def clear(self) -> None:
        """Forget the decoded tables and pages kept."""
        self.decoded.clear()
        self.pages.clear()
        self._no_pages.clear()

    # ---------------------------------------------------------- whole chunks
    def read_groups(self, shard: Shard, groups: list[int], columns: list[str]) -> pa.Table:
        """``columns`` of row groups ``groups``; with column-chunk checksums, the chunks
        are fetched (coalesced), verified and kept first, and decoded from them only.
        Decoded results are kept too (LRU, :attr:`decoded`), so a repeated read costs
        neither a fetch nor a decode."""
        key = (shard.path, tuple(groups), tuple(columns))
        hit = self.decoded.get(key)
        if hit is not None:
            return hit
        table = self._decode_groups(shard, groups, columns)
        self.decoded.put(key, table)
        return table

    def _decode_groups(self, shard: Shard, groups: list[int], columns: list[str]) -> pa.Table:
        md = shard.footer()
        sums = shard.chunk_sums
        if sums is None or shard.verify == "none":
            pfile = pq.ParquetFile(shard.source.open(shard.path), metadata=md)
            return pfile.read_row_groups(groups, columns=columns, use_threads=False)
        wanted = set(columns)  # top-level columns, or leaves such as "bbox.xmin"
        leaves = [
            j
            for j in range(md.num_columns)
            if md.schema.column(j).path in wanted
            or md.schema.column(j).path.split(".")[0] in wanted
        ]
        self._fetch_chunks(shard, sums, groups, leaves)
        try:
            return shard.parquet_file().read_row_groups(groups, columns=columns, use_threads=False)
        except ShardIOError as exc:  # pragma: no cover - a chunk range pyarrow did not use
            raise shard.integrity(str(exc)) from exc

    def _fetch_chunks(
        self, shard: Shard, sums: list[str], groups: list[int], leaves: list[int]
    ) -> None:
        """Fetch the column chunks ``groups x leaves`` not kept yet (neighbours in one
        request), check each against its checksum and keep it in the source."""
        path, source = shard.path, shard.source
        md = shard.footer()
        ranges = shard.chunk_ranges()
        n_cols = md.num_columns
        todo = sorted(
            (ranges[g * n_cols + j], g * n_cols + j)
            for g in groups
            for j in leaves
            if source.block(path, *ranges[g * n_cols + j]) is None
        )
        runs: list[list[tuple[tuple[int, int], int]]] = []
        for item in todo:
            (offset, _), _ = item
            if runs:
                (last_off, last_len), _ = runs[-1][-1]
                if offset - (last_off + last_len) <= source.coalesce_gap:
                    runs[-1].append(item)
                    continue
            runs.append([item])
        for run in runs:
            start = run[0][0][0]
            end = run[-1][0][0] + run[-1][0][1]
            data = source.fetch(path, start, end - start)
            for (offset, length), k in run:
                chunk = data[offset - start : offset - start + length]
                if len(chunk) != length or fmt.chunk_checksum(chunk) != sums[k]:
                    g, j = divmod(k, n_cols)
                    raise shard.integrity(
                        f"column chunk {md.schema.column(j).path!r} of row group {g} differs "
                        "from its checksum",
                    )
                source.put_block(path, offset, chunk)

    # ----------------------------------------------------------------- pages
    def read_partial(
        self,
        shard: Shard,
        g: int,
        rows: npt.NDArray[np.int64],
        columns: list[str],
        bbox: pa.Array | None,
    ) -> pa.Table | None:
        """``columns`` of the rows ``rows`` (indices in row group ``g``), reading each
        column whose needed pages are at most :attr:`page_read_max_fraction` of its
        chunk page by page; ``None`` when no column is worth it (read the group), or
        with :attr:`page_reads` off. ``bbox``, when given, is the ``bbox`` column of
        those rows, read already."""
        if not self.page_reads:
            return None
        md = shard.footer()
        key = (shard.path, ("pages", g, rows.tobytes()), tuple(columns))
        kept = self.decoded.get(key)
        if kept is not None:
            return kept
        if key in self._no_pages:
            return None
        if len(rows) > self.page_read_max_fraction * md.row_group(g).num_rows or not any(
            self._pages_may_pay(shard, g, name, rows) for name in columns
        ):  # pages could not pay: do not fetch the page index for nothing
            self._no_pages.add(key)
            return None
        if shard.page_locations() is None:
            return None
        schema = shard.arrow_schema()
        plans = self._plans(shard, g, rows, columns)
        if not plans:
            if len(self._no_pages) > 100_000:
                self._no_pages.clear()
            self._no_pages.add(key)
            return None
        arrays: dict[str, pa.Array] = {} if bbox is None else {"bbox": bbox}
        arrays.update(self._read_pages(shard, g, rows, plans))
        rest = [c for c in columns if c not in arrays]
        if rest:
            table = self.read_groups(shard, [g], rest)
            idx = array(rows)
            for c in rest:
                arrays[c] = table.column(c).take(idx)
        out = pa.Table.from_arrays(
            [arrays[c] for c in columns], schema=pa.schema([schema.field(c) for c in columns])
        )
        self.decoded.put(key, out)
        return out

    def _plans(
        self, shard: Shard, g: int, rows: npt.NDArray[np.int64], columns: list[str]
    ) -> dict[str, _Plan]:
        """The columns worth reading page by page for ``rows``: those whose needed
        pages are at most :attr:`page_read_max_fraction` of their chunk."""
        md = shard.footer()
        schema = shard.arrow_schema()
        leaves = {md.schema.column(j).path: j for j in range(md.num_columns)}
        n_rows = md.row_group(g).num_rows
        plans: dict[str, _Plan] = {}
        for name in columns:
            j = leaves.get(name)
            if name == "bbox" or j is None:
                continue
            try:
                leaf = pg.Leaf.from_metadata(md, g, j, arrow_schema=schema)
            except pg.PageUnsupported:
                continue
            index = self._chunk_pages(shard, g, j)
            bounds = [p.first_row_index for p in index] + [n_rows]
            which = sorted(set(np.searchsorted(bounds, rows, side="right").tolist()))
            need = sum(index[p - 1].compressed_page_size for p in which)
            chunk = md.row_group(g).column(j).total_compressed_size
            if need <= self.page_read_max_fraction * chunk:
                plans[name] = (leaf, index, [p - 1 for p in which])
        return plans

    def _pages_may_pay(self, shard: Shard, g: int, name: str, rows: npt.NDArray[np.int64]) -> bool:
        """Whether reading column ``name`` of row group ``g`` page by page may pay, before
        fetching the page index: a flat column without dictionary whose chunk holds,
        by the writer's page size, enough pages that ``rows`` miss some (pages assumed
        to hold equal numbers of rows; a hint only, the page index decides)."""
        leaves = shard.leaves()
        if name == "bbox" or name not in leaves:
            return False
        md = shard.footer()
        col = md.row_group(g).column(leaves[name])
        if col.has_dictionary_page:
            return False
        page_bytes = shard.page_bytes()
        if page_bytes is None:
            return True
        pages = -(-col.total_uncompressed_size // page_bytes)
        if pages <= 1:
            return False
        n = md.row_group(g).num_rows
        touched = len(np.unique(rows * pages // max(n, 1)))
        return touched < pages and touched <= self.page_read_max_fraction * pages

    def _chunk_pages(self, shard: Shard, g: int, j: int) -> list[pg.PageLocation]:
        """The page locations of one chunk, checked to start at its first data page and
        end with it (placed by the footer's locations when they do not)."""
        md = shard.footer()
        col = md.row_group(g).column(j)
        first = col.data_page_offset
        if col.has_dictionary_page and col.dictionary_page_offset:
            first = min(first, col.dictionary_page_offset)
        end = first + col.total_compressed_size
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

    def _read_pages(
        self, shard: Shard, g: int, rows: npt.NDArray[np.int64], plans: dict[str, _Plan]
    ) -> dict[str, pa.Array]:
        """Fetch the planned pages not kept yet (neighbours in one request), decode them
        (each checked against its CRC), keep them, and take ``rows`` of each column."""
        got, fresh = self._fetch_pages(shard, g, plans)
        n_rows = shard.footer().row_group(g).num_rows
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
                    raise shard.integrity(str(exc)) from exc
                if arr is None:
                    break
                if len(data) != loc.compressed_page_size or len(arr) != end - loc.first_row_index:
                    raise shard.integrity(
                        f"{where}: a page holds {len(arr)} rows, its index says "
                        f"{end - loc.first_row_index}",
                    )
                parts.append(arr)
                firsts.append(loc.first_row_index)
            else:
                for p in which:
                    if index[p].offset in fresh:
                        self.pages.put((shard.path, index[p].offset), got[index[p].offset])
                sizes = np.array([len(a) for a in parts], dtype=np.int64)
                base = np.cumsum(sizes) - sizes
                k = np.searchsorted(np.array(firsts), rows, side="right") - 1
                joined = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
                out[name] = joined.take(array(base[k] + rows - np.array(firsts)[k]))
        return out

    def _fetch_pages(
        self, shard: Shard, g: int, plans: dict[str, _Plan]
    ) -> tuple[dict[int, bytes], set[int]]:
        """The bytes of the planned pages by offset (kept ones first: here, or a whole
        chunk the source keeps; the others fetched, neighbours in one request), and the
        offsets fetched now."""
        path, source = shard.path, shard.source
        md = shard.footer()
        leaves = {md.schema.column(j).path: j for j in range(md.num_columns)}
        wanted: list[tuple[int, int]] = []
        for name, (_, index, which) in plans.items():
            col = md.row_group(g).column(leaves[name])
            lo = col.data_page_offset
            hi = lo + col.total_compressed_size
            for p in which:
                loc = index[p]
                if loc.offset < lo or loc.offset + loc.compressed_page_size > hi:
                    raise shard.integrity(
                        f"the page index of column {name!r} points outside its chunk"
                    )
                wanted.append((loc.offset, loc.compressed_page_size))
        got: dict[int, bytes] = {}
        todo = []
        for offset, length in sorted(set(wanted)):
            kept = self.pages.get((path, offset))
            if kept is None:  # a whole chunk kept by the source holds the page too
                kept = source.block(path, offset, length)
            if kept is None or len(kept) != length:
                todo.append((offset, length))
            else:
                got[offset] = kept
        runs: list[list[tuple[int, int]]] = []
        for offset, length in todo:
            if runs and offset - sum(runs[-1][-1]) <= source.coalesce_gap:
                runs[-1].append((offset, length))
            else:
                runs.append([(offset, length)])
        fresh: set[int] = set()
        for run in runs:
            start = run[0][0]
            data = source.fetch(path, start, sum(run[-1]) - start)
            for offset, length in run:
                got[offset] = data[offset - start : offset - start + length]
                fresh.add(offset)
        return got, fresh
