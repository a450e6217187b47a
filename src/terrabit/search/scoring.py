"""Scores of candidate rows against exemplars beyond plain Hamming distance: the
asymmetric (float query against sign bits) mean over exemplars and the re-rank of a
shortlist by decoded ``rerank`` codes. Lower is more similar everywhere. The
single-query estimator, :func:`~terrabit.codecs.asymmetric.asymmetric_scores`, lives
with the codecs.

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

import numpy as np

from terrabit.codecs.asymmetric import asymmetric_scores
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError
from terrabit.search.result import Exemplar

__all__ = ["asymmetric_mean", "asymmetric_scores", "exemplar_vector", "rerank_scores"]


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
    corpus: Corpus, pos: list[Exemplar], neg: list[Exemplar], codes: np.ndarray
) -> np.ndarray:
    """``mean_pos asym - mean_neg asym`` over the exemplars' float vectors (see
    :func:`asymmetric_scores` and :func:`exemplar_vector`), one score per code."""
    out = np.zeros(codes.shape[0], dtype=np.float64)
    for group, sign in ((pos, 1.0), (neg, -1.0)):
        for e in group:
            v = exemplar_vector(corpus, e)
            out += sign * asymmetric_scores(corpus.codec, v, codes) / len(group)
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
