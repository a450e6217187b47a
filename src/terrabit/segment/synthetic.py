"""Small seeded water/land scenes for tests and demos (Sentinel-2-like, two UTM zones).

Each scene is a six-band ``uint16`` GeoTIFF of digital numbers (reflectance × 10000,
bands B02, B03, B04, B08, B11, B12) with a ``uint8`` mask (0 land, 1 water) beside it.
Water is a smooth field of longitude and latitude, so the same place is water in every
CRS. Scene ``a`` lies just west of 3°E (UTM 31N, EPSG:32631) and its mask is written in
UTM 32N (EPSG:32632), so pairing it needs reprojection; scene ``b`` lies just east of
3°E, image and mask in EPSG:32632.

Examples
--------
>>> import tempfile, pathlib
>>> info = write_water_scenes(pathlib.Path(tempfile.mkdtemp()), size_px=32)
>>> sorted(info["crs"].values())
['EPSG:32631', 'EPSG:32632']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from terrabit._validation import check_int_range

__all__ = ["LAND_DN", "WATER_DN", "water_field", "write_water_scenes"]

#: Typical digital numbers (reflectance × 10000) of B02, B03, B04, B08, B11, B12.
WATER_DN = np.array([900, 1000, 700, 300, 150, 100], dtype=np.float64)
LAND_DN = np.array([600, 900, 900, 3000, 2200, 1400], dtype=np.float64)

_SCENES = (
    # name, centre lon, centre lat, image CRS, mask CRS
    ("a", 2.985, 43.40, 32631, 32632),
    ("b", 3.015, 43.40, 32632, 32632),
)


def water_field(lon: npt.ArrayLike, lat: npt.ArrayLike, *, seed: int = 0) -> npt.NDArray[np.bool_]:
    """True where the synthetic world is water (a smooth field of lon/lat, ~40 % water).

    Examples
    --------
    >>> water_field([2.98, 3.02], [43.4, 43.4]).dtype
    dtype('bool')
    """
    rng = np.random.default_rng(seed)
    lo, la = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    value = np.zeros(np.broadcast(lo, la).shape)
    for _ in range(4):
        kx, ky = rng.normal(scale=400.0, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        value += np.sin(kx * lo + ky * la + phase)
    return np.asarray(value > 0.5)


def write_water_scenes(
    root: str | os.PathLike[str], *, seed: int = 0, size_px: int = 96, res_m: float = 10.0
) -> dict[str, Any]:
    """Write ``root/images/{a,b}.tif`` and ``root/masks/{a,b}.tif``; return a summary.

    Parameters
    ----------
    root : path
        Output folder (created).
    seed : int
        Seed of the water field and the noise.
    size_px : int
        Side of each scene in pixels.
    res_m : float
        Pixel size in metres.

    Returns
    -------
    dict
        ``images`` and ``masks`` (lists of paths), ``crs`` (image CRS per scene),
        ``water_fraction``.
    """
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    check_int_range("size_px", size_px, 8, 4096)
    base = Path(root)
    (base / "images").mkdir(parents=True, exist_ok=True)
    (base / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    images, masks, crs, water_px = [], [], {}, 0
    for name, lon, lat, epsg, mask_epsg in _SCENES:
        to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
        cx, cy = to_utm.transform(lon, lat)
        half = size_px * res_m / 2
        left, top = round((cx - half) / res_m) * res_m, round((cy + half) / res_m) * res_m
        transform = from_origin(left, top, res_m, res_m)
        cols, rows = np.meshgrid(np.arange(size_px) + 0.5, np.arange(size_px) + 0.5)
        xs, ys = left + cols * res_m, top - rows * res_m
        to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
        lons, lats = to_ll.transform(xs, ys)
        water = water_field(lons, lats, seed=seed)
        water_px += int(water.sum())
        dn = np.where(water[None], WATER_DN[:, None, None], LAND_DN[:, None, None])
        dn = dn * rng.normal(1.0, 0.08, size=dn.shape)
        image = np.clip(np.rint(dn), 1, 65535).astype(np.uint16)
        profile = {
            "driver": "GTiff",
            "width": size_px,
            "height": size_px,
            "crs": f"EPSG:{epsg}",
            "transform": transform,
        }
        image_path = base / "images" / f"{name}.tif"
        with rasterio.open(image_path, "w", count=6, dtype="uint16", **profile) as dst:
            dst.write(image)
            dst.descriptions = ("B02", "B03", "B04", "B08", "B11", "B12")
        mask = water.astype(np.uint8)
        mask_path = base / "masks" / f"{name}.tif"
        if mask_epsg != epsg:
            right, bottom = left + size_px * res_m, top - size_px * res_m
            dst_t, w, h = calculate_default_transform(
                f"EPSG:{epsg}",
                f"EPSG:{mask_epsg}",
                size_px,
                size_px,
                left,
                bottom,
                right,
                top,
                resolution=res_m,
            )
            assert w is not None and h is not None
            warped = np.full((h, w), 255, dtype=np.uint8)
            reproject(
                mask,
                warped,
                src_transform=transform,
                src_crs=f"EPSG:{epsg}",
                dst_transform=dst_t,
                dst_crs=f"EPSG:{mask_epsg}",
                resampling=Resampling.nearest,
                dst_nodata=255,
            )
            profile = {**profile, "crs": f"EPSG:{mask_epsg}", "transform": dst_t, "width": w}
            profile["height"] = h
            mask = warped
        with rasterio.open(mask_path, "w", count=1, dtype="uint8", nodata=255, **profile) as dst:
            dst.write(mask, 1)
        images.append(str(image_path))
        masks.append(str(mask_path))
        crs[name] = f"EPSG:{epsg}"
    return {
        "images": images,
        "masks": masks,
        "crs": crs,
        "water_fraction": water_px / (len(_SCENES) * size_px * size_px),
    }
