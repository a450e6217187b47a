"""Arrow columns as the arrays search computes on: packed codes, id ranks, anchor points.

Examples
--------
>>> import pyarrow as pa
>>> id_keys(pa.array(["b", "a"])).tolist()
[1, 0]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["anchors", "fixed_codes", "id_keys"]


def fixed_codes(column: pa.ChunkedArray | pa.Array, size: int) -> np.ndarray:
    """A ``fixed_size_binary[size]`` column as ``uint8 [n, size]`` (zero-copy when one chunk).

    Examples
    --------
    >>> import pyarrow as pa
    >>> fixed_codes(pa.array([b"ab", b"cd"], pa.binary(2)), 2).tolist()
    [[97, 98], [99, 100]]
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.zeros((0, size), dtype=np.uint8)
    buf = arr.buffers()[1]
    data = np.frombuffer(buf, dtype=np.uint8, count=(arr.offset + n) * size)
    return data[arr.offset * size :].reshape(n, size)


def id_keys(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The order of each id among ``ids`` (int64), a sort key that ranks ties by id.

    Examples
    --------
    >>> import pyarrow as pa
    >>> id_keys(pa.array(["b", "a", "c"])).tolist()
    [1, 0, 2]
    """
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = pc.rank(ids, sort_keys="ascending", tiebreaker="first")
    return np.asarray(ranks.to_numpy(), dtype=np.int64) - 1


def anchors(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points (bbox centres) ``lon, lat`` of a table with a ``bbox`` column."""
    bbox = table.column("bbox").combine_chunks()
    if len(bbox) == 0:
        return np.zeros(0), np.zeros(0)
    xs = [
        np.asarray(bbox.field(n).to_numpy(zero_copy_only=False), dtype=np.float64)
        for n in ("xmin", "ymin", "xmax", "ymax")
    ]
    return (xs[0] + xs[2]) / 2, (xs[1] + xs[3]) / 2
