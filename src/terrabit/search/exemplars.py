"""Exemplar algebra on packed binary codes: combine, invert and score.

Codes are ``uint8 [n, code_size]`` packed bits (``numpy.packbits``, MSB-first). A search
ranks every candidate by a score where **lower is more similar**:

* ``combine="mean"``: the mean Hamming distance to the positives, minus the mean
  distance to the negatives when there are any;
* ``combine="majority" | "and" | "or" | "xor"``: the positives are first merged into one
  code by :func:`combine_codes` (the negatives into another), and the score is the
  distance to the positive code, minus the distance to the negative code;
* ``invert=True`` flips the query (bitwise NOT of the positive and negative codes,
  after combining). Over ``L`` bits the distance to ``~q`` is ``L - d``, so the score
  becomes ``L - score`` without negatives and ``-score`` with them (the ``L`` cancels).
  This is computed exactly from ``score`` rather than by flipping bits, so padding
  bits (``n_bits < 8 * code_size``) never count.

Examples
--------
>>> import numpy as np
>>> from terrabit.search.exemplars import score
>>> codes = np.array([[0b0000_0000], [0b0000_1111], [0b1111_1111]], dtype=np.uint8)
>>> score(codes, codes[:1]).tolist()
[0.0, 4.0, 8.0]
>>> score(codes, codes[:1], invert=True).tolist()
[8.0, 4.0, 0.0]
>>> score(codes, codes[:1], codes[2:]).tolist()
[-8.0, 0.0, 8.0]
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np

from terrabit._validation import check_choice
from terrabit.errors import InvalidInputError
from terrabit.kernels import as_codes, hamming_distances

__all__ = ["BitwiseCombine", "Combine", "combine_codes", "invert", "score"]

#: Ways to merge several codes into one (:func:`combine_codes`).
BitwiseCombine = Literal["majority", "and", "or", "xor"]
#: Ways to score against several exemplars (:func:`score`).
Combine = Literal["mean", "majority", "and", "or", "xor"]

_BITWISE: tuple[str, ...] = get_args(BitwiseCombine)
_COMBINE: tuple[str, ...] = get_args(Combine)


def combine_codes(codes: Any, how: BitwiseCombine) -> np.ndarray:
    """Merge packed codes into one code, bit by bit.

    Parameters
    ----------
    codes : uint8 array ``[m, code_size]`` (or one code ``[code_size]``)
        The exemplars' packed codes, ``m >= 1``.
    how : {"majority", "and", "or", "xor"}
        ``majority``: a bit is set iff it is set in **more than half** of the codes (a
        tie, possible with an even ``m``, gives 0); ``and``/``or``/``xor``: the bitwise
        operation over all the codes (``xor`` is the parity of each bit).

    Returns
    -------
    uint8 array ``[code_size]``

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0b1100], [0b1010], [0b1001]], dtype=np.uint8)
    >>> [format(int(combine_codes(codes, h)[0]), "04b") for h in ("majority", "and", "or")]
    ['1000', '1000', '1111']
    >>> format(int(combine_codes(codes, "xor")[0]), "04b")
    '1111'
    """
    check_choice("how", how, _BITWISE)
    x = as_codes("codes", codes, allow_1d=True)
    if x.shape[0] == 0:
        raise InvalidInputError("combine_codes needs at least one code, got 0 rows")
    if how == "and":
        return np.bitwise_and.reduce(x, axis=0)
    if how == "or":
        return np.bitwise_or.reduce(x, axis=0)
    if how == "xor":
        return np.bitwise_xor.reduce(x, axis=0)
    votes = np.unpackbits(x, axis=1).sum(axis=0, dtype=np.int64)
    return np.packbits(2 * votes > x.shape[0])


def invert(code: Any) -> np.ndarray:
    """Bitwise NOT of packed codes (any shape).

    Examples
    --------
    >>> import numpy as np
    >>> invert(np.array([0b0000_1111, 255], dtype=np.uint8)).tolist()
    [240, 0]
    """
    arr = np.asarray(code)
    if arr.dtype != np.uint8:
        raise InvalidInputError(
            f"code must have dtype uint8 (packed bits, e.g. from numpy.packbits), got {arr.dtype}"
        )
    return np.bitwise_not(arr)


def _mean_distance(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mean Hamming distance of every code to the query rows, ``float64 [n]``."""
    total = np.zeros(codes.shape[0], dtype=np.float64)
    batch = max(1, (16 << 20) // max(4 * codes.shape[0], 1))  # <= 16 MB of distances
    for a in range(0, queries.shape[0], batch):
        total += hamming_distances(queries[a : a + batch], codes).sum(axis=0, dtype=np.float64)
    return total / queries.shape[0]


def score(
    codes: Any,
    positives: Any,
    negatives: Any = None,
    *,
    combine: Combine = "mean",
    invert: bool = False,
    n_bits: int | None = None,
) -> np.ndarray:
    """Score every code against exemplars; **lower is more similar**.

    Parameters
    ----------
    codes : uint8 array ``[n, code_size]``
        Candidate codes.
    positives : uint8 array ``[p, code_size]`` (or one code ``[code_size]``)
        Codes of the examples to look for, ``p >= 1``.
    negatives : uint8 array ``[q, code_size]``, optional
        Codes of examples to look away from; ``None`` or zero rows means none.
    combine : {"mean", "majority", "and", "or", "xor"}, default "mean"
        ``mean``: ``mean_p d(x, p) - mean_q d(x, q)``; otherwise the positives (and the
        negatives) are merged by :func:`combine_codes` first and
        ``score = d(x, P) - d(x, N)``.
    invert : bool, default False
        Search with the bitwise NOT of the query: ``L - score`` without negatives,
        ``-score`` with negatives (see the module notes).
    n_bits : int, optional
        ``L``, the number of meaningful bits (default ``8 * code_size``); set it when the
        code dimension is not a multiple of 8. Only ``invert`` uses it.

    Returns
    -------
    float64 array ``[n]``

    Raises
    ------
    InvalidInputError
        No positives, codes of different sizes, an unknown ``combine`` (the message lists
        the valid values) or ``n_bits`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0b1100], [0b0011]], dtype=np.uint8)
    >>> positives = np.array([[0b1000], [0b0100]], dtype=np.uint8)
    >>> score(codes, positives).tolist(), score(codes, positives, combine="or").tolist()
    ([1.0, 3.0], [0.0, 4.0])
    """
    check_choice("combine", combine, _COMBINE)
    x = as_codes("codes", codes, allow_1d=False)
    pos = as_codes("positives", positives, allow_1d=True)
    if pos.shape[0] == 0:
        raise InvalidInputError(
            "score needs at least one positive exemplar, got 0 rows; pass the code of a "
            "patch that looks like what you search for"
        )
    neg = None if negatives is None else as_codes("negatives", negatives, allow_1d=True)
    if neg is not None and neg.shape[0] == 0:
        neg = None
    code_size = x.shape[1]
    for name, arr in (("positives", pos), ("negatives", neg)):
        if arr is not None and arr.shape[1] != code_size:
            raise InvalidInputError(
                f"{name} have code_size {arr.shape[1]} bytes but codes have {code_size}; "
                "encode exemplars with the corpus codec"
            )
    if n_bits is None:
        n_bits = 8 * code_size
    elif isinstance(n_bits, bool) or not isinstance(n_bits, int | np.integer):
        raise InvalidInputError(f"n_bits must be an integer or None, got {n_bits!r}")
    elif not 1 <= n_bits <= 8 * code_size:
        raise InvalidInputError(
            f"n_bits must be between 1 and {8 * code_size} (8 * code_size), got {n_bits}"
        )

    if combine == "mean":
        out = _mean_distance(pos, x)
        if neg is not None:
            out -= _mean_distance(neg, x)
    else:
        out = hamming_distances(combine_codes(pos, combine), x)[0].astype(np.float64)
        if neg is not None:
            out -= hamming_distances(combine_codes(neg, combine), x)[0]
    if invert:
        out = -out if neg is not None else float(n_bits) - out
    return out
