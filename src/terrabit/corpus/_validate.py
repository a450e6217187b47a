"""Deep validation of a corpus against its manifest and ``spec/corpus-v1.md``."""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit import geohash
from terrabit.corpus import factors, falsecolour, pages, stac, summary
from terrabit.corpus import format as fmt
from terrabit.corpus.reader import Corpus
from terrabit.errors import CorpusError, CorpusIntegrityError
from terrabit.kernels import hilbert

__all__ = ["validate_corpus"]


def _cells_prefix_free(cells: list[str]) -> list[str]:
    problems = []
    ordered = sorted(cells)
    for a, b in itertools.pairwise(ordered):
        if b.startswith(a):
            problems.append(
                f"manifest: cell {a!r} is a prefix of cell {b!r} (cells must be prefix-free)"
            )
    return problems


def validate_corpus(corpus: Corpus, *, on_shard: Callable[[str], None] | None = None) -> list[str]:
    """Check every shard against the manifest and the spec; return the problems found.

    Checks: manifest schema and metadata; cells prefix-free and paths as the spec names
    them; per shard: size, SHA-256, footer checksum, row count, schema (columns and types
    as the metadata lists), ``geo`` metadata (GeoParquet 1.1 rules) and its bbox equal to
    the manifest extent, ``bbox`` covering containing each geometry, every row inside the
    shard's cell, rows sorted by (sort key, id), row groups within ``row_group_rows`` with
    ``bbox`` statistics, the summary code and radius, the time range; ids unique across
    the corpus; totals in the metadata; since format 1.2, the page index against its
    checksums and every data page against its CRC; since 1.4, the ``rabitq`` factors
    column (present iff the codec ends in ``rabitq``; 6 or 12 bytes per row, one width
    for the corpus, finite values); since 1.5, the ``false_colour`` metadata when present
    (array shapes for the code size, finite values, ``lo < hi``); since 1.6, the STAC
    ``collection.json`` against the manifest (:func:`terrabit.corpus.stac.check_collection`;
    checked whenever present).
    """
    problems: list[str] = []
    meta = corpus.metadata
    manifest = corpus.manifest
    cells = manifest.column("geohash").to_pylist()
    problems += _cells_prefix_free(cells)
    code_size = int(meta["code_size"])
    expected = fmt.shard_schema(
        code_size,
        time="datetime" in meta["columns"],
        rerank_code_size=meta.get("rerank_code_size"),
    )
    seen_ids: set[int] = set()
    dup_ids: list[str] = []
    row_group_rows = int(meta.get("row_group_rows") or fmt.DEFAULT_ROW_GROUP_ROWS)
    hamming = bool(corpus.codec.hamming)
    problems += _check_factor_column(corpus)
    problems += _check_collection(corpus)
    if falsecolour.KEY in meta:
        problems += [
            f"manifest metadata {falsecolour.KEY!r}: {p}"
            for p in falsecolour.check_false_colour(meta[falsecolour.KEY], code_size=code_size)
        ]
    widths: set[int] = set()
    for row in manifest.to_pylist():
        path, cell = row["path"], row["geohash"]
        if on_shard is not None:
            on_shard(path)
        if path != fmt.shard_path(cell):
            problems.append(f"{path}: path should be {fmt.shard_path(cell)!r} for cell {cell!r}")
        try:
            md = corpus.footer(path)
            corpus.check_checksum(path)
        except CorpusError as exc:  # the problem alone: the caller gives the advice once
            problems.append(exc.problem if isinstance(exc, CorpusIntegrityError) else str(exc))
            continue
        data = corpus.source.read_all(path)
        problems += _check_chunks(path, md, data)
        problems += _check_pages(path, md, data, str(meta["format_version"]))
        table = pq.ParquetFile(pa.BufferReader(data), metadata=md).read()
        problems += _check_schema(path, table.schema, expected, meta["columns"])
        if factors.COLUMN in table.column_names:
            problems += _check_factors(path, table.column(factors.COLUMN), widths)
        geo_raw = (md.metadata or {}).get(fmt.GEO_KEY)
        if geo_raw is None:
            problems.append(f"{path}: no 'geo' metadata (not GeoParquet)")
        else:
            geo = json.loads(geo_raw)
            problems += [
                f"{path}: geo metadata: {p}" for p in fmt.validate_geo_metadata(geo, table.schema)
            ]
            gbox = geo.get("columns", {}).get("geometry", {}).get("bbox")
            mbox = [row[k] for k in fmt.BBOX_FIELDS]
            if gbox is None or not np.allclose(gbox, mbox, rtol=0, atol=1e-9):
                problems.append(f"{path}: geo bbox {gbox} differs from the manifest extent {mbox}")
        ids = np.asarray(table.column("id").to_numpy(zero_copy_only=False), dtype=object)
        problems += _check_rows(path, table, ids, row, str(meta["format_version"]))
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            if rg.num_rows > row_group_rows:
                problems.append(f"{path}: row group {i} has {rg.num_rows} rows > {row_group_rows}")
            names = {rg.column(j).path_in_schema: rg.column(j) for j in range(rg.num_columns)}
            for leaf in (f"bbox.{n}" for n in fmt.BBOX_FIELDS):
                col = names.get(leaf)
                if col is None or col.statistics is None or not col.statistics.has_min_max:
                    problems.append(f"{path}: row group {i} lacks min/max statistics for {leaf}")
                    break
        for value in ids:
            h = hash(value)
            if h in seen_ids:
                dup_ids.append(str(value))
            seen_ids.add(h)
        if hamming and table.num_rows:
            codes = np.frombuffer(
                table.column("embedding").combine_chunks().buffers()[1], dtype=np.uint8
            )[: table.num_rows * code_size].reshape(-1, code_size)
            got = summary.shard_summary(codes)
            if any(row[name] != value for name, value in got.items()):
                problems.append(f"{path}: summary columns differ from the manifest")
        if "datetime" in table.column_names:
            t = table.column("datetime")
            mm = pa.compute.min_max(t)
            if (mm["min"].as_py(), mm["max"].as_py()) != (row["tmin"], row["tmax"]):
                problems.append(f"{path}: time range differs from the manifest")
    if len(widths) > 1:
        problems.append(
            f"the rabitq column has widths {sorted(widths)} in different shards; one publish "
            "writes one width (6: float16, 12: float32)"
        )
    if dup_ids:
        problems.append(f"ids occur in more than one row: {dup_ids[:10]}")
    totals = {
        "rows": sum(manifest.column("rows").to_pylist()),
        "shards": manifest.num_rows,
        "bytes": sum(manifest.column("bytes").to_pylist()),
    }
    for key, value in totals.items():
        if int(meta[key]) != value:
            problems.append(
                f"manifest metadata {key}={meta[key]} but the manifest rows sum to {value}"
            )
    return problems


