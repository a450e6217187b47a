"""Render per-polygon features as an RGB map: PCA of the features, polygons rasterized.

The first ``components`` principal components of the standardized feature columns are
scaled to ``1..255`` (2nd to 98th percentile, clipped; 0 is nodata) and each polygon is
burnt into a raster in the UTM zone of the polygons' centre at ``res_m``. The result is a
tiled, deflate-compressed Cloud-Optimized GeoTIFF with overviews, plus a PNG preview
beside it.

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, shapely, numpy as np
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> rng = np.random.default_rng(0)
>>> boxes = [shapely.box(-66 + i / 500, 45.2, -66 + i / 500 + 0.0015, 45.2015) for i in range(6)]
>>> cols = {f"A{b:02d}_mean": rng.normal(size=6) for b in range(4)}
>>> gpd.GeoDataFrame(cols, geometry=boxes, crs="OGC:CRS84").to_parquet(root / "f.parquet")
>>> info = render_features(root / "f.parquet", root / "pca.tif", res_m=20)
>>> info["bands"], info["crs"], (root / "pca.png").exists()
(3, 'EPSG:32620', True)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from terrabit._atomic import atomic_file, check_output
from terrabit._validation import check_int_range
from terrabit.aef import utm_epsg
from terrabit.errors import InvalidInputError, RegionError
from terrabit.zonal.features import feature_matrix, read_features

__all__ = ["pca_rgb", "render_features"]

_MAX_PX = 400_000_000
_PREVIEW_PX = 1024


def pca_rgb(x: npt.ArrayLike, *, components: int = 3) -> npt.NDArray[np.uint8]:
    """``(rows, components)`` uint8 colours (1..255) of the leading principal components.

    Examples
    --------
    >>> rgb = pca_rgb(np.random.default_rng(0).normal(size=(50, 8)))
    >>> rgb.shape, int(rgb.min()) >= 1
    ((50, 3), True)
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    data = np.asarray(x, dtype=np.float64)
    k = min(components, data.shape[1], data.shape[0])
    scores = PCA(n_components=k, random_state=0).fit_transform(StandardScaler().fit_transform(data))
    lo, hi = np.percentile(scores, [2, 98], axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.clip((scores - lo) / span, 0.0, 1.0) * 254.0 + 1.0
    out = np.ones((data.shape[0], components), dtype=np.uint8)
    out[:, :k] = np.rint(scaled).astype(np.uint8)
    return out


def render_features(
    features: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    components: int = 3,
    res_m: float = 10.0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``out`` (COG, ``components`` uint8 bands) and ``out.png`` from a features table.

    Parameters
    ----------
    features : path
        GeoParquet from ``terrabit zonal stats``.
    out : path
        Output ``.tif``; the preview is ``out`` with suffix ``.png``.
    components : int
        Principal components = bands (1 to 3 for a PNG preview; up to 16).
    res_m : float
        Pixel size in metres (UTM zone of the polygons' centre).
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    dict
        ``output``, ``preview``, ``width``, ``height``, ``bands``, ``crs``, ``polygons``
        (rendered) and ``skipped`` (without complete features).
    """
    import rasterio
    import rasterio.features
    import rasterio.shutil
    from rasterio.transform import Affine

    check_int_range("components", components, 1, 16)
    if not (isinstance(res_m, int | float) and math.isfinite(res_m) and res_m > 0):
        raise InvalidInputError(
            f"res_m must be a pixel size in metres > 0, got {res_m!r}", params=("res_m",)
        )
    target = check_output(out, overwrite=overwrite, option="out")
    preview = target.with_suffix(".png")
    check_output(preview, overwrite=overwrite, option="the preview")
    frame = read_features(features)
    if frame.crs is None:
        raise InvalidInputError(
            "the features table has no CRS; write it with `terrabit zonal stats`"
        )
    _, x, rows = feature_matrix(frame)
    rgb = pca_rgb(x, components=components)
    lonlat = frame.to_crs("OGC:CRS84")
    minx, miny, maxx, maxy = lonlat.total_bounds
    epsg = utm_epsg((minx + maxx) / 2, (miny + maxy) / 2)
    geoms = lonlat.geometry.iloc[rows].to_crs(epsg).values
    left, bottom, right, top = geoms.total_bounds
    left, bottom = math.floor(left / res_m) * res_m, math.floor(bottom / res_m) * res_m
    width = max(1, math.ceil((right - left) / res_m))
    height = max(1, math.ceil((top - bottom) / res_m))
    if width * height > _MAX_PX:
        raise RegionError(
            f"the render would be {width} x {height} px at {res_m:g} m; pass a larger res_m "
            f"(e.g. res_m={res_m * math.ceil(math.sqrt(width * height / _MAX_PX)):g})",
            params=("res_m",),
        )
    top = bottom + height * res_m
    transform = Affine(res_m, 0.0, left, 0.0, -res_m, top)
    ids = rasterio.features.rasterize(
        zip(geoms, range(1, len(geoms) + 1), strict=True),
        out_shape=(height, width),
        transform=transform,
        fill=0,
        dtype="int32",
    )
    lut = np.zeros((len(geoms) + 1, components), dtype=np.uint8)
    lut[1:] = rgb
    image = np.moveaxis(lut[ids], -1, 0)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": components,
        "dtype": "uint8",
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": 0,
    }
    with atomic_file(target, overwrite=overwrite) as tmp:
        plain = tmp.with_name(tmp.name + ".plain.tif")
        try:
            with rasterio.open(plain, "w", **profile) as dst:
                dst.write(image)
                dst.descriptions = tuple(f"PC{i + 1}" for i in range(components))
            rasterio.shutil.copy(
                plain,
                tmp,
                driver="COG",
                compress="DEFLATE",
                blocksize=256,
                overviews="AUTO",
                overview_resampling="nearest",
            )
        finally:
            Path(plain).unlink(missing_ok=True)
    _write_preview(image, preview)
    return {
        "output": os.fspath(target),
        "preview": os.fspath(preview),
        "width": width,
        "height": height,
        "bands": components,
        "crs": f"EPSG:{epsg}",
        "polygons": len(geoms),
        "skipped": len(frame) - len(geoms),
    }


def _write_preview(image: npt.NDArray[np.uint8], path: Path) -> None:
    import matplotlib.image

    step = max(1, math.ceil(max(image.shape[1:]) / _PREVIEW_PX))
    small = image[:, ::step, ::step]
    if small.shape[0] >= 3:
        rgba = np.concatenate([small[:3], np.where(small[:1] > 0, 255, 0).astype(np.uint8)])
    else:
        band = small[0]
        rgba = np.stack([band, band, band, np.where(band > 0, 255, 0).astype(np.uint8)])
    with atomic_file(path) as tmp:
        matplotlib.image.imsave(tmp, np.moveaxis(rgba, 0, -1), format="png")
