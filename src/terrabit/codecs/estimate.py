"""Float queries against 1-bit codes by the code's own estimator: the top ``k`` rows of a
database for each float query, as a corpus searched with ``--vector`` ranks them.

* ``rabitq`` (alone or after reducers): RaBitQ's inner-product estimate with the per-row
  correction factors, divided by the row's norm (a cosine);
* other sign-bit codes (``binary``, ``rot+binary``, ``norm+rot+binary:threshold=median``,
  …): the factor-free asymmetric score (:mod:`terrabit.codecs.asymmetric`);
* any other code has no estimator: :func:`estimator` is None.

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> X = np.random.default_rng(0).normal(size=(400, 32)).astype(np.float32)
>>> codec = parse("rabitq").fit(X[50:])
>>> estimator(codec), estimator(parse("int8").fit(X))
('rabitq', None)
>>> float_query_topk(codec, X[:3], X[50:], k=5).shape
(3, 5)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from terrabit._validation import check_int_range
from terrabit.codecs.asymmetric import asymmetric_scores_batch, is_sign_code
from terrabit.codecs.base import Codec, check_matrix
from terrabit.codecs.chain import Chain
from terrabit.codecs.rabitq import rabitq_quantizer, rabitq_scores_batch
from terrabit.errors import InvalidInputError
from terrabit.kernels.topk import select_topk

__all__ = ["Estimator", "estimator", "float_query_topk"]

Estimator = Literal["rabitq", "asymmetric"]
"""How a float query is scored: RaBitQ with its factors, or factor-free sign bits."""

_BATCH = 256  # queries scored at once: [batch, n] float32 scores


def estimator(codec: Codec) -> Estimator | None:
    """The estimator a fitted ``codec`` scores float queries with, or None (no 1-bit code)."""
    if rabitq_quantizer(codec) is not None:
        return "rabitq"
    return "asymmetric" if is_sign_code(codec) else None


def float_query_topk(
    codec: Codec,
    queries: ArrayLike,
    rows: ArrayLike,
    *,
    k: int,
    codes: NDArray[np.uint8] | None = None,
    query_bits: int | None = None,
) -> NDArray[np.int64]:
    """Row numbers of the ``k`` rows of ``rows`` that the estimator of ``codec`` ranks
    closest to each float query (closest first; ties to the lower row): ``[m, k]``.

    Parameters
    ----------
    codec : Codec
        A fitted 1-bit code with an estimator (:func:`estimator` not None).
    queries, rows : float arrays ``[m, d]`` and ``[n, d]``
        Float queries and the database rows (the factors of ``rabitq`` come from them).
    k : int
        Neighbours per query (at most ``n``).
    codes : uint8 array, optional
        ``codec.encode(rows)`` when already computed.
    query_bits : int, optional
        ``rabitq`` only: quantize the query to this many bits first (the browser uses 4).

    Raises
    ------
    InvalidInputError
        The code has no estimator, ``k`` is out of range, or ``query_bits`` is given for a
        code other than ``rabitq``.
    """
    how = estimator(codec)
    if how is None:
        raise InvalidInputError(
            f"{codec.spec!r} has no estimator for float queries; use a 1-bit sign code "
            "(binary, rot+binary, …) or rabitq",
            params=("codec",),
        )
    if query_bits is not None and how != "rabitq":
        raise InvalidInputError(
            f"query_bits quantizes rabitq's float query; {codec.spec!r} has none, drop it",
            params=("query_bits",),
        )
    Q, D = check_matrix(queries, name="queries"), check_matrix(rows, name="rows")
    check_int_range("k", k, 1, D.shape[0])
    codes = codec.encode(D) if codes is None else codes
    inv_norm: NDArray[np.float32] | None = None
    if how == "rabitq":
        rq = rabitq_quantizer(codec)
        assert rq is not None
        fac = rq.factors(codec.transform(D) if isinstance(codec, Chain) else D)
        inv_norm = (1.0 / np.maximum(rq.row_norms(fac), np.finfo(np.float32).tiny)).astype(
            np.float32
        )
    out = np.empty((Q.shape[0], k), dtype=np.int64)
    for start in range(0, Q.shape[0], _BATCH):
        batch = Q[start : start + _BATCH]
        if inv_norm is not None:
            neg_ip = rabitq_scores_batch(
                codec, batch, codes, fac, metric="ip", query_bits=query_bits
            )
            scores = -neg_ip * inv_norm  # the estimated cosine times |q|: higher = closer
        else:
            scores = -asymmetric_scores_batch(codec, batch, codes)
        out[start : start + len(batch)] = top_k(scores, k)
    return out


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.int64]:
    """Column numbers of the ``k`` highest scores of each row (highest first; ties by
    lower column): :func:`~terrabit.kernels.topk.select_topk` of the negated scores.

    >>> top_k(np.array([[0.1, 0.9, 0.9, 0.2]]), 2).tolist()
    [[1, 2]]
    """
    out: NDArray[np.int64] = select_topk(-scores, k)[1]
    return out
