"""The candidate rows of a search: the region's rows (read once through
:meth:`Corpus.read <terrabit.corpus.reader.Corpus.read>`), the memory guard, the
exemplars left out, one row per place on request, and row selections by score.

Examples
--------
>>> import numpy as np
>>> best_rows(np.array([3.0, 1.0, 1.0, 2.0]), 1).tolist()  # ties at the cut are kept
[1, 2]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from terrabit._arrow import array, to_numpy
from terrabit.errors import InvalidInputError
from terrabit.region import Region

__all__ = ["best_rows", "dedupe_rows", "guard_candidates", "take_rows"]


def dedupe_rows(
    geometry: pa.ChunkedArray | pa.Array, scores: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    """Row indices keeping, of rows with byte-identical geometry, the best (score, id).

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> geom = pa.array([b"A", b"B", b"A"])
    >>> dedupe_rows(geom, np.array([3.0, 1.0, 2.0]), np.array([0, 1, 2])).tolist()
    [1, 2]
    """
    if len(geometry) == 0:
        return np.zeros(0, dtype=np.int64)
    arr = geometry.combine_chunks() if isinstance(geometry, pa.ChunkedArray) else geometry
    groups = np.asarray(to_numpy(pc.dictionary_encode(arr).indices), dtype=np.int64)
    order = np.lexsort((keys, scores, groups))
    g = groups[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return np.sort(order[first])


def best_rows(scores: np.ndarray, m: int) -> np.ndarray:
    """Sorted row indices of every score <= the ``m``-th smallest (ties at the cut kept).

    Examples
    --------
    >>> best_rows(np.array([5.0, 2.0, 2.0, 9.0]), 1).tolist()
    [1, 2]
    """
    if m >= scores.shape[0]:
        return np.arange(scores.shape[0])
    cut = np.partition(scores, m - 1)[m - 1]
    return np.flatnonzero(scores <= cut)


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """The rows ``rows`` (int64 indices) of ``table``, in that order.

    Examples
    --------
    >>> take_rows(pa.table({"id": ["a", "b", "c"]}), np.array([2, 0])).column("id").to_pylist()
    ['c', 'a']
    """
    return table.take(array(rows, pa.int64()))


def guard_candidates(selected: pa.Table, region: Region | None, max_candidates: int) -> None:
    """Refuse early when shards lying wholly inside the region already exceed the cap.

    ``selected`` are manifest rows (``rows`` and the extent ``xmin … ymax``).

    Examples
    --------
    >>> extent = {"xmin": [0.0], "ymin": [0.0], "xmax": [1.0], "ymax": [1.0]}
    >>> shards = pa.table({"rows": [10], **extent})
    >>> guard_candidates(shards, Region.from_bbox((0, 0, 2, 2)), max_candidates=9)
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: the region holds at least 10 rows, more than \
max_candidates=9; draw a smaller region, add a year, or raise max_candidates
    """
    if selected.num_rows == 0:
        return
    rows = np.asarray(to_numpy(selected.column("rows")), dtype=np.int64)
    if region is None or region.is_world:
        inside = rows.sum()
    else:
        boxes = [
            shapely.box(x0, y0, x1, y1)
            for x0, y0, x1, y1 in zip(
                *(to_numpy(selected.column(n)) for n in ("xmin", "ymin", "xmax", "ymax")),
                strict=True,
            )
        ]
        within = shapely.covers(region.geometry, np.array(boxes, dtype=object))
        inside = rows[np.asarray(within, dtype=bool)].sum()
    if inside > max_candidates:
        raise InvalidInputError(
            f"the region holds at least {int(inside)} rows, more than max_candidates="
            f"{max_candidates}; draw a smaller region, add a year, or raise max_candidates",
            params=("max_candidates", "year"),
        )
