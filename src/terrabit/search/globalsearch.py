"""Exact global top-k, scanning shards best-first by the manifest's summary balls.

Every manifest row holds a few Hamming balls, ``summary_codes[j]`` with radius
``summary_radii[j]``, that cover every code of the shard (``terrabit.corpus.summary``).
By the triangle inequality, for a query code ``q`` every row code ``c`` of the shard has
``d(q, c) >= min_j max(0, d(q, summary_codes[j]) - summary_radii[j])``: a lower bound
(:func:`shard_lower_bounds`). The search ranks the shards by ``(bound, path)``, scans
them in that order keeping the running top-k by ``(distance, id)``, and stops before a
shard whose bound is **greater** than the k-th best distance so far (every later
shard's bound is at least as large). The result is exactly the brute-force top-k (ties
broken by id: a shard whose bound *equals* the k-th distance is still scanned, since it
could hold an equal distance with a smaller id).

With a budget (``max_shards``) the scan also stops after that many shards; the stats
say whether the result is still exact (``exact``: no unscanned shard could have held a
better row).

Scope: one positive exemplar and no negatives, the ``topk`` view, plain Hamming
distance (every ``combine`` of one code is that code; a float-vector exemplar is encoded
and ranked by Hamming too, since the bound holds for Hamming only — ``asymmetric=True``
is refused); ``invert`` flips the query code
bits, for which the bound holds alike. No dedupe, no re-rank. The stats report
``shards_scanned`` against ``shards_total`` (the shards the region and time allow).

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus import open as open_corpus, publish
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.search.query import search
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=400, dims=32), tmp / "c", max_rows=40)
>>> with open_corpus(tmp / "c") as corpus:
...     result = search(corpus, positives=["p000000003"], k=3, global_=True)
>>> result.shown.num_rows, result.stats["shards_scanned"] <= result.stats["shards_total"]
(3, True)
"""

from __future__ import annotations

import time as _time
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrabit._arrow import array, to_numpy
from terrabit._progress import progress_bar
from terrabit.corpus.reader import Corpus, Selection
from terrabit.errors import InvalidInputError
from terrabit.kernels import hamming_distances
from terrabit.search.columns import fixed_codes
from terrabit.search.resolve import resolve_exemplars
from terrabit.search.result import SearchResult, empty_table
from terrabit.search.views import topk

if TYPE_CHECKING:  # query.py runs global_search: imported for the annotation only
    from terrabit.search.query import Query

__all__ = ["global_search", "shard_lower_bounds"]


def shard_lower_bounds(manifest: pa.Table, query: np.ndarray) -> np.ndarray:
    """Per manifest row, a lower bound (int64) on the Hamming distance from ``query`` to its codes.

    ``min_j max(0, d(query, summary_codes[j]) - summary_radii[j])`` over the shard's
    summary balls (every code of the shard lies in one of them, so by the triangle
    inequality no code is closer than that). A manifest written before the balls (one
    ``summary_code`` with ``summary_radius_bits``) is read as one ball per shard.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> m = pa.table({"summary_codes": pa.array([[b"\\x00"], [b"\\xff", b"\\x0f"]],
    ...                                         pa.list_(pa.binary(1))),
    ...               "summary_radii": pa.array([[1], [2, 1]], pa.list_(pa.int32()))})
    >>> shard_lower_bounds(m, np.array([0], np.uint8)).tolist()
    [0, 3]
    """
    size = int(query.shape[0])
    if manifest.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    if "summary_codes" not in manifest.column_names and "summary_code" in manifest.column_names:
        codes_col = manifest.column("summary_code")
        _check_summary(codes_col.null_count)
        centres = fixed_codes(codes_col, size)
        radii = np.asarray(to_numpy(manifest.column("summary_radius_bits")), dtype=np.int64)
        counts = np.ones(manifest.num_rows, dtype=np.int64)
    else:
        lists = manifest.column("summary_codes").combine_chunks()
        radius_lists = manifest.column("summary_radii").combine_chunks()
        _check_summary(lists.null_count)
        counts = np.asarray(to_numpy(pc.list_value_length(lists)), np.int64)
        if (counts < 1).any() or not np.array_equal(
            counts, to_numpy(pc.list_value_length(radius_lists))
        ):
            raise InvalidInputError(
                "this corpus's manifest has summary balls that are empty or whose codes and "
                "radii differ in number; validate the corpus (terrabit validate) and republish"
            )
        centres = fixed_codes(lists.flatten(), size)
        radii = np.asarray(to_numpy(radius_lists.flatten()), dtype=np.int64)
    q = np.ascontiguousarray(query, dtype=np.uint8)[None, :]
    d = hamming_distances(q, np.ascontiguousarray(centres))[0].astype(np.int64)
    per_ball = np.maximum(0, d - radii)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bound: np.ndarray = np.minimum.reduceat(per_ball, starts)
    return bound


def _check_summary(nulls: int) -> None:
    if nulls:
        raise InvalidInputError(
            "this corpus's manifest has no summary codes (a non-Hamming codec); global "
            "search needs them: republish with a Hamming codec"
        )


