"""One shard of a corpus, once opened: its checked footer and what follows from it.

A :class:`Shard` holds the manifest row of one shard file and, from its first use, its
Parquet footer checked against that row (size, footer checksum, row count), the
column-chunk checksums and byte ranges the footer lists, the page index (format 1.2;
fetched on first need and checked against its SHA-256), the ``bbox`` statistics of its
row groups, and the little facts a read asks for again and again (leaf names, arrow
schema, page size, whether its geometries are connected). A disagreement with the
manifest is a :class:`~terrabit.errors.CorpusIntegrityError` naming the shard.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.corpus.sources import open_source
>>> from terrabit.corpus.writer import publish
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
>>> manifest = pq.read_table(tmp / "c" / "manifest.parquet")
>>> row = manifest.select(list(MANIFEST_FIELDS)).to_pylist()[0]
>>> shard = Shard(row, open_source(str(tmp / "c")), verify="footer")
>>> shard.footer().num_rows == row["rows"], shard.row_group_hits([(-180, -90, 180, 90)])[0]
(True, [0])
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit.corpus import format as fmt
from terrabit.corpus import pages as pg
from terrabit.corpus.boxes import overlaps
from terrabit.corpus.sources import FileSource, Source
from terrabit.errors import CorpusIntegrityError
from terrabit.region import Box

__all__ = ["BBOX_LEAVES", "MANIFEST_FIELDS", "LeafStats", "OffsetIndexes", "Shard", "Verify"]

Verify = Literal["auto", "full", "footer", "none"]
"""What a corpus checks (see :func:`terrabit.corpus.open`)."""

BBOX_LEAVES = tuple(f"bbox.{name}" for name in fmt.BBOX_FIELDS)
"""The Parquet leaf columns of the ``bbox`` struct, in ``xmin, ymin, xmax, ymax`` order."""

MANIFEST_FIELDS = ("path", "rows", "bytes", "checksum", "footer_checksum")
"""Manifest fields a shard is checked against."""

LeafStats = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]
"""Per ``bbox`` field and row group: min and max statistics; per group: all known."""


class OffsetIndexes:
    """The OffsetIndex structs of a shard, ``[group][leaf]``: parsed one after the
    other from the region's bytes only as far as asked (:meth:`get`), or all at once
    (:meth:`of`).

    Examples
    --------
    >>> loc = pg.PageLocation(offset=4, compressed_page_size=10, first_row_index=0)
    >>> OffsetIndexes.of([[[loc]]]).get(0, 0)[0].offset
    4
    """

    def __init__(self, blob: bytes, n_groups: int, n_cols: int) -> None:
        self.blob = blob
        self.n_cols = n_cols
        self.n = n_groups * n_cols
        self.pos = 0
        self.flat: list[list[pg.PageLocation]] = []

    @classmethod
    def of(cls, nested: list[list[list[pg.PageLocation]]]) -> OffsetIndexes:
        """The indexes ``nested[group][leaf]``, already parsed."""
        out = cls(b"", len(nested), len(nested[0]) if nested else 0)
        out.flat = [index for row in nested for index in row]
        return out

    def get(self, g: int, j: int) -> list[pg.PageLocation]:
        """The page locations of leaf ``j`` of row group ``g``."""
        k = g * self.n_cols + j
        if not 0 <= k < self.n:
            raise pg.PageFormatError(f"no OffsetIndex for row group {g}, leaf {j}")
        while len(self.flat) <= k:
            index, self.pos = pg.read_offset_index_at(self.blob, self.pos)
            self.flat.append(index)
        return self.flat[k]


class Shard:
    """One shard of a corpus: its manifest ``row`` (the :data:`MANIFEST_FIELDS`) and,
    once read, its checked footer and what follows from it (each kept once known).

    :meth:`forget_footer` drops the footer and all that follows from it; whether the
    whole file was hashed (:meth:`check_checksum`) is kept.

    Parameters
    ----------
    row : dict
        The shard's manifest fields (``path``, ``rows``, ``bytes``, ``checksum``,
        ``footer_checksum``).
    source : Source
        Where the corpus lies.
    verify : {"auto", "full", "footer", "none"}
        What to check (see :func:`terrabit.corpus.open`).
    """

    def __init__(self, row: dict[str, Any], source: Source, *, verify: Verify) -> None:
        self.row = row
        self.path: str = row["path"]
        self.source = source
        self.verify: Verify = verify
        self.full_checked = False
        self.forget_footer()

    def forget_footer(self) -> None:
        """Drop the footer and everything read or derived from it."""
        self._footer: pq.FileMetaData | None = None
        self.chunk_sums: list[str] | None = None
        """Checksum of each column chunk (``[group * n_leaves + leaf]``), or ``None``."""
        self.footer_raw: bytes | None = None
        """The footer's Thrift bytes (without the length and ``PAR1``)."""
        self.page_locs: OffsetIndexes | None = None
        """The page index, once :meth:`page_locations` fetched it (``None``: none)."""
        self.page_locs_known = False
        self.by_footer = False
        """Whether :attr:`page_locs` were placed by the footer's locations."""
        self._pfile: pq.ParquetFile | None = None
        self._ranges: list[tuple[int, int]] | None = None
        self._arrow_schema: pa.Schema | None = None
        self._page_bytes: int | None = None
        self._page_bytes_known = False
        self._connected: bool | None = None
        self._leaves: dict[str, int] | None = None
        self._stats: LeafStats | None = None

    def integrity(self, message: str) -> CorpusIntegrityError:
        """The error for this shard disagreeing with the manifest or its own footer."""
        return CorpusIntegrityError(
            f"shard {self.path} of {self.source.root}: {message}",
            fix="the corpus changed after publishing — restore the shard or republish the corpus",
        )

    # ------------------------------------------------------------------ footer
    def footer(self) -> pq.FileMetaData:
        """The Parquet footer, checked against the manifest (cached)."""
        if self._footer is not None:
            return self._footer
        size = int(self.row["bytes"])
        try:
            actual = self.source.size(self.path)
        except FileNotFoundError as exc:
            raise self.integrity("the file is missing") from exc
        if actual != size:
            raise self.integrity(f"{actual} bytes, the manifest says {size}")
        md = self._read_footer(size)
        try:
            sums = fmt.read_chunk_checksums(md)
        except CorpusIntegrityError as exc:
            raise self.integrity(str(exc)) from exc
        # with column-chunk checksums every chunk read is verified (cost: what is read);
        # without them (format 1.0), "auto" hashes whole local files as before
        if self.verify == "full" or (
            self.verify == "auto" and sums is None and isinstance(self.source, FileSource)
        ):
            self.check_checksum()
        self.chunk_sums = sums
        self._footer = md
        return md

    def _read_footer(self, size: int) -> pq.FileMetaData:
        path, row = self.path, self.row
        tail = self.source.read_range(path, size - 8, 8) if size >= 12 else b""
        if len(tail) != 8 or tail[4:] != b"PAR1":
            raise self.integrity("not a Parquet file (no PAR1 trailer)")
        length = int.from_bytes(tail[:4], "little")
        if length + 12 > size:
            raise self.integrity("corrupt Parquet footer length")
        footer = self.source.read_range(path, size - 8 - length, length) + tail
        if self.verify != "none" and fmt.sha256_hex(footer) != row["footer_checksum"]:
            raise self.integrity("footer checksum differs from the manifest")
        try:
            md = pq.read_metadata(pa.BufferReader(b"PAR1" + footer))
        except (pa.ArrowInvalid, OSError) as exc:
            raise self.integrity(f"unreadable Parquet footer ({exc})") from exc
        if md.num_rows != int(row["rows"]):
            raise self.integrity(f"{md.num_rows} rows, the manifest says {row['rows']}")
        self.footer_raw = footer[:-8]
        return md

    def check_checksum(self) -> None:
        """Hash the whole shard and compare with the manifest ``checksum`` (cached)."""
        if self.full_checked:
            return
        if isinstance(self.source, FileSource):
            digest = hashlib.sha256()
            with (self.source.path / self.path).open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            got = f"{fmt.CHECKSUM_ALGORITHM}:{digest.hexdigest()}"
        else:
            got = fmt.sha256_hex(self.source.read_all(self.path))
        if got != self.row["checksum"]:
            raise self.integrity(f"checksum {got[:19]}… differs from the manifest")
        self.full_checked = True

    # ------------------------------------------------------- facts of the footer
    def chunk_ranges(self) -> list[tuple[int, int]]:
        """``(offset, length)`` of each column chunk, ``[group * n_leaves + leaf]``."""
        if self._ranges is None:
            self._ranges = fmt.chunk_ranges(self.footer())
        return self._ranges

    def parquet_file(self) -> pq.ParquetFile:
        """A pyarrow reader of the shard that reads only the blocks the source keeps
        (cached: opening one costs about half a millisecond).

        Without pre-buffering, pyarrow reads exactly one kept chunk at a time."""
        if self._pfile is None:
            self._pfile = pq.ParquetFile(
                self.source.open(self.path, blocks_only=True),
                metadata=self.footer(),
                pre_buffer=False,
            )
        return self._pfile

    def arrow_schema(self) -> pa.Schema:
        """The footer's schema as arrow (cached)."""
        if self._arrow_schema is None:
            self._arrow_schema = self.footer().schema.to_arrow_schema()
        return self._arrow_schema

    def page_bytes(self) -> int | None:
        """The writer's data page size, if the footer records it (cached)."""
        if not self._page_bytes_known:
            self._page_bytes = fmt.read_page_bytes(self.footer())
            self._page_bytes_known = True
        return self._page_bytes

    def leaves(self) -> dict[str, int]:
        """Leaf columns by path (``"id"``, ``"bbox.xmin"``; cached)."""
        if self._leaves is None:
            md = self.footer()
            self._leaves = {md.schema.column(j).path: j for j in range(md.num_columns)}
        return self._leaves

    def connected(self) -> bool:
        """Whether every geometry of the shard is connected (its ``geo`` metadata lists
        only Point, LineString and Polygon types)."""
        if self._connected is None:
            try:
                geo = json.loads((self.footer().metadata or {}).get(fmt.GEO_KEY, b"{}"))
                types = geo["columns"]["geometry"]["geometry_types"]
                self._connected = bool(types) and all(
                    str(t).split(" ")[0] in ("Point", "LineString", "Polygon") for t in types
                )
            except (ValueError, KeyError, TypeError):
                self._connected = False
        return self._connected

    # --------------------------------------------------------- bbox statistics
    def leaf_stats(self) -> LeafStats:
        """Per row group and ``bbox`` field (``[field, group]``): the minimum and maximum
        statistics, and per group whether all eight are known (cached)."""
        if self._stats is not None:
            return self._stats
        md = self.footer()
        leaves = {md.schema.column(i).path: i for i in range(md.num_columns)}
        n = md.num_row_groups
        mins = np.full((4, n), np.nan)
        maxs = np.full((4, n), np.nan)
        known = np.ones(n, dtype=bool)
        for g in range(n):
            rg = md.row_group(g)
            for k, leaf in enumerate(BBOX_LEAVES):
                st = rg.column(leaves[leaf]).statistics
                if st is None or not st.has_min_max:
                    known[g] = False
                    break
                mins[k, g], maxs[k, g] = st.min, st.max
        self._stats = (mins, maxs, known)
        return self._stats

    def group_stats(self) -> tuple[npt.NDArray[Any], ...]:
        """Per row group: the extent (min ``bbox.xmin``/``ymin``, max ``xmax``/``ymax``)
        and whether the four statistics are known."""
        mins, maxs, known = self.leaf_stats()
        return mins[0], mins[1], maxs[2], maxs[3], known

    def row_group_hits(self, boxes: list[Box]) -> tuple[list[int], set[int]]:
        """Row groups whose ``bbox`` statistics meet ``boxes``, and those of them only
        partly inside a box (some of their rows may lie outside every box)."""
        x0, y0, x1, y1, known = self.group_stats()
        hit = ~known | overlaps(x0, y0, x1, y1, boxes)
        inside = np.zeros(len(x0), dtype=bool)
        for qx0, qy0, qx1, qy1 in boxes:
            inside |= (qx0 <= x0) & (x1 <= qx1) & (qy0 <= y0) & (y1 <= qy1)
        inside &= known
        keep = np.flatnonzero(hit)
        return keep.tolist(), set(np.flatnonzero(hit & ~inside).tolist())

    # -------------------------------------------------------------- page index
    def page_locations(self, *, by_footer: bool = False) -> OffsetIndexes | None:
        """The OffsetIndex of every chunk (``[group][leaf]``), fetched in one request
        and checked against its SHA-256 in the footer; ``None`` for a shard without a
        page index (formats 1.0, 1.1).

        The region is first read as one struct per chunk, row group by row group and
        leaf by leaf (how writers lay it out; placing each by the footer's locations
        means parsing the footer in Python, ~10 ms a shard); a reader checks each
        index it uses against its chunk and asks for ``by_footer`` when one does not
        fit (:attr:`by_footer` is then set)."""
        if self.page_locs_known and not (by_footer and not self.by_footer):
            return self.page_locs
        md = self.footer()
        try:
            digests = fmt.read_page_index_digests(md)
        except CorpusIntegrityError as exc:
            raise self.integrity(str(exc)) from exc
        raw = self.footer_raw
        if digests is None or raw is None:
            self._keep_page_locs(None)
            return None
        start, length, digest = digests["offset_index"]
        blob = self.source.read_range(self.path, start, length)
        if self.verify != "none" and fmt.sha256_hex(blob) != digest:
            raise self.integrity("the page index (OffsetIndex) differs from its checksum")
        n_cols = md.num_columns
        if not by_footer:  # parsed lazily, chunk by chunk, as far as a read needs
            return self._keep_page_locs(OffsetIndexes(blob, md.num_row_groups, n_cols))
        out: list[list[list[pg.PageLocation]]] = []
        try:
            for row in pg.page_index_locations(raw):
                locs = []
                for loc in row:
                    o, n = loc.offset_index_offset - start, loc.offset_index_length
                    if o < 0 or n <= 0 or o + n > length:
                        raise pg.PageFormatError("an OffsetIndex lies outside its region")
                    locs.append(pg.read_offset_index(blob[o : o + n]))
                out.append(locs)
            self.by_footer = True
        except pg.PageFormatError as exc:
            raise self.integrity(f"unreadable page index ({exc})") from exc
        if len(out) != md.num_row_groups or any(len(row) != n_cols for row in out):
            raise self.integrity("the page index does not match the row groups")
        return self._keep_page_locs(OffsetIndexes.of(out))

    def _keep_page_locs(self, locs: OffsetIndexes | None) -> OffsetIndexes | None:
        self.page_locs = locs
        self.page_locs_known = True
        return locs