def _check_rows(
    path: str, table: pa.Table, ids: npt.NDArray[np.object_], row: dict[str, Any], version: str
) -> list[str]:
    """A shard's rows against its manifest ``row``: valid footprints (OGC validity: no
    self-intersection), bbox covering values contain their geometry, the true extent,
    anchors inside the cell, rows sorted as ``version`` says."""
    problems: list[str] = []
    cell = row["geohash"]
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    bounds = shapely.bounds(geoms)
    box = table.column("bbox").combine_chunks()
    cov = np.column_stack([box.field(n).to_numpy(zero_copy_only=False) for n in fmt.BBOX_FIELDS])
    outside = (cov[:, 0] > bounds[:, 0]) | (cov[:, 1] > bounds[:, 1])
    outside |= (cov[:, 2] < bounds[:, 2]) | (cov[:, 3] < bounds[:, 3])
    if outside.any():
        problems.append(
            f"{path}: {int(outside.sum())} bbox covering values do not contain their geometry"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        where = [str(v) for v in ids[invalid][:10]]
        reason = shapely.is_valid_reason(geoms[np.flatnonzero(invalid)[0]])
        problems.append(
            f"{path}: {int(invalid.sum())} invalid footprints (ids {where}; first: {reason}); "
            "republish with this terrabit, which repairs them (make_valid) or drops them "
            "(--drop-invalid)"
        )
    extent = [bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()]
    if not np.allclose(extent, [row[k] for k in fmt.BBOX_FIELDS], rtol=0, atol=1e-9):
        problems.append(f"{path}: true extent {extent} differs from the manifest")
    lon, lat = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    keys = geohash.encode(lon, lat, precision=fmt.SORT_KEY_PRECISION)
    if not np.char.startswith(keys, cell).all():
        problems.append(f"{path}: rows whose anchor point lies outside cell {cell!r}")
    hilbert_order = fmt.version_tuple(version) >= (1, 3)
    order = np.lexsort((ids.astype(str), hilbert.keys(lon, lat) if hilbert_order else keys))
    if not np.array_equal(order, np.arange(len(order))):
        curve = "Hilbert key" if hilbert_order else "geohash-12"
        problems.append(f"{path}: rows are not sorted by ({curve} of the anchor, id)")
    return problems


def _check_collection(corpus: Corpus) -> list[str]:
    """The STAC ``collection.json`` against the manifest; missing is a problem from
    format 1.6, which writes it (older corpora have none)."""
    if corpus.source.exists(stac.COLLECTION_NAME):
        return stac.check_collection(corpus.source.read_all(stac.COLLECTION_NAME), corpus.metadata)
    version = str(corpus.metadata["format_version"])
    if fmt.version_tuple(version) < stac.SINCE:
        return []
    return [
        f"{stac.COLLECTION_NAME}: missing; format {version} writes a STAC Collection beside "
        "the manifest"
    ]


def _check_factor_column(corpus: Corpus) -> list[str]:
    """The manifest lists a ``rabitq`` column iff the codec ends in ``rabitq`` (since
    format 1.4; before, no corpus has one)."""
    listed = factors.COLUMN in corpus.columns
    version = fmt.version_tuple(str(corpus.metadata["format_version"]))
    wanted = factors.has_factors(corpus.codec) and version >= (1, 4)
    if listed and not factors.has_factors(corpus.codec):
        return [
            f"manifest: a {factors.COLUMN!r} column, but the codec {corpus.codec.spec!r} does "
            "not end in rabitq (only rabitq codecs carry correction factors)"
        ]
    if wanted and not listed:
        return [
            f"manifest: no {factors.COLUMN!r} column, but the codec {corpus.codec.spec!r} ends "
            "in rabitq; format 1.4 stores its correction factors there — republish"
        ]
    return []


def _check_factors(path: str, column: pa.ChunkedArray, widths: set[int]) -> list[str]:
    """A shard's ``rabitq`` column: 6 or 12 bytes per row, every factor finite."""
    width = getattr(column.type, "byte_width", None)
    if not pa.types.is_fixed_size_binary(column.type) or width not in factors.DTYPES:
        return [
            f"{path}: column {factors.COLUMN!r} is {column.type}, the spec says "
            "fixed_size_binary[6] (float16) or fixed_size_binary[12] (float32)"
        ]
    widths.add(int(width))
    if column.null_count:
        return [f"{path}: column {factors.COLUMN!r} has {column.null_count} nulls"]
    bad = int((~np.isfinite(factors.factor_values(column)).all(axis=1)).sum())
    if bad:
        return [f"{path}: {bad} rows of column {factors.COLUMN!r} hold NaN or infinite factors"]
    return []


def _check_schema(path: str, schema: pa.Schema, expected: pa.Schema, columns: Any) -> list[str]:
    problems = []
    if schema.names != list(columns):
        problems.append(
            f"{path}: columns {schema.names} differ from the manifest's {list(columns)}"
        )
    for field in expected:
        if field.name in schema.names and not schema.field(field.name).type.equals(field.type):
            problems.append(
                f"{path}: column {field.name!r} is {schema.field(field.name).type}, the spec "
                f"says {field.type}"
            )
    return problems


def _check_chunks(path: str, md: pq.FileMetaData, data: bytes) -> list[str]:
    """Every column chunk against ``terrabit.chunks`` (format 1.1; absent in 1.0)."""
    try:
        sums = fmt.read_chunk_checksums(md)
    except CorpusError as exc:
        return [f"{path}: {exc}"]
    if sums is None:
        return []
    bad = [
        k
        for k, (offset, length) in enumerate(fmt.chunk_ranges(md))
        if fmt.chunk_checksum(data[offset : offset + length]) != sums[k]
    ]
    if not bad:
        return []
    g, j = divmod(bad[0], md.num_columns)
    return [
        f"{path}: {len(bad)} column chunks differ from their checksums (first: column "
        f"{md.schema.column(j).path!r} of row group {g})"
    ]


def _check_pages(path: str, md: pq.FileMetaData, data: bytes, version: str) -> list[str]:
    """The page index against ``terrabit.pages`` and every data page against its CRC
    (format 1.2; a 1.0/1.1 shard may lack both)."""
    try:
        digests = fmt.read_page_index_digests(md)
    except CorpusError as exc:
        return [f"{path}: {exc}"]
    if digests is None:
        if fmt.version_tuple(version) >= (1, 2):
            return [f"{path}: no page index ({fmt.PAGES_KEY.decode()}); format 1.2 requires one"]
        return []
    footer = data[-8 - int.from_bytes(data[-8:-4], "little") : -8]
    problems = []
    regions = fmt.page_index_regions(footer)
    for kind, (start, length, digest) in sorted(digests.items()):
        if regions.get(kind) != (start, length):
            problems.append(
                f"{path}: {fmt.PAGES_KEY.decode()} {kind} region {(start, length)} differs "
                f"from the footer's {regions.get(kind)}"
            )
        elif fmt.sha256_hex(data[start : start + length]) != digest:
            problems.append(f"{path}: the {kind} region differs from its checksum")
    if problems:
        return problems
    bad: list[str] = []
    try:
        locations = pages.page_index_locations(footer)
        for g, row in enumerate(locations):
            for j, loc in enumerate(row):
                where = f"column {md.schema.column(j).path!r} of row group {g}"
                at = loc.offset_index_offset
                index = pages.read_offset_index(data[at : at + loc.offset_index_length])
                if loc.column_index_length > 0:
                    at = loc.column_index_offset
                    ci = pages.read_column_index(data[at : at + loc.column_index_length])
                    if len(ci.null_pages) != len(index):
                        bad.append(f"{where}: ColumnIndex and OffsetIndex differ in pages")
                for p in index:
                    head = pages.read_page_header(data, p.offset)
                    body = p.offset + head.header_size
                    if head.header_size + head.compressed_size != p.compressed_page_size:
                        bad.append(f"{where}: a page's size differs from its OffsetIndex entry")
                    elif head.crc is None:
                        bad.append(f"{where}: a data page has no CRC")
                    elif zlib.crc32(data[body : body + head.compressed_size]) != head.crc:
                        bad.append(f"{where}: a data page differs from its CRC")
    except pages.PageFormatError as exc:
        return [f"{path}: unreadable page index or page header ({exc})"]
    if bad:
        problems.append(f"{path}: {len(bad)} page problems (first: {bad[0]})")
    return problems
