"""The asymmetric estimator for sign-bit codes: a float query scored against 1-bit codes
without decoding them (RaBitQ's estimator without its correction factors; the codec
``rabitq`` stores those factors and has the full estimator,
:func:`~terrabit.codecs.rabitq.rabitq_scores`). Lower is more similar.

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

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from terrabit.codecs.base import Codec
from terrabit.errors import InvalidInputError

__all__ = ["asymmetric_scores", "asymmetric_scores_batch", "is_sign_code", "signs"]


def _sign_quantizer(
    codec: Codec,
) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray] | None:
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


def _require_sign_quantizer(
    codec: Codec,
) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    found = _sign_quantizer(codec)
    if found is None:
        raise InvalidInputError(
            f"asymmetric scoring needs a sign-bit codec (binary, srp+binary, itq+binary, …); "
            f"this corpus uses {codec.spec!r}"
        )
    return found


def asymmetric_scores(codec: Codec, query: np.ndarray, codes: np.ndarray) -> np.ndarray:
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
    transform, threshold = _require_sign_quantizer(codec)
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


def is_sign_code(codec: Codec) -> bool:
    """Whether :func:`asymmetric_scores` can score ``codec``'s codes (a ``binary``
    quantizer, alone or at the end of a chain).

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> X = np.eye(8, dtype=np.float32)
    >>> is_sign_code(parse("rot+binary").fit(X)), is_sign_code(parse("int8").fit(X))
    (True, False)
    """
    return _sign_quantizer(codec) is not None


def signs(codes: NDArray[np.uint8], d: int) -> NDArray[np.float32]:
    """The ``±1`` matrix ``[n, d]`` (float32) of packed MSB-first sign codes: ``+1`` where a
    bit is set, ``-1`` elsewhere (``4 * n * d`` bytes, for scoring many queries at once).

    Examples
    --------
    >>> signs(np.array([[0b10100000]], np.uint8), 3).tolist()
    [[1.0, -1.0, 1.0]]
    """
    bits = np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1, count=d)
    out: NDArray[np.float32] = bits.astype(np.float32)
    out *= 2.0
    out -= 1.0
    return out


def asymmetric_scores_batch(
    codec: Codec, queries: ArrayLike, codes: NDArray[np.uint8]
) -> NDArray[np.float32]:
    """:func:`asymmetric_scores` of many float queries at once: ``[m, n]``, row ``i`` equal
    (to float32 precision) to ``asymmetric_scores(codec, queries[i], codes)``.

    The codes are unpacked once to :func:`signs` and scored by one matrix product, so it
    suits many queries against a moderate number of codes (a sample, a shortlist); the
    single-query function scans any number of codes in ``O(n * code_size)`` memory.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> X = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    >>> codec = parse("rot+binary").fit(X)
    >>> codes = codec.encode(X)
    >>> batch = asymmetric_scores_batch(codec, X[:3], codes)
    >>> bool(np.allclose(batch[2], asymmetric_scores(codec, X[2], codes), atol=1e-5))
    True
    """
    transform, threshold = _require_sign_quantizer(codec)
    Q = np.asarray(transform(np.asarray(queries, dtype=np.float32)), dtype=np.float64)
    Q = Q - threshold
    norms = np.linalg.norm(Q, axis=1, keepdims=True)
    Q = np.where(norms > 0, Q / np.where(norms > 0, norms, 1.0), Q)
    d = threshold.shape[0]
    out: NDArray[np.float32] = Q.astype(np.float32) @ signs(codes, d).T
    out *= np.float32(-1.0 / np.sqrt(d))
    return out
