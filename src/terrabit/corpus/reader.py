"""``open``: read a published corpus from a folder, an ``http(s)://`` or an ``s3://`` prefix.

A :class:`Corpus` holds the manifest (a pyarrow Table, one row per shard) and the codec;
:meth:`Corpus.read` prunes shards with the manifest, then row groups with the Parquet
statistics of the ``bbox`` covering columns, and reads only the columns asked for with
range requests. Before a shard is used its size, footer checksum and row count are
checked against the manifest (and its full SHA-256 for local files); a disagreement is a
:class:`~terrabit.errors.CorpusIntegrityError` naming the shard.

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
        if self.verify == "full" or (self.verify == "auto" and isinstance(self.source, FileSource)):
            self.check_checksum(path)
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
        leaves: dict[str, int] = {}
        for i in range(md.num_columns):
            leaves[md.schema.column(i).path] = i
        keep: list[int] = []
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            stats = [rg.column(leaves[leaf]).statistics for leaf in _BBOX_LEAVES]
            if any(s is None or not s.has_min_max for s in stats):
                keep.append(g)
                continue
            hit = _overlaps(
                np.array([stats[0].min]),
                np.array([stats[1].min]),
                np.array([stats[2].max]),
                np.array([stats[3].max]),
                boxes,
            )
            if hit[0]:
                keep.append(g)
        return keep

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
        md = self.footer(path)
        groups = self._row_groups(md, boxes)
        if not groups:
            return pa.table({})
        pfile = pq.ParquetFile(self.source.open(path), metadata=md)
        return pfile.read_row_groups(groups, columns=columns)

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
    def close(self) -> None:
        """Drop caches."""
        self.source.close()
        self._footers.clear()

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
        What to check before a shard is used. ``footer``: its size, footer checksum and
        row count against the manifest; ``full``: also the SHA-256 of the whole file;
        ``auto``: ``full`` for local folders, ``footer`` for remote ones (a full check
        would download every shard); ``none``: sizes and row counts only.

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
