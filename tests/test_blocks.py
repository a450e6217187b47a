"""terrabit.blocks: the split against a brute-force re-derivation, and the shared fixture."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.blocks import block_hash, spatial_split
from terrabit.errors import InvalidInputError

FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"


def _fmix(cell: int, seed: int) -> int:
    """MurmurHash3 fmix32 in Python integers (the oracle of the numpy version)."""
    h = ((cell * 0x9E3779B1) & 0xFFFFFFFF) ^ seed
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=20), st.integers(0, 2**32 - 1))
def test_block_hash_is_fmix32(cells: list[int], seed: int) -> None:
    assert block_hash(np.array(cells), seed).tolist() == [_fmix(c, seed) for c in cells]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1, max_size=60),
    st.floats(0.05, 0.9),
    st.sampled_from(["random", "hash"]),
)
def test_whole_blocks_and_enough_rows(points, fraction: float, order: str) -> None:
    lon, lat = np.array(points).T
    test = spatial_split(lon, lat, test_fraction=fraction, blocks_per_side=4, order=order)
    size = max(np.ptp(lon), np.ptp(lat), 1e-9) / 4
    block = [
        (math.floor((x - lon.min()) / size), math.floor((y - lat.min()) / size)) for x, y in points
    ]
    for b in set(block):
        assert len({bool(t) for t, bb in zip(test, block, strict=True) if bb == b}) == 1
    assert test.sum() >= fraction * len(lon)
    # minimal: removing the last block taken would fall below the fraction
    if order == "hash":
        taken = sorted({bb for t, bb in zip(test, block, strict=True) if t})
        cells = {b: b[0] * 6 + b[1] for b in taken}
        last = max(taken, key=lambda b: (_fmix(cells[b], 0), cells[b]))
        assert test.sum() - block.count(last) < fraction * len(lon)


def test_hash_order_matches_the_fixture() -> None:
    fixture = json.loads((FIXTURES / "blocks.json").read_text())
    for case in fixture["cases"]:
        got = spatial_split(
            np.array(case["lon"]),
            np.array(case["lat"]),
            test_fraction=case["test_fraction"],
            seed=case["seed"],
            blocks_per_side=case["blocks_per_side"],
            order="hash",
        )
        assert got.astype(int).tolist() == case["test"]
    spec = importlib.util.spec_from_file_location("make_blocks", FIXTURES / "make_blocks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(json.dumps(module.make_blocks())) == fixture


def test_bad_order() -> None:
    with pytest.raises(InvalidInputError, match="order"):
        spatial_split(np.zeros(2), np.zeros(2), order="sorted")  # type: ignore[arg-type]
