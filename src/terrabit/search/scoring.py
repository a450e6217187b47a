"""Scores of candidate rows against exemplars beyond plain Hamming distance: the
asymmetric (float query against 1-bit codes) mean over exemplars, the rule that decides
when a search scores asymmetrically, and the re-rank of a shortlist by decoded ``rerank``
codes. Lower is more similar everywhere. The single-query estimators live with the
codecs: :func:`~terrabit.codecs.asymmetric.asymmetric_scores` (sign bits) and
:func:`~terrabit.codecs.rabitq.rabitq_scores` (RaBitQ with its correction factors).

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> codec = parse("binary").fit(np.eye(8, dtype=np.float32) - 0.5)
>>> codes = codec.encode(np.eye(8, dtype=np.float32)[:2] - 0.5)
>>> asymmetric_scores(codec, np.eye(8)[0] - 0.5, codes).argmin()
np.int64(0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from terrabit._validation import check_int_range
from terrabit.codecs.asymmetric import asymmetric_scores, is_sign_code
from terrabit.codecs.rabitq import rabitq_scores
from terrabit.corpus import factors as rabitq_column
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError
from terrabit.search.resolve import ExemplarKind
from terrabit.search.result import Exemplar

__all__ = [
    "asymmetric_mean",
    "asymmetric_scores",
    "check_query_bits",
    "choose_asymmetric",
    "exemplar_vector",
    "has_factors",
    "rerank_scores",
]


def has_factors(corpus: Corpus) -> bool:
    """Whether the corpus holds RaBitQ correction factors: a codec ending in ``rabitq``
    and its ``rabitq`` column (format 1.4)."""
    return rabitq_column.COLUMN in corpus.columns and rabitq_column.has_factors(corpus.codec)


def choose_asymmetric(
    corpus: Corpus,
    asked: bool | None,
    kinds: Sequence[ExemplarKind],
    *,
    combine: str,
    invert: bool,
    global_: bool,
) -> bool:
    """Whether a search scores asymmetrically (a float query against the 1-bit codes).

    ``asked=None`` (automatic): yes iff there are exemplars and every one is a raw float
    vector (``kinds``), the codec is a sign-bit code (:func:`~terrabit.codecs.asymmetric.
    is_sign_code`) or ``rabitq`` with its factors column, and the search is local with
    ``combine="mean"`` and no ``invert`` (a global search is exact by Hamming bounds);
    otherwise Hamming. ``asked=False``: Hamming. ``asked=True``: asymmetric, or a one-line
    error naming the fix when it cannot be (an id or point exemplar is then scored by its
    decoded ``rerank`` code, which the corpus must have).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus import open as open_corpus, publish
    >>> from terrabit.corpus._fixture import write_input
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
    >>> with open_corpus(tmp / "c") as c:
    ...     opts = {"combine": "mean", "invert": False, "global_": False}
    ...     [choose_asymmetric(c, None, kinds, **opts) for kinds in (["vector"], ["id"])]
    [True, False]
    """
    capable = is_sign_code(corpus.codec) or has_factors(corpus)
    if asked is None:
        return bool(
            kinds
            and all(k == "vector" for k in kinds)
            and capable
            and combine == "mean"
            and not invert
            and not global_
        )
    if not asked:
        return False
    if global_:
        raise InvalidInputError(
            "a global search ranks by Hamming distance (its shard bounds hold for Hamming "
            "only); drop asymmetric=True, or drop global_",
            params=("asymmetric", "global_"),
        )
    if combine != "mean" or invert:
        raise InvalidInputError(
            "asymmetric scoring works with combine='mean' and no invert; drop asymmetric "
            "or those options",
            params=("asymmetric", "combine", "invert"),
        )
    if not capable:
        missing = " without its rabitq column" if rabitq_column.has_factors(corpus.codec) else ""
        raise InvalidInputError(
            f"asymmetric scoring needs a sign-bit codec (binary, rot+binary, …) or rabitq with "
            f"its correction factors; this corpus uses {corpus.codec.spec!r}{missing}: drop "
            "asymmetric=True, or republish with codec 'rabitq' (format 1.4)",
            params=("asymmetric",),
        )
    return True


def check_query_bits(corpus: Corpus, query_bits: int | None, asymmetric: bool) -> int | None:
    """``query_bits`` if the search can use it: an integer from 1 to 8 for a search scored
    asymmetrically with RaBitQ's factors (:func:`has_factors`), or None; a one-line error
    otherwise.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus import open as open_corpus, publish
    >>> from terrabit.corpus._fixture import write_input
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=8), tmp / "c")
    >>> c = open_corpus(tmp / "c")
    >>> print(check_query_bits(c, None, True))
    None
    >>> check_query_bits(c, 4, True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: query_bits=4 ... asymmetrically by sign bits; ...
    >>> c.close()
    """
    if query_bits is None:
        return None
    check_int_range("query_bits", query_bits, 1, 8)
    if not (asymmetric and has_factors(corpus)):
        how = "asymmetrically by sign bits" if asymmetric else "by Hamming distance"
        raise InvalidInputError(
            f"query_bits={query_bits} quantizes the float query of RaBitQ asymmetric scoring, "
            f"but this search on {corpus.codec.spec!r} scores {how}; drop query_bits, or "
            "search a rabitq corpus (format 1.4) asymmetrically",
            params=("query_bits",),
        )
    return query_bits


def exemplar_vector(corpus: Corpus, e: Exemplar) -> np.ndarray:
    """An exemplar's float vector: the raw vector it was given as, or the decoded
    ``rerank`` code of its row; an error when it has neither."""
    if e.vector is not None:
        return np.asarray(e.vector, dtype=np.float64)
    if e.rerank_code is not None and corpus.rerank_codec is not None:
        return np.asarray(corpus.rerank_codec.decode(e.rerank_code[None, :])[0], dtype=np.float64)
    raise InvalidInputError(
        f"asymmetric scoring needs a float vector for exemplar {e.key!r}: pass a raw vector, "
        "or use a corpus published with a rerank column (e.g. rerank='int8')",
        params=("asymmetric",),
    )


def asymmetric_mean(
    corpus: Corpus,
    pos: list[Exemplar],
    neg: list[Exemplar],
    codes: np.ndarray,
    factors: np.ndarray | None = None,
    *,
    query_bits: int | None = None,
) -> np.ndarray:
    """``mean_pos s - mean_neg s`` over the exemplars' float vectors
    (:func:`exemplar_vector`), one score per code: with the rows' RaBitQ ``factors``
    (float ``[n, 3]``), ``s`` is the estimated cosine distance ``1 - cos``
    (:func:`~terrabit.codecs.rabitq.rabitq_scores`, ``metric="cos"``; each float vector
    quantized to ``query_bits`` first when given, as the browser does with 4); without,
    ``s = -cos(q', signs)`` of :func:`asymmetric_scores`."""
    out = np.zeros(codes.shape[0], dtype=np.float64)
    for group, sign in ((pos, 1.0), (neg, -1.0)):
        for e in group:
            v = exemplar_vector(corpus, e)
            if factors is not None:
                s = rabitq_scores(
                    corpus.codec, v, codes, factors, metric="cos", query_bits=query_bits
                )
            else:
                s = asymmetric_scores(corpus.codec, v, codes)
            out += sign * s / len(group)
    return out


def rerank_scores(
    corpus: Corpus, exemplars: list[Exemplar], rerank_codes: np.ndarray
) -> np.ndarray:
    """``mean_pos (1 - cos) - mean_neg (1 - cos)`` between the decoded ``rerank_codes``
    and each exemplar's raw vector (or its decoded rerank code), one score per row."""
    codec = corpus.rerank_codec
    if codec is None:
        raise InvalidInputError(
            f"corpus {corpus.uri} has no rerank column; republish it with a rerank codec",
            params=("rerank",),
        )
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
