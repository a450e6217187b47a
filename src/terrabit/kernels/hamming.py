"""Exact Hamming search over packed binary codes: distances, top-k and radius search.

Codes are ``uint8`` arrays of shape ``(n, code_size)`` holding ``8 * code_size`` bits
(``numpy.packbits`` layout; any ``code_size`` from 1 byte up). Results follow faiss
(``IndexBinaryFlat``): distances ascending, ties broken by the lower database index,
whatever the number of threads.

A small job (queries x codes x code bytes under :data:`NUMPY_MAX_BYTES`, 2 MiB: one
query over 16K codes of 128 bytes) with the default ``threads`` runs in numpy
(``np.bitwise_count`` on ``uint64`` words, a fraction of a millisecond) and never loads
numba: importing numba and loading a cached kernel costs a third of a second, which would
be most of a command-line search of a small corpus. Larger jobs, and any call that names
``threads``, use the compiled kernels, imported on first use.

How the compiled kernel is fast (numba, compiled on first use and cached on disk):

* codes are read as ``uint32`` words (zero-padded to a multiple of 4 bytes otherwise);
  ``llvm.ctpop`` is called directly (numba has no ``np.bitwise_count``), which LLVM
  lowers to ``popcnt``, or to AVX-512 ``vpopcntd`` once a loop is vectorized;
* the database is cut into L1-sized blocks (about 32 KB) transposed word-major, so one
  ``vpopcntd`` scores 16 codes at once with no horizontal sum, and each block is reused
  by every query of a thread's query chunk, two queries per pass, while it sits in L1;
* a task with few queries (``<= 8``) skips the transposition and streams the rows
  directly (memory-bound; a single query over 1M x 128 B codes reads 128 MB once);
* per query, the top-k is a small sorted buffer that a block touches only when the
  block's minimum beats the current k-th distance (rare after the first blocks);
  ``k > 256`` switches to full distance rows and a stable sort;
* threads split the queries; with fewer queries than threads they split the database
  and the per-chunk top-k lists are merged exactly by ``(distance, index)``;
* batches of at least 32 queries with codes of 32 to 256 bytes use a bit-sliced kernel
  instead (no popcount at all): a block of 1024 codes becomes bit planes (plane ``p`` = bit
  ``p`` of every code, 1024 bits), and a query's distances are
  ``|q| + |c| - 2 * (sum of the planes where q has a one)`` (or the zeros, whichever are
  fewer), the planes summed by carry-save adders (Harley-Seal, two ``vpternlogq`` per
  plane, 1024 counters at once); query pairs share the planes both sum, and a bit-serial
  subtraction flags the codes that beat the current k-th distance, the only ones decoded.
  About 1.3x the XOR kernel's speed at 128 bytes on an AVX-512 Zen 4; threads split the
  database (each block is transposed once). Without AVX-512 the same code compiles to
  plain and/or/xor.

Each new array flavour (read-only, unaligned) compiles its own specialization once (about
10 s, then cached); pass writeable arrays to skip that.

Examples
--------
>>> import numpy as np
>>> from terrabit.kernels.hamming import hamming_topk
>>> codes = np.array([[0b1111], [0b0001], [0b0011], [0b0001]], dtype=np.uint8)
>>> distances, indices = hamming_topk(codes[1:2], codes, 3)
>>> distances.tolist(), indices.tolist()
([[0, 0, 1]], [[1, 3, 2]])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from terrabit.errors import InvalidInputError
from terrabit.kernels.topk import select_topk

# The compiled kernels (``_popcount``, ``_bitsliced``, ``_simd``, ``_jit``) import numba:
# they are imported where a job first needs them, never at import time.

__all__ = [
    "NUMPY_MAX_BYTES",
    "PAD_DISTANCE",
    "PAD_INDEX",
    "RadiusResult",
    "as_codes",
    "bit_features",
    "hamming_distances",
    "hamming_radius",
    "hamming_topk",
]


#: Distance that pads a row of :func:`hamming_topk` when ``k`` exceeds the database size
#: (faiss pads with the same value, ``2**31 - 1``, so rows stay ascending).
PAD_DISTANCE = int(np.iinfo(np.int32).max)
#: Index that pads a row of :func:`hamming_topk` when ``k`` exceeds the database size.
PAD_INDEX = -1

#: Jobs of fewer bytes compared than this (``n_queries * n * code_size``) run in numpy
#: when ``threads`` is not given: no numba to load (a third of a second) for a job that
#: takes well under a millisecond either way (measured: 0.1 ms for one query over 3,000
#: codes of 128 bytes, against 0.05 ms for the compiled kernel once loaded).
NUMPY_MAX_BYTES = 2 << 20

_BLOCK_BYTES = 32 * 1024  # transposed database block: L1-sized (measured: 16 KB ~4% slower)
_BUFFER_MAX_K = 256  # above this, top-k uses a stable sort of each distance row


class RadiusResult(NamedTuple):
    """Matches of :func:`hamming_radius`, laid out like faiss ``range_search``.

    The matches of query ``i`` are ``indices[lims[i]:lims[i + 1]]`` with
    ``distances[lims[i]:lims[i + 1]]``, sorted by ``(distance, index)``.
    """

    lims: np.ndarray  # int64 [nq + 1]
    distances: np.ndarray  # int32 [lims[-1]]
    indices: np.ndarray  # int64 [lims[-1]]

    def query(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(indices, distances)`` of query ``i``.

        Examples
        --------
        >>> import numpy as np
        >>> r = RadiusResult(np.array([0, 2]), np.array([0, 3], np.int32), np.array([4, 1]))
        >>> [a.tolist() for a in r.query(0)]
        [[4, 1], [0, 3]]
        """
        lo, hi = int(self.lims[i]), int(self.lims[i + 1])
        return self.indices[lo:hi], self.distances[lo:hi]


