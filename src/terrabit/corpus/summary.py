"""Per-shard summary balls in the manifest, for ranking and skipping shards in a global search.

The writer stores :func:`shard_summary` of each shard's packed codes in the manifest
columns :func:`summary_fields`: a few Hamming balls (centre ``summary_codes[j]``, radius
``summary_radii[j]``) that together cover every code of the shard. By the triangle
inequality, every row code ``c`` of the shard has, for a query code ``q``,
``d(q, c) >= min_j max(0, d(q, summary_codes[j]) - summary_radii[j])``: the lower bound
that ``terrabit.search.globalsearch`` ranks and skips shards with. The columns are null
for codecs that are not compared by Hamming distance.

How the balls are built (deterministic; the invariant above is what readers rely on):

* a shard with at most ``balls`` distinct codes gets one ball of radius 0 per distinct
  code (sorted bytewise), so its bound is its exact minimum distance;
* otherwise, on a seeded sample of at most 8192 codes: the first centre is the sample's
  bitwise majority vote; farthest-first traversal (the k-center heuristic, which keeps
  the largest radius small) adds the sample code farthest from every centre so far until
  there are ``balls`` centres; three k-medians (Lloyd) rounds in Hamming space then move
  each centre to the bitwise majority vote of the sample codes nearest to it;
* finally **every** code of the shard joins its nearest centre (ties: the lower centre
  index), each radius is the exact largest distance in its ball, and empty balls are
  dropped.

Examples
--------
>>> import numpy as np
>>> codes = np.array([[0b1100_0000], [0b1010_0000], [0b1000_0001]], dtype=np.uint8)
>>> shard_summary(codes, balls=1)
{'summary_codes': [b'\\x80'], 'summary_radii': [1]}
>>> shard_summary(codes, balls=4)["summary_radii"]
[0, 0, 0]
>>> [f.name for f in summary_fields()]
['summary_codes', 'summary_radii']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "EMPTY_SUMMARY",
    "SUMMARY_BALLS",
    "shard_summary",
    "summary_balls",
    "summary_code",
    "summary_fields",
]

SUMMARY_BALLS = 64
"""Balls per shard at most (chosen by measurement: see ``benchmarks/global_search.py``)."""

EMPTY_SUMMARY: dict[str, Any] = {"summary_codes": None, "summary_radii": None}
"""The summary columns of a shard whose codec is not compared by Hamming distance."""

_SAMPLE_ROWS = 8192  # codes the centres are chosen on (radii always use every code)
_LLOYD_ROUNDS = 3
_SEED = 0
_CHUNK = 65536  # codes per block when assigning every code of a large shard


def summary_fields() -> list[pa.Field]:
    """The manifest fields that hold a shard's summary (after the checksums).

    Since format 1.6 the codes are ``binary`` values of the code's size (pandas converts a
    list of those; it cannot convert a list of ``fixed_size_binary``, the type before).

    Examples
    --------
    >>> summary_fields()[0].type
    ListType(list<item: binary>)
    """
    return [
        pa.field("summary_codes", pa.list_(pa.binary())),
        pa.field("summary_radii", pa.list_(pa.int32())),
    ]


def shard_summary(codes: npt.NDArray[np.uint8], *, balls: int = SUMMARY_BALLS) -> dict[str, Any]:
    """The manifest summary columns of one shard, from its packed ``[n, code_size]`` codes.

    Examples
    --------
    >>> shard_summary(np.array([[255], [255]], dtype=np.uint8))
    {'summary_codes': [b'\\xff'], 'summary_radii': [0]}
    """
    centres, radii = summary_balls(codes, balls=balls)
    return {
        "summary_codes": [row.tobytes() for row in centres],
        "summary_radii": [int(r) for r in radii],
    }


def summary_balls(
    codes: npt.NDArray[np.uint8], *, balls: int = SUMMARY_BALLS
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """At most ``balls`` Hamming balls (centres ``[m, code_size]``, radii ``[m]``) covering codes.

    Every code lies within ``radii[j]`` bits of ``centres[j]`` for some ``j`` (the module
    notes say how the balls are chosen).

    Examples
    --------
    >>> codes = np.array([[0], [1], [3], [255], [254]], dtype=np.uint8)
    >>> centres, radii = summary_balls(codes, balls=2)
    >>> centres[:, 0].tolist(), radii.tolist()
    ([1, 254], [1, 1])
    """
    if isinstance(balls, bool) or not isinstance(balls, int | np.integer) or balls < 1:
        raise ValueError(f"balls must be a positive integer, got {balls!r}")
    codes = np.require(codes, dtype=np.uint8, requirements=["C", "W"])
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] == 0:
        raise ValueError("summary_balls needs a non-empty [n, code_size] uint8 array")
    n = codes.shape[0]
    if n <= balls or _few_distinct(codes, balls):
        distinct = np.unique(codes, axis=0)
        if distinct.shape[0] <= balls:
            return np.ascontiguousarray(distinct), np.zeros(distinct.shape[0], np.int32)
    sample = codes
    if n > _SAMPLE_ROWS:
        rng = np.random.default_rng(_SEED)
        sample = np.ascontiguousarray(codes[np.sort(rng.choice(n, _SAMPLE_ROWS, replace=False))])
    centres = _farthest_first(sample, balls)
    for _ in range(_LLOYD_ROUNDS):
        assign, _dist = _nearest(centres, sample)
        centres = _majority_by_ball(sample, assign, centres)
    radii = np.full(centres.shape[0], -1, np.int64)
    for start in range(0, n, _CHUNK):
        assign, dist = _nearest(centres, codes[start : start + _CHUNK])
        np.maximum.at(radii, assign, dist)
    keep = radii >= 0
    return np.ascontiguousarray(centres[keep]), radii[keep].astype(np.int32)


def summary_code(codes: npt.NDArray[np.uint8]) -> tuple[bytes, int]:
    """Bitwise majority-vote centroid of packed binary codes, and its Hamming radius.

    Bit ``j`` is set iff more than half of the codes have it set (a tie gives 0); the
    radius is the largest Hamming distance from the centroid to any code. (One ball; the
    manifest holds several, from :func:`summary_balls`.)

    Examples
    --------
    >>> codes = np.array([[0b1100_0000], [0b1010_0000], [0b1000_0001]], dtype=np.uint8)
    >>> summary_code(codes)
    (b'\\x80', 1)
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError("summary_code needs a non-empty [n, code_size] uint8 array")
    centre = _majority(codes)
    radius = 0
    for start in range(0, codes.shape[0], _CHUNK):
        xor = np.bitwise_xor(codes[start : start + _CHUNK], centre)
        radius = max(radius, int(np.unpackbits(xor, axis=1).sum(axis=1).max()))
    return centre.tobytes(), radius


