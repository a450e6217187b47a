"""``search``: a region + exemplars -> candidates scored, ranked and shown by a view.

:func:`search` checks its options once into a :class:`Query`, then runs its steps:

1. **candidates** (:mod:`terrabit.search.candidates`): the region and time window go to
   :meth:`Corpus.select <terrabit.corpus.reader.Corpus.select>` (converted, parsed and
   the manifest pruned once), then :meth:`Corpus.read <terrabit.corpus.reader.Corpus.read>`
   reads ``id, geometry, bbox, embedding`` (``rerank`` when re-ranking) of exactly the
   rows meeting the region; the exemplars (:mod:`terrabit.search.resolve`) are left out;
2. **scores**: exact Hamming (:func:`terrabit.search.score`) or asymmetric
   (:mod:`terrabit.search.scoring`; ``rabitq`` factors read beside the codes), optional
   dedupe, optional re-rank of a shortlist;
3. **view** (:mod:`terrabit.search.views`) -> a ranked Arrow table
   (:class:`~terrabit.search.result.SearchResult`).

Exemplars (``positives`` / ``negatives``) may be

* a corpus id (``str``): that row, wherever it lies;
* a point ``(lon, lat)``: the row whose footprint contains it, fetched even outside the
  region with minimal I/O (the manifest extent picks the shards, the ``bbox`` statistics
  the row groups); when several rows cover the point (the same place in two years), the
  one inside the time filter is preferred, then the lowest id; when none does, the
  nearest row within ``snap_m`` (the exemplar says how far: ``snapped_m``);
* a raw float vector (1-D, ``dims`` numbers; or the rows of ``vectors=`` /
  ``negative_vectors=``): encoded with the corpus codec, and scored by its float values
  when every exemplar is one (see *Asymmetric scoring*).

Ties in every view are broken by ``id``, so results never depend on load order.
``dedupe=True`` keeps one row per place: rows whose geometry WKB is byte-identical
(the world writes the same footprint for each year of a place) collapse to the
best-scoring one (then the lowest id); rows at an exemplar's place are dropped too.

Re-ranking: when the corpus has a ``rerank`` column and codec, the view is ``topk``,
``combine="mean"`` and ``invert=False``, the ``max(10 * k, 1000, candidates // 20)``
best rows by Hamming score (ties by id) are re-scored by cosine distance (``1 - cos``)
between their decoded rerank vectors and each exemplar's raw float vector (or its
decoded rerank vector): ``mean_pos (1 - cos) - mean_neg (1 - cos)``. The ``score``
column then holds that, the Hamming score a ``hamming`` column, and ``stats`` the
shortlist size (``reranked``). The ``candidates // 20`` term is measured, not a guess
(``benchmarks/search_end_to_end.py``, 100K candidates, int8): on a 256-d world a
1000-row shortlist gives recall@10 0.89 against float32, 5 % gives 0.96 (all rows 0.98).

Asymmetric scoring: a float query scored against the 1-bit codes keeps the magnitudes
a Hamming distance throws away. On a ``rabitq`` corpus (format 1.4, with its ``rabitq``
column of correction factors) each exemplar's score is RaBitQ's estimated cosine
distance ``1 - <o, q> / (|o| |q|)`` (:func:`~terrabit.codecs.rabitq.rabitq_scores`,
``metric="cos"``: ``<o, q>`` estimated from the code and the factors, ``|o|`` from the
factors, ``|q|`` from the query, in the quantizer's input space); on other sign-bit
codecs, ``-cos(q, signs)`` (:func:`asymmetric_scores`). Exemplars combine as
``mean_pos - mean_neg``. ``asymmetric=None`` (the default) scores asymmetrically iff
every exemplar is a raw float vector, the codec allows it and the search is local with
``combine="mean"`` and no ``invert``; ``True`` also scores id and point exemplars by
their decoded ``rerank`` code (:func:`~terrabit.search.scoring.choose_asymmetric`).
With sign bits as the re-rank shortlist it lifted that 1000-row recall from 0.89 to 0.94.

The region is read through :meth:`Corpus.read <terrabit.corpus.reader.Corpus.read>`,
the one exact read path, which keeps the last few region reads per open corpus, so
trying several exemplars in one region reads it once.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus import open as open_corpus, publish
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=300, dims=16), tmp / "c", max_rows=100)
>>> with open_corpus(tmp / "c") as corpus:
...     result = search(corpus, positives=["p000000007"], k=5)
>>> result.shown.column_names
['id', 'geometry', 'score', 'rank', 'value', 'shown']
>>> result.shown.num_rows, result.stats["candidates"]
(5, 299)
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrabit._arrow import array
from terrabit._validation import check_choice
from terrabit.corpus.factors import COLUMN as FACTORS_COLUMN
from terrabit.corpus.factors import factor_values
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError
from terrabit.region import Region
from terrabit.search.candidates import best_rows, dedupe_rows, guard_candidates, take_rows
from terrabit.search.change import check_change, pick_years, place_pairs, row_years
from terrabit.search.classifier import check_classifier, classifier_scores
from terrabit.search.columns import anchors, fixed_codes, id_keys
from terrabit.search.constants import MAX_CANDIDATES
from terrabit.search.constants import rerank_shortlist as default_shortlist
from terrabit.search.exemplars import Combine
from terrabit.search.exemplars import score as exemplar_score
from terrabit.search.globalsearch import global_search
from terrabit.search.resolve import exemplar_kind, exemplar_values, resolve_exemplars
from terrabit.search.result import Exemplar, SearchResult, empty_table, json_extra, result_table
from terrabit.search.scoring import (
    asymmetric_mean,
    asymmetric_scores,
    check_query_bits,
    choose_asymmetric,
    has_factors,
    rerank_scores,
)
from terrabit.search.snap import check_snap
from terrabit.search.vectors import check_vectors
from terrabit.search.views import (
    ViewResult,
    change,
    gradient,
    heatmap,
    outlier,
    surprise,
    threshold,
    topk,
)

__all__ = ["Exemplar", "Query", "Score", "SearchResult", "View", "asymmetric_scores", "search"]

#: The seven views.
View = Literal["topk", "heatmap", "threshold", "outlier", "surprise", "gradient", "change"]
_VIEWS: tuple[str, ...] = get_args(View)
#: How candidates are scored against the exemplars (lower = more similar in both).
Score = Literal["distance", "classifier"]
_SCORES: tuple[str, ...] = get_args(Score)
_COMBINES: tuple[str, ...] = get_args(Combine)
_NEEDS_EXEMPLAR = ("topk", "heatmap", "threshold", "gradient")


def _positive_int(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidInputError(
            f"{name} must be a positive integer ({what}), got {value!r}", params=(name,)
        )
    return int(value)


@dataclass(frozen=True, eq=False)
class Query:
    """A search request, checked: what :func:`search` runs (see its parameters).

    Build one with :meth:`build`, which validates every option against the corpus before
    anything is read; ``window`` is the ``(start, end)`` time filter from ``year`` or
    ``time`` (parsed once, by :meth:`Corpus.select
    <terrabit.corpus.reader.Corpus.select>`); ``positives`` and ``negatives`` are lists
    (the rows of ``vectors`` and ``negative_vectors`` appended) and ``asymmetric`` is
    decided (:func:`~terrabit.search.scoring.choose_asymmetric`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus import open as open_corpus, publish
    >>> from terrabit.corpus._fixture import write_input
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=16), tmp / "c")
    >>> with open_corpus(tmp / "c") as corpus:
    ...     Query.build(corpus, (0, 0, 10, 10), positives=["p000000003"], k=5).k
    5
    """

    region: Region | None
    positives: Sequence[Any]
    negatives: Sequence[Any]
    combine: Combine
    invert: bool
    view: View
    k: int
    window: tuple[Any, Any] | None
    dedupe: bool
    global_: bool
    max_shards: int | None
    rerank: bool
    max_candidates: int
    rerank_shortlist: int | None
    asymmetric: bool
    query_bits: int | None
    score: Score = "distance"
    years: tuple[int, int] | None = None
    snap_m: float | None = None

    @classmethod
    def build(
        cls,
        corpus: Corpus,
        region: Any = None,
        *,
        positives: Sequence[Any] = (),
        negatives: Sequence[Any] = (),
        combine: Combine = "mean",
        invert: bool = False,
        view: View = "topk",
        k: int = 50,
        year: int | None = None,
        time: tuple[Any, Any] | None = None,
        dedupe: bool = False,
        global_: bool = False,
        max_shards: int | None = None,
        rerank: bool = True,
        max_candidates: int = MAX_CANDIDATES,
        rerank_shortlist: int | None = None,
        asymmetric: bool | None = None,
        vectors: Any = None,
        negative_vectors: Any = None,
        query_bits: int | None = None,
        score: Score = "distance",
        years: Any = None,
        snap_m: float | None = None,
    ) -> Query:
        """Check every option (see :func:`search`) and return the query."""
        check_choice("view", view, _VIEWS)
        check_choice("combine", combine, _COMBINES)
        check_choice("score", score, _SCORES)
        k = _positive_int("k", k, "rows to show")
        if isinstance(max_candidates, np.integer):
            max_candidates = int(max_candidates)
        max_candidates = _positive_int("max_candidates", max_candidates, "a memory guard")
        if rerank_shortlist is not None:
            rerank_shortlist = _positive_int(
                "rerank_shortlist", rerank_shortlist, "rows to re-rank"
            )
        if not corpus.codec.hamming:
            raise InvalidInputError(
                f"this corpus's codec {corpus.codec.spec!r} is not a Hamming codec; search "
                "needs one (republish with codec binary, srp+binary or itq+binary)",
                params=("codec",),
            )
        reg = None if region is None else Region.from_any(region)
        pair = check_change(corpus, view, years, year=year, time=time, global_=bool(global_))
        window = time_window(corpus, year, time)
        if pair is not None:  # read the two years and those between only
            window = (f"{pair[0]:04d}-01-01", f"{pair[1] + 1:04d}-01-01")
        if max_shards is not None and not global_:
            raise InvalidInputError(
                f"max_shards={max_shards!r} limits a global search; add global_=True, or drop "
                "max_shards",
                params=("max_shards", "global_"),
            )
        if max_shards is not None:
            max_shards = _positive_int("max_shards", max_shards, "a global search's shard budget")
        dims = int(corpus.metadata["dims"])
        pos, neg = exemplar_values(positives), exemplar_values(negatives)
        if vectors is not None:
            pos.extend(check_vectors(vectors, name="vectors", dims=dims))
        if negative_vectors is not None:
            neg.extend(check_vectors(negative_vectors, name="negative_vectors", dims=dims))
        kinds = [exemplar_kind(v, dims) for v in (*pos, *neg)]
        if score == "classifier":
            check_classifier(
                view=view,
                combine=combine,
                invert=bool(invert),
                global_=bool(global_),
                asymmetric=asymmetric,
                positives=len(pos),
            )
            asymmetric = False
        asym = choose_asymmetric(
            corpus, asymmetric, kinds, combine=combine, invert=bool(invert), global_=bool(global_)
        )
        query_bits = check_query_bits(corpus, query_bits, asym)
        return cls(
            reg,
            pos,
            neg,
            combine,
            bool(invert),
            view,
            k,
            window,
            bool(dedupe),
            bool(global_),
            max_shards,
            bool(rerank),
            max_candidates,
            rerank_shortlist,
            asym,
            query_bits,
            score,
            pair,
            check_snap(snap_m),
        )

    def reranks(self, corpus: Corpus) -> bool:
        """Whether this query re-ranks a shortlist with the corpus's ``rerank`` column."""
        return bool(
            self.rerank
            and self.has_rerank(corpus)
            and self.score == "distance"
            and self.view == "topk"
            and self.combine == "mean"
            and not self.invert
        )

    def uses_factors(self, corpus: Corpus) -> bool:
        """Whether this query scores with the corpus's ``rabitq`` correction factors."""
        return self.asymmetric and has_factors(corpus)

    @staticmethod
    def has_rerank(corpus: Corpus) -> bool:
        """Whether the corpus has a ``rerank`` column and codec."""
        return "rerank" in corpus.columns and corpus.rerank_codec is not None

    def provenance(self, corpus: Corpus) -> dict[str, Any]:
        """The query as JSON (what :func:`~terrabit.search.export.export` stores)."""
        reg, window = self.region, self.window
        return {
            "corpus": str(corpus.uri),
            "region": None if reg is None else reg.to_geojson(),
            "region_repaired": bool(reg is not None and reg.repaired),
            "combine": self.combine,
            "invert": self.invert,
            "view": self.view,
            "k": self.k,
            "time": None if window is None else [str(v) if v is not None else None for v in window],
            "dedupe": self.dedupe,
            "global": False,
            "rerank": self.reranks(corpus),
            "asymmetric": self.asymmetric,
            "query_bits": self.query_bits,
            "score": self.score,
            "years": None if self.years is None else list(self.years),
            "snap_m": self.snap_m,
        }


