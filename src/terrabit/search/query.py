"""``search``: a region + exemplars -> candidates scored, ranked and shown by a view.

The pipeline: :class:`~terrabit.region.Region` -> manifest pruning -> row-group pruning
-> read ``id, geometry, bbox, embedding`` (``rerank`` when re-ranking) -> exclude the
exemplars -> exact Hamming score (:func:`terrabit.search.score`) -> optional dedupe ->
optional re-rank -> view -> a ranked Arrow table.

Exemplars (``positives`` / ``negatives``) may be

* a corpus id (``str``): that row, wherever it lies;
* a point ``(lon, lat)``: the row whose footprint contains it, fetched even outside the
  region with minimal I/O (the manifest extent picks the shards, the ``bbox`` statistics
  the row groups); when several rows cover the point (the same place in two years), the
  one inside the time filter is preferred, then the lowest id;
* a raw float vector (1-D, ``dims`` numbers): encoded with the corpus codec.

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

``asymmetric=True`` scores the exemplars' float vectors against the sign bits
(:func:`asymmetric_scores`) instead of Hamming distance; as the re-rank shortlist it
lifts that 1000-row recall from 0.89 to 0.94.

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

import logging
import math
import time as _time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from terrabit._compat import lazy_import
from terrabit._validation import check_choice
from terrabit.errors import InvalidInputError
from terrabit.region import Region
from terrabit.search.constants import MAX_CANDIDATES
from terrabit.search.constants import rerank_shortlist as default_shortlist
from terrabit.search.exemplars import Combine, score
from terrabit.search.views import (
    ViewResult,
    gradient,
    heatmap,
    outlier,
    surprise,
    threshold,
    topk,
)

__all__ = ["Exemplar", "SearchResult", "View", "search"]

log = logging.getLogger(__name__)

#: The six views.
View = Literal["topk", "heatmap", "threshold", "outlier", "surprise", "gradient"]
_VIEWS: tuple[str, ...] = get_args(View)
_COMBINES: tuple[str, ...] = get_args(Combine)
_NEEDS_EXEMPLAR = ("topk", "heatmap", "threshold", "gradient")


# ------------------------------------------------------------------------- results


@dataclass
class Exemplar:
    """One resolved exemplar.

    Attributes
    ----------
    role : {"positive", "negative"}
    kind : {"id", "point", "vector"}
        How it was given.
    key : str
        As given: the id, ``"lon,lat"`` or ``"vector[i]"``.
    code : uint8 array ``[code_size]``
        Its code in the corpus codec.
    id, geometry : str and WKB bytes, or None
        The corpus row (None for a raw vector).
    vector : float32 array or None
        The raw float vector (vectors only).
    rerank_code : uint8 array or None
        The row's ``rerank`` code, when the corpus has one.
    """

    role: str
    kind: str
    key: str
    code: np.ndarray
    id: str | None = None
    geometry: bytes | None = None
    vector: np.ndarray | None = None
    rerank_code: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able provenance (no code bytes)."""
        return {"role": self.role, "kind": self.kind, "key": self.key, "id": self.id}


