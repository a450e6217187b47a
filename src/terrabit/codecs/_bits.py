"""Bit packing shared by every sub-byte codec (MSB-first, the ``np.packbits`` / faiss layout).

Examples
--------
>>> import numpy as np
>>> q = np.array([[3, 0, 1, 2]], dtype=np.uint8)
>>> pack_levels(q, bits=2)
array([[198]], dtype=uint8)
>>> unpack_levels(pack_levels(q, bits=2), d=4, bits=2)
array([[3, 0, 1, 2]], dtype=uint8)
>>> thermometer(np.array([[2, 0]], dtype=np.uint8), steps=3)
array([[192]], dtype=uint8)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["code_bytes", "gray", "inverse_gray", "pack_levels", "thermometer", "unpack_levels"]


def code_bytes(n_bits: int) -> int:
    """Bytes holding ``n_bits`` bits (the last byte zero-padded)."""
    return (int(n_bits) + 7) // 8


def pack_levels(q: NDArray[np.uint8], *, bits: int) -> NDArray[np.uint8]:
    """Pack integer levels ``0 <= q < 2**bits`` into bytes, ``bits`` bits each, MSB-first.

    Value ``j`` of a row occupies bits ``j*bits … (j+1)*bits-1`` of the row's bit string,
    most significant bit first; ``bits == 8`` is a plain copy.
    """
    q = np.ascontiguousarray(q, dtype=np.uint8)
    if bits == 8:
        return q.copy()
    n, d = q.shape
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint8)
    expanded = (q[:, :, None] >> shifts) & np.uint8(1)
    return np.packbits(expanded.reshape(n, d * bits), axis=1)


def unpack_levels(codes: NDArray[np.uint8], *, d: int, bits: int) -> NDArray[np.uint8]:
    """Inverse of :func:`pack_levels`: ``d`` levels of ``bits`` bits per row."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if bits == 8:
        return codes[:, :d].copy()
    n = codes.shape[0]
    flat = np.unpackbits(codes, axis=1, count=d * bits).reshape(n, d, bits)
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
    out: NDArray[np.uint8] = (flat * weights).sum(axis=2, dtype=np.uint16).astype(np.uint8)
    return out


def thermometer(q: NDArray[np.integer], *, steps: int) -> NDArray[np.uint8]:
    """Unary (thermometer) code: level ``l`` -> ``l`` ones then ``steps - l`` zeros, packed.

    The Hamming distance between two thermometer codes equals the L1 distance between
    their levels, so a plain popcount scan compares them exactly.
    """
    q = np.asarray(q)
    n, d = q.shape
    bits = q[:, :, None] > np.arange(steps)[None, None, :]
    return np.packbits(bits.reshape(n, d * steps), axis=1)


def unthermometer(codes: NDArray[np.uint8], *, d: int, steps: int) -> NDArray[np.uint8]:
    """Levels of a thermometer code (the number of ones in each group)."""
    n = codes.shape[0]
    flat = np.unpackbits(codes, axis=1, count=d * steps).reshape(n, d, steps)
    out: NDArray[np.uint8] = flat.sum(axis=2, dtype=np.uint16).astype(np.uint8)
    return out


def gray(q: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Binary-reflected Gray code of each level (neighbouring levels differ by one bit)."""
    out: NDArray[np.uint8] = q ^ (q >> np.uint8(1))
    return out


def inverse_gray(g: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Inverse of :func:`gray`."""
    q = g.copy()
    shift = g >> np.uint8(1)
    while np.any(shift):
        q ^= shift
        shift = shift >> np.uint8(1)
    return q
