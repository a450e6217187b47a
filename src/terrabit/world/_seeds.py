"""Stable seeds for the world's random streams (shared by the AEF tiles and the zones)."""

from __future__ import annotations

import hashlib

__all__ = ["seed_int"]


def seed_int(*parts: object) -> int:
    """A stable 63-bit integer from ``parts`` (not Python's salted ``hash``).

    The same ``parts`` give the same integer in every process, so a
    ``numpy.random.default_rng(seed_int("zones", seed, year))`` stream is reproducible.

    Examples
    --------
    >>> seed_int("aef-cells", 0, 2023) == seed_int("aef-cells", 0, 2023)
    True
    >>> 0 <= seed_int("zones", 1) < 2**63
    True
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)