# --------------------------------------------------------------------------- validation


def as_codes(name: str, array: Any, *, allow_1d: bool) -> np.ndarray:
    """Check one array of packed codes (``uint8``, 2-D) and return it C-contiguous.

    ``name`` is the parameter named in the error; with ``allow_1d`` a single code
    ``[code_size]`` becomes one row.

    Examples
    --------
    >>> as_codes("queries", [1, 2], allow_1d=True).shape
    (1, 2)
    """
    if not isinstance(array, np.ndarray):  # nested lists of byte values
        try:
            array = np.asarray(array, dtype=np.uint8)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(
                f"{name} must be a uint8 array of packed bits (bytes 0..255), "
                f"could not convert a {type(array).__name__}: {exc}"
            ) from exc
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"{name} must have dtype uint8 (packed bits, e.g. from numpy.packbits), "
            f"got {array.dtype}; pack float or bool codes first"
        )
    if array.ndim == 1 and allow_1d:
        array = array[None, :]
    if array.ndim != 2:
        shape = "[n_queries, code_size] or [code_size]" if allow_1d else "[n, code_size]"
        raise InvalidInputError(f"{name} must be 2-D {shape}, got shape {array.shape}")
    if array.shape[1] == 0:
        raise InvalidInputError(f"{name} has code_size 0; codes need at least one byte")
    return np.ascontiguousarray(array)


def bit_features(codes: Any) -> np.ndarray:
    """The +-1 features of packed codes: ``float64 [n, 8 * code_size]``, MSB first.

    Feature ``j`` is ``+1`` where bit ``j`` of the code is set (bit ``7 - j % 8`` of byte
    ``j // 8``, :func:`numpy.unpackbits` order), else ``-1``. The Hamming distance of two
    codes is a quarter of the squared Euclidean distance of their features, so linear
    models and principal axes of these features see what the Hamming search sees.

    Examples
    --------
    >>> bit_features(np.array([[0b1000_0001]], np.uint8)).tolist()
    [[1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0]]
    """
    bits = np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1)
    return bits.astype(np.float64) * 2.0 - 1.0


