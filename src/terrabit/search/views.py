"""The seven search views: what a search shows of its candidates, and in which order.

Every view returns a :class:`ViewResult` over **all** ``n`` candidates (``change``: over
all ``n`` places observed in both of its years):

* ``scores`` — what the view ranks by, **ascending** (lower = ranked first);
* ``rank`` — ``1 … n``, unique: ties in ``scores`` are broken by ``ids`` when given
  (strings or integers), else by row index, so a result never depends on load order;
* ``value`` — what the view shows per candidate (a score, a normalized heat, an
  outlier-ness);
* ``shown`` — the candidates the view displays (and an export writes);
* ``extra`` — view-specific figures (histogram, threshold, reference rows …).

``topk``, ``heatmap`` and ``threshold`` rank by the search score. ``outlier``,
``surprise`` and ``gradient`` measure something where **higher is more remarkable**:
their ``value`` is that measure and their ``scores`` is ``-value``, so they too rank
ascending (rank 1 = the most outlying, surprising or edge-like candidate). ``topk`` and
``threshold`` show a subset; the four others show every candidate, coloured by ``value``.
``change`` compares each place's two years: without exemplars ``value`` is the Hamming
distance between its years' codes (higher = more changed, ranked first, ``scores =
-value``); with exemplars ``value = scores = s(later) - s(earlier)`` of the search score
``s`` (lower = more similar), most negative first: the places that *became* like the
exemplars. It shows the ``k`` first places.

Geographic neighbours (``surprise``, ``gradient``) come from
:func:`terrabit.search.geoneighbours.geo_knn`: a spatial grid, O(n·k), never O(n²).

Examples
--------
>>> import numpy as np
>>> from terrabit.search.views import topk
>>> result = topk(np.array([3.0, 1.0, 2.0, 1.0]), 2, ids=np.array(["d", "c", "b", "a"]))
>>> result.rank.tolist(), result.shown.tolist()
([4, 2, 3, 1], [False, True, False, True])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terrabit.errors import InvalidInputError
from terrabit.kernels import as_codes, hamming_distances

__all__ = [
    "ViewResult",
    "change",
    "gradient",
    "heatmap",
    "outlier",
    "rank_scores",
    "spread_rows",
    "surprise",
    "threshold",
    "topk",
]


@dataclass(frozen=True)
class ViewResult:
    """What a view makes of ``n`` candidates (all arrays are ``[n]``).

    Attributes
    ----------
    view : str
        The view's name (``"topk"``, ``"heatmap"``, …).
    scores : float64 array
        What the view ranks by, ascending.
    rank : int64 array
        ``1`` = best; unique, ties broken by id (or row index).
    value : float64 array
        What the view shows per candidate.
    shown : bool array
        The candidates the view displays.
    extra : dict
        View-specific figures.
    """

    view: str
    scores: np.ndarray
    rank: np.ndarray
    value: np.ndarray
    shown: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _as_scores(scores: Any, name: str = "scores") -> np.ndarray:
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numbers, one per candidate: {exc}") from exc
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D (one per candidate), got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InvalidInputError(
            f"{name} must be finite; rows {bad[:10].tolist()} are NaN or infinite "
            f"({bad.size} in all): drop those candidates first"
        )
    return arr


def _id_keys(ids: Any, n: int) -> np.ndarray | None:
    """A sort key for ``ids`` (the ids themselves, or their order), or None.

    Integer and string arrays sort as they are; an object array (e.g. from pyarrow) is
    replaced by the order of its values, which must be mutually comparable.
    """
    if ids is None:
        return None
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(
            f"ids must be 1-D with one id per candidate ({n}), got shape {arr.shape}"
        )
    if arr.dtype.kind in "iuUS":
        return arr
    if arr.dtype.kind != "O":
        raise InvalidInputError(f"ids must be strings or integers, got dtype {arr.dtype}")
    try:
        _, inverse = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise InvalidInputError(
            f"ids must be all strings or all integers (sortable), got a mix: {exc}"
        ) from exc
    return np.asarray(inverse, dtype=np.int64).reshape(-1)


def _order(scores: np.ndarray, ids: Any) -> np.ndarray:
    """Row order by ``(score, id, index)``."""
    n = scores.shape[0]
    keys = _id_keys(ids, n)
    index = np.arange(n, dtype=np.int64)
    if keys is None:
        return np.lexsort((index, scores))
    return np.lexsort((index, keys, scores))


def rank_scores(scores: Any, *, ids: Any = None) -> np.ndarray:
    """Ranks ``1 … n`` by ascending score; ties broken by ``ids``, then by row index.

    Examples
    --------
    >>> rank_scores([2.0, 1.0, 2.0], ids=[9, 5, 1]).tolist()
    [3, 1, 2]
    >>> rank_scores([2.0, 1.0, 2.0]).tolist()
    [2, 1, 3]
    """
    arr = _as_scores(scores)
    rank = np.empty(arr.shape[0], dtype=np.int64)
    rank[_order(arr, ids)] = np.arange(1, arr.shape[0] + 1, dtype=np.int64)
    return rank


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise InvalidInputError(f"{name} must be at least 1, got {value}")
    return int(value)


def _check_rows(name: str, n_expected: int, arr: np.ndarray, what: str) -> None:
    if arr.shape[0] != n_expected:
        raise InvalidInputError(
            f"{name} has {arr.shape[0]} rows but {what} has {n_expected}; "
            "pass one value per candidate"
        )


def _descending(view: str, value: np.ndarray, ids: Any, **extra: Any) -> ViewResult:
    """A view where higher ``value`` ranks first: ``scores = -value``."""
    scores = -value
    rank = rank_scores(scores, ids=ids)
    return ViewResult(view, scores, rank, value, np.ones(value.shape[0], bool), dict(extra))


# --------------------------------------------------------------------------- views


def topk(scores: Any, k: int, *, ids: Any = None) -> ViewResult:
    """The ``k`` best candidates (all of them when ``k >= n``).

    ``value`` is the score; ``shown`` marks ranks ``1 … k``.

    Examples
    --------
    >>> topk([0.5, 0.1, 0.3], 2).shown.tolist()
    [False, True, True]
    """
    k = _positive_int("k", k)
    arr = _as_scores(scores)
    rank = rank_scores(arr, ids=ids)
    return ViewResult("topk", arr, rank, arr.copy(), rank <= k, {"k": k})


def heatmap(scores: Any, *, ids: Any = None) -> ViewResult:
    """Every candidate, coloured by its score normalized to ``0 … 1`` (0 = best).

    ``value = (score - min) / (max - min)``; constant scores give 0 everywhere.
    ``extra`` holds ``min`` and ``max`` (None when empty).

    Examples
    --------
    >>> heatmap([4.0, 2.0, 3.0]).value.tolist()
    [1.0, 0.0, 0.5]
    """
    arr = _as_scores(scores)
    rank = rank_scores(arr, ids=ids)
    if arr.size == 0:
        return ViewResult(
            "heatmap", arr, rank, arr.copy(), np.ones(0, bool), {"min": None, "max": None}
        )
    lo, hi = float(arr.min()), float(arr.max())
    value = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    shown = np.ones(arr.shape[0], dtype=bool)
    return ViewResult("heatmap", arr, rank, value, shown, {"min": lo, "max": hi})


def threshold(
    scores: Any,
    t: float | None = None,
    *,
    k_default: int = 50,
    bins: int = 32,
    ids: Any = None,
) -> ViewResult:
    """Candidates scoring at most ``t``, with the histogram of all scores.

    Parameters
    ----------
    scores : float array ``[n]``
        Search scores, lower = more similar.
    t : float, optional
        The cut-off (inclusive). Default: the ``k_default``-th best score (the last
        candidate when ``n < k_default``), so the view starts like a top-k, ties included.
    k_default : int, default 50
        Which score ``t`` defaults to.
    bins : int, default 32
        Histogram bins over the range of the scores.

    Returns
    -------
    ViewResult
        ``value`` is the score; ``extra`` holds ``t`` (None when empty) and
        ``histogram = (counts int64 [bins], edges float64 [bins + 1])``.

    Examples
    --------
    >>> result = threshold([3.0, 1.0, 2.0, 2.0], k_default=2, bins=4)
    >>> result.extra["t"], result.shown.tolist()
    (2.0, [False, True, True, True])
    >>> result.extra["histogram"][0].tolist()
    [1, 0, 2, 1]
    """
    arr = _as_scores(scores)
    k_default = _positive_int("k_default", k_default)
    bins = _positive_int("bins", bins)
    rank = rank_scores(arr, ids=ids)
    if t is None:
        cut = float(np.sort(arr)[min(k_default, arr.size) - 1]) if arr.size else None
    else:
        try:
            cut = float(t)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"t must be a number (a score cut-off), got {t!r}") from exc
        if not np.isfinite(cut):
            raise InvalidInputError(f"t must be a finite score cut-off, got {t!r}")
    shown = arr <= cut if cut is not None else np.zeros(0, dtype=bool)
    if arr.size:
        counts, edges = np.histogram(arr, bins=bins, range=(float(arr.min()), float(arr.max())))
    else:
        counts, edges = np.histogram(arr, bins=bins, range=(0.0, 1.0))
    extra = {"t": cut, "histogram": (counts.astype(np.int64), edges)}
    return ViewResult("threshold", arr, rank, arr.copy(), shown, extra)


def spread_rows(n: int, n_refs: int, ids: Any) -> np.ndarray:
    """``min(n_refs, n)`` rows evenly spaced along the order of ``ids`` (else of rows):
    row ``order[(i * n) // m]`` for ``i = 0 … m - 1``, ``order`` sorting by ``(id, row)``.

    The deterministic sample of the ``outlier`` references and of the classifier's
    background (:mod:`terrabit.search.classifier`): it does not depend on load order.

    Examples
    --------
    >>> spread_rows(6, 3, ids=["f", "e", "d", "c", "b", "a"]).tolist()
    [5, 3, 1]
    """
    m = min(n_refs, n)
    keys = _id_keys(ids, n)
    by_id = np.arange(n) if keys is None else np.lexsort((np.arange(n), keys))
    return by_id[(np.arange(m, dtype=np.int64) * n) // m] if m else np.zeros(0, np.int64)


def outlier(codes: Any, *, n_refs: int = 200, ids: Any = None) -> ViewResult:
    """How far each code lies from a deterministic reference sample of the candidates.

    The references are ``min(n_refs, n)`` rows evenly spaced along the candidates sorted
    by id (by row when ``ids`` is None), so the sample does not depend on load order.
    ``value`` is the mean Hamming distance to the references, a reference itself
    averaging over the *other* references (a lone reference scores 0). Higher is more
    outlying and ranks first (``scores = -value``). ``extra["reference_rows"]`` lists the
    references.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0], [0], [1], [255]], dtype=np.uint8)
    >>> result = outlier(codes)
    >>> result.value.round(2).tolist(), result.rank.tolist()
    ([3.0, 3.0, 3.0, 7.67], [2, 3, 4, 1])
    """
    n_refs = _positive_int("n_refs", n_refs)
    x = as_codes("codes", codes, allow_1d=False)
    n = x.shape[0]
    refs = spread_rows(n, n_refs, ids)
    value = np.zeros(n, dtype=np.float64)
    m = refs.shape[0]
    if m:
        batch = max(1, (16 << 20) // (4 * m))  # <= 16 MB of distances at a time
        for a in range(0, n, batch):
            value[a : a + batch] = hamming_distances(x[refs], x[a : a + batch]).sum(
                axis=0, dtype=np.float64
            )
        is_ref = np.zeros(n, dtype=bool)
        is_ref[refs] = True
        # a reference's distance to itself is 0: average over the other m - 1
        value[~is_ref] /= m
        value[is_ref] = value[is_ref] / (m - 1) if m > 1 else 0.0
    return _descending("outlier", value, ids, reference_rows=refs)


def _neighbours(lon: Any, lat: Any, n: int, k: int, what: str) -> np.ndarray:
    """Indices ``[n, min(k, n - 1)]`` of each candidate's nearest patches on the ground."""
    # compiled (numba): imported by the views that need it, not by every search
    from terrabit.search.geoneighbours import _as_lonlat, geo_knn

    lon_a, lat_a = _as_lonlat(lon, lat)
    _check_rows("lon/lat", n, lon_a, what)
    kk = min(k, n - 1)
    if kk < 1:
        return np.zeros((n, 0), dtype=np.int64)
    return geo_knn(lon_a, lat_a, kk)[1]


