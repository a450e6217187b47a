"""Arrow columns as the arrays search computes on: packed codes
(:func:`terrabit.corpus.format.fixed_codes`), id ranks, anchor points.

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

from terrabit._arrow import to_numpy
from terrabit.corpus.format import fixed_codes

__all__ = ["anchors", "fixed_codes", "id_keys"]


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
    return np.asarray(to_numpy(ranks), dtype=np.int64) - 1


def anchors(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points (bbox centres) ``lon, lat`` of a table with a ``bbox`` column."""
    bbox = table.column("bbox").combine_chunks()
    if len(bbox) == 0:
        return np.zeros(0), np.zeros(0)
    xs = [
        np.asarray(to_numpy(bbox.field(n)), dtype=np.float64)
        for n in ("xmin", "ymin", "xmax", "ymax")
    ]
    return (xs[0] + xs[2]) / 2, (xs[1] + xs[3]) / 2
