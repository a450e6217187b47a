"""Codecs chosen by measurement: recall@10 against float32 cosine on the user's own sample.

:func:`choose` holds out ``queries`` rows of a sample (they are never in the database),
takes the exact float32 cosine neighbours of the held-out rows among the rest as the
truth, and measures every candidate's recall@10 on it:

* **code** (1 bit per dimension): each of :data:`CODE_CANDIDATES` is fitted on the
  database rows and measured both ways a corpus is queried. *Exemplar rows*: the query
  row is encoded and the top 10 by Hamming distance
  (:func:`~terrabit.kernels.hamming.hamming_topk`) are compared with the truth. *Float
  vectors*: the float query is scored against the database codes by the code's
  asymmetric estimator — ``rabitq`` by its own (:func:`~terrabit.codecs.rabitq.rabitq_scores`
  with the per-row factors, as a cosine: the inner-product estimate over ``|o|``; the
  4-bit query that the browser uses is reported beside it), other sign-bit codes by
  :func:`~terrabit.codecs.asymmetric.asymmetric_scores`, and a code with neither counts
  its exemplar figure. Both are computed for all queries at once (the codes unpacked to
  ``±1`` and one matrix product). The best **mean of the two recalls** wins; ties go to
  the earlier (simpler) candidate. ``binary`` is first and ``rabitq`` always a
  candidate, so the choice is never worse than sign bits on that mean *on the sample*.
* **rerank** (when asked for): a Hamming shortlist of :data:`SHORTLIST_ROWS` rows by the
  chosen code is re-scored by cosine between the float query and each candidate's decoded
  rerank code (:data:`RERANK_CANDIDATES`). Without a byte budget the smallest candidate
  (bytes per row) reaching :data:`TARGET_RECALL` wins; with ``max_rerank_bytes`` the best
  recall among those within the budget wins; if none reaches the target, the best
  measured one wins and the report says so. The shortlist is the exemplar-row one (Hamming);
  a float-vector search of a corpus whose code has an estimator shortlists by the
  estimator instead, which this does not measure (the report's ``shortlist_by`` says so).

Fewer than ``queries + MIN_DATABASE_ROWS`` rows is too few to measure: the choice falls
back to ``binary`` (and ``int8`` rerank) and the report's ``"fallback"`` says why.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(1200, 32)).astype(np.float32)
>>> choice = choose(X, rerank=True, queries=100)
>>> choice.codec in CODE_CANDIDATES, choice.rerank in RERANK_CANDIDATES
(True, True)
>>> sorted(choice.report)[:4]
['code', 'database_rows', 'k', 'max_rerank_bytes']
>>> choose(X[:500], rerank=False).report["fallback"][:27]
'500 sample rows are too few'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from terrabit._validation import check_int_range
from terrabit.codecs.base import Codec, check_matrix
from terrabit.codecs.chain import Chain
from terrabit.codecs.estimate import estimator, float_query_topk, top_k
from terrabit.codecs.reduce import PCA
from terrabit.codecs.registry import parse
from terrabit.errors import InvalidInputError
from terrabit.kernels.hamming import hamming_topk

__all__ = [
    "CODE_CANDIDATES",
    "MIN_DATABASE_ROWS",
    "RERANK_CANDIDATES",
    "RULE",
    "SHORTLIST_BY",
    "SHORTLIST_ROWS",
    "TARGET_RECALL",
    "CodecChoice",
    "K",
    "choose",
    "hamming_recall",
    "summary",
]

CODE_CANDIDATES: tuple[str, ...] = (
    "binary",
    "binary:threshold=median",
    "rot+binary",
    "norm+rot+binary:threshold=median",
    "rabitq",
)
"""1-bit codes measured by :func:`choose`, simplest first (ties go to the earlier)."""

RERANK_CANDIDATES: tuple[str, ...] = ("int8", "int4", "pca:128+int8", "pca:64+int8", "int2")
"""Rerank codes measured by :func:`choose` (``pca:k`` only when ``k`` < the dimension)."""

K = 10
"""Neighbours compared: recall@10."""

TARGET_RECALL = 0.95
"""Recall@10 a rerank code must reach to be chosen by size."""

SHORTLIST_ROWS = 1000
"""Rows of the Hamming shortlist that a rerank code re-scores."""

MIN_DATABASE_ROWS = 1000
"""Database rows (the sample less the held-out queries) needed for a measurement."""

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class CodecChoice:
    """What :func:`choose` chose, and the measurements behind it.

    Attributes
    ----------
    codec : str
        Spec of the chosen 1-bit code.
    rerank : str or None
        Spec of the chosen rerank code (None when no rerank was asked for).
    report : dict
        JSON-ready: the rule, ``sample_rows``, ``queries``, ``database_rows``, ``k``,
        ``shortlist``, ``target_recall``, ``max_rerank_bytes``; ``code``: the chosen
        spec and its candidates (``spec``, ``bytes_per_row``, ``exemplar_recall_at_10``,
        ``float_recall_at_10``, ``float_scoring`` — ``"rabitq"``, ``"asymmetric"`` or
        ``"hamming"`` (no estimator: the exemplar figure) —, ``float4_recall_at_10`` for
        ``rabitq`` (the 4-bit query), and ``mean_recall_at_10``, which the rule compares);
        ``rerank``: the chosen spec, its candidates (``spec``, ``bytes_per_row``,
        ``recall_at_10``), ``note`` and ``shortlist_by``; ``"fallback"`` when the sample
        was too small to measure.

    Examples
    --------
    >>> CodecChoice("binary", None, {}).codec
    'binary'
    """

    codec: str
    rerank: str | None
    report: dict[str, Any]


RULE = (
    "code: the 1-bit candidate with the best mean of two recall@10 figures against float32 "
    "cosine, exemplar rows (query row encoded, Hamming top-10) and float-vector queries "
    "(rabitq: its estimator with a float query; other sign codes: the asymmetric estimator; "
    "a code with neither: its exemplar figure); ties to the earlier, binary first, rabitq "
    "always a candidate; rerank: over a Hamming shortlist by the chosen code, the smallest "
    "candidate reaching recall@10 >= 0.95, or with max_rerank_bytes the best within the "
    "budget; none reaching it: the best measured"
)
"""How :func:`choose` chooses, stored in its report."""

SHORTLIST_BY = (
    "Hamming distance of the chosen code (an exemplar-row search); a float-vector search of "
    "a rabitq or sign-bit corpus shortlists by the estimator instead (not measured here)"
)


def choose(
    sample: ArrayLike,
    *,
    rerank: bool | None,
    max_rerank_bytes: int | None = None,
    queries: int = 500,
    seed: int = 0,
    codec: str | None = None,
) -> CodecChoice:
    """Choose a 1-bit code (and a rerank code) by recall@10 measured on ``sample``.

    Parameters
    ----------
    sample : float32 array ``[n, d]``
        Rows of the user's embeddings (for a publish: the seeded codec sample).
    rerank : bool or None
        Also choose a rerank code (None or False: no rerank).
    max_rerank_bytes : int, optional
        Byte budget per row of the rerank code (at least 1): the best recall within it.
    queries : int
        Rows held out as queries (at least 1); the rest is the database.
    seed : int
        Seed of the held-out rows: ``np.random.default_rng(seed).permutation(n)``, its
        first ``queries`` entries (same seed and sample, same choice).
    codec : str, optional
        A fixed code spec: measured (and its shortlist used for the rerank) instead of
        choosing among :data:`CODE_CANDIDATES`.

    Returns
    -------
    CodecChoice

    Raises
    ------
    InvalidInputError
        ``sample`` is not a finite 2-D float matrix, a parameter is out of range, or no
        rerank candidate fits ``max_rerank_bytes``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(1500, 16)).astype(np.float32)
    >>> c = choose(X, rerank=True, max_rerank_bytes=8, queries=200)
    >>> c.rerank, c.report["rerank"]["chosen"]
    ('int4', 'int4')
    """
    X = check_matrix(sample, name="sample")
    check_int_range("queries", queries, 1)
    check_int_range("seed", seed, 0)
    if max_rerank_bytes is not None:
        check_int_range("max_rerank_bytes", max_rerank_bytes, 1)
    n, d = X.shape
    report: dict[str, Any] = {
        "rule": RULE,
        "k": K,
        "sample_rows": int(n),
        "queries": int(queries),
        "database_rows": int(n - queries),
        "shortlist": SHORTLIST_ROWS,
        "target_recall": TARGET_RECALL,
        "max_rerank_bytes": max_rerank_bytes,
    }
    if n < queries + MIN_DATABASE_ROWS:
        report["fallback"] = (
            f"{n} sample rows are too few to measure (need queries + {MIN_DATABASE_ROWS} = "
            f"{queries + MIN_DATABASE_ROWS}); chose binary{' and int8 rerank' if rerank else ''}"
        )
        report["database_rows"] = max(int(n - queries), 0)
        fixed = codec or "binary"
        report["code"] = {"chosen": fixed, "candidates": []}
        report["rerank"] = {"chosen": "int8", "candidates": []} if rerank else None
        return CodecChoice(fixed, "int8" if rerank else None, report)
    Q, D, Qn, truth = _held_out(X, queries, seed)
    code_rows: list[dict[str, Any]] = []
    best_code, best_recall = "", -1.0
    best_q = best_d = np.empty((0, 0), np.uint8)
    for spec in CODE_CANDIDATES if codec is None else (codec,):
        fitted, q_codes, d_codes, recall = _measure_code(spec, Q, D, truth)
        row = _row(spec, fitted.code_size, recall, key="exemplar_recall_at_10")
        row.update(_float_recalls(fitted, Q, D, d_codes, truth, exemplar=recall))
        code_rows.append(row)
        if row["mean_recall_at_10"] > best_recall:
            best_code, best_recall = spec, row["mean_recall_at_10"]
            best_q, best_d = q_codes, d_codes
    report["code"] = {"chosen": best_code, "candidates": code_rows}
    if not rerank:
        report["rerank"] = None
        return CodecChoice(best_code, None, report)
    shortlist = hamming_topk(best_q, best_d, min(SHORTLIST_ROWS, len(D)))[1]
    rows = []
    axes: list[PCA] = []
    for spec in RERANK_CANDIDATES:
        m = re.match(r"pca:(\d+)\+", spec)
        if m and int(m.group(1)) >= d:
            continue  # not a reduction of this data
        fitted = _fit_rerank(spec, D, axes)
        decoded = _unit(fitted.decode(fitted.encode(D)))
        scores = np.take_along_axis(Qn @ decoded.T, shortlist, axis=1)
        found = np.take_along_axis(shortlist, top_k(scores, K), axis=1)
        rows.append(_row(spec, fitted.code_size, _recall(found, truth)))
    chosen, note = _pick_rerank(rows, max_rerank_bytes)
    report["rerank"] = {
        "chosen": chosen,
        "candidates": rows,
        "note": note,
        "shortlist_by": SHORTLIST_BY,
    }
    return CodecChoice(best_code, chosen, report)


def hamming_recall(sample: ArrayLike, spec: str, *, queries: int = 500, seed: int = 0) -> float:
    """Recall@10 of one Hamming code against float32 cosine neighbours, measured as
    :func:`choose` measures its candidates (the same held-out rows for the same seed).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(2).normal(size=(600, 32)).astype(np.float32)
    >>> 0.0 < hamming_recall(X, "binary", queries=100) <= 1.0
    True
    """
    X = check_matrix(sample, name="sample")
    check_int_range("queries", queries, 1)
    check_int_range("seed", seed, 0)
    if X.shape[0] < queries + K:
        raise InvalidInputError(
            f"sample needs at least queries + {K} = {queries + K} rows, got {X.shape[0]}",
            params=("sample", "queries"),
        )
    Q, D, _, truth = _held_out(X, queries, seed)
    return _measure_code(spec, Q, D, truth)[3]


def _fit_rerank(spec: str, D: F32, axes: list[PCA]) -> Codec:
    """A rerank candidate fitted on ``D``. A ``pca:k+…`` chain reuses the axes of the
    widest PCA fitted before it (``axes``; the first ``k`` axes are what fitting ``pca:k``
    gives), so ``pca:128+int8`` and ``pca:64+int8`` share one eigendecomposition."""
    codec = parse(spec)
    first = codec.reducers[0] if isinstance(codec, Chain) and len(codec.reducers) == 1 else None
    if not isinstance(first, PCA) or not isinstance(codec, Chain):
        return codec.fit(D)
    k = first.n
    if k is None or not axes or axes[0].components_.shape[0] < k:
        first.fit(D)
        axes[:] = [first]
        pca = first
    else:
        pca = axes[0].truncated(k)
    codec.reducers[0] = pca
    codec.quantizer.fit(pca.transform(D))
    return codec


def _held_out(X: F32, queries: int, seed: int) -> tuple[F32, F32, F32, I64]:
    """Query rows (the first ``queries`` of the seeded permutation), database rows, the
    unit query rows, and the float32 cosine top-``K`` of each query in the database."""
    order = np.random.default_rng(seed).permutation(X.shape[0])
    Q, D = X[np.sort(order[:queries])], X[np.sort(order[queries:])]
    Qn = _unit(Q)
    return Q, D, Qn, top_k(Qn @ _unit(D).T, K)


def _measure_code(
    spec: str, Q: F32, D: F32, truth: I64
) -> tuple[Codec, NDArray[np.uint8], NDArray[np.uint8], float]:
    """A Hamming code fitted on ``D``: the fitted codec, both codes and its recall@K."""
    fitted = parse(spec).fit(D)
    q_codes, d_codes = fitted.encode(Q), fitted.encode(D)
    return fitted, q_codes, d_codes, _recall(hamming_topk(q_codes, d_codes, K)[1], truth)


def _float_recalls(
    fitted: Codec, Q: F32, D: F32, d_codes: NDArray[np.uint8], truth: I64, *, exemplar: float
) -> dict[str, Any]:
    """Float-vector-query recall@K of a fitted code (its estimator's top K of the database
    codes for each float query), the scoring used, and the mean with ``exemplar``."""
    how = estimator(fitted)
    out: dict[str, Any] = {"float_scoring": how or "hamming"}
    if how is None:
        out["float_recall_at_10"] = round(exemplar, 6)
    else:
        found = float_query_topk(fitted, Q, D, k=K, codes=d_codes)
        out["float_recall_at_10"] = round(_recall(found, truth), 6)
    if how == "rabitq":
        found = float_query_topk(fitted, Q, D, k=K, codes=d_codes, query_bits=4)
        out["float4_recall_at_10"] = round(_recall(found, truth), 6)
    out["mean_recall_at_10"] = round((exemplar + out["float_recall_at_10"]) / 2, 6)
    return out


def _pick_rerank(rows: list[dict[str, Any]], budget: int | None) -> tuple[str, str]:
    """The rerank rule over measured candidate rows: (chosen spec, how it was chosen)."""
    if budget is not None:
        within = [r for r in rows if r["bytes_per_row"] <= budget]
        if not within:
            smallest = min(r["bytes_per_row"] for r in rows)
            raise InvalidInputError(
                f"no rerank candidate fits max_rerank_bytes={budget}: the smallest measured "
                f"takes {smallest} bytes per row; raise max_rerank_bytes to at least "
                f"{smallest}, or publish without a rerank column",
                params=("max_rerank_bytes",),
            )
        best = max(within, key=lambda r: (r["recall_at_10"], -r["bytes_per_row"]))
        return best["spec"], f"best recall@10 within {budget} bytes per row"
    good = [r for r in rows if r["recall_at_10"] >= TARGET_RECALL]
    if good:
        best = min(good, key=lambda r: (r["bytes_per_row"], -r["recall_at_10"]))
        return best["spec"], f"smallest reaching recall@10 >= {TARGET_RECALL}"
    best = max(rows, key=lambda r: (r["recall_at_10"], -r["bytes_per_row"]))
    return best["spec"], f"none reached recall@10 >= {TARGET_RECALL}: the best measured"


def _row(spec: str, code_size: int, recall: float, *, key: str = "recall_at_10") -> dict[str, Any]:
    return {"spec": spec, "bytes_per_row": int(code_size), key: round(recall, 6)}


def _unit(X: F32) -> F32:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    out: F32 = (X / np.maximum(norms, np.finfo(np.float32).tiny)).astype(np.float32)
    return out


def _recall(found: I64, truth: I64) -> float:
    """Mean fraction of each row of ``truth`` present in the same row of ``found``."""
    hits = sum(len(np.intersect1d(f, t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def summary(report: dict[str, Any]) -> str:
    """One line of a :func:`choose` report: the chosen codes and their measured recall
    (for the code: exemplar rows, float query — and the 4-bit query for ``rabitq`` — and
    the mean the rule compares), or the fallback.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(1200, 32)).astype(np.float32)
    >>> print(summary(choose(X, rerank=False, queries=100).report))  # doctest: +ELLIPSIS
    code ... recall@10 exemplar rows 0..., float query 0..., mean 0... (measured on 100 ...)
    >>> summary(choose(X[:500], rerank=False).report)[:37]
    'fallback: 500 sample rows are too few'
    """
    if report.get("fallback"):
        return f"fallback: {report['fallback']}"
    parts = []
    for role in ("code", "rerank"):
        part = report.get(role)
        if not part:
            continue
        row = next(r for r in part["candidates"] if r["spec"] == part["chosen"])
        figures = ", ".join(
            f"{label}{row[key]:.3f}" for key, label in _FIGURES if row.get(key) is not None
        )
        parts.append(f"{role} {part['chosen']} recall@10 {figures}")
    return f"{'; '.join(parts)} (measured on {report['queries']} held-out sample rows)"


_FIGURES = (
    ("exemplar_recall_at_10", "exemplar rows "),
    ("float_recall_at_10", "float query "),
    ("float4_recall_at_10", "4-bit query "),
    ("mean_recall_at_10", "mean "),
    ("recall_at_10", ""),
)
"""The recall figures of a report row that :func:`summary` shows, and their labels."""
