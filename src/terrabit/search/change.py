"""``view="change"``: each place's two years side by side.

A **place** is what ``dedupe`` collapses: rows whose geometry WKB is byte-identical (the
world, like most yearly embedding products, writes the same footprint for each year of a
place). A row's **year** is the UTC calendar year of its ``datetime``. For the years
``(earlier, later)`` (``years=``, default the two latest years among the region's rows),
every place with a row in each is paired; a place with several rows in one year uses the
one with the smallest id. :func:`~terrabit.search.views.change` then ranks the pairs.

Examples
--------
>>> import numpy as np, pyarrow as pa
>>> geometry = pa.array([b"A", b"B", b"A", b"B", b"C"])
>>> years = np.array([2023, 2023, 2024, 2024, 2024])
>>> [v.tolist() for v in place_pairs(geometry, years, np.arange(5), (2023, 2024))]
[[0, 1], [2, 3]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrabit._arrow import to_numpy
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError

__all__ = ["check_change", "pick_years", "place_pairs", "row_years", "span"]


def span(corpus: Corpus) -> tuple[int, int] | None:
    """The first and last calendar years of the corpus's ``datetime`` (manifest metadata),
    or None without times."""
    tmin, tmax = corpus.metadata.get("tmin"), corpus.metadata.get("tmax")
    if not tmin or not tmax:
        return None
    return int(str(tmin)[:4]), int(str(tmax)[:4])


def _span_text(years: tuple[int, int]) -> str:
    return str(years[0]) if years[0] == years[1] else f"{years[0]}-{years[1]}"


def _check_pair(years: Any) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in years)
        ok = all(float(v) == int(v) and not isinstance(v, bool) for v in years)
    except (TypeError, ValueError):
        ok = False
    if not ok or a == b:
        raise InvalidInputError(
            f"years must be a pair of different calendar year numbers (earlier, later), like "
            f"(2023, 2024); got {years!r}",
            params=("years",),
        )
    return (a, b) if a < b else (b, a)


def check_change(
    corpus: Corpus,
    view: str,
    years: Any,
    *,
    year: int | None,
    time: Any,
    global_: bool,
) -> tuple[int, int] | None:
    """The ``(earlier, later)`` years a ``change`` view compares (None: the two latest
    among the region's rows), after checking the options; a one-line error naming the fix
    where they cannot work."""
    if view != "change":
        if years is not None:
            raise InvalidInputError(
                f"years={years!r} picks the pair that view 'change' compares; add "
                "view='change', or drop years",
                params=("years", "view"),
            )
        return None
    given = [n for n, v in (("year", year), ("time", time), ("global_", global_)) if v]
    if given:
        raise InvalidInputError(
            f"view 'change' compares the rows of each place in a pair years=(A, B); drop "
            f"{given[0]}",
            params=("years", given[0], "view"),
        )
    if "datetime" not in corpus.columns:
        raise InvalidInputError(
            f"view 'change' pairs each place's rows of an earlier and a later year, but this "
            f"corpus has no datetime column (columns {corpus.columns}); use another view",
            params=("view",),
        )
    have = span(corpus)
    if have is not None and have[0] == have[1]:
        raise InvalidInputError(
            f"view 'change' pairs each place's rows of an earlier and a later year, but every "
            f"row of this corpus is from {have[0]}: no years=(A, B) can pair them; use another "
            "view",
            params=("years", "view"),
        )
    if years is None:
        return None
    pair = _check_pair(years)
    if have is not None and not (have[0] <= pair[0] and pair[1] <= have[1]):
        raise InvalidInputError(
            f"years=({pair[0]}, {pair[1]}) lie outside the corpus's span {_span_text(have)}; "
            "pick a pair within it",
            params=("years",),
        )
    return pair


def row_years(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The UTC calendar year of each ``datetime`` (int64; -1 where null).

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> t = pa.array([dt.datetime(2023, 12, 31, 23), None], pa.timestamp("us", tz="UTC"))
    >>> row_years(t).tolist()
    [2023, -1]
    """
    years = pc.year(column)
    return np.asarray(to_numpy(pc.fill_null(years, -1)), dtype=np.int64)


def pick_years(
    present: np.ndarray, asked: tuple[int, int] | None, corpus: Corpus | None
) -> tuple[int, int]:
    """``asked``, or the two latest years in ``present`` (the rows' years); a one-line
    error when the region's rows hold fewer than two years.

    Examples
    --------
    >>> import numpy as np
    >>> pick_years(np.array([2022, 2024, 2023, 2024]), None, corpus=None)
    (2023, 2024)
    """
    if asked is not None:
        return asked
    distinct = np.unique(present[present >= 0])
    if distinct.size < 2:
        have = span(corpus) if corpus is not None else None
        where = f" (the corpus spans {_span_text(have)})" if have is not None else ""
        found = " and ".join(str(v) for v in distinct.tolist()) or "no year"
        raise InvalidInputError(
            f"view 'change' pairs each place's rows of an earlier and a later year, but the "
            f"region's rows are from {found} only{where}; draw a region observed in both, or "
            "pick years=(A, B)",
            params=("years", "view"),
        )
    return int(distinct[-2]), int(distinct[-1])


def place_pairs(
    geometry: pa.ChunkedArray | pa.Array,
    years: np.ndarray,
    keys: np.ndarray,
    pair: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(earlier, later)`` of every place (identical geometry WKB) with a row
    in each year of ``pair``, ordered by the later row; in a year with several rows of a
    place, the smallest ``keys`` (id order) is taken."""
    if len(geometry) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    arr = geometry.combine_chunks() if isinstance(geometry, pa.ChunkedArray) else geometry
    groups = np.asarray(to_numpy(pc.dictionary_encode(arr).indices), dtype=np.int64)
    first: list[np.ndarray] = []
    for y in pair:
        rows = np.flatnonzero(years == y)
        rows = rows[np.lexsort((keys[rows], groups[rows]))]
        g = groups[rows]
        keep = np.ones(rows.shape[0], dtype=bool)
        keep[1:] = g[1:] != g[:-1]
        slot = np.full(int(groups.max()) + 1, -1, dtype=np.int64)
        slot[g[keep]] = rows[keep]
        first.append(slot)
    both = (first[0] >= 0) & (first[1] >= 0)
    earlier, later = first[0][both], first[1][both]
    order = np.argsort(later, kind="stable")
    return earlier[order], later[order]