@dataclass
class SearchResult:
    """What :func:`search` returns.

    Attributes
    ----------
    table : pyarrow.Table
        The candidates, sorted by ``rank`` (for ``topk``: only the rows scoring at most
        the k-th best score — the shown rows plus ties at the cut; ranks are global;
        every other view: every candidate): ``id``, ``geometry`` (WKB, CRS84),
        ``score`` (what the view ranks by, ascending), ``rank`` (1 = best, unique, ties
        by id), ``value`` (what the view shows), ``shown`` (displayed by the view), and
        ``hamming`` (the Hamming score) when re-ranked.
    view : str
    exemplars : list of Exemplar
    stats : dict
        ``shards_read``, ``bytes_read``, ``candidates``, ``seconds`` (plus
        ``shards_total``/``shards_scanned`` for a global search, ``reranked``).
    reason : str or None
        Why the result is empty, when it is.
    extra : dict
        View figures (threshold ``t`` and histogram, heatmap ``min``/``max`` …).
    query : dict
        The query's provenance (what :func:`~terrabit.search.export.export` stores).
    """

    table: pa.Table
    view: str
    exemplars: list[Exemplar]
    stats: dict[str, Any]
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> pa.Table:
        """The rows the view shows, by rank."""
        return self.table.filter(self.table.column("shown"))

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def to_json(self) -> dict[str, Any]:
        """``{"results": [{"id", "score", "rank"}…], "stats": {…}}`` of the shown rows."""
        shown = self.shown
        rows = [
            {"id": i, "score": float(s), "rank": int(r)}
            for i, s, r in zip(
                shown.column("id").to_pylist(),
                shown.column("score").to_pylist(),
                shown.column("rank").to_pylist(),
                strict=True,
            )
        ]
        out: dict[str, Any] = {"results": rows, "stats": dict(self.stats)}
        if self.reason:
            out["reason"] = self.reason
        return out

    def to_geodataframe(self, *, shown_only: bool = True) -> Any:
        """The (shown) rows as a geopandas GeoDataFrame in ``OGC:CRS84``."""
        gpd = lazy_import("geopandas", "geo")
        table = self.shown if shown_only else self.table
        frame = table.drop_columns(["geometry"]).to_pandas()
        geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        return gpd.GeoDataFrame(frame, geometry=geoms, crs="OGC:CRS84")


# ------------------------------------------------------------------------- helpers


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


def time_window(
    corpus: Any, year: int | None, time: tuple[Any, Any] | None
) -> tuple[Any, Any] | None:
    """The ``(start, end)`` time filter from ``year`` or ``time`` (not both)."""
    if year is not None and time is not None:
        raise InvalidInputError("pass either year= or time=, not both")
    if year is None:
        return time
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1 <= year <= 9998:
        raise InvalidInputError(f"year must be an integer year like 2024, got {year!r}")
    if "datetime" not in corpus.columns:
        raise InvalidInputError(
            f"this corpus has no datetime column (columns {corpus.columns}), so year= "
            "cannot filter it; drop --year"
        )
    return (f"{int(year):04d}-01-01", f"{int(year) + 1:04d}-01-01")


#: Per open corpus, exemplar rows found by id outside the region (one row each).
_ID_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], tuple[pa.Table, int]]] = (
    weakref.WeakKeyDictionary()
)


# ---------------------------------------------------------------------- exemplars


def _as_point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, tuple | list) and len(value) == 2:
        try:
            lon, lat = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
        return lon, lat
    return None


def _row_columns(corpus: Any, rerank: bool) -> list[str]:
    cols = ["id", "geometry", "bbox", "embedding"]
    if "datetime" in corpus.columns:
        cols.append("datetime")
    if rerank:
        cols.append("rerank")
    return cols


def _row_exemplar(
    corpus: Any, table: pa.Table, i: int, role: str, kind: str, key: str, rerank: bool
) -> Exemplar:
    code_size = int(corpus.metadata["code_size"])
    code = fixed_codes(table.column("embedding").slice(i, 1), code_size)[0].copy()
    rr = None
    if rerank:
        size = int(corpus.metadata["rerank_code_size"])
        rr = fixed_codes(table.column("rerank").slice(i, 1), size)[0].copy()
    return Exemplar(
        role=role,
        kind=kind,
        key=key,
        code=code,
        id=table.column("id")[i].as_py(),
        geometry=table.column("geometry")[i].as_py(),
        rerank_code=rr,
    )


