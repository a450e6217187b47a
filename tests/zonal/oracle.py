"""An independent brute-force zonal statistic: supersampled masks, no exactextract.

Each tile is read whole, the polygon is reprojected vertex by vertex with pyproj and
rasterized with ``rasterio.features.rasterize`` at ``factor`` x the resolution; a pixel's
weight is the share of its sub-pixel centres inside the polygon. AEF codes are decoded
with the formula (not the engine's lookup table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import rasterio
import rasterio.features
import shapely
from pyproj import Transformer
from rasterio.transform import Affine


def _project(fwd: Transformer) -> Any:
    return lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))


def brute_force(paths: list[str], geom_lonlat: Any, *, factor: int = 10) -> dict[str, Any]:
    """Coverage-weighted count, mean, std, min, max of AEF tiles over one lon/lat polygon."""
    count = 0.0
    s = np.zeros(64)
    q2 = np.zeros(64)
    lo = np.full(64, np.inf)
    hi = np.full(64, -np.inf)
    for path in paths:
        with rasterio.open(path) as src:
            data = src.read()
            t = src.transform
            crs = src.crs
        if t.e > 0:  # bottom-up: flip to north-up
            data = data[:, ::-1, :]
            t = Affine(t.a, 0.0, t.c, 0.0, -t.e, t.f + t.e * data.shape[1])
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        geom = shapely.transform(geom_lonlat, _project(fwd))
        h, w = data.shape[1:]
        fine = rasterio.features.rasterize(
            [geom],
            out_shape=(h * factor, w * factor),
            transform=t @ Affine.scale(1 / factor),
            fill=0,
            default_value=1,
            dtype="uint8",
        )
        frac = fine.reshape(h, factor, w, factor).astype(np.float64).mean(axis=(1, 3))
        q = data.astype(np.float64)
        x = (q / 127.5) ** 2 * np.sign(q)
        bad = (data == -128).any(axis=0)
        use = (frac > 0) & ~bad
        if not use.any():
            continue
        wts = frac[use]
        vals = x[:, use]
        count += wts.sum()
        s += vals @ wts
        q2 += (vals**2) @ wts
        lo = np.minimum(lo, vals.min(axis=1))
        hi = np.maximum(hi, vals.max(axis=1))
    if count == 0:
        nan = np.full(64, np.nan)
        return {"count": 0.0, "mean": nan, "std": nan, "min": nan, "max": nan}
    mean = s / count
    std = np.sqrt(np.clip(q2 / count - mean**2, 0, None))
    return {"count": count, "mean": mean, "std": std, "min": lo, "max": hi}