def surprise(codes: Any, lon: Any, lat: Any, *, k: int = 8, ids: Any = None) -> ViewResult:
    """How different each code is from its ``k`` nearest patches on the ground.

    ``value`` is the mean Hamming distance to the ``min(k, n - 1)`` nearest other
    candidates (great-circle, :func:`~terrabit.search.geoneighbours.geo_knn`; 0 when
    there are none). Higher is more surprising and ranks first (``scores = -value``).
    ``extra["neighbours"]`` holds the neighbour rows ``[n, min(k, n - 1)]``.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0], [0], [255], [0]], dtype=np.uint8)
    >>> result = surprise(codes, [0.0, 0.01, 0.03, 0.07], [0.0, 0.0, 0.0, 0.0], k=2)
    >>> result.value.tolist(), result.rank.tolist()
    ([4.0, 4.0, 8.0, 4.0], [2, 3, 1, 4])
    """
    k = _positive_int("k", k)
    x = as_codes("codes", codes, allow_1d=False)
    n = x.shape[0]
    nbr = _neighbours(lon, lat, n, k, "codes")
    value = np.zeros(n, dtype=np.float64)
    if nbr.shape[1]:
        batch = max(1, (16 << 20) // (nbr.shape[1] * x.shape[1]))
        for a in range(0, n, batch):
            b = min(a + batch, n)
            diff = x[a:b, None, :] ^ x[nbr[a:b]]
            bits = np.bitwise_count(diff).sum(axis=(1, 2), dtype=np.int64)
            value[a:b] = bits / nbr.shape[1]
    return _descending("surprise", value, ids, neighbours=nbr)


def gradient(scores: Any, lon: Any, lat: Any, *, k: int = 6, ids: Any = None) -> ViewResult:
    """How sharply the score changes around each candidate on the ground (edges).

    ``value`` is the mean ``|score - score_neighbour|`` over the ``min(k, n - 1)``
    nearest other candidates (0 when there are none). Higher is more edge-like and
    ranks first (``scores = -value``). ``extra["neighbours"]`` holds the neighbour rows.

    Examples
    --------
    >>> result = gradient([0.0, 0.0, 10.0], [0.0, 0.01, 0.03], [0.0, 0.0, 0.0], k=1)
    >>> result.value.tolist(), result.rank.tolist()
    ([0.0, 0.0, 10.0], [2, 3, 1])
    """
    k = _positive_int("k", k)
    arr = _as_scores(scores)
    n = arr.shape[0]
    nbr = _neighbours(lon, lat, n, k, "scores")
    value = np.zeros(n, dtype=np.float64)
    if nbr.shape[1]:
        value = np.abs(arr[:, None] - arr[nbr]).mean(axis=1)
    return _descending("gradient", value, ids, neighbours=nbr)


def change(
    earlier: Any,
    later: Any,
    k: int,
    *,
    scores: tuple[Any, Any] | None = None,
    ids: Any = None,
) -> ViewResult:
    """How each place changed between two years; the ``k`` most changed are shown.

    Parameters
    ----------
    earlier, later : uint8 arrays ``[n, code_size]``
        The codes of the ``n`` places in the earlier and the later year (row ``i`` of both
        is one place).
    k : int
        Places shown (ranks ``1 … k``).
    scores : (earlier, later) float arrays ``[n]``, optional
        The search score of each place's two rows (lower = more like the exemplars).
        Given: ``value = scores = later - earlier``, most negative first ("became like
        the exemplars"). None: ``value`` is the Hamming distance between the two codes,
        higher ranked first (``scores = -value``).
    ids : array ``[n]``, optional
        Tie-breakers (the later rows' ids).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0], [0], [0]], np.uint8)
    >>> b = np.array([[0], [255], [15]], np.uint8)
    >>> result = change(a, b, 2)
    >>> result.value.tolist(), result.rank.tolist(), result.shown.tolist()
    ([0.0, 8.0, 4.0], [3, 1, 2], [False, True, True])
    >>> change(a, b, 1, scores=([5.0, 5.0, 5.0], [6.0, 1.0, 4.0])).value.tolist()
    [1.0, -4.0, -1.0]
    """
    k = _positive_int("k", k)
    x = as_codes("earlier", earlier, allow_1d=False)
    y = as_codes("later", later, allow_1d=False)
    if x.shape != y.shape:
        raise InvalidInputError(
            f"earlier and later codes must have the same shape (one row per place), got "
            f"{x.shape} and {y.shape}"
        )
    if scores is None:
        value = np.bitwise_count(x ^ y).sum(axis=1, dtype=np.int64).astype(np.float64)
        result = _descending("change", value, ids, k=k)
        return ViewResult("change", result.scores, result.rank, value, result.rank <= k, {"k": k})
    s_earlier, s_later = (_as_scores(v, "scores") for v in scores)
    _check_rows("scores", x.shape[0], s_earlier, "earlier")
    _check_rows("scores", x.shape[0], s_later, "later")
    delta = s_later - s_earlier
    rank = rank_scores(delta, ids=ids)
    return ViewResult("change", delta, rank, delta.copy(), rank <= k, {"k": k})