def _point_exemplar(
    corpus: Any,
    lon: float,
    lat: float,
    role: str,
    rerank: bool,
    time: tuple[Any, Any] | None,
) -> Exemplar:
    key = f"{lon:g},{lat:g}"
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInputError(
            f"exemplar point {key} is out of range: give (lon, lat) with lon in [-180, 180] "
            "and lat in [-90, 90]"
        )
    table = corpus.read((lon, lat, lon, lat), columns=_row_columns(corpus, rerank))  # touch
    if table.num_rows == 0:
        raise InvalidInputError(
            f"no patch at {lon:g},{lat:g}: no row's footprint of this corpus contains the "
            "point; pick a point on a patch (or pass an id)"
        )
    order = list(range(table.num_rows))
    ids = table.column("id").to_pylist()
    in_time = np.ones(table.num_rows, dtype=bool)
    if time is not None and "datetime" in table.column_names:
        lo, hi = time
        t = table.column("datetime")
        if lo is not None:
            in_time &= np.asarray(
                pc.fill_null(pc.greater_equal(t, pa.scalar(_ts(lo), t.type)), False)
            )
        if hi is not None:
            in_time &= np.asarray(pc.fill_null(pc.less(t, pa.scalar(_ts(hi), t.type)), False))
    order.sort(key=lambda j: (not in_time[j], ids[j]))
    return _row_exemplar(corpus, table, order[0], role, "point", key, rerank)


def _ts(value: Any) -> Any:
    from terrabit.corpus.reader import parse_time

    parsed = parse_time(value, "bound")
    return parsed.astype("datetime64[us]").astype(object) if parsed is not None else None


def _find_ids(corpus: Any, wanted: set[str], rerank: bool) -> dict[str, tuple[pa.Table, int]]:
    """Rows of ``wanted`` ids anywhere in the corpus: scan the ``id`` column shard by shard."""
    found: dict[str, tuple[pa.Table, int]] = {}
    if not wanted:
        return found
    try:
        known = _ID_CACHE.setdefault(corpus, {})
    except TypeError:
        known = {}
    for value in sorted(wanted):
        if (value, rerank) in known:
            found[value] = known[(value, rerank)]
            wanted.discard(value)
    for path in corpus.manifest.column("path").to_pylist() if wanted else []:
        ids = corpus.read_shard(path, columns=["id"])
        if ids.num_rows == 0:
            continue
        hit = pc.is_in(ids.column("id"), value_set=pa.array(sorted(wanted), pa.string()))
        if not pc.any(hit).as_py():
            continue
        rows = corpus.read_shard(path, columns=_row_columns(corpus, rerank))
        rows = rows.filter(pc.is_in(rows.column("id"), value_set=pa.array(sorted(wanted))))
        for i, value in enumerate(rows.column("id").to_pylist()):
            found[value] = known[(value, rerank)] = (rows.slice(i, 1), 0)
            wanted.discard(value)
        if not wanted:
            break
    return found


