"""On-disk cost of a code column: ZSTD GeoParquet rows with typical metadata beside it.

Each row holds ``id`` (string), ``geometry`` (WKB point), ``datetime`` (timestamp) and
``embedding`` (``FixedSizeBinary(code_size)``), as a published corpus shard does, so the
ratio against float32 includes what metadata costs, not only the payload.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit.errors import InvalidInputError

__all__ = ["code_table", "disk_bytes_per_row", "float32_codes", "metadata_table"]

_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def metadata_table(n_rows: int, *, seed: int = 0) -> pa.Table:
    """Seeded typical metadata: ``id``, WKB point ``geometry`` and ``datetime`` columns.

    Points are uniform on land-sized boxes (lon/lat degrees), timestamps spread over two
    years, ids like ``patch-000000042``.

    Examples
    --------
    >>> t = metadata_table(3)
    >>> t.column_names, t.column("id")[2].as_py()
    (['id', 'geometry', 'datetime'], 'patch-000000002')
    """
    rng = np.random.default_rng(seed)
    pts = np.empty(n_rows, dtype=_WKB_POINT)
    pts["order"], pts["type"] = 1, 1
    pts["x"] = rng.uniform(-180.0, 180.0, n_rows)
    pts["y"] = rng.uniform(-60.0, 75.0, n_rows)
    offsets = np.arange(n_rows + 1, dtype=np.int32) * _WKB_POINT.itemsize
    geometry = pa.Array.from_buffers(
        pa.binary(), n_rows, [None, pa.py_buffer(offsets), pa.py_buffer(pts.tobytes())]
    )
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    seconds = start + rng.integers(0, 2 * 365 * 86400, n_rows)
    ids = pa.array([f"patch-{i:09d}" for i in range(n_rows)], pa.string())
    times = pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC"))
    return pa.table({"id": ids, "geometry": geometry, "datetime": times})


def code_table(codes: np.ndarray, *, seed: int = 0) -> pa.Table:
    """:func:`metadata_table` plus an ``embedding`` FixedSizeBinary column of ``codes``.

    Examples
    --------
    >>> code_table(np.zeros((2, 4), np.uint8)).schema.field("embedding").type
    FixedSizeBinaryType(fixed_size_binary[4])
    """
    arr = np.ascontiguousarray(codes)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] == 0:
        raise InvalidInputError(
            f"codes must be a 2-D uint8 array [n, code_size], got {arr.dtype} {arr.shape}"
        )
    n, width = arr.shape
    column = pa.Array.from_buffers(pa.binary(width), n, [None, pa.py_buffer(arr.tobytes())])
    table = metadata_table(n, seed=seed).append_column("embedding", column)
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}},
    }
    return table.replace_schema_metadata({"geo": json.dumps(geo)})


def float32_codes(x: np.ndarray) -> np.ndarray:
    """The raw little-endian float32 bytes of ``x`` as ``uint8 [n, 4 d]`` codes.

    Examples
    --------
    >>> float32_codes(np.ones((2, 3))).shape
    (2, 12)
    """
    arr = np.ascontiguousarray(np.asarray(x, dtype="<f4"))
    return arr.view(np.uint8).reshape(arr.shape[0], -1)


def disk_bytes_per_row(
    codes: np.ndarray, *, seed: int = 0, compression_level: int | None = None
) -> float:
    """File size per row of ``codes`` written as a ZSTD Parquet with metadata columns.

    The file goes to a temporary folder that is removed afterwards. Use the same ``seed``
    for two codecs so their metadata columns are identical.

    Examples
    --------
    >>> small = disk_bytes_per_row(np.zeros((1000, 8), np.uint8))
    >>> big = disk_bytes_per_row(np.random.default_rng(0).integers(0, 256, (1000, 64), np.uint8))
    >>> small < big
    True
    """
    table = code_table(codes, seed=seed)
    with tempfile.TemporaryDirectory(prefix="terrabit-storage-") as tmp:
        path = Path(tmp) / "codes.parquet"
        pq.write_table(table, path, compression="zstd", compression_level=compression_level)
        size = path.stat().st_size
    return size / table.num_rows