def _prepare_bytes(queries: Any, codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return both arrays as C-contiguous ``uint8`` codes of one size."""
    q = as_codes("queries", queries, allow_1d=True)
    x = as_codes("codes", codes, allow_1d=False)
    if q.shape[1] != x.shape[1]:
        raise InvalidInputError(
            f"queries have code_size {q.shape[1]} bytes but codes have {x.shape[1]}; "
            "encode both with the same codec"
        )
    return q, x


def _words(a: np.ndarray, word_bytes: int = 4) -> np.ndarray:
    """View ``uint8 [m, cs]`` as ``uint32`` (or ``uint64``) words, zero-padding when needed."""
    pad = (-a.shape[1]) % word_bytes
    if pad:
        a = np.concatenate([a, np.zeros((a.shape[0], pad), dtype=np.uint8)], axis=1)
    return a.view(np.uint32 if word_bytes == 4 else np.uint64)


def _use_bitsliced(nq: int, code_size: int, k: int) -> bool:
    """Whether the bit-sliced kernel serves this top-k (enough queries, mid code sizes)."""
    from terrabit.kernels._simd import BS_MAX_BYTES, BS_MIN_BYTES, BS_MIN_QUERIES

    return nq >= BS_MIN_QUERIES and BS_MIN_BYTES <= code_size <= BS_MAX_BYTES and k <= _BUFFER_MAX_K


def _split_bitsliced(nq: int, n: int, threads: int) -> tuple[int, int]:
    """Database chunks first (each block is transposed once), queries for the rest."""
    from terrabit.kernels._simd import BS_MIN_QUERIES, VEC_BLOCK

    nblocks = max(1, -(-n // VEC_BLOCK))
    n_rchunks = max(1, min(threads, nblocks))
    n_qchunks = max(1, min(threads // n_rchunks, nq // BS_MIN_QUERIES))
    return n_qchunks, n_rchunks


def _block_rows(n_words: int) -> int:
    """Rows per transposed block: about ``_BLOCK_BYTES``, a multiple of 16, 64..1024."""
    rows = _BLOCK_BYTES // (4 * n_words)
    return int(max(64, min(1024, rows - rows % 16)))


def _resolve_threads(threads: int | None, work_bytes: int) -> int | None:
    """Threads of the compiled kernels, or ``None``: a small job with the default
    ``threads`` runs in numpy (:data:`NUMPY_MAX_BYTES`)."""
    if threads is None:
        if work_bytes < NUMPY_MAX_BYTES:
            return None
        import numba

        return int(numba.get_num_threads())
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer):
        raise InvalidInputError(f"threads must be an integer or None, got {threads!r}")
    from terrabit.kernels._jit import numba_config

    limit = int(numba_config.NUMBA_NUM_THREADS)
    if not 1 <= threads <= limit:
        raise InvalidInputError(
            f"threads must be between 1 and {limit} (NUMBA_NUM_THREADS), got {threads}"
        )
    return int(threads)


@contextmanager
def _numba_threads(threads: int) -> Iterator[None]:
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _numpy_distances(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``int32 [nq, n]`` distances of small jobs: ``np.bitwise_count`` of the XOR of
    ``uint64`` words (zero-padded), all pairs at once (a few MiB at most)."""
    qw, xw = _words(q, 8), _words(x, 8)
    out: np.ndarray = np.bitwise_count(qw[:, None, :] ^ xw[None, :, :]).sum(axis=2, dtype=np.int32)
    return out


def _split(nq: int, n: int, block: int, threads: int) -> tuple[int, int]:
    """Query chunks x database chunks: split queries first, the database for the rest."""
    n_qchunks = max(1, min(threads, nq))
    nblocks = max(1, -(-n // block))
    n_rchunks = max(1, min(threads // n_qchunks, nblocks))
    return n_qchunks, n_rchunks


# --------------------------------------------------------------------------- public API


def hamming_distances(queries: Any, codes: Any, *, threads: int | None = None) -> np.ndarray:
    """Every query's Hamming distance to every code.

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes.
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    threads : int, optional
        Threads of the compiled kernel (default: numba's current setting; a job under
        :data:`NUMPY_MAX_BYTES` runs in numpy instead).

    Returns
    -------
    int32 array ``[n_queries, n]``
        Number of differing bits.

    Examples
    --------
    >>> import numpy as np
    >>> hamming_distances(np.array([0b1010], np.uint8), np.array([[0], [255]], np.uint8))
    array([[2, 6]], dtype=int32)
    """
    qb, xb = _prepare_bytes(queries, codes)
    nthreads = _resolve_threads(threads, qb.shape[0] * xb.shape[0] * qb.shape[1])
    if nthreads is None or qb.shape[0] == 0 or xb.shape[0] == 0:
        return _numpy_distances(qb, xb)
    from terrabit.kernels._popcount import distance_tasks

    q, x = _words(qb), _words(xb)
    out = np.empty((q.shape[0], x.shape[0]), dtype=np.int32)
    block = _block_rows(q.shape[1])
    n_qchunks, n_rchunks = _split(q.shape[0], x.shape[0], block, nthreads)
    with _numba_threads(nthreads):
        distance_tasks(q, x, block, n_qchunks, n_rchunks, out)
    return out


def hamming_topk(
    queries: Any, codes: Any, k: int, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest codes of each query by Hamming distance (exact, faiss order).

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes (a 1-D query is treated as one query).
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    k : int
        Neighbours per query, at least 1. When ``k > n`` the rows are padded with
        distance :data:`PAD_DISTANCE` (``2**31 - 1``) and index :data:`PAD_INDEX` (``-1``),
        exactly as faiss ``IndexBinaryFlat.search`` pads.
    threads : int, optional
        Threads of the compiled kernel (default: numba's current setting; a job under
        :data:`NUMPY_MAX_BYTES` runs in numpy instead). The result does not depend on it.

    Returns
    -------
    distances : int32 array ``[n_queries, k]``
        Ascending along each row.
    indices : int64 array ``[n_queries, k]``
        Row numbers in ``codes``; equal distances are ordered by lower index.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[7], [0], [1], [0]], dtype=np.uint8)
    >>> d, i = hamming_topk(np.array([0], np.uint8), codes, 5)
    >>> d.tolist(), i.tolist()
    ([[0, 0, 1, 3, 2147483647]], [[1, 3, 2, 0, -1]])
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    if k <= 0:
        raise InvalidInputError(f"k must be at least 1, got {k}")
    qb, xb = _prepare_bytes(queries, codes)
    nthreads = _resolve_threads(threads, qb.shape[0] * xb.shape[0] * qb.shape[1])
    nq, n, code_size = qb.shape[0], xb.shape[0], qb.shape[1]
    k = int(k)
    if nq == 0 or n == 0:
        return (
            np.full((nq, k), PAD_DISTANCE, dtype=np.int32),
            np.full((nq, k), PAD_INDEX, dtype=np.int64),
        )
    kk = min(k, n)  # buffers never need more than n slots
    if nthreads is None:
        dist, idx = select_topk(_numpy_distances(qb, xb), kk)
    elif kk > _BUFFER_MAX_K:
        dist, idx = _topk_by_sort(_words(qb), _words(xb), kk, nthreads)
    elif _use_bitsliced(nq, code_size, kk):
        from terrabit.kernels._bitsliced import bitsliced_tasks
        from terrabit.kernels._popcount import merge_topk
        from terrabit.kernels._simd import BS_QUERY_GROUP

        nbits = 8 * code_size
        wbits = (3 * nbits).bit_length() + 1
        n_qchunks, n_rchunks = _split_bitsliced(nq, n, nthreads)
        with _numba_threads(nthreads):
            bd, bi = bitsliced_tasks(
                _words(qb, 8),
                _words(xb, 8),
                kk,
                nbits,
                wbits,
                BS_QUERY_GROUP,
                n_qchunks,
                n_rchunks,
            )
            dist, idx = merge_topk(bd, bi) if n_rchunks > 1 else (bd[0], bi[0])
    else:
        from terrabit.kernels._popcount import merge_topk, topk_tasks

        q, x = _words(qb), _words(xb)
        block = _block_rows(q.shape[1])
        n_qchunks, n_rchunks = _split(nq, n, block, nthreads)
        with _numba_threads(nthreads):
            bd, bi = topk_tasks(q, x, kk, block, n_qchunks, n_rchunks)
            if n_rchunks > 1:
                dist, idx = merge_topk(bd, bi)
            else:
                dist, idx = bd[0], bi[0]
    if kk < k:
        dist = np.concatenate([dist, np.full((nq, k - kk), PAD_DISTANCE, np.int32)], axis=1)
        idx = np.concatenate([idx, np.full((nq, k - kk), PAD_INDEX, np.int64)], axis=1)
    return np.ascontiguousarray(dist), np.ascontiguousarray(idx, dtype=np.int64)


def _topk_by_sort(
    q: np.ndarray, x: np.ndarray, k: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k for large ``k``: full distance rows (in query batches) and a stable sort."""
    from terrabit.kernels._popcount import distance_tasks

    nq, n = q.shape[0], x.shape[0]
    batch = max(1, (32 << 20) // max(n, 1))
    dist = np.empty((nq, k), dtype=np.int32)
    idx = np.empty((nq, k), dtype=np.int64)
    block = _block_rows(q.shape[1])
    with _numba_threads(threads):
        for a in range(0, nq, batch):
            b = min(a + batch, nq)
            out = np.empty((b - a, n), dtype=np.int32)
            n_qchunks, n_rchunks = _split(b - a, n, block, threads)
            distance_tasks(q[a:b], x, block, n_qchunks, n_rchunks, out)
            order = np.argsort(out, axis=1, kind="stable")[:, :k]
            idx[a:b] = order
            dist[a:b] = np.take_along_axis(out, order, axis=1)
    return dist, idx


def hamming_radius(
    queries: Any, codes: Any, radius: int, *, threads: int | None = None
) -> RadiusResult:
    """Every code within ``radius`` bits of each query (``distance <= radius``).

    Unlike faiss ``range_search`` (strict ``<``, unordered), matches are inclusive and
    sorted by ``(distance, index)``. The database is scanned twice (count, then fill),
    so the output is allocated exactly once.

    Parameters
    ----------
    queries : uint8 array ``[n_queries, code_size]`` or ``[code_size]``
        Packed query codes.
    codes : uint8 array ``[n, code_size]``
        Packed database codes.
    radius : int
        Largest distance kept, ``>= 0``.
    threads : int, optional
        Threads of the compiled kernel (default: numba's current setting; a job under
        :data:`NUMPY_MAX_BYTES` runs in numpy instead).

    Returns
    -------
    RadiusResult
        ``(lims, distances, indices)`` as faiss ``range_search`` lays them out.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[7], [0], [1], [0]], dtype=np.uint8)
    >>> res = hamming_radius(np.array([[0], [7]], np.uint8), codes, 1)
    >>> res.lims.tolist(), res.indices.tolist(), res.distances.tolist()
    ([0, 3, 4], [1, 3, 2, 0], [0, 0, 1, 0])
    """
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise InvalidInputError(f"radius must be a non-negative integer, got {radius!r}")
    if radius < 0:
        raise InvalidInputError(f"radius must be at least 0, got {radius}")
    qb, xb = _prepare_bytes(queries, codes)
    nthreads = _resolve_threads(threads, qb.shape[0] * xb.shape[0] * qb.shape[1])
    nq, n = qb.shape[0], xb.shape[0]
    if nq == 0 or n == 0:
        return RadiusResult(
            np.zeros(nq + 1, np.int64), np.empty(0, np.int32), np.empty(0, np.int64)
        )
    if nthreads is None:
        return _numpy_radius(_numpy_distances(qb, xb), int(radius))
    from terrabit.kernels._popcount import radius_tasks, sort_segments

    q, x = _words(qb), _words(xb)
    radius = int(min(int(radius), 32 * q.shape[1]))
    block = _block_rows(q.shape[1])
    n_qchunks, n_rchunks = _split(nq, n, block, nthreads)
    counts = np.zeros((n_rchunks, nq), dtype=np.int64)
    empty_d = np.empty(0, np.int32)
    empty_i = np.empty(0, np.int64)
    with _numba_threads(nthreads):
        radius_tasks(
            q, x, radius, block, n_qchunks, n_rchunks, counts, counts, empty_d, empty_i, False
        )
        per_query = counts.sum(axis=0)
        lims = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(per_query, out=lims[1:])
        # chunk rc of query qi starts after the query's earlier chunks
        offsets = lims[:-1][None, :] + np.cumsum(counts, axis=0) - counts
        offsets = np.ascontiguousarray(offsets)
        out_d = np.empty(int(lims[-1]), dtype=np.int32)
        out_i = np.empty(int(lims[-1]), dtype=np.int64)
        radius_tasks(q, x, radius, block, n_qchunks, n_rchunks, counts, offsets, out_d, out_i, True)
        sort_segments(lims, out_d, out_i)
    return RadiusResult(lims, out_d, out_i)


def _numpy_radius(dist: np.ndarray, radius: int) -> RadiusResult:
    """:func:`hamming_radius` of small jobs from their full ``[nq, n]`` distances."""
    rows, cols = np.nonzero(dist <= radius)  # by query, then by index
    found = dist[rows, cols]
    order = np.lexsort((cols, found, rows))
    lims = np.zeros(dist.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dist.shape[0]), out=lims[1:])
    return RadiusResult(lims, found[order].astype(np.int32), cols[order].astype(np.int64))