def resolve_exemplars(
    corpus: Any,
    positives: Sequence[Any],
    negatives: Sequence[Any],
    *,
    candidates: pa.Table | None = None,
    rerank: bool = False,
    time: tuple[Any, Any] | None = None,
) -> list[Exemplar]:
    """Resolve ids, points and vectors to :class:`Exemplar` (codes in the corpus codec).

    Raises
    ------
    InvalidInputError
        Unknown ids (listed, first 10), a point with no patch, a vector of the wrong
        dimension or a value that is none of the three.
    """
    dims = int(corpus.metadata["dims"])
    out: list[Exemplar | None] = []
    pending: list[tuple[int, str, str]] = []  # (slot, role, id)
    cand_index: dict[str, int] = {}
    wanted_ids = [
        v
        for vals in (positives, negatives)
        if not isinstance(vals, str | bytes | np.ndarray)
        for v in vals
        if isinstance(v, str)
    ]
    wanted_ids += [v for v in (positives, negatives) if isinstance(v, str)]
    if candidates is not None and candidates.num_rows and wanted_ids:
        # hash the few wanted ids, scan the candidates once
        cand_ids = candidates.column("id")
        hit = pc.is_in(cand_ids, value_set=pa.array(wanted_ids, pa.string()))
        rows = np.flatnonzero(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool))
        cand_index = {cand_ids[int(i)].as_py(): int(i) for i in rows}
    n_vec = 0
    for role, values in (("positive", positives), ("negative", negatives)):
        if isinstance(values, str | bytes) or (isinstance(values, np.ndarray) and values.ndim == 1):
            values = [values]
        for value in values:
            if isinstance(value, str):
                if value in cand_index and candidates is not None:
                    out.append(
                        _row_exemplar(
                            corpus, candidates, cand_index[value], role, "id", value, rerank
                        )
                    )
                else:
                    pending.append((len(out), role, value))
                    out.append(None)
                continue
            point = _as_point(value)
            if point is not None and dims != 2:
                out.append(_point_exemplar(corpus, point[0], point[1], role, rerank, time))
                continue
            try:
                vec = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"{role} exemplar {value!r:.60} is neither an id (str), a (lon, lat) "
                    f"point nor a float vector of {dims} numbers"
                ) from exc
            if vec.ndim != 1 or vec.shape[0] != dims:
                raise InvalidInputError(
                    f"{role} vector has shape {vec.shape}, but this corpus embeds {dims} "
                    f"dimensions; pass a 1-D vector of {dims} floats"
                )
            if not np.isfinite(vec).all():
                raise InvalidInputError(f"{role} vector holds NaN or infinite values")
            code = corpus.codec.encode(vec[None, :])[0]
            out.append(
                Exemplar(role=role, kind="vector", key=f"vector[{n_vec}]", code=code, vector=vec)
            )
            n_vec += 1
    if pending:
        found = _find_ids(corpus, {p[2] for p in pending}, rerank)
        missing = sorted({p[2] for p in pending} - set(found))
        if missing:
            raise InvalidInputError(
                f"unknown exemplar ids {missing[:10]}"
                + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                + ": no row of this corpus has them; check the ids (e.g. from a previous "
                "search) or pass a (lon, lat) point"
            )
        for slot, role, value in pending:
            table, i = found[value]
            out[slot] = _row_exemplar(corpus, table, i, role, "id", value, rerank)
    return [e for e in out if e is not None]


