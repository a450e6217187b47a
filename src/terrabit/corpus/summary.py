"""Per-shard summary codes in the manifest, for ranking shards in a global search.

The writer stores :func:`shard_summary` of each shard's packed codes in the manifest
columns :func:`summary_fields`; a global search turns them into a lower bound on the
Hamming distance from a query to any code of the shard (``terrabit.search.globalsearch``).
The columns are null for codecs that are not compared by Hamming distance.

Examples
--------
>>> import numpy as np
>>> codes = np.array([[0b1100_0000], [0b1010_0000], [0b1000_0001]], dtype=np.uint8)
>>> shard_summary(codes)
{'summary_code': b'\\x80', 'summary_radius_bits': 1}
>>> [f.name for f in summary_fields(1)]
['summary_code', 'summary_radius_bits']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["EMPTY_SUMMARY", "shard_summary", "summary_code", "summary_fields"]

EMPTY_SUMMARY: dict[str, Any] = {"summary_code": None, "summary_radius_bits": None}
"""The summary columns of a shard whose codec is not compared by Hamming distance."""


def summary_fields(code_size: int) -> list[pa.Field]:
    """The manifest fields that hold a shard's summary (after the checksums).

    Examples
    --------
    >>> summary_fields(128)[0].type
    FixedSizeBinaryType(fixed_size_binary[128])
    """
    return [
        pa.field("summary_code", pa.binary(code_size)),
        pa.field("summary_radius_bits", pa.int32()),
    ]


def shard_summary(codes: npt.NDArray[np.uint8]) -> dict[str, Any]:
    """The manifest summary columns of one shard, from its packed ``[n, code_size]`` codes.

    Examples
    --------
    >>> shard_summary(np.array([[255], [255]], dtype=np.uint8))["summary_radius_bits"]
    0
    """
    centre, radius = summary_code(codes)
    return {"summary_code": centre, "summary_radius_bits": radius}


def summary_code(codes: npt.NDArray[np.uint8]) -> tuple[bytes, int]:
    """Bitwise majority-vote centroid of packed binary codes, and its Hamming radius.

    Bit ``j`` is set iff more than half of the codes have it set (a tie gives 0); the
    radius is the largest Hamming distance from the centroid to any code.

    Examples
    --------
    >>> codes = np.array([[0b1100_0000], [0b1010_0000], [0b1000_0001]], dtype=np.uint8)
    >>> summary_code(codes)
    (b'\\x80', 1)
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError("summary_code needs a non-empty [n, code_size] uint8 array")
    n = codes.shape[0]
    counts = np.zeros(codes.shape[1] * 8, dtype=np.int64)
    for start in range(0, n, 65536):
        counts += np.unpackbits(codes[start : start + 65536], axis=1).sum(axis=0, dtype=np.int64)
    centre = np.packbits(counts * 2 > n)
    radius = 0
    for start in range(0, n, 65536):
        xor = np.bitwise_xor(codes[start : start + 65536], centre)
        radius = max(radius, int(np.unpackbits(xor, axis=1).sum(axis=1).max()))
    return centre.tobytes(), radius
