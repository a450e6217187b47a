"""The Hilbert sort key: a bijection of the grid that never jumps, nested like a quadtree."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.kernels import hilbert


def _grid(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = 1 << order
    x, y = np.meshgrid(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
    x, y = x.ravel(), y.ravel()
    return x, y, hilbert._xy2d(x, y, n)


def test_keys_number_every_cell_once_and_never_jump() -> None:
    for order in (1, 2, 3, 5):
        x, y, d = _grid(order)
        assert sorted(d.tolist()) == list(range(4**order))  # a bijection
        walk = np.argsort(d)
        steps = np.abs(np.diff(x[walk])) + np.abs(np.diff(y[walk]))
        assert (steps == 1).all()  # consecutive keys are neighbouring cells


def test_key_prefixes_are_quadtree_cells() -> None:
    order = 5
    x, y, d = _grid(order)
    for level in range(1, order):
        shift = order - level
        cell = (x >> shift) * (1 << level) + (y >> shift)
        prefix = d >> np.uint64(2 * shift)
        # each level-`level` cell holds exactly one key prefix, and vice versa
        pairs = set(zip(cell.tolist(), prefix.tolist(), strict=True))
        assert len(pairs) == 4**level == len(set(prefix.tolist()))


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(-180, 180, allow_nan=False), lat=st.floats(-90, 90, allow_nan=False))
def test_keys_are_60_bit_and_follow_the_cells(lon: float, lat: float) -> None:
    k = hilbert.keys([lon], [lat])
    assert k.dtype == np.uint64 and int(k[0]) < 1 << (2 * hilbert.ORDER)
    x, y = hilbert.cells([lon], [lat])
    assert int(k[0]) == int(hilbert._xy2d(x, y, 1 << hilbert.ORDER)[0])
    assert 0 <= x[0] < 1 << hilbert.ORDER and 0 <= y[0] < 1 << hilbert.ORDER