# ------------------------------------------------------------------------- dedupe


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
    groups = np.asarray(pc.dictionary_encode(arr).indices.to_numpy(), dtype=np.int64)
    order = np.lexsort((keys, scores, groups))
    g = groups[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return np.sort(order[first])


# ------------------------------------------------------------------------- rerank


def _rerank_scores(corpus: Any, exemplars: list[Exemplar], rerank_codes: np.ndarray) -> np.ndarray:
    """``mean_pos (1 - cos) - mean_neg (1 - cos)`` on decoded rerank vectors."""
    codec = corpus.rerank_codec
    X = np.asarray(codec.decode(rerank_codes), dtype=np.float64)
    X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    out = np.zeros(X.shape[0], dtype=np.float64)
    for role, sign in (("positive", 1.0), ("negative", -1.0)):
        group = [e for e in exemplars if e.role == role]
        if not group:
            continue
        qs = []
        for e in group:
            if e.vector is not None:
                qs.append(np.asarray(e.vector, dtype=np.float64))
            else:
                assert e.rerank_code is not None
                qs.append(np.asarray(codec.decode(e.rerank_code[None, :])[0], dtype=np.float64))
        Q = np.stack(qs)
        Q /= np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
        out += sign * (1.0 - X @ Q.T).mean(axis=1)
    return out


# --------------------------------------------------------------------- asymmetric


def _sign_quantizer(codec: Any) -> tuple[Any, Any] | None:
    """``(to_quantizer_input, threshold)`` of a sign-bit codec, or None for any other."""
    quantizer = getattr(codec, "quantizer", codec)
    threshold = getattr(quantizer, "threshold_", None)
    if threshold is None or getattr(quantizer, "family", None) != "binary":
        return None
    transform = getattr(codec, "transform", None)
    if transform is None or quantizer is codec:

        def transform(x: np.ndarray) -> np.ndarray:
            return x

    return transform, np.asarray(threshold, dtype=np.float64)


def asymmetric_scores(codec: Any, query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``-cos(q', s)`` of a float query against sign codes (lower = more similar).

    ``q'`` is the query as the quantizer sees it (after the codec's reducers, minus the
    per-dimension threshold) and ``s_j = +1`` where bit ``j`` is set, ``-1`` elsewhere
    (``|s| = sqrt(d)``):
    the float query keeps the magnitudes that a Hamming distance throws away (RaBitQ's
    asymmetric estimator, without its correction factors). Computed with one 256-entry
    lookup table per code byte, ``O(n * code_size)``.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> codec = parse("binary").fit(np.eye(8, dtype=np.float32) - 0.5)
    >>> codes = codec.encode(np.array([[1, 1, -1, -1, -1, -1, -1, -1]], np.float32))
    >>> q = np.array([3, 1, -1, -1, -1, -1, -1, -1.0])
    >>> asymmetric_scores(codec, 2 * q / 4, codes).round(3).tolist()  # cos = 2.5 / sqrt(8)
    [-0.884]
    """
    found = _sign_quantizer(codec)
    if found is None:
        raise InvalidInputError(
            f"asymmetric scoring needs a sign-bit codec (binary, srp+binary, itq+binary, …); "
            f"this corpus uses {codec.spec!r}"
        )
    transform, threshold = found
    q = np.asarray(transform(np.asarray(query, dtype=np.float32)[None, :]), dtype=np.float64)[0]
    q = q - threshold
    norm = float(np.linalg.norm(q))
    q = q / norm if norm > 0 else q
    n_bytes = codes.shape[1]
    w = np.zeros(8 * n_bytes, dtype=np.float64)
    w[: q.shape[0]] = 2.0 * q
    # lut[p, v] = sum of w over the set bits of byte value v at byte p (MSB first)
    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64)
    lut = w.reshape(n_bytes, 8) @ bits.T
    inner = np.zeros(codes.shape[0], dtype=np.float64)
    for p in range(n_bytes):
        inner += lut[p][codes[:, p]]
    out: np.ndarray = -(inner - q.sum()) / np.sqrt(q.shape[0])
    return out


def _exemplar_vector(corpus: Any, e: Exemplar) -> np.ndarray:
    if e.vector is not None:
        return np.asarray(e.vector, dtype=np.float64)
    if e.rerank_code is not None and corpus.rerank_codec is not None:
        return np.asarray(corpus.rerank_codec.decode(e.rerank_code[None, :])[0], dtype=np.float64)
    raise InvalidInputError(
        f"asymmetric scoring needs a float vector for exemplar {e.key!r}: pass a raw vector, "
        "or use a corpus published with a rerank column (publish --rerank int8)"
    )


def _asymmetric(
    corpus: Any, pos: list[Exemplar], neg: list[Exemplar], codes: np.ndarray
) -> np.ndarray:
    """``mean_pos asym - mean_neg asym`` (see :func:`asymmetric_scores`)."""
    out = np.zeros(codes.shape[0], dtype=np.float64)
    for group, sign in ((pos, 1.0), (neg, -1.0)):
        for e in group:
            v = _exemplar_vector(corpus, e)
            out += sign * asymmetric_scores(corpus.codec, v, codes) / len(group)
    return out


# --------------------------------------------------------------------------- views


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


def _json_extra(extra: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key in ("neighbours", "reference_rows"):
            continue
        if key == "histogram":
            counts, edges = value
            out[key] = {"counts": np.asarray(counts).tolist(), "edges": np.asarray(edges).tolist()}
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _result_table(table: pa.Table, vr: ViewResult, hamming: np.ndarray | None) -> pa.Table:
    order = np.argsort(vr.rank, kind="stable")
    idx = pa.array(order)
    cols: dict[str, Any] = {
        "id": table.column("id").take(idx),
        "geometry": table.column("geometry").take(idx),
        "score": pa.array(vr.scores[order], pa.float64()),
        "rank": pa.array(vr.rank[order], pa.int64()),
        "value": pa.array(vr.value[order], pa.float64()),
        "shown": pa.array(vr.shown[order], pa.bool_()),
    }
    if hamming is not None:
        cols["hamming"] = pa.array(hamming[order], pa.float64())
    return pa.table(cols)


def empty_table(reranked: bool = False) -> pa.Table:
    """The (empty) result schema."""
    fields = [
        pa.field("id", pa.string()),
        pa.field("geometry", pa.binary()),
        pa.field("score", pa.float64()),
        pa.field("rank", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("shown", pa.bool_()),
    ]
    if reranked:
        fields.append(pa.field("hamming", pa.float64()))
    return pa.schema(fields).empty_table()


# -------------------------------------------------------------------------- search


def search(
    corpus: Any,
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
    asymmetric: bool = False,
) -> SearchResult:
    """Search a corpus by region and example.

    Parameters
    ----------
    corpus : terrabit.corpus.Corpus
        An open corpus (``terrabit.corpus.open``) with a Hamming codec.
    region : bbox, GeoJSON, shapely geometry, Region, list of those, or None
        Where to look (see :class:`~terrabit.region.Region`); ``None``: everywhere.
    positives, negatives : sequence of id (str), (lon, lat) or float vector
        Exemplars to look for / away from. ``topk``, ``heatmap``, ``threshold`` and
        ``gradient`` need at least one positive; ``outlier`` and ``surprise`` need none.
    combine : {"mean", "majority", "and", "or", "xor"}
        How several exemplars make one score (:func:`terrabit.search.score`).
    invert : bool
        Search with the bitwise NOT of the query.
    view : {"topk", "heatmap", "threshold", "outlier", "surprise", "gradient"}
    k : int
        Rows shown by ``topk`` (and the default cut-off of ``threshold``), >= 1.
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
        Re-rank a Hamming shortlist with the ``rerank`` column when there is one
        (recommended column: ``publish --rerank norm+pca:64+int8``, 64 B/row, recall@10
        against float32 >= 0.95 with a 5000-row shortlist on the synthetic world; plain
        ``int4`` stays near 0.8 at any shortlist).
    max_candidates : int
        Refuse regions holding more candidate rows than this (memory guard).
    rerank_shortlist : int, optional
        Rows re-ranked (the best by Hamming score, ties by id); default
        ``max(10 * k, 1000, candidates // 20)``.
    asymmetric : bool
        Score by the float exemplar against the sign bits
        (:func:`asymmetric_scores`) instead of Hamming distance: finer scores and a
        better re-rank shortlist. Needs ``combine="mean"``, no ``invert``, a sign-bit
        codec and a float vector per exemplar (a raw vector, or the decoded ``rerank``
        code of an id or point exemplar).

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
    check_choice("view", view, _VIEWS)
    check_choice("combine", combine, _COMBINES)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k must be a positive integer (rows to show), got {k!r}")
    k = int(k)
    if (
        isinstance(max_candidates, bool)
        or not isinstance(max_candidates, int)
        or max_candidates < 1
    ):
        raise InvalidInputError(
            f"max_candidates must be a positive integer, got {max_candidates!r}"
        )
    if rerank_shortlist is not None and (
        isinstance(rerank_shortlist, bool)
        or not isinstance(rerank_shortlist, int | np.integer)
        or rerank_shortlist < 1
    ):
        raise InvalidInputError(
            "rerank_shortlist must be a positive integer (rows to re-rank), "
            f"got {rerank_shortlist!r}"
        )
    if not corpus.codec.hamming:
        raise InvalidInputError(
            f"this corpus's codec {corpus.codec.spec!r} is not a Hamming codec; search needs "
            "one (republish with --codec binary, srp+binary or itq+binary)"
        )
    reg = None if region is None else Region.from_any(region)
    window = time_window(corpus, year, time)
    code_size = int(corpus.metadata["code_size"])

    if max_shards is not None and not global_:
        raise InvalidInputError(
            f"max_shards={max_shards!r} limits a global search; add global_=True, or drop "
            "max_shards",
            params=("max_shards", "global_"),
        )
    if max_shards is not None and (
        isinstance(max_shards, bool)
        or not isinstance(max_shards, int | np.integer)
        or max_shards < 1
    ):
        raise InvalidInputError(
            f"max_shards (a global search's shard budget) must be a positive integer; "
            f"got {max_shards!r}",
            params=("max_shards",),
        )
    if global_:
        from terrabit.search.globalsearch import global_search

        return global_search(
            corpus,
            reg,
            positives=positives,
            negatives=negatives,
            combine=combine,
            invert=invert,
            view=view,
            k=k,
            time=window,
            dedupe=dedupe,
            t0=t0,
            bytes0=bytes0,
            max_shards=None if max_shards is None else int(max_shards),
        )

    if asymmetric and (combine != "mean" or invert):
        raise InvalidInputError(
            "asymmetric scoring works with combine='mean' and no invert; drop asymmetric "
            "or those options"
        )
    has_rerank = "rerank" in corpus.columns and corpus.rerank_codec is not None
    use_rerank = bool(
        rerank
        and "rerank" in corpus.columns
        and corpus.rerank_codec is not None
        and view == "topk"
        and combine == "mean"
        and not invert
    )
    query: dict[str, Any] = {
        "corpus": str(corpus.uri),
        "region": None if reg is None else reg.to_geojson(),
        "region_repaired": bool(reg is not None and reg.repaired),
        "combine": combine,
        "invert": bool(invert),
        "view": view,
        "k": k,
        "time": None if window is None else [str(v) if v is not None else None for v in window],
        "dedupe": bool(dedupe),
        "global": False,
        "rerank": use_rerank,
        "asymmetric": bool(asymmetric),
    }
    selection = corpus.select(reg, time=window)  # the region and time checked once
    selected = selection.shards
    _guard_candidates(selected, reg, max_candidates)
    with_rr = use_rerank or (asymmetric and has_rerank)
    cols = ["id", "geometry", "bbox", "embedding"] + (["rerank"] if with_rr else [])
    table = corpus.read(selection, columns=cols)
    exemplars = resolve_exemplars(
        corpus, positives, negatives, candidates=table, rerank=with_rr, time=window
    )
    query["exemplars"] = [e.to_dict() for e in exemplars]
    pos = [e for e in exemplars if e.role == "positive"]
    neg = [e for e in exemplars if e.role == "negative"]
    if not pos and (view in _NEEDS_EXEMPLAR or neg):
        raise InvalidInputError(
            f"view {view!r} needs at least one positive exemplar (an id, a lon,lat point or a "
            "vector); only 'outlier' and 'surprise' work without"
        )

    more_stats: dict[str, Any] = {}

    def finish(table_out: pa.Table, reason: str | None, extra: dict[str, Any]) -> SearchResult:
        stats = {
            "shards_read": int(selected.num_rows),
            "bytes_read": int(corpus.bytes_read - bytes0),
            "candidates": n_candidates,
            "seconds": round(_time.perf_counter() - t0, 6),
        }
        stats.update(more_stats)
        return SearchResult(table_out, view, exemplars, stats, reason, extra, query)

    # exclude the exemplars (and, with dedupe, every row at an exemplar's place)
    ex_ids = [e.id for e in exemplars if e.id is not None]
    if ex_ids and table.num_rows:
        drop = pc.is_in(table.column("id"), value_set=pa.array(ex_ids, pa.string()))
        if dedupe:
            geoms = [e.geometry for e in exemplars if e.geometry is not None]
            drop = pc.or_(
                drop, pc.is_in(table.column("geometry"), value_set=pa.array(geoms, pa.binary()))
            )
        table = table.filter(pc.invert(drop))
    n_candidates = int(table.num_rows)
    if n_candidates > max_candidates:
        raise InvalidInputError(
            f"the region holds {n_candidates} candidate rows, more than max_candidates="
            f"{max_candidates}; draw a smaller region or raise max_candidates"
        )
    if n_candidates == 0:
        if selected.num_rows == 0:
            reason = (
                "the region lies outside the corpus (no shard's extent meets it"
                + (" in the time window" if window is not None else "")
                + f"; the corpus covers bbox {corpus.metadata.get('bbox')})"
            )
        else:
            reason = (
                "no row of the corpus lies in the region"
                + (" and the time window" if window is not None else "")
                + (" besides the exemplars" if ex_ids else "")
            )
        return finish(empty_table(use_rerank), reason, {})

    codes = fixed_codes(table.column("embedding"), code_size)
    if pos and asymmetric:
        scores = _asymmetric(corpus, pos, neg, codes)
    elif pos:
        scores = score(
            codes,
            np.stack([e.code for e in pos]),
            np.stack([e.code for e in neg]) if neg else None,
            combine=combine,
            invert=invert,
        )
    else:
        scores = np.zeros(n_candidates, dtype=np.float64)
    if dedupe:
        keep = dedupe_rows(table.column("geometry"), scores, id_keys(table.column("id")))
        if keep.shape[0] < n_candidates:
            table, codes, scores = _take(table, keep), codes[keep], scores[keep]
    hamming = None
    if use_rerank:
        m = rerank_shortlist or default_shortlist(k, table.num_rows)
        short = _best(scores, min(m, table.num_rows))
        keys = id_keys(table.column("id").take(pa.array(short)))
        short = short[np.lexsort((keys, scores[short]))][:m]
        short.sort()
        table, codes, hamming = _take(table, short), codes[short], scores[short]
        more_stats["reranked"] = int(short.shape[0])
        rr = fixed_codes(table.column("rerank"), int(corpus.metadata["rerank_code_size"]))
        scores = _rerank_scores(corpus, exemplars, rr)
    if view == "topk" and table.num_rows > k:
        # only rows scoring at most the k-th best score can rank 1..k: rank just those
        sub = _best(scores, k)
        table, codes, scores = _take(table, sub), codes[sub], scores[sub]
        if hamming is not None:
            hamming = hamming[sub]
    keys = id_keys(table.column("id"))
    vr = _apply_view(view, k, scores, codes, table, keys)
    return finish(_result_table(table, vr, hamming), None, _json_extra(vr.extra))


def _best(scores: np.ndarray, m: int) -> np.ndarray:
    """Sorted row indices of every score <= the ``m``-th smallest (ties at the cut kept)."""
    if m >= scores.shape[0]:
        return np.arange(scores.shape[0])
    cut = np.partition(scores, m - 1)[m - 1]
    return np.flatnonzero(scores <= cut)


def _take(table: pa.Table, rows: np.ndarray) -> pa.Table:
    return table.take(pa.array(rows, pa.int64()))


def _guard_candidates(selected: pa.Table, region: Region | None, max_candidates: int) -> None:
    """Refuse early when shards lying wholly inside the region already exceed the cap."""
    if selected.num_rows == 0:
        return
    rows = np.asarray(selected.column("rows").to_numpy(), dtype=np.int64)
    if region is None or region.is_world:
        inside = rows.sum()
    else:
        boxes = [
            shapely.box(x0, y0, x1, y1)
            for x0, y0, x1, y1 in zip(
                *(selected.column(n).to_numpy() for n in ("xmin", "ymin", "xmax", "ymax")),
                strict=True,
            )
        ]
        within = shapely.covers(region.geometry, np.array(boxes, dtype=object))
        inside = rows[np.asarray(within, dtype=bool)].sum()
    if inside > max_candidates:
        raise InvalidInputError(
            f"the region holds at least {int(inside)} rows, more than max_candidates="
            f"{max_candidates}; draw a smaller region, add --year, or raise max_candidates"
        )
