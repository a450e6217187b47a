"""The rows of one shard that meet a region: row groups, then bboxes, then geometries.

:func:`read_region_rows` keeps the row groups whose ``bbox`` statistics meet the
region's boxes, reads only the ``bbox`` fields those statistics do not settle, tests
the geometry only of the rows whose bbox the region does not cover, and reads the
asked columns of the rows kept, page by page where that pays
(:class:`~terrabit.corpus.pageio.GroupReader`).

Examples
--------
>>> import tempfile, pathlib
>>> import pyarrow.parquet as pq
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.corpus.pageio import GroupReader
>>> from terrabit.corpus.shard import MANIFEST_FIELDS, Shard
>>> from terrabit.corpus.sources import open_source
>>> from terrabit.corpus.writer import publish
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
>>> manifest = pq.read_table(tmp / "c" / "manifest.parquet")
>>> row = manifest.select(list(MANIFEST_FIELDS)).to_pylist()[0]
>>> shard = Shard(row, open_source(str(tmp / "c")), verify="footer")
>>> world = [(-180.0, -90.0, 180.0, 90.0)]
>>> read_region_rows(shard, GroupReader(), world, ["id"]).num_rows == row["rows"]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from terrabit._arrow import array, to_numpy
from terrabit.corpus import format as fmt
from terrabit.corpus.boxes import bbox_leaves_needed, covers_box, inside_boxes, overlaps, spanned
from terrabit.corpus.pageio import GroupReader
from terrabit.corpus.shard import BBOX_LEAVES, Shard
from terrabit.region import Box

__all__ = ["read_region_rows"]


def read_region_rows(
    shard: Shard,
    io: GroupReader,
    boxes: list[Box],
    columns: list[str],
    geom: shapely.Geometry | None = None,
    inner: Sequence[Box] = (),
) -> pa.Table:
    """The rows of ``shard`` whose bbox meets ``boxes`` (and, with ``geom``, whose
    geometry meets ``geom``), as ``columns`` (``bbox`` is fetched only as far as
    the filter needs it, unless asked for); read through ``io``.

    Row groups wholly inside a box (and, with ``geom``, whose extent ``geom``
    covers) are read as they are. For each other group that meets a box, only the
    ``bbox`` fields its statistics do not settle are read (a group the box cuts on
    its right side needs ``xmin`` alone), then ``columns`` for the rows that meet a
    box, page by page where that pays (:meth:`GroupReader.read_partial
    <terrabit.corpus.pageio.GroupReader.read_partial>`).

    With ``geom``, the ``geometry`` column is fetched (page by page where it pays)
    only for the rows whose bbox ``geom`` does not cover: a geometry lies inside
    its bbox, so the others meet ``geom`` for sure; ``inner`` are boxes inside
    ``geom`` (:attr:`Region.inner_boxes <terrabit.region.Region.inner_boxes>`), which
    settle that by comparing numbers.
    """
    groups, partial = shard.row_group_hits(boxes)
    if not groups:
        return pa.table({})
    if geom is not None:  # a group the region does not cover has its rows tested
        covered = _covered(shard, groups, geom, inner)
        partial = partial | {g for g, c in zip(groups, covered, strict=True) if not c}
        if not partial:
            geom = None  # the region covers every group: every row meets it
    if geom is None and not partial:
        return io.read_groups(shard, groups, columns).select(columns)
    key = (
        shard.path,
        ("shard", tuple(boxes), None if geom is None else shapely.to_wkb(geom)),
        tuple(columns),
    )
    kept = io.decoded.get(key)
    if kept is not None:  # the same read again: the assembled rows are kept
        return kept
    table = _assemble(shard, io, boxes, columns, (geom, inner), groups, partial)
    io.decoded.put(key, table)
    return table


def _covered(
    shard: Shard, groups: list[int], geom: shapely.Geometry, inner: Sequence[Box]
) -> npt.NDArray[np.bool_]:
    """Whether ``geom`` covers each row group's extent (known statistics): by comparing
    numbers for the extents inside one of ``inner`` (rectangles of ``geom``), by shapely
    for the others."""
    x0, y0, x1, y1, known = shard.group_stats()
    idx = np.array(groups)
    covered = known[idx] & inside_boxes(x0[idx], y0[idx], x1[idx], y1[idx], inner)
    test = known[idx] & ~covered
    extent = shapely.box(x0[idx][test], y0[idx][test], x1[idx][test], y1[idx][test])
    covered[test] = shapely.covers(geom, extent)
    return covered


def _bbox_bounds(
    shard: Shard,
    io: GroupReader,
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
    mins, maxs, known = shard.leaf_stats()
    lo = [np.repeat(mins[k, groups], sizes) for k in range(4)]
    hi = [np.repeat(maxs[k, groups], sizes) for k in range(4)]
    if full:
        bbox = io.read_groups(shard, groups, ["bbox"]).column("bbox").combine_chunks()
        for k, name in enumerate(fmt.BBOX_FIELDS):
            lo[k] = hi[k] = to_numpy(bbox.field(name))
        return lo, hi, bbox
    by_fields: dict[tuple[int, ...], list[int]] = {}
    multi = exact and not shard.connected()
    for i, g in enumerate(groups):
        fields = bbox_leaves_needed(mins[:, g], maxs[:, g], boxes)
        if not known[g] or (exact and fields and (multi or len(fields) > 1)):
            fields = (0, 1, 2, 3)  # no statistics, or a corner / multi-part geometries
        if fields:
            by_fields.setdefault(fields, []).append(i)
    starts = np.cumsum(sizes) - sizes
    for fields, idx in by_fields.items():
        names = [BBOX_LEAVES[k] for k in fields]
        read = io.read_groups(shard, [groups[i] for i in idx], names)
        bbox = read.column("bbox").combine_chunks()
        rows = np.concatenate([np.arange(starts[i], starts[i] + sizes[i]) for i in idx])
        for k in fields:
            values = to_numpy(bbox.field(fmt.BBOX_FIELDS[k]))
            lo[k][rows] = values
            hi[k][rows] = values
    return lo, hi, None


def _assemble(
    shard: Shard,
    io: GroupReader,
    boxes: list[Box],
    columns: list[str],
    exact: tuple[shapely.Geometry | None, Sequence[Box]],
    groups: list[int],
    partial: set[int],
) -> pa.Table:
    """:func:`read_region_rows` past the row-group statistics (``exact``: its ``geom``
    and ``inner``; ``partial`` already holds the groups ``geom`` does not cover)."""
    md = shard.footer()
    geom, inner = exact
    part = [g for g in groups if g in partial]
    sizes = np.array([md.row_group(g).num_rows for g in part], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    bbox: pa.Array | None = None
    hit = certain = np.zeros(0, dtype=bool)
    if part:
        lo, hi, bbox = _bbox_bounds(
            shard, io, part, sizes, boxes, "bbox" in columns, geom is not None
        )
        # the fields not read pass their tests for every row (by the statistics):
        # take the bound that passes, so only the fields read decide
        hit = overlaps(hi[0], hi[1], lo[2], lo[3], boxes)
        if geom is not None:
            certain = inside_boxes(lo[0], lo[1], hi[2], hi[3], inner) & hit
            test = hit & ~certain
            outer = [np.asarray(v, dtype=np.float64)[test] for v in (lo[0], lo[1], hi[2], hi[3])]
            certain[test] = shapely.covers(geom, shapely.box(*outer))
            if shard.connected():
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
                wkb = _take(shard, io, g, unsure, "geometry")
                ok = shapely.intersects(shapely.from_wkb(to_numpy(wkb)), geom)
                rows = np.union1d(rows[certain[at + rows]], unsure[ok])
        if not len(rows):
            continue
        table = None
        if io.page_reads and len(rows) < n:
            kept = None if bbox is None else bbox.slice(at, n).take(rows)
            table = io.read_partial(shard, g, rows, columns, kept)
        if table is None:
            full = io.read_groups(shard, [g], columns).select(columns)
            table = full if len(rows) == n else full.take(array(rows))
        pieces[g] = table
    if whole:
        table = io.read_groups(shard, whole, columns).select(columns)
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
    shard: Shard, io: GroupReader, g: int, rows: npt.NDArray[np.int64], column: str
) -> pa.ChunkedArray:
    """``column`` of the rows ``rows`` of row group ``g`` (by pages where it pays)."""
    table = io.read_partial(shard, g, rows, [column], None)
    if table is None:
        table = io.read_groups(shard, [g], [column]).take(array(rows))
    return table.column(column)