def _majority(codes: np.ndarray) -> np.ndarray:
    """Bitwise majority vote (ties give 0) of ``[n, code_size]`` codes, as ``[code_size]``."""
    n = codes.shape[0]
    counts = np.zeros(codes.shape[1] * 8, dtype=np.int64)
    for start in range(0, n, _CHUNK):
        counts += np.unpackbits(codes[start : start + _CHUNK], axis=1).sum(axis=0, dtype=np.int64)
    return np.packbits(counts * 2 > n)


def _few_distinct(codes: np.ndarray, balls: int) -> bool:
    """Whether the first ``4 * balls`` codes hold at most ``balls`` distinct ones (cheap check)."""
    head = codes[: 4 * balls]
    return bool(np.unique(head, axis=0).shape[0] <= balls)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances ``[len(a), len(b)]`` (int64) between packed codes.

    The numba kernel on one thread: the calls are small and many (measured: 10x numpy
    for 64 centres x 25K codes, and no thread start-up per call).
    """
    from terrabit.kernels import hamming_distances  # compiled on first use

    d = hamming_distances(np.ascontiguousarray(a), np.ascontiguousarray(b), threads=1)
    return np.asarray(d, dtype=np.int64)


def _farthest_first(sample: np.ndarray, balls: int) -> np.ndarray:
    """Centres: the sample's majority vote, then the sample code farthest from all so far."""
    centres = [_majority(sample)]
    nearest = _distances(centres[0][None, :], sample)[0]
    while len(centres) < balls:
        far = int(np.argmax(nearest))  # lowest index among the farthest
        if nearest[far] == 0:
            break
        centres.append(sample[far].copy())
        nearest = np.minimum(nearest, _distances(sample[far][None, :], sample)[0])
    return np.ascontiguousarray(np.stack(centres))


def _nearest(centres: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each code's nearest centre (ties: lower index) and the distance to it."""
    d = _distances(centres, np.ascontiguousarray(codes))
    assign = np.argmin(d, axis=0)
    return assign, d[assign, np.arange(d.shape[1])]


def _majority_by_ball(sample: np.ndarray, assign: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each centre moved to the majority vote of its sample codes (kept when it has none)."""
    order = np.argsort(assign, kind="stable")
    ball_ids, starts, sizes = np.unique(assign[order], return_index=True, return_counts=True)
    bits = np.unpackbits(sample[order], axis=1)
    counts = np.stack(  # set bits per ball (row sums of contiguous slices: fast)
        [bits[a : a + n].sum(axis=0, dtype=np.int32) for a, n in zip(starts, sizes, strict=True)]
    )
    out = centres.copy()
    out[ball_ids] = np.packbits(counts * 2 > sizes[:, None], axis=1)
    return out
