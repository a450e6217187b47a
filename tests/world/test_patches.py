"""The patch grid and land sampling."""

from __future__ import annotations

import numpy as np
import pytest
from global_land_mask import globe
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.errors import InvalidInputError, RegionError
from terrabit.world.patches import (
    CELL_DEG,
    CELL_KM,
    N_CELLS,
    cell_bounds,
    cell_centres,
    cell_of,
    sample_cells,
)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, N_CELLS - 1))
def test_cell_of_inverts_cell_centres(cell: int) -> None:
    lon, lat = cell_centres(np.array([cell]))
    assert cell_of(lon, lat)[0] == cell
    x0, y0, x1, y1 = cell_bounds(np.array([cell]))
    assert x0[0] < lon[0] < x1[0] and y0[0] < lat[0] < y1[0]


def test_footprints_are_about_2_56_km() -> None:
    cells = cell_of(np.array([0.0, 10.0, 100.0]), np.array([0.0, 45.0, 70.0]))
    x0, y0, x1, y1 = cell_bounds(cells)
    _, lat = cell_centres(cells)
    height_km = (y1 - y0) * 111.32
    width_km = (x1 - x0) * 111.32 * np.cos(np.radians(lat))
    assert np.allclose(height_km, CELL_KM)
    assert np.all((width_km >= CELL_KM * 0.999) & (width_km < CELL_KM * 1.01))
    assert np.isclose(CELL_DEG, 2.56 / 111.32)


def test_rows_tile_the_globe() -> None:
    # neighbouring cells of one row share an edge; a row closes at the antimeridian
    cells = cell_of(np.array([179.999]), np.array([30.0]))
    x0, _, x1, _ = cell_bounds(np.array([cells[0], cells[0] - 1]))
    assert x1[0] == 180.0 and x0[0] == x1[1]


def test_samples_are_distinct_sorted_land_and_deterministic() -> None:
    cells = sample_cells(3000, seed=5)
    assert np.array_equal(cells, np.sort(np.unique(cells)))
    lon, lat = cell_centres(cells)
    assert globe.is_land(lat, lon).all()  # the package as oracle, (lat, lon) order
    assert np.array_equal(cells, sample_cells(3000, seed=5))
    assert not np.array_equal(cells, sample_cells(3000, seed=6))


def test_bbox_across_the_antimeridian() -> None:
    bbox = (165.0, -50.0, -175.0, -30.0)  # New Zealand and east of 180
    cells = sample_cells(300, seed=0, bbox=bbox)
    lon, lat = cell_centres(cells)
    assert np.all((lon >= 165.0) | (lon <= -175.0))
    assert np.all((lat >= -50.0) & (lat <= -30.0))
    assert globe.is_land(lat, lon).all()


def test_small_bbox_is_enumerated() -> None:
    cells = sample_cells(10, seed=0, bbox=(7.0, 46.0, 7.2, 46.2))
    lon, _lat = cell_centres(cells)
    assert cells.size == 10 and np.all((lon >= 7.0) & (lon <= 7.2))


@pytest.mark.parametrize(
    ("n", "bbox", "err", "match"),
    [
        (10, (-40.0, 0.0, -30.0, 10.0), RegionError, "holds no land"),
        (100_000, (7.0, 46.0, 7.2, 46.2), RegionError, "lower n or widen the bbox"),
        (0, None, InvalidInputError, "at least 1"),
    ],
)
def test_sampling_errors(
    n: int, bbox: tuple[float, float, float, float] | None, err: type, match: str
) -> None:
    with pytest.raises(err, match=match):
        sample_cells(n, seed=0, bbox=bbox)