def time_window(
    corpus: Corpus, year: int | None, time: tuple[Any, Any] | None
) -> tuple[Any, Any] | None:
    """The ``(start, end)`` time filter from ``year`` or ``time`` (not both)."""
    if year is not None and time is not None:
        raise InvalidInputError("pass either year or time, not both", params=("year", "time"))
    if year is None:
        return time
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1 <= year <= 9998:
        raise InvalidInputError(
            f"year must be an integer year like 2024, got {year!r}", params=("year",)
        )
    if "datetime" not in corpus.columns:
        raise InvalidInputError(
            f"this corpus has no datetime column (columns {corpus.columns}), so year= "
            "cannot filter it; drop year",
            params=("year",),
        )
    return (f"{int(year):04d}-01-01", f"{int(year) + 1:04d}-01-01")


def search(
    corpus: Corpus,
    region: Any = None,
    *,
    positives: Sequence[Any] = (),
    negatives: Sequence[Any] = (),
    combine: Combine = "mean",
    invert: bool = False,
    view: View = "topk",
    k: int = 50,
    year: int | None = None,
    time: tuple[Any, Any] | None = None,
    dedupe: bool = False,
    global_: bool = False,
    max_shards: int | None = None,
    rerank: bool = True,
    max_candidates: int = MAX_CANDIDATES,
    rerank_shortlist: int | None = None,
    asymmetric: bool | None = None,
    vectors: Any = None,
    negative_vectors: Any = None,
    query_bits: int | None = None,
    score: Score = "distance",
    years: Any = None,
    snap_m: float | None = None,
) -> SearchResult:
    """Search a corpus by region and example.

    Parameters
    ----------
    corpus : Corpus
        An open corpus (``terrabit.corpus.open``) with a Hamming codec.
    region : bbox, GeoJSON, shapely geometry, Region, list of those, or None
        Where to look (see :class:`~terrabit.region.Region`); ``None``: everywhere.
    positives, negatives : sequence of id (str), (lon, lat) or float vector
        Exemplars to look for / away from. ``topk``, ``heatmap``, ``threshold`` and
        ``gradient`` need at least one positive; ``outlier`` and ``surprise`` need none.
    vectors, negative_vectors : array_like, optional
        Float vectors ``[n, dims]`` (or one ``[dims]``), each row one more positive /
        negative exemplar (finite, of the corpus's dimension).
    combine : {"mean", "majority", "and", "or", "xor"}
        How several exemplars make one score (:func:`terrabit.search.score`).
    invert : bool
        Search with the bitwise NOT of the query.
    view : {"topk", "heatmap", "threshold", "outlier", "surprise", "gradient", "change"}
        ``change`` pairs each place's rows in two years (``years``) and ranks the places
        by the Hamming distance between them, most changed first; with exemplars, by
        ``s(later) - s(earlier)`` of the search score ``s``, most negative first (the
        places that became like the exemplars). Its table holds one row per place (the
        later row, with the earlier row's id in ``earlier``); see
        :func:`~terrabit.search.views.change`.
    k : int
        Rows shown by ``topk`` and ``change`` (and the default cut-off of ``threshold``),
        >= 1.
    year : int, optional
        Keep rows of that calendar year (UTC); needs a ``datetime`` column.
    time : (start, end), optional
        Keep rows with ``start <= datetime < end``; not with ``year``.
    dedupe : bool
        Keep one row per place (identical geometry WKB): the best scoring, then lowest id.
    global_ : bool
        Exact global top-k, scanning shards best-first by the lower bound of the
        manifest's summary balls (:mod:`terrabit.search.globalsearch`); one positive,
        ``topk`` only.
    max_shards : int, optional
        Budget of a global search: scan at most this many shards. The result is then
        exact only if the scan finished within it (``stats["exact"]``).
    rerank : bool
        Re-rank the shortlist (best by Hamming, or asymmetric, score) with the ``rerank``
        column when there is one
        (``publish --rerank auto`` measures the candidates on the data; on two real models'
        embeddings a 1000-row shortlist re-ranked by ``int8`` reaches recall@10 0.98-0.99
        and ``int4`` 0.86-0.92, while ``pca:64+int8`` falls below sign bits: RESULTS.md,
        "Real embeddings").
    max_candidates : int
        Refuse regions holding more candidate rows than this (memory guard).
    rerank_shortlist : int, optional
        Rows re-ranked (the best by Hamming score, ties by id); default
        :func:`~terrabit.search.constants.rerank_shortlist`:
        ``max(10 * k, 1000, candidates // 20)``.
    asymmetric : bool, optional
        Score the exemplars' float vectors against the 1-bit codes instead of Hamming
        distance: finer scores and a better re-rank shortlist. On a ``rabitq`` corpus
        with its factors column, by RaBitQ's estimated cosine distance; on other sign-bit
        codecs, by ``-cos(q, signs)`` (:func:`asymmetric_scores`). ``None`` (default):
        asymmetric iff every exemplar, positive and negative, is a raw float vector
        (``vectors=``, ``negative_vectors=`` or vectors among the exemplars), the codec is
        a sign-bit code or ``rabitq`` with its factors, and the search is local with
        ``combine="mean"`` and no ``invert``; otherwise Hamming. ``True``: asymmetric, id
        and point exemplars scored by their decoded ``rerank`` code (an error naming the
        fix when the corpus, codec or options cannot). ``False``: Hamming always.
    query_bits : int, optional
        On a ``rabitq`` corpus scored asymmetrically, quantize each float query to this
        many bits (1 to 8) before estimating, as the browser does with 4 (its kernel sums
        bit-plane popcounts); ``None`` (default): the float query, the finer estimate.
        An error on a search that does not score with RaBitQ's factors.
    score : {"distance", "classifier"}
        ``distance`` (default): the exemplar algebra above. ``classifier``: a logistic
        regression on the codes' bits, fitted on the positives, the negatives and a
        background sample of the region's candidates
        (:mod:`~terrabit.search.classifier`); the ``score`` column is ``1 - p`` (lower =
        more like the positives, as a distance) and the table gains a ``probability``
        column ``p``; the fit is recorded in ``result.query["classifier"]``. Needs a
        positive; without negatives the background alone is the negative class (said in
        that record). Not with ``outlier``/``surprise``, ``global_``, ``invert``,
        ``asymmetric`` or a bitwise ``combine``.
    years : (int, int), optional
        The two years ``view="change"`` compares (calendar years of ``datetime``, UTC);
        default: the two latest years among the region's rows. Not with ``year``/``time``.
    snap_m : float, optional
        A point exemplar no footprint contains takes the nearest row within this many
        metres (default: 3 footprint sizes, 1 km for point footprints;
        :mod:`~terrabit.search.snap`); the exemplar records how far (``snapped_m``).

    Returns
    -------
    SearchResult
        An empty result carries ``reason`` (a region outside the corpus, a time window
        without rows) rather than raising.

    Raises
    ------
    InvalidInputError
        ``k < 1``, an unknown view or combine, unknown ids, a point with no patch, a
        vector of the wrong dimension, no positive for a view that needs one.
    RegionError
        An invalid region.
    """
    t0 = _time.perf_counter()
    bytes0 = corpus.bytes_read
    query = Query.build(
        corpus,
        region,
        positives=positives,
        negatives=negatives,
        combine=combine,
        invert=invert,
        view=view,
        k=k,
        year=year,
        time=time,
        dedupe=dedupe,
        global_=global_,
        max_shards=max_shards,
        rerank=rerank,
        max_candidates=max_candidates,
        rerank_shortlist=rerank_shortlist,
        asymmetric=asymmetric,
        vectors=vectors,
        negative_vectors=negative_vectors,
        query_bits=query_bits,
        score=score,
        years=years,
        snap_m=snap_m,
    )
    if query.global_:
        return global_search(corpus, query, t0=t0, bytes0=bytes0)
    return _Run(corpus, query, t0, bytes0).result()


