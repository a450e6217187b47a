"""``open``: read a published corpus from a folder, an ``http(s)://`` or an ``s3://`` prefix.

A :class:`Corpus` holds the manifest (a pyarrow Table, one row per shard) and the codec;
:meth:`Corpus.read` prunes shards with the manifest, then row groups with the Parquet
statistics of the ``bbox`` covering columns, and reads only the columns asked for with
range requests. Before a shard is used its size, footer checksum and row count are
checked against the manifest, and every column chunk read is checked against the
checksum its footer lists (format 1.1; the full SHA-256 of local shards without them); a
disagreement is a :class:`~terrabit.errors.CorpusIntegrityError` naming the shard. A
region read fetches the ``bbox`` column of the candidate row groups first, then the
other columns of the row groups holding a row inside; fetched chunks and decoded row
groups are cached.

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

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
import shapely.affinity
import shapely.geometry

from terrabit._validation import check_bbox, check_choice
from terrabit.codecs import Codec, from_dict
from terrabit.corpus import format as fmt
from terrabit.corpus.sources import FileSource, Source, open_source
from terrabit.errors import (
    CorpusIntegrityError,
    CorpusNotFoundError,
    InvalidInputError,
    RegionError,
    ShardIOError,
)
from terrabit.region import Region

if TYPE_CHECKING:
    from terrabit.search.query import SearchResult

__all__ = ["Corpus", "open", "parse_time"]

Verify = Literal["auto", "full", "footer", "none"]
Box = tuple[float, float, float, float]
_BBOX_LEAVES = tuple(f"bbox.{name}" for name in fmt.BBOX_FIELDS)


# ------------------------------------------------------------------------------ regions


def _region(region: Any) -> tuple[list[Box], shapely.Geometry | None]:
    """Boxes for pruning and the exact region geometry (``None`` for the whole Earth)."""
    if region is None:
        return [(-180.0, -90.0, 180.0, 90.0)], None
    if isinstance(region, Region):
        return region.boxes, None if region.is_world else region.geometry
    if isinstance(region, dict):
        try:
            region = shapely.geometry.shape(region)
        except Exception as exc:
            raise RegionError(f"the GeoJSON region is not a valid geometry: {exc}") from exc
    if isinstance(region, shapely.Geometry):
        if region.is_empty:
            raise RegionError("the region geometry is empty; pass a bbox or a polygon")
        parts = [shapely.intersection(region, shapely.box(-180, -90, 180, 90))]
        for shift in (360.0, -360.0):
            window = shapely.box(-180 + shift, -90, 180 + shift, 90)
            if region.intersects(window):
                moved = shapely.affinity.translate(region.intersection(window), xoff=-shift)
                parts.append(moved)
        geom = shapely.union_all([p for p in parts if not p.is_empty])
        pieces = shapely.get_parts(geom)
        return [tuple(float(v) for v in shapely.bounds(p)) for p in pieces], geom  # type: ignore[misc]
    if isinstance(region, Sequence) and not isinstance(region, str) and len(region) == 4:
        minx, miny, maxx, maxy = check_bbox(region, allow_degenerate=True)
        if minx > maxx:
            boxes: list[Box] = [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
        else:
            boxes = [(minx, miny, maxx, maxy)]
        geom = shapely.union_all([shapely.box(*b) for b in boxes])
        return boxes, geom
    raise RegionError(
        f"unsupported region {region!r}: pass a bbox (minx, miny, maxx, maxy), a shapely "
        "geometry or a GeoJSON geometry dict, in lon/lat degrees"
    )


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


def _overlaps(
    xmin: npt.NDArray[Any],
    ymin: npt.NDArray[Any],
    xmax: npt.NDArray[Any],
    ymax: npt.NDArray[Any],
    boxes: list[Box],
) -> npt.NDArray[np.bool_]:
    hit = np.zeros(len(xmin), dtype=bool)
    for qx0, qy0, qx1, qy1 in boxes:
        hit |= (xmin <= qx1) & (xmax >= qx0) & (ymin <= qy1) & (ymax >= qy0)
    return hit


# ------------------------------------------------------------------------------- corpus


class Corpus:
    """A published corpus: its manifest, codec and region reads (a context manager).

    Use :func:`open` to get one.
    """

    decoded_cache_bytes = 256 * 1024 * 1024
    """Memory for decoded row groups kept between reads (the byte ranges are kept by the
    source, within its own budget)."""

    def __init__(self, source: Source, *, verify: Verify = "auto") -> None:
        self.source = source
        self.verify: Verify = check_choice("verify", verify, ("auto", "full", "footer", "none"))
        self.uri = source.root
        self.manifest, self.metadata = self._load_manifest()
        for path, size in zip(
            self.manifest.column("path").to_pylist(),
            self.manifest.column("bytes").to_pylist(),
            strict=True,
        ):
            if not isinstance(source, FileSource):
                source.set_size(path, size)
        self._by_path = {p: i for i, p in enumerate(self.manifest.column("path").to_pylist())}
        self._footers: dict[str, pq.FileMetaData] = {}
        self._chunk_sums: dict[str, list[str] | None] = {}
        self._ranges: dict[str, list[tuple[int, int]]] = {}
        self._stats: dict[int, tuple[pq.FileMetaData, tuple[npt.NDArray[Any], ...]]] = {}
        self._decoded: OrderedDict[tuple[str, tuple[int, ...], tuple[str, ...]], pa.Table] = (
            OrderedDict()
        )
        self._decoded_bytes = 0
        self._full_checked: set[str] = set()
        self._codec: Codec | None = None
        self._rerank: Codec | None = None

    # ----------------------------------------------------------------- manifest
    def _load_manifest(self) -> tuple[pa.Table, dict[str, Any]]:
        src = self.source
        if not src.exists(fmt.MANIFEST_NAME):
            raise CorpusNotFoundError(
                f"no corpus at {self.uri!r}: {src.url(fmt.MANIFEST_NAME)} does not exist; "
                "pass the corpus root, the folder holding manifest.parquet, or run "
                "`terrabit publish` first"
            )
        raw = src.read_all(fmt.MANIFEST_NAME)
        try:
            table = pq.read_table(pa.BufferReader(raw))
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorpusIntegrityError(
                f"{src.url(fmt.MANIFEST_NAME)} is not a readable Parquet file ({exc}); "
                "republish the corpus with `terrabit publish`"
            ) from exc
        blob = (table.schema.metadata or {}).get(fmt.METADATA_KEY)
        if blob is None:
            raise CorpusIntegrityError(
                f"{src.url(fmt.MANIFEST_NAME)} has no 'terrabit' metadata: it was not written "
                "by `terrabit publish`; republish the corpus"
            )
        try:
            meta = json.loads(blob)
        except ValueError as exc:
            raise CorpusIntegrityError(
                f"{src.url(fmt.MANIFEST_NAME)}: the 'terrabit' metadata is not JSON"
            ) from exc
        meta = fmt.check_corpus_metadata(meta, where=src.url(fmt.MANIFEST_NAME))
        expected = fmt.manifest_schema(int(meta["code_size"]))
        missing = [n for n in expected.names if n not in table.column_names]
        if missing:
            raise CorpusIntegrityError(
                f"{src.url(fmt.MANIFEST_NAME)} lacks columns {missing}; republish the corpus"
            )
        return table, meta

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
    def _row(self, path: str) -> dict[str, Any]:
        if path not in self._by_path:
            raise InvalidInputError(f"{path!r} is not a shard of this corpus")
        return self.manifest.slice(self._by_path[path], 1).to_pylist()[0]

    def _integrity(self, path: str, message: str) -> CorpusIntegrityError:
        return CorpusIntegrityError(
            f"shard {path} of {self.uri}: {message}; the corpus changed after publishing — "
            "restore the shard or republish the corpus"
        )

    def footer(self, path: str) -> pq.FileMetaData:
        """The Parquet footer of a shard, checked against the manifest (cached)."""
        if path in self._footers:
            return self._footers[path]
        row = self._row(path)
        size = int(row["bytes"])
        try:
            actual = self.source.size(path)
        except FileNotFoundError as exc:
            raise self._integrity(path, "the file is missing") from exc
        if actual != size:
            raise self._integrity(path, f"{actual} bytes, the manifest says {size}")
        md = self._read_footer(path, size, row)
        try:
            sums = fmt.read_chunk_checksums(md)
        except CorpusIntegrityError as exc:
            raise self._integrity(path, str(exc)) from exc
        # with column-chunk checksums every chunk read is verified (cost: what is read);
        # without them (format 1.0), "auto" hashes whole local files as before
        if self.verify == "full" or (
            self.verify == "auto" and sums is None and isinstance(self.source, FileSource)
        ):
            self.check_checksum(path)
        self._chunk_sums[path] = sums
        self._footers[path] = md
        return md

    def _read_footer(self, path: str, size: int, row: dict[str, Any]) -> pq.FileMetaData:
        tail = self.source.read_range(path, size - 8, 8) if size >= 12 else b""
        if len(tail) != 8 or tail[4:] != b"PAR1":
            raise self._integrity(path, "not a Parquet file (no PAR1 trailer)")
        length = int.from_bytes(tail[:4], "little")
        if length + 12 > size:
            raise self._integrity(path, "corrupt Parquet footer length")
        footer = self.source.read_range(path, size - 8 - length, length) + tail
        if self.verify != "none" and fmt.sha256_hex(footer) != row["footer_checksum"]:
            raise self._integrity(path, "footer checksum differs from the manifest")
        try:
            md = pq.read_metadata(pa.BufferReader(b"PAR1" + footer))
        except (pa.ArrowInvalid, OSError) as exc:
            raise self._integrity(path, f"unreadable Parquet footer ({exc})") from exc
        if md.num_rows != int(row["rows"]):
            raise self._integrity(path, f"{md.num_rows} rows, the manifest says {row['rows']}")
        return md

    def check_checksum(self, path: str) -> None:
        """Hash the whole shard and compare with the manifest ``checksum`` (cached)."""
        if path in self._full_checked:
            return
        row = self._row(path)
        if isinstance(self.source, FileSource):
            digest = hashlib.sha256()
            with (self.source.path / path).open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            got = f"{fmt.CHECKSUM_ALGORITHM}:{digest.hexdigest()}"
        else:
            got = fmt.sha256_hex(self.source.read_all(path))
        if got != row["checksum"]:
            raise self._integrity(path, f"checksum {got[:19]}… differs from the manifest")
        self._full_checked.add(path)

    def select_shards(self, region: Any = None, *, time: tuple[Any, Any] | None = None) -> pa.Table:
        """Manifest rows of the shards that may hold rows in ``region`` and ``time``."""
        boxes, _ = _region(region)
        return self._select(boxes, self.time_window(time))

    def time_window(
        self, time: tuple[Any, Any] | None
    ) -> tuple[np.datetime64 | None, np.datetime64 | None] | None:
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
        if time is None:
            return None
        if "datetime" not in self.columns:
            raise InvalidInputError(
                f"this corpus has no datetime column (columns {self.columns}); drop time="
            )
        if not isinstance(time, Sequence) or isinstance(time, str) or len(time) != 2:
            raise InvalidInputError(
                f"time must be (start, end) with start <= t < end (None for open), got {time!r}"
            )
        return parse_time(time[0], "start"), parse_time(time[1], "end")

    def _select(
        self, boxes: list[Box], times: tuple[np.datetime64 | None, np.datetime64 | None] | None
    ) -> pa.Table:
        m = self.manifest
        cols = [m.column(n).to_numpy() for n in fmt.BBOX_FIELDS]
        keep = _overlaps(cols[0], cols[1], cols[2], cols[3], boxes)
        if times is not None:
            tmin = m.column("tmin").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
            tmax = m.column("tmax").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
            start, end = times
            if start is not None:
                keep &= tmax >= start
            if end is not None:
                keep &= tmin < end
        return m.filter(pa.array(keep))

    def _row_groups(self, md: pq.FileMetaData, boxes: list[Box]) -> list[int]:
        return self._row_group_hits(md, boxes)[0]

    def _row_group_hits(self, md: pq.FileMetaData, boxes: list[Box]) -> tuple[list[int], set[int]]:
        """Row groups whose ``bbox`` statistics meet ``boxes``, and those of them only
        partly inside a box (some of their rows may lie outside every box)."""
        x0, y0, x1, y1, known = self._group_stats(md)
        hit = ~known | _overlaps(x0, y0, x1, y1, boxes)
        inside = np.zeros(len(x0), dtype=bool)
        for qx0, qy0, qx1, qy1 in boxes:
            inside |= (qx0 <= x0) & (x1 <= qx1) & (qy0 <= y0) & (y1 <= qy1)
        inside &= known
        keep = np.flatnonzero(hit)
        return keep.tolist(), set(np.flatnonzero(hit & ~inside).tolist())

    def _group_stats(self, md: pq.FileMetaData) -> tuple[npt.NDArray[Any], ...]:
        """Per row group: min ``bbox.xmin``/``ymin``, max ``xmax``/``ymax`` and whether
        the four are known (cached per footer)."""
        cached = self._stats.get(id(md))
        if cached is not None and cached[0] is md:
            return cached[1]
        leaves = {md.schema.column(i).path: i for i in range(md.num_columns)}
        n = md.num_row_groups
        out = np.full((4, n), np.nan)
        known = np.ones(n, dtype=bool)
        for g in range(n):
            rg = md.row_group(g)
            for k, leaf in enumerate(_BBOX_LEAVES):
                st = rg.column(leaves[leaf]).statistics
                if st is None or not st.has_min_max:
                    known[g] = False
                    break
                out[k, g] = st.min if k < 2 else st.max
        result = (out[0], out[1], out[2], out[3], known)
        self._stats[id(md)] = (md, result)
        return result

    # --------------------------------------------------------------------- read
    def read(
        self,
        region: Any = None,
        *,
        columns: Sequence[str] | None = None,
        time: tuple[Any, Any] | None = None,
    ) -> pa.Table:
        """Rows whose geometry intersects ``region`` (and whose time is in ``time``).

        Parameters
        ----------
        region : bbox tuple, shapely geometry, GeoJSON dict, Region, or None
            In lon/lat degrees; a bbox with ``minx > maxx`` crosses the antimeridian;
            a :class:`~terrabit.region.Region` is used as built (its boxes and
            antimeridian-split geometry); ``None`` reads everything.
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
        boxes, geom = _region(region)
        times = self.time_window(time)
        wanted = list(self.columns if columns is None else columns)
        unknown = [c for c in wanted if c not in self.columns]
        if unknown:
            raise InvalidInputError(
                f"unknown columns {unknown}; this corpus has columns {self.columns}"
            )
        need = list(dict.fromkeys([*wanted, "bbox"]))
        if geom is not None and "geometry" not in need:
            need.append("geometry")
        if times is not None and "datetime" not in need:
            need.append("datetime")
        tables: list[pa.Table] = []
        for path in self._select(boxes, times).column("path").to_pylist():
            table = self._read_shard(path, boxes, need)
            if table.num_rows:
                table = self._filter(table, boxes, geom, times)
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
        boxes, geom = _region(region)
        times = self.time_window(time)
        wanted = list(columns)
        need = list(dict.fromkeys([*wanted, "bbox"]))
        if times is not None and "datetime" not in need:
            need.append("datetime")
        if exact and geom is not None and "geometry" not in need:
            need.append("geometry")
        table = self._read_shard(path, boxes, need)
        if table.num_rows:
            table = self._filter(table, boxes, geom if exact else None, times)
        if table.num_rows == 0:
            return self.empty_table(wanted)
        return table.select(wanted)

    def _read_shard(self, path: str, boxes: list[Box], columns: list[str]) -> pa.Table:
        """Row groups of ``path`` that may meet ``boxes``. Row groups only partly inside
        a box are checked first with their ``bbox`` column alone; ``columns`` are then
        read for the row groups wholly inside and those holding a row whose bbox meets
        a box."""
        md = self.footer(path)
        groups, partial = self._row_group_hits(md, boxes)
        if not groups:
            return pa.table({})
        if partial and "bbox" in columns and len(columns) > 1:
            part = [g for g in groups if g in partial]
            first = self._read_groups(path, md, part, ["bbox"])
            bbox = first.column("bbox").combine_chunks()
            xs = [bbox.field(n).to_numpy(zero_copy_only=False) for n in fmt.BBOX_FIELDS]
            hit = _overlaps(xs[0], xs[1], xs[2], xs[3], boxes)
            sizes = np.array([md.row_group(g).num_rows for g in part], dtype=np.int64)
            starts = np.cumsum(sizes) - sizes
            any_hit = np.logical_or.reduceat(hit, starts)
            empty = {g for g, h in zip(part, any_hit, strict=True) if not h}
            groups = [g for g in groups if g not in empty]
            if not groups:
                return pa.table({})
        return self._read_groups(path, md, groups, columns)

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
        if table.nbytes <= self.decoded_cache_bytes // 4:
            self._decoded[key] = table
            self._decoded_bytes += table.nbytes
            while self._decoded_bytes > self.decoded_cache_bytes:
                _, old = self._decoded.popitem(last=False)
                self._decoded_bytes -= old.nbytes
        return table

    def _decode_groups(
        self, path: str, md: pq.FileMetaData, groups: list[int], columns: list[str]
    ) -> pa.Table:
        sums = self._chunk_sums.get(path)
        if sums is None or self.verify == "none":
            pfile = pq.ParquetFile(self.source.open(path), metadata=md)
            return pfile.read_row_groups(groups, columns=columns, use_threads=False)
        wanted = set(columns)
        leaves = [
            j for j in range(md.num_columns) if md.schema.column(j).path.split(".")[0] in wanted
        ]
        self._fetch_chunks(path, md, sums, groups, leaves)
        # no pre-buffering: pyarrow then reads exactly one kept chunk at a time
        pfile = pq.ParquetFile(
            self.source.open(path, blocks_only=True), metadata=md, pre_buffer=False
        )
        try:
            return pfile.read_row_groups(groups, columns=columns, use_threads=False)
        except ShardIOError as exc:  # pragma: no cover - a chunk range pyarrow did not use
            raise self._integrity(path, str(exc)) from exc

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
        ranges = self._ranges.get(path)
        if ranges is None:
            ranges = self._ranges[path] = fmt.chunk_ranges(md)
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
                    raise self._integrity(
                        path,
                        f"column chunk {md.schema.column(j).path!r} of row group {g} differs "
                        "from its checksum",
                    )
                self.source.put_block(path, offset, chunk)

    def _filter(
        self,
        table: pa.Table,
        boxes: list[Box],
        geom: shapely.Geometry | None,
        times: tuple[np.datetime64 | None, ...] | None,
    ) -> pa.Table:
        bbox = table.column("bbox").combine_chunks()
        xs = [
            np.asarray(bbox.field(n).to_numpy(zero_copy_only=False), dtype=np.float64)
            for n in fmt.BBOX_FIELDS
        ]
        keep = _overlaps(xs[0], xs[1], xs[2], xs[3], boxes)
        if times is not None:
            t = table.column("datetime").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
            start, end = times
            ok = ~np.isnat(t)
            if start is not None:
                ok &= t >= start
            if end is not None:
                ok &= t < end
            keep &= ok
        if geom is not None and keep.any():
            idx = np.flatnonzero(keep)
            wkb = table.column("geometry").take(pa.array(idx)).to_numpy(zero_copy_only=False)
            keep[idx] = shapely.intersects(shapely.from_wkb(wkb), geom)
        return table.filter(pa.array(keep))

    # -------------------------------------------------------------------- search
    def search(self, *args: Any, **kwargs: Any) -> SearchResult:
        """Search this corpus: :func:`terrabit.search.query.search` with ``corpus=self``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from terrabit.corpus._fixture import write_input
        >>> from terrabit.corpus.writer import publish
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = publish(write_input(tmp / "in.parquet", rows=100, dims=16), tmp / "c")
        >>> with open(tmp / "c") as corpus:
        ...     corpus.search(positives=["p000000001"], k=3).shown.num_rows
        3
        """
        from terrabit.search.query import search  # lazy: corpus sits below search

        return search(self, *args, **kwargs)

    # ------------------------------------------------------------------ lifecycle
    def drop_caches(self, *, footers: bool = True) -> None:
        """Forget fetched byte ranges and decoded row groups (and, with ``footers``, the
        checked footers), so that the next read fetches again."""
        self.source.close()
        self._decoded.clear()
        self._decoded_bytes = 0
        if footers:
            self._footers.clear()
            self._chunk_sums.clear()
            self._ranges.clear()
            self._stats.clear()

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
        the manifest, and every column chunk read against its checksum in the footer;
        ``full``: also the SHA-256 of the whole file; ``auto``: ``footer``, or ``full``
        for local shards without chunk checksums (format 1.0); ``none``: sizes and row
        counts only.

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