def global_search(corpus: Corpus, query: Query, *, t0: float, bytes0: int) -> SearchResult:
    """Best-first shard scan (see the module notes); run by ``search(global_=True)``."""
    view, time, k, max_shards = query.view, query.window, query.k, query.max_shards
    if view != "topk":
        raise InvalidInputError(
            f"global search shows a top-k only; drop global_ for view {view!r} "
            "(or pick view='topk')",
            params=("global_", "view"),
        )
    if query.dedupe:
        raise InvalidInputError(
            "global search does not dedupe; drop dedupe or global_", params=("dedupe", "global_")
        )
    pos, neg = list(query.positives), list(query.negatives)  # lists, once built
    if len(pos) != 1 or neg:
        raise InvalidInputError(
            "global search takes exactly one positive exemplar and no negatives (its shard "
            f"bound holds for one query code); got {len(pos)} positives and {len(neg)} "
            "negatives — drop global_ to combine several",
            params=("global_",),
        )
    exemplars = resolve_exemplars(corpus, pos, [], time=time, snap_m=query.snap_m)
    query_code = exemplars[0].code
    if query.invert:
        query_code = np.bitwise_not(query_code)
    selection = corpus.select(query.region, time=time)
    shards = selection.shards
    bounds = shard_lower_bounds(shards, query_code)
    paths = shards.column("path").to_pylist()
    order = sorted(range(len(paths)), key=lambda i: (int(bounds[i]), paths[i]))
    cols = ["id", "geometry", "embedding"]
    exclude = array([e.id for e in exemplars if e.id is not None], pa.string())

    best: pa.Table | None = None  # id, geometry, distance; the k best by (distance, id)
    scanned = 0
    candidates = 0
    exact = True
    with progress_bar("global search: shards", len(order)) as bar:
        for i in order:
            if best is not None and best.num_rows >= k:
                kth = float(best.column("distance")[k - 1].as_py())
                if kth < bounds[i]:
                    break
            if max_shards is not None and scanned >= max_shards:
                exact = False  # this shard could still hold a better row
                break
            best, n = _scan_shard(corpus, paths[i], selection, cols, exclude, query_code, best, k)
            scanned += 1
            candidates += n
            bar.advance()

    stats = {
        "shards_read": scanned,
        "bytes_read": int(corpus.bytes_read - bytes0),
        "candidates": candidates,
        "seconds": round(_time.perf_counter() - t0, 6),
        "shards_scanned": scanned,
        "shards_total": len(paths),
        "shard_fraction": round(scanned / len(paths), 6) if paths else 0.0,
        "exact": exact,
    }
    provenance = {
        "corpus": str(corpus.uri),
        "region": None if query.region is None else query.region.to_geojson(),
        "combine": query.combine,
        "invert": query.invert,
        "view": "topk",
        "k": k,
        "time": None if time is None else [str(v) if v is not None else None for v in time],
        "global": True,
        "asymmetric": False,
        "max_shards": max_shards,
        "exemplars": [e.to_dict() for e in exemplars],
    }
    if best is None or best.num_rows == 0:
        reason = (
            "the region lies outside the corpus"
            if not paths
            else "no row of the corpus lies in the region and time window besides the exemplar"
        )
        return SearchResult(empty_table(), "topk", exemplars, stats, reason, {"k": k}, provenance)
    scores = np.asarray(to_numpy(best.column("distance")), dtype=np.float64)
    vr = topk(scores, k, ids=np.arange(best.num_rows))  # already in (distance, id) order
    table = pa.table(
        {
            "id": best.column("id"),
            "geometry": best.column("geometry"),
            "score": array(vr.scores, pa.float64()),
            "rank": array(vr.rank, pa.int64()),
            "value": array(vr.value, pa.float64()),
            "shown": array(vr.shown, pa.bool_()),
        }
    )
    return SearchResult(table, "topk", exemplars, stats, None, {"k": k}, provenance)


def _scan_shard(
    corpus: Corpus,
    path: str,
    selection: Selection,
    cols: list[str],
    exclude: pa.Array,
    query_code: np.ndarray,
    best: pa.Table | None,
    k: int,
) -> tuple[pa.Table | None, int]:
    """Merge one shard's rows into the running top-k; return it and the rows scored."""
    table = corpus.read_shard(path, selection, columns=cols, exact=True)
    if table.num_rows and len(exclude):
        table = table.filter(pc.invert(pc.is_in(table.column("id"), value_set=exclude)))
    if table.num_rows == 0:
        return best, 0
    code_size = query_code.shape[0]
    scored = int(table.num_rows)
    d = hamming_distances(query_code[None, :], fixed_codes(table.column("embedding"), code_size))[
        0
    ].astype(np.float64)
    part = pa.table(
        {
            "id": table.column("id"),
            "geometry": table.column("geometry"),
            "distance": array(d, pa.float64()),
        }
    )
    merged = part if best is None else pa.concat_tables([best, part])
    idx = pc.sort_indices(merged, sort_keys=[("distance", "ascending"), ("id", "ascending")])
    return merged.take(idx.slice(0, k)), scored