class _Run:
    """One local search: candidates -> scores -> view, with its stats."""

    def __init__(self, corpus: Corpus, query: Query, t0: float, bytes0: int) -> None:
        self.corpus, self.query = corpus, query
        self.t0, self.bytes0 = t0, bytes0
        self.use_rerank = query.reranks(corpus)
        self.stats: dict[str, Any] = {}
        self.exemplars: list[Exemplar] = []
        self.classifier: dict[str, Any] | None = None

    def result(self) -> SearchResult:
        """Run the steps and return the result."""
        q, corpus = self.query, self.corpus
        table, selected = self._candidates()
        pos = [e for e in self.exemplars if e.role == "positive"]
        neg = [e for e in self.exemplars if e.role == "negative"]
        if not pos and (q.view in _NEEDS_EXEMPLAR or neg):
            raise InvalidInputError(
                f"view {q.view!r} needs at least one positive exemplar (an id, a lon,lat point "
                "or a vector); only 'outlier', 'surprise' and 'change' work without",
                params=("view",),
            )
        table = self._leave_out_exemplars(table)
        n = int(table.num_rows)
        self.stats = {"shards_read": int(selected.num_rows), "candidates": n}
        if n > q.max_candidates:
            raise InvalidInputError(
                f"the region holds {n} candidate rows, more than max_candidates="
                f"{q.max_candidates}; draw a smaller region or raise max_candidates",
                params=("max_candidates",),
            )
        if n == 0:
            return self._finish(self._empty(), self._why_empty(selected), {})
        codes = fixed_codes(table.column("embedding"), int(corpus.metadata["code_size"]))
        scores, cols = self._scores(pos, neg, codes, table)
        if q.view == "change":
            return self._change(table, codes, scores if pos else None)
        if q.dedupe:
            keep = dedupe_rows(table.column("geometry"), scores, id_keys(table.column("id")))
            if keep.shape[0] < n:
                table, codes, scores = take_rows(table, keep), codes[keep], scores[keep]
                cols = {name: v[keep] for name, v in cols.items()}
        if self.use_rerank:  # distance scores only: ``cols`` is empty here
            table, codes, hamming, scores = self._rerank(table, codes, scores)
            cols = {"hamming": hamming}
        if q.view == "topk" and table.num_rows > q.k:
            # only rows scoring at most the k-th best score can rank 1..k: rank just those
            sub = best_rows(scores, q.k)
            table, codes, scores = take_rows(table, sub), codes[sub], scores[sub]
            cols = {name: v[sub] for name, v in cols.items()}
        vr = _apply_view(q.view, q.k, scores, codes, table, id_keys(table.column("id")))
        return self._finish(result_table(table, vr, cols), None, json_extra(vr.extra))

    def _empty(self) -> pa.Table:
        """The empty result table, with the columns this query's rows would have."""
        table = empty_table(self.use_rerank)
        if self.query.view == "change":
            return table.append_column("earlier", array([], pa.string()))
        if self.query.score == "classifier":
            return table.append_column("probability", array([], pa.float64()))
        return table

    def _change(
        self, table: pa.Table, codes: np.ndarray, scores: np.ndarray | None
    ) -> SearchResult:
        """The ``change`` view: each place's rows in the two years paired and ranked
        (``scores``: the candidates' search scores, None without exemplars)."""
        q = self.query
        years = row_years(table.column("datetime"))
        pair = pick_years(years, q.years, self.corpus)
        keys = id_keys(table.column("id"))
        earlier, later = place_pairs(table.column("geometry"), years, keys, pair)
        self.stats["places"] = int(later.shape[0])
        extra = {"k": q.k, "years": list(pair)}
        if later.shape[0] == 0:
            reason = f"no place in the region has rows in both {pair[0]} and {pair[1]}"
            return self._finish(self._empty(), reason, extra)
        both = None if scores is None else (scores[earlier], scores[later])
        vr = change(codes[earlier], codes[later], q.k, scores=both, ids=keys[later])
        cols = {"earlier": table.column("id").take(array(earlier))}
        return self._finish(result_table(take_rows(table, later), vr, cols), None, extra)

    def _candidates(self) -> tuple[pa.Table, pa.Table]:
        """The rows meeting the region (one selection, one exact read), with the exemplars
        resolved; returns them and the manifest rows of the shards selected."""
        q, corpus = self.query, self.corpus
        selection = corpus.select(q.region, time=q.window)  # region and time checked once
        guard_candidates(selection.shards, q.region, q.max_candidates)
        with_rr = self.use_rerank or (q.asymmetric and q.has_rerank(corpus))
        cols = ["id", "geometry", "bbox", "embedding"] + (["rerank"] if with_rr else [])
        if q.view == "change":
            cols.append("datetime")
        if q.uses_factors(corpus):
            cols.append(FACTORS_COLUMN)
        table = corpus.read(selection, columns=cols)
        self.exemplars = resolve_exemplars(
            corpus,
            q.positives,
            q.negatives,
            candidates=table,
            rerank=with_rr,
            time=q.window,
            snap_m=q.snap_m,
        )
        return table, selection.shards

    def _leave_out_exemplars(self, table: pa.Table) -> pa.Table:
        """The candidates without the exemplars (and, with dedupe, rows at their places)."""
        ex_ids = [e.id for e in self.exemplars if e.id is not None]
        if not ex_ids or not table.num_rows:
            return table
        drop = pc.is_in(table.column("id"), value_set=array(ex_ids, pa.string()))
        if self.query.dedupe:
            geoms = [e.geometry for e in self.exemplars if e.geometry is not None]
            drop = pc.or_(
                drop, pc.is_in(table.column("geometry"), value_set=array(geoms, pa.binary()))
            )
        return table.filter(pc.invert(drop))

    def _why_empty(self, selected: pa.Table) -> str:
        window = self.query.window
        if selected.num_rows == 0:
            return (
                "the region lies outside the corpus (no shard's extent meets it"
                + (" in the time window" if window is not None else "")
                + f"; the corpus covers bbox {self.corpus.metadata.get('bbox')})"
            )
        return (
            "no row of the corpus lies in the region"
            + (" and the time window" if window is not None else "")
            + (" besides the exemplars" if any(e.id is not None for e in self.exemplars) else "")
        )

    def _scores(
        self, pos: list[Exemplar], neg: list[Exemplar], codes: np.ndarray, table: pa.Table
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Hamming, asymmetric or classifier scores of every candidate (the rows of
        ``table``, whose codes are ``codes``; zeros without positives), and the per-row
        columns the result adds (the classifier's ``probability``)."""
        q = self.query
        if pos and q.score == "classifier":
            scores, prob, self.classifier = classifier_scores(
                codes,
                np.stack([e.code for e in pos]),
                np.stack([e.code for e in neg]) if neg else None,
                ids=id_keys(table.column("id")),
            )
            return scores, {"probability": prob}
        return self._distances(pos, neg, codes, table), {}

    def _distances(
        self, pos: list[Exemplar], neg: list[Exemplar], codes: np.ndarray, table: pa.Table
    ) -> np.ndarray:
        """Hamming (or asymmetric) scores of every candidate; zeros without positives."""
        q = self.query
        if pos and q.asymmetric:
            fac = None
            if q.uses_factors(self.corpus):
                fac = factor_values(table.column(FACTORS_COLUMN))
            return asymmetric_mean(self.corpus, pos, neg, codes, fac, query_bits=q.query_bits)
        if pos:
            return exemplar_score(
                codes,
                np.stack([e.code for e in pos]),
                np.stack([e.code for e in neg]) if neg else None,
                combine=q.combine,
                invert=q.invert,
            )
        return np.zeros(codes.shape[0], dtype=np.float64)

    def _rerank(
        self, table: pa.Table, codes: np.ndarray, scores: np.ndarray
    ) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
        """The shortlist (best Hamming scores, ties by id) re-scored by its rerank codes:
        its rows, codes, Hamming scores and new scores."""
        q, corpus = self.query, self.corpus
        m = q.rerank_shortlist or default_shortlist(q.k, table.num_rows)
        short = best_rows(scores, min(m, table.num_rows))
        keys = id_keys(table.column("id").take(array(short)))
        short = short[np.lexsort((keys, scores[short]))][:m]
        short.sort()
        table, codes, hamming = take_rows(table, short), codes[short], scores[short]
        self.stats["reranked"] = int(short.shape[0])
        rr = fixed_codes(table.column("rerank"), int(corpus.metadata["rerank_code_size"]))
        return table, codes, hamming, rerank_scores(corpus, self.exemplars, rr)

    def _finish(self, table: pa.Table, reason: str | None, extra: dict[str, Any]) -> SearchResult:
        stats = {
            "shards_read": self.stats["shards_read"],
            "bytes_read": int(self.corpus.bytes_read - self.bytes0),
            "candidates": self.stats["candidates"],
            "seconds": round(_time.perf_counter() - self.t0, 6),
        }
        for key in ("reranked", "places"):
            if key in self.stats:
                stats[key] = self.stats[key]
        query = self.query.provenance(self.corpus)
        query["exemplars"] = [e.to_dict() for e in self.exemplars]
        if self.classifier is not None:
            query["classifier"] = self.classifier
        return SearchResult(table, self.query.view, self.exemplars, stats, reason, extra, query)


def _apply_view(
    view: str,
    k: int,
    scores: np.ndarray,
    codes: np.ndarray,
    table: pa.Table,
    keys: np.ndarray,
) -> ViewResult:
    if view == "topk":
        return topk(scores, k, ids=keys)
    if view == "heatmap":
        return heatmap(scores, ids=keys)
    if view == "threshold":
        return threshold(scores, k_default=k, ids=keys)
    if view == "outlier":
        return outlier(codes, ids=keys)
    lon, lat = anchors(table)
    if view == "surprise":
        return surprise(codes, lon, lat, ids=keys)
    return gradient(scores, lon, lat, ids=keys)
