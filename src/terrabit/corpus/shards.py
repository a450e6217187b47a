"""One shard file: rows in Hilbert order, row groups on coarse curve cells, the checksums.

The reduce step of :func:`~terrabit.corpus.publish` (:mod:`terrabit.corpus.mapreduce`)
hands each final cell's rows to :func:`write_shard`, which writes one GeoParquet shard
(``spec/corpus-v1.md``) and returns its manifest row; :func:`write_parquet` is the
Parquet writer of the shards and the manifest (only our key-value metadata, and with
``checksums`` the checksum of every column chunk).

Examples
--------
>>> import numpy as np
>>> row_groups(np.array([0, 1, 2, 3, 1 << 40, (1 << 40) + 1], dtype=np.uint64), 5)
[(0, 4), (4, 6)]
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from terrabit._arrow import to_numpy
from terrabit.codecs import Codec
from terrabit.corpus import format as fmt
from terrabit.corpus import summary
from terrabit.kernels import hilbert

__all__ = [
    "BOUNDS_COLUMNS",
    "SORT_KEY_COLUMN",
    "anchor",
    "row_groups",
    "write_parquet",
    "write_shard",
]

#: The part files' column of the 12-character geohash of each row's anchor, as an integer.
SORT_KEY_COLUMN = "__key"
#: The part files' exact float64 bounds of each row (the shard's ``bbox`` is float32).
BOUNDS_COLUMNS = ("__xmin", "__ymin", "__xmax", "__ymax")


def anchor(bounds: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """The anchor point of each row: the centre ``(lon, lat)`` of its bounds ``[n, 4]``.

    Examples
    --------
    >>> lon, lat = anchor(np.array([[0.0, 10.0, 2.0, 12.0]]))
    >>> float(lon[0]), float(lat[0])
    (1.0, 11.0)
    """
    lon = (bounds[:, 0] + bounds[:, 2]) / 2.0
    lat = (bounds[:, 1] + bounds[:, 3]) / 2.0
    return lon, lat


def row_groups(keys: npt.NDArray[np.uint64], max_rows: int) -> list[tuple[int, int]]:
    """Row-group boundaries of a sorted shard, aligned to coarse space-filling-curve cells.

    Each group holds ``max_rows // 2`` to ``max_rows`` rows (the last one may hold
    fewer) and ends where the sort keys of consecutive rows share the shortest common
    bit prefix within that window — the boundary of the largest quadtree cell (Hilbert
    keys nest like a quadtree) — so a group's bounding box stays compact.

    Examples
    --------
    >>> keys = np.array([0, 1, 2, 3, 1 << 40, (1 << 40) + 1], dtype=np.uint64)
    >>> row_groups(keys, 5)
    [(0, 4), (4, 6)]
    """
    n = len(keys)
    if n <= max_rows:
        return [(0, n)]
    k = keys.astype(np.uint64)
    # bit length of XOR of neighbours: high = a coarse cell boundary between rows j-1, j
    xor = k[1:] ^ k[:-1]
    level = np.zeros(n, dtype=np.int64)  # level[j]: boundary before row j
    nz = xor > 0
    level[1:][nz] = np.floor(np.log2(xor[nz].astype(np.float64))).astype(np.int64) + 1
    groups: list[tuple[int, int]] = []
    start = 0
    low = max(1, max_rows // 2)
    while n - start > max_rows:
        window = level[start + low : start + max_rows + 1]
        # the largest boundary; among equals, the farthest (largest group)
        cut = start + low + int(len(window) - 1 - np.argmax(window[::-1]))
        groups.append((start, cut))
        start = cut
    groups.append((start, n))
    return groups


def write_shard(
    table: pa.Table,
    cell: str,
    root: Path,
    *,
    codec: Codec,
    row_group_rows: int,
    keep: Sequence[str],
) -> dict[str, Any]:
    """Write the rows of ``table`` (with the part files' :data:`SORT_KEY_COLUMN` and
    :data:`BOUNDS_COLUMNS`) as the shard of geohash ``cell`` under ``root`` (under a
    temporary name, then renamed): rows in (Hilbert key of the anchor, id) order, row
    groups of :func:`row_groups`; its manifest row (extent, time range, checksums and,
    for Hamming codes, the summary balls)."""
    exact = [to_numpy(table.column(name)) for name in BOUNDS_COLUMNS]
    extent = (
        float(exact[0].min()),
        float(exact[1].min()),
        float(exact[2].max()),
        float(exact[3].max()),
    )
    # rows in (Hilbert key of the anchor, id) order; row groups cut on coarse curve cells
    keys = hilbert.keys(*anchor(np.column_stack(exact)))
    by = pa.table({"key": keys, "id": table.column("id")})
    order = pc.sort_indices(by, sort_keys=[("key", "ascending"), ("id", "ascending")])
    groups = row_groups(keys[to_numpy(order)], row_group_rows)
    table = (
        table.drop_columns([SORT_KEY_COLUMN, *BOUNDS_COLUMNS])
        .replace_schema_metadata(None)
        .take(order)
    )
    type_names = _wkb_types(table.column("geometry").combine_chunks())
    rel = fmt.shard_path(cell)
    target = root / rel
    tmp = target.with_name(f".{target.name}.tmp")
    data = write_parquet(
        table,
        {fmt.GEO_KEY: json.dumps(fmt.geo_metadata(extent, type_names)).encode()},
        groups=groups,
        checksums=True,
        **fmt.shard_parquet_options(table.schema, keep=keep),
    )
    with tmp.open("wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    footer_len = int.from_bytes(data[-8:-4], "little")
    row: dict[str, Any] = {
        "path": rel,
        "geohash": cell,
        "rows": table.num_rows,
        "bytes": len(data),
        "xmin": extent[0],
        "ymin": extent[1],
        "xmax": extent[2],
        "ymax": extent[3],
        "tmin": None,
        "tmax": None,
        "checksum": fmt.sha256_hex(data),
        "footer_checksum": fmt.sha256_hex(data[-8 - footer_len :]),
        **summary.EMPTY_SUMMARY,
    }
    if "datetime" in table.column_names:
        bounds_t = pc.min_max(table.column("datetime"))
        row["tmin"], row["tmax"] = bounds_t["min"].as_py(), bounds_t["max"].as_py()
    if codec.hamming:
        col = table.column("embedding").combine_chunks()
        codes = np.frombuffer(col.buffers()[1], dtype=np.uint8)[
            col.offset * codec.code_size : (col.offset + len(col)) * codec.code_size
        ].reshape(-1, codec.code_size)
        row.update(summary.shard_summary(codes))
    return row


def write_parquet(
    table: pa.Table,
    metadata: dict[bytes, bytes],
    *,
    groups: Sequence[tuple[int, int]] | None = None,
    checksums: bool = False,
    **options: Any,
) -> bytes:
    """``table`` as Parquet bytes with ``metadata`` as the only key-value metadata (no
    ARROW:schema), one row group per ``(start, end)`` of ``groups`` (default: one), and
    with ``checksums``, the checksum of every column chunk under ``terrabit.chunks``
    (:func:`terrabit.corpus.format.fill_chunk_checksums`)."""
    if groups is None:
        groups = [(0, table.num_rows)]
    sink = pa.BufferOutputStream()
    writer = pq.ParquetWriter(sink, table.schema, store_schema=False, **options)
    placeholder = b""
    try:
        for start, end in groups:
            writer.write_table(table.slice(start, end - start), row_group_size=end - start)
        meta = dict(metadata)
        if checksums:
            n_chunks = len(groups) * sum(_leaf_count(f.type) for f in table.schema)
            placeholder = fmt.chunk_placeholder(n_chunks)
            meta[fmt.CHUNKS_KEY] = placeholder
        writer.add_key_value_metadata(meta)
    finally:
        writer.close()
    data = sink.getvalue().to_pybytes()
    if placeholder:
        data = fmt.fill_chunk_checksums(data, placeholder)
    return data


def _leaf_count(dtype: pa.DataType) -> int:
    """Parquet leaf columns of one Arrow type (nested types have several)."""
    if pa.types.is_struct(dtype):
        return sum(_leaf_count(dtype.field(i).type) for i in range(dtype.num_fields))
    if pa.types.is_map(dtype):
        return _leaf_count(dtype.key_type) + _leaf_count(dtype.item_type)
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _leaf_count(dtype.value_type)
    if pa.types.is_fixed_size_list(dtype) or pa.types.is_list_view(dtype):
        return _leaf_count(dtype.value_type)
    return 1


def _wkb_types(col: pa.Array) -> list[str]:
    """Distinct GeoParquet geometry type names of little-endian ISO WKB values."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + len(col)]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    code = np.zeros(len(offsets), dtype=np.uint32)
    for k in range(4):
        code |= data[offsets + 1 + k].astype(np.uint32) << np.uint32(8 * k)
    names = []
    for value in np.unique(code).tolist():
        suffix = " Z" if value // 1000 in (1, 3) else ""  # GeoParquet has no M types
        names.append(_TYPE_NAMES[value % 1000] + suffix)
    return sorted(set(names))


_TYPE_NAMES = {
    1: "Point",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
