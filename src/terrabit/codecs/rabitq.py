"""RaBitQ: centred, rotated sign bits plus per-row correction factors (Gao & Long, SIGMOD 2024).

``rabitq:seed=s`` fits the training mean and a seeded Haar rotation ``Q``
(:func:`~terrabit.codecs.rotation.haar_rotation`, as ``rot``). With ``y = x @ Q`` and
``c = mean(X_train @ Q)`` (the centroid in the rotated space), bit ``j`` of a row is
``y_j > c_j``, packed MSB-first: the codes are **byte-identical** to those of
``rot:seed=s+binary:threshold=mean`` fitted on the same data, so Hamming scans work
unchanged, and :meth:`RaBitQ.decode` is that chain's decode (per-dimension centroids of
each side, rotated back).

The estimator needs, per row, a few floats that the ``uint8`` code does not hold;
:meth:`RaBitQ.factors` returns them as ``float32 [n, 3]`` (columns :data:`FACTORS`), to be
stored in a small column beside the codes. With ``r = y - c`` (the residual, ``D`` dims),
``x̄ = (2*bits - 1) / sqrt(D)`` (the unit code vector) and ``ô = r / |r|``:

* ``norm`` = ``|r|`` = ``|o - c|``;
* ``ip_code`` = ``<x̄, ô>`` = ``sum|r_j| / (sqrt(D) |r|)`` (in ``[1/sqrt(D), 1]``; ``1`` for
  ``r = 0``);
* ``ip_centroid`` = ``<r, c>`` (only the inner-product metric uses it).

:func:`rabitq_scores` then estimates ``<r, q_r>`` for a float query ``q`` (``q_r = q @ Q - c``)
as ``|r| * <x̄, q_r> / <x̄, ô>``, unbiased over the random rotation with an error of order
``|r| |q_r| / sqrt(D)`` (the paper's Theorem 3.2), and from it the squared distance or
the inner product, exactly as faiss's ``IndexRaBitQ`` does (``faiss/impl/RaBitQuantizer.cpp``,
``RaBitQUtils.cpp``; faiss stores ``|r|**2`` and ``|r| / <x̄, ô>``, and packs bits LSB-first).

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> X = np.random.default_rng(0).normal(size=(500, 64)).astype(np.float32)
>>> codec = parse("rabitq").fit(X)
>>> codes, fac = codec.encode(X), codec.factors(X)
>>> codes.shape, fac.shape
((500, 8), (500, 3))
>>> bool((codes == parse("rot+binary:threshold=mean").fit(X).encode(X)).all())
True
>>> d2 = rabitq_scores(codec, X[0], codes, fac)  # estimated squared L2 distances
>>> int(np.argmin(d2))
0
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from terrabit._validation import check_choice, check_int_range
from terrabit.codecs._bits import code_bytes
from terrabit.codecs.base import F32, U8, Codec, Param, Quantizer, check_codes, check_matrix
from terrabit.codecs.binary import binary_centroids
from terrabit.codecs.rotation import haar_rotation
from terrabit.errors import InvalidInputError

__all__ = [
    "FACTORS",
    "METRICS",
    "RaBitQ",
    "codes_and_factors",
    "rabitq_quantizer",
    "rabitq_scores",
    "rabitq_scores_batch",
]

FACTORS: tuple[str, ...] = ("norm", "ip_code", "ip_centroid")
"""Columns of :meth:`RaBitQ.factors`, in order."""

Metric = Literal["l2", "ip", "cos"]
METRICS: tuple[Metric, ...] = ("l2", "ip", "cos")
"""What :func:`rabitq_scores` estimates: squared L2 distance, inner product (negated), or
cosine distance (``1 - cos``)."""

F64 = NDArray[np.float64]

# bits[v, k]: bit k (MSB first) of byte value v
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)
_POPCOUNT = _BYTE_BITS.sum(axis=1).astype(np.int64)


class RaBitQ(Quantizer):
    """Centred, rotated sign bits (RaBitQ, 1 bit per dimension) with correction factors.

    Parameters
    ----------
    seed : int
        Seed of the Haar rotation (the same matrix as ``rot:seed=…``).

    Notes
    -----
    Fitted state: ``rotation_`` (float32 ``[d, d]``, applied as ``X @ rotation_``),
    ``center_`` (float32 ``[d]``, the training mean in the rotated space), ``lo_`` and
    ``hi_`` (float32 ``[d]``, per-dimension means of the rotated training values at/below
    and above the centre, used by :meth:`decode`).
    """

    family = "rabitq"
    HAMMING = True
    PARAMS = (Param("seed", int, 0, low=0, doc="seed of the Haar rotation"),)
    FITTED = ("d_in_", "rotation_", "center_", "lo_", "hi_")
    seed: int

    def __init__(self, *, seed: int = 0) -> None:
        self._set_params(seed=seed)

    def _fit(self, X: F32) -> None:
        self.rotation_ = haar_rotation(X.shape[1], seed=self.seed).astype(np.float32)
        Y = self._rotate(X)
        self.center_ = Y.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.lo_, self.hi_ = binary_centroids(Y, self.center_)

    def _rotate(self, X: F32) -> F32:
        out: F32 = X @ self.rotation_
        return out

    def _code_size(self) -> int:
        return code_bytes(int(self.d_in_))

    def _encode(self, X: F32) -> U8:
        return np.packbits(self.center_ < self._rotate(X), axis=1)

    def _decode(self, codes: U8) -> F32:
        bits = np.unpackbits(codes, axis=1, count=int(self.d_in_)).astype(bool)
        out: F32 = np.where(bits, self.hi_, self.lo_).astype(np.float32) @ self.rotation_.T
        return out

    def rotate(self, X: ArrayLike) -> F32:
        """``X @ rotation_``: vectors in the rotated space the codes and centre live in.

        Examples
        --------
        >>> import numpy as np
        >>> c = RaBitQ().fit(np.eye(4, dtype=np.float32))
        >>> bool(np.allclose(np.linalg.norm(c.rotate(np.eye(4)), axis=1), 1.0))
        True
        """
        self._check_fitted()
        return self._rotate(check_matrix(X, d=int(self.d_in_)))

    def factors(self, X: ArrayLike) -> F32:
        """Per-row correction factors of ``X``: float32 ``[n, 3]``, columns :data:`FACTORS`.

        ``norm = |r|``, ``ip_code = <x̄, r/|r|>`` and ``ip_centroid = <r, c>`` with
        ``r = X @ Q - c`` and ``x̄`` the unit sign vector of the code (see the module
        docstring). Computed in float64 and stored as float32; float16 storage costs some
        estimator precision (about 1e-3 relative).

        Examples
        --------
        >>> import numpy as np
        >>> c = RaBitQ().fit(np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32))
        >>> f = c.factors(np.array([[1.0, 0.0], [0.0, 0.0]], np.float32))
        >>> f[:, 0].round(4).tolist(), bool(f[1, 1] == 1.0)
        ([1.0, 0.0], True)
        """
        self._check_fitted()
        return self._factors(self._rotate(check_matrix(X, d=int(self.d_in_))))

    def _factors(self, Y: F32) -> F32:
        """:meth:`factors` of rows already rotated (``Y = X @ rotation_``)."""
        center = self.center_.astype(np.float64)
        r = Y.astype(np.float64) - center
        d = r.shape[1]
        norm = np.sqrt(np.einsum("ij,ij->i", r, r))
        l1 = np.abs(r).sum(axis=1)
        safe = np.where(norm > 0, norm, 1.0)
        ip_code = np.where(norm > 0, l1 / (np.sqrt(d) * safe), 1.0)
        ip_centroid = r @ center
        return np.ascontiguousarray(np.stack([norm, ip_code, ip_centroid], axis=1), np.float32)

    def encode_with_factors(self, X: ArrayLike) -> tuple[U8, F32]:
        """``(encode(X), factors(X))``, rotating ``X`` once.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(2).normal(size=(50, 16)).astype(np.float32)
        >>> c = RaBitQ().fit(X)
        >>> codes, fac = c.encode_with_factors(X)
        >>> bool((codes == c.encode(X)).all()), bool((fac == c.factors(X)).all())
        (True, True)
        """
        self._check_fitted()
        Y = self._rotate(check_matrix(X, d=int(self.d_in_)))
        return np.packbits(self.center_ < Y, axis=1), self._factors(Y)

    def row_norms(self, factors: ArrayLike) -> F32:
        """``|o|`` of the rows whose :meth:`factors` these are (in this quantizer's input
        space), from the factors alone: ``|o|**2 = norm**2 + 2 * ip_centroid + |c|**2``
        (``o = r + c``). Divides an inner-product estimate into a cosine one.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(3).normal(size=(100, 16)).astype(np.float32)
        >>> c = RaBitQ().fit(X)
        >>> bool(np.allclose(c.row_norms(c.factors(X)), np.linalg.norm(X, axis=1), rtol=1e-4))
        True
        """
        self._check_fitted()
        arr = np.asarray(factors)
        fac = _check_factors(arr, n=len(arr) if arr.ndim else 0)
        center = self.center_.astype(np.float64)
        sq = fac[:, 0] ** 2 + 2.0 * fac[:, 2] + float(center @ center)
        return np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)

    def reconstruct(self, codes: ArrayLike, factors: ArrayLike) -> F32:
        """The L2-optimal reconstruction ``c + (|r|_1 / D) * sign`` from codes and factors,
        rotated back to the input space (``|r|_1 / D = norm * ip_code / sqrt(D)``).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(1).normal(size=(200, 32)).astype(np.float32)
        >>> c = RaBitQ().fit(X)
        >>> rec = c.reconstruct(c.encode(X), c.factors(X))
        >>> bool(np.mean((rec - X) ** 2) < np.mean((c.decode(c.encode(X)) - X) ** 2) * 1.2)
        True
        """
        self._check_fitted()
        codes = check_codes(codes, code_size=self._code_size())
        fac = _check_factors(factors, n=codes.shape[0])
        d = int(self.d_in_)
        signs = 2.0 * np.unpackbits(codes, axis=1, count=d).astype(np.float64) - 1.0
        alpha = fac[:, 0] * fac[:, 1] / np.sqrt(d)
        y = self.center_.astype(np.float64) + alpha[:, None] * signs
        return np.ascontiguousarray(y @ self.rotation_.T.astype(np.float64), dtype=np.float32)


def _check_factors(factors: ArrayLike, *, n: int) -> F64:
    arr = np.asarray(factors)
    if arr.ndim != 2 or arr.shape != (n, len(FACTORS)) or arr.dtype.kind != "f":
        raise InvalidInputError(
            f"factors must be a float array [{n}, {len(FACTORS)}] (one row per code, columns "
            f"{', '.join(FACTORS)}), got {arr.dtype} of shape {arr.shape}; "
            "compute them with codec.factors(X) on the same rows as the codes",
            params=("factors",),
        )
    out: F64 = arr.astype(np.float64)
    return out


def rabitq_quantizer(codec: Codec) -> RaBitQ | None:
    """The ``rabitq`` quantizer of ``codec`` (itself, or the last stage of a chain ending
    in one), or None for any other codec.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> X = np.eye(8, dtype=np.float32)
    >>> rabitq_quantizer(parse("norm+rabitq").fit(X)).spec, rabitq_quantizer(parse("binary"))
    ('rabitq', None)
    """
    # by family, not isinstance: a doctest run under --import-mode=importlib holds a
    # second copy of this module, whose class is not the registry's
    if getattr(codec, "family", None) == RaBitQ.family:
        return codec  # type: ignore[return-value]
    last = getattr(codec, "quantizer", None)
    if getattr(last, "family", None) == RaBitQ.family:
        return last
    return None


def _find_rabitq(codec: Codec) -> RaBitQ:
    rq = rabitq_quantizer(codec)
    if rq is None:
        raise InvalidInputError(
            f"rabitq_scores needs a codec ending in 'rabitq' (e.g. 'rabitq' or "
            f"'pca:64+rabitq'), got {codec.spec!r}; fit parse('rabitq') and encode the corpus "
            "with it",
            params=("codec",),
        )
    return rq


def _quantizer_input(codec: Codec, X: ArrayLike) -> F32:
    """``X`` as the quantizer of ``codec`` sees it: after the reducers of a chain."""
    from terrabit.codecs.chain import Chain

    if isinstance(codec, Chain):
        return codec.transform(X)
    return check_matrix(X)


def codes_and_factors(codec: Codec, X: ArrayLike) -> tuple[U8, F32]:
    """The codes of ``X`` and their :meth:`RaBitQ.factors` (taken in the quantizer's input
    space, after any reducers) for a codec ending in ``rabitq``, computing the reducers
    and the rotation once.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> X = np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32)
    >>> chain = parse("pca:8+rabitq").fit(X)
    >>> codes, fac = codes_and_factors(chain, X)
    >>> bool((codes == chain.encode(X)).all())
    True
    >>> bool(np.allclose(fac, chain.quantizer.factors(chain.transform(X))))
    True
    """
    rq = _find_rabitq(codec)
    return rq.encode_with_factors(_quantizer_input(codec, X))


def _checked(
    codec: Codec, codes: ArrayLike, factors: ArrayLike, metric: str, query_bits: int | None
) -> tuple[Metric, RaBitQ, U8, F64]:
    """The checked arguments both scorers share: the metric, the codec's fitted ``rabitq``
    quantizer, the codes and their factors (float64)."""
    checked = check_choice("metric", metric, METRICS)
    if query_bits is not None:
        check_int_range("query_bits", query_bits, 1, 8)
    rq = _find_rabitq(codec)
    rq._check_fitted()
    codes = check_codes(codes, code_size=rq.code_size)
    return checked, rq, codes, _check_factors(factors, n=codes.shape[0])


def _quantize_query(q: F64, bits: int) -> tuple[NDArray[np.int64], float, float]:
    """Round ``q`` to ``2**bits`` uniform levels on ``[min q, max q]`` (faiss's, non-centred).

    Returns the integer levels, the offset ``v_min`` and the step ``delta``:
    ``q ≈ v_min + delta * levels``.
    """
    v_min, v_max = float(q.min()), float(q.max())
    top = (1 << bits) - 1
    delta = (v_max - v_min) / top
    if delta <= 0:
        return np.zeros(q.shape[0], dtype=np.int64), v_min, 0.0
    levels = np.clip(np.rint((q - v_min) / delta), 0, top).astype(np.int64)
    return levels, v_min, delta


def rabitq_scores(
    codec: Codec,
    query: ArrayLike,
    codes: ArrayLike,
    factors: ArrayLike,
    *,
    metric: Metric = "l2",
    query_bits: int | None = None,
) -> F64:
    """RaBitQ's estimate for a float query against 1-bit codes and their factors (lower = closer).

    With ``q_r = q @ Q - c``, ``s_j = ±1`` the code's signs and ``D`` the dimension:
    ``<x̄, q_r> = (2 * sum_{bit j set} q_r[j] - sum_j q_r[j]) / sqrt(D)`` (one 256-entry
    lookup table per code byte, ``O(n * code_size)``), and

    * ``est = norm / ip_code * <x̄, q_r>`` estimates ``<o - c, q - c>`` without bias;
    * ``metric="l2"``: returns ``norm**2 + |q - c|**2 - 2 * est``, the squared distance
      ``|o - q|**2`` (not clipped at 0, so it stays unbiased);
    * ``metric="ip"``: returns ``-(est + ip_centroid + <q, c>)``, minus the inner product
      ``<o, q>``;
    * ``metric="cos"``: returns ``1 - <o, q> / (|o| |q|)`` with that inner product,
      ``|o|**2 = norm**2 + 2 * ip_centroid + |c|**2`` (from the factors) and ``|q|`` the
      query's norm, both in the quantizer's input space (after a chain's reducers).

    These are faiss ``IndexRaBitQ``'s formulas (1-bit, ``qb=0``); for data already
    rotated by ``Q`` they give its distances to float32 precision.

    Parameters
    ----------
    codec : Codec
        A fitted ``rabitq`` codec, or a chain ending in one (``pca:64+rabitq``: the query
        goes through the reducers first, and ``factors`` must come from
        ``codec.quantizer.factors(codec.transform(X))``).
    query : array_like, float [d_in]
        One float query vector.
    codes : array_like, uint8 [n, code_size]
        The codes, from ``codec.encode``.
    factors : array_like, float [n, 3]
        From :meth:`RaBitQ.factors` on the same rows (float16 or float32).
    metric : {"l2", "ip", "cos"}
        Estimate the squared L2 distance, the negated inner product, or the cosine
        distance.
    query_bits : int, optional
        Quantize the rotated, centred query to this many bits (1 to 8) on its own
        ``[min, max]`` range first, as faiss (``qb``), RaBitQ and Elastic's BBQ do, so the
        inner loop is an integer dot product (bit-plane popcounts in a compiled kernel);
        4 bits rank as well as the float query. ``None``: the float query.

    Returns
    -------
    numpy.ndarray, float64 [n]
        Lower is more similar.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 128)).astype(np.float32)
    >>> codec = parse("rabitq").fit(X)
    >>> codes, fac = codec.encode(X), codec.factors(X)
    >>> est = rabitq_scores(codec, X[1], codes, fac, metric="ip")
    >>> true = X @ X[1]
    >>> bool(np.corrcoef(-est, true)[0, 1] > 0.75)
    True
    >>> cos = 1 - rabitq_scores(codec, X[1], codes, fac, metric="cos")
    >>> true_cos = true / (np.linalg.norm(X, axis=1) * np.linalg.norm(X[1]))
    >>> bool(np.corrcoef(cos, true_cos)[0, 1] > 0.75)
    True
    >>> e4 = rabitq_scores(codec, X[1], codes, fac, metric="ip", query_bits=4)
    >>> bool(np.corrcoef(e4, est)[0, 1] > 0.95)
    True
    """
    metric, rq, codes, fac = _checked(codec, codes, factors, metric, query_bits)
    d, n_bytes = int(rq.d_in_), rq.code_size
    q_in = np.asarray(query, dtype=np.float32)
    if q_in.ndim != 1:
        raise InvalidInputError(
            f"query must be one vector [d], got shape {q_in.shape}; score one query at a time",
            params=("query",),
        )
    y = rq.rotate(_quantizer_input(codec, q_in[None, :]))[0].astype(np.float64)
    center = rq.center_.astype(np.float64)
    qr = y - center

    if query_bits is None:
        w = np.zeros(8 * n_bytes, dtype=np.float64)
        w[:d] = qr
        lut = w.reshape(n_bytes, 8) @ _BYTE_BITS.T.astype(np.float64)
        dot = np.zeros(codes.shape[0], dtype=np.float64)
        for p in range(n_bytes):
            dot += lut[p][codes[:, p]]
        sum_q = float(qr.sum())
        ip_xq = (2.0 * dot - sum_q) / np.sqrt(d)
    else:
        levels, v_min, delta = _quantize_query(qr, query_bits)
        wi = np.zeros(8 * n_bytes, dtype=np.int64)
        wi[:d] = levels
        lut_i = wi.reshape(n_bytes, 8) @ _BYTE_BITS.T.astype(np.int64)
        dot_i = np.zeros(codes.shape[0], dtype=np.int64)
        pop = np.zeros(codes.shape[0], dtype=np.int64)
        for p in range(n_bytes):
            dot_i += lut_i[p][codes[:, p]]
            pop += _POPCOUNT[codes[:, p]]
        # sum over set bits of (v_min + delta * level), minus the sum over all dims
        dot = delta * dot_i + v_min * pop
        sum_q = delta * float(levels.sum()) + d * v_min
        ip_xq = (2.0 * dot - sum_q) / np.sqrt(d)

    norm, ip_code, ip_centroid = fac[:, 0], fac[:, 1], fac[:, 2]
    safe = np.where(ip_code != 0, ip_code, 1.0)
    est = norm / safe * ip_xq
    if metric == "l2":
        out: F64 = norm**2 + float(qr @ qr) - 2.0 * est
        return out
    ip = est + ip_centroid + float(y @ center)
    if metric == "ip":
        return -ip
    # |o|^2 = |r + c|^2 = norm^2 + 2 <r, c> + |c|^2; |q| = |y| (the rotation keeps norms)
    o_norm = np.sqrt(np.maximum(norm**2 + 2.0 * ip_centroid + float(center @ center), 0.0))
    denom = o_norm * float(np.sqrt(y @ y))
    cos = np.divide(ip, denom, out=np.zeros_like(ip), where=denom > 0)
    return 1.0 - cos


def rabitq_scores_batch(
    codec: Codec,
    queries: ArrayLike,
    codes: ArrayLike,
    factors: ArrayLike,
    *,
    metric: Metric = "l2",
    query_bits: int | None = None,
) -> F32:
    """:func:`rabitq_scores` of many float queries at once: float32 ``[m, n]``, row ``i``
    equal (to float32 precision) to ``rabitq_scores(codec, queries[i], codes, factors, …)``.

    The codes are unpacked once to ``±1`` (:func:`~terrabit.codecs.asymmetric.signs`) and
    ``<x̄, q_r>`` of every query and row is one matrix product (with ``query_bits``, of the
    integer levels: ``delta * <s, levels> + v_min * sum(s)``, exact in float32), so it
    suits many queries against a moderate number of codes; :func:`rabitq_scores` scans
    any number of codes in ``O(n * code_size)`` memory.

    Examples
    --------
    >>> import numpy as np
    >>> from terrabit.codecs import parse
    >>> X = np.random.default_rng(0).normal(size=(300, 32)).astype(np.float32)
    >>> codec = parse("rabitq").fit(X)
    >>> codes, fac = codec.encode(X), codec.factors(X)
    >>> batch = rabitq_scores_batch(codec, X[:4], codes, fac, query_bits=4)
    >>> one = rabitq_scores(codec, X[3], codes, fac, query_bits=4)
    >>> bool(np.allclose(batch[3], one, rtol=1e-4, atol=1e-3))
    True
    """
    from terrabit.codecs.asymmetric import signs
    from terrabit.codecs.chain import Chain

    metric, rq, codes, fac64 = _checked(codec, codes, factors, metric, query_bits)
    d = int(rq.d_in_)
    fac = fac64.astype(np.float32)
    Q = np.asarray(queries, dtype=np.float32)
    if Q.ndim != 2:
        raise InvalidInputError(
            f"queries must be a matrix [m, d], got shape {Q.shape}; stack the query vectors",
            params=("queries",),
        )
    y = rq.rotate(codec.transform(Q) if isinstance(codec, Chain) else Q).astype(np.float64)
    center = rq.center_.astype(np.float64)
    qr = y - center
    S = signs(codes, d)
    if query_bits is None:
        ip_xq = qr.astype(np.float32) @ S.T
    else:
        top = (1 << query_bits) - 1
        v_min = qr.min(axis=1, keepdims=True)
        delta = (qr.max(axis=1, keepdims=True) - v_min) / top
        safe = np.where(delta > 0, delta, 1.0)
        levels = np.where(delta > 0, np.clip(np.rint((qr - v_min) / safe), 0, top), 0.0)
        ip_xq = levels.astype(np.float32) @ S.T
        ip_xq *= np.where(delta > 0, delta, 0.0).astype(np.float32)
        ip_xq += v_min.astype(np.float32) * S.sum(axis=1)[None, :]
    ip_xq *= np.float32(1.0 / np.sqrt(d))
    norm, ip_code, ip_centroid = fac[:, 0], fac[:, 1], fac[:, 2]
    est = ip_xq * (norm / np.where(ip_code != 0, ip_code, np.float32(1.0)))[None, :]
    if metric == "l2":
        qq = np.einsum("ij,ij->i", qr, qr).astype(np.float32)
        out: F32 = (norm**2)[None, :] + qq[:, None] - 2.0 * est
        return out
    ip = est + ip_centroid[None, :] + (y @ center).astype(np.float32)[:, None]
    if metric == "ip":
        return -ip
    denom = (
        rq.row_norms(fac)[None, :]
        * np.sqrt(np.einsum("ij,ij->i", y, y)).astype(np.float32)[:, None]
    )
    cos = np.divide(ip, denom, out=np.zeros_like(ip), where=denom > 0)
    return 1.0 - cos
