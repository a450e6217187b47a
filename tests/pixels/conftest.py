"""Seeded AEF tiles and hand-made rasters shared by the pixel corpus tests.

The world's tiles straddle the UTM 19N/20N boundary at 66°W, hold sea (nodata) to the
south-west, and come in two years, so blocks have nodata, a second zone and a second year.
The hand-made rasters are written here with rasterio, pixel by pixel from a seeded
generator, so the tests know every value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from terrabit.world.aef import write_aef_tiles

#: lon/lat region of the world's test tiles (~2.7 km x 1.9 km; sea at its south-west).
REGION = (-66.025, 45.246, -65.99, 45.263)
YEARS = (2023, 2024)


@pytest.fixture(scope="session")
def aef(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The world's AEF tiles of both years (128 px tiles, two UTM zones)."""
    root = tmp_path_factory.mktemp("pixels-aef")
    return write_aef_tiles(
        root, seed=0, bbox=REGION, years=list(YEARS), tile_px=128, show_progress=False
    )


def write_raster(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = "EPSG:32633",
    origin: tuple[float, float] = (500_000.0, 5_000_000.0),
    res_m: float = 10.0,
    nodata: float | None = -128,
) -> Path:
    """A GeoTIFF of ``data`` ``(bands, rows, cols)`` north-up at ``origin`` (west, north)."""
    bands, rows, cols = data.shape
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": bands,
        "dtype": data.dtype.name,
        "transform": from_origin(origin[0], origin[1], res_m, res_m),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def aef_codes(rng: np.random.Generator, rows: int, cols: int, bands: int = 64) -> np.ndarray:
    """Seeded int8 codes in [-127, 127] (valid everywhere), ``(bands, rows, cols)``."""
    return rng.integers(-127, 128, size=(bands, rows, cols)).astype(np.int8)
