"""Water-mapping data: TorchGeo datasets pairing images and masks, and model inputs.

Images are six-band Sentinel-2 digital numbers (B02, B03, B04, B08, B11, B12); masks are
0 (land) / 1 (water), 255 meaning no label. Image and mask files may lie in different
CRSs and UTM zones: both TorchGeo datasets are warped to one common CRS (the first
image's unless given) and intersected, so a geo-sampled chip always pairs the right
pixels.

A model input is built from digital numbers in three steps (:func:`to_model_input`):
reflectance = DN ÷ 10000; NDWI (green, NIR), MNDWI (green, SWIR1) and NDVI (NIR, red)
appended (9 channels); the six reflectances z-scored with statistics of the *training*
data (:class:`Normalization`), the three indices passed through as they are.

Examples
--------
>>> dn = torch.full((1, 6, 2, 2), 1000.0)
>>> norm = Normalization(mean=[0.1] * 6, std=[0.05] * 6)
>>> x = to_model_input(dn, norm)
>>> x.shape, float(x[0, 0, 0, 0]), float(x[0, 6, 0, 0])
(torch.Size([1, 9, 2, 2]), 0.0, 0.0)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from terrabit._compat import lazy_import
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    import shapely
    import torch
    from torchgeo.datasets import IntersectionDataset, RasterDataset
else:
    torch = lazy_import("torch", "segment")
    _tg = lazy_import("torchgeo.datasets", "segment")
    RasterDataset = _tg.RasterDataset
    IntersectionDataset = _tg.IntersectionDataset

__all__ = [
    "BANDS",
    "IGNORE_INDEX",
    "INDICES",
    "REFLECTANCE_SCALE",
    "Normalization",
    "SceneImages",
    "WaterMasks",
    "check_masks",
    "check_rasters",
    "compute_normalization",
    "geographic_split",
    "paired_dataset",
    "spectral_indices",
    "to_model_input",
]

BANDS = ("B02", "B03", "B04", "B08", "B11", "B12")
INDICES = ("NDWI", "MNDWI", "NDVI")
REFLECTANCE_SCALE = 10000.0
IGNORE_INDEX = 255
_GREEN, _RED, _NIR, _SWIR1 = 1, 2, 3, 4


def spectral_indices(reflectance: torch.Tensor) -> torch.Tensor:
    """NDWI, MNDWI and NDVI of ``(N, 6, H, W)`` reflectances, as ``(N, 3, H, W)``.

    A zero denominator gives 0.

    Examples
    --------
    >>> r = torch.tensor([0.1, 0.3, 0.1, 0.1, 0.0, 0.0]).reshape(1, 6, 1, 1)
    >>> [round(v, 3) for v in spectral_indices(r).flatten().tolist()]
    [0.5, 1.0, 0.0]
    """

    def ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        den = a + b
        safe = torch.where(den == 0, torch.ones_like(den), den)
        return torch.where(den == 0, torch.zeros_like(den), (a - b) / safe)

    g, r = reflectance[:, _GREEN], reflectance[:, _RED]
    nir, swir = reflectance[:, _NIR], reflectance[:, _SWIR1]
    return torch.stack([ratio(g, nir), ratio(g, swir), ratio(nir, r)], dim=1)


@dataclass(frozen=True)
class Normalization:
    """Per-band mean and std of the six reflectances (÷ 10000) of the training data."""

    mean: list[float]
    std: list[float]

    def __post_init__(self) -> None:
        if len(self.mean) != len(BANDS) or len(self.std) != len(BANDS):
            raise InvalidInputError(
                f"normalization needs {len(BANDS)} means and stds (one per band "
                f"{', '.join(BANDS)}); got {len(self.mean)} and {len(self.std)}"
            )
        if any(not s > 0 for s in self.std):
            raise InvalidInputError(f"normalization stds must be > 0; got {self.std}")

    def to_dict(self) -> dict[str, list[float]]:
        """``{"mean": [...], "std": [...]}``."""
        return {"mean": list(self.mean), "std": list(self.std)}


def to_model_input(dn: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """Digital numbers ``(N, 6, H, W)`` to the 9-channel normalized model input."""
    if dn.ndim != 4 or dn.shape[1] != len(BANDS):
        raise InvalidInputError(
            f"images must be (N, {len(BANDS)}, H, W) digital numbers of bands "
            f"{', '.join(BANDS)}; got shape {tuple(dn.shape)}"
        )
    reflectance = dn.float() / REFLECTANCE_SCALE
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(1, -1, 1, 1)
    z = (reflectance - mean) / std
    return torch.cat([z, spectral_indices(reflectance)], dim=1)


def compute_normalization(images: Iterable[torch.Tensor]) -> Normalization:
    """Mean and std per band of the reflectances of ``(N, 6, H, W)`` DN batches.

    Examples
    --------
    >>> batches = [torch.full((1, 6, 2, 2), 1000.0), torch.full((1, 6, 2, 2), 3000.0)]
    >>> n = compute_normalization(batches)
    >>> round(n.mean[0], 6), round(n.std[0], 6)
    (0.2, 0.1)
    """
    total = np.zeros(len(BANDS))
    squares = np.zeros(len(BANDS))
    count = 0
    for batch in images:
        r = batch.double() / REFLECTANCE_SCALE
        total += r.sum(dim=(0, 2, 3)).numpy()
        squares += (r * r).sum(dim=(0, 2, 3)).numpy()
        count += r.shape[0] * r.shape[2] * r.shape[3]
    if count == 0:
        raise InvalidInputError("no training pixels to compute the normalization from")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    return Normalization(mean=mean.tolist(), std=np.maximum(std, 1e-6).tolist())


def _raster_files(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".tif", ".tiff")))
        elif p.is_file():
            files.append(p)
        else:
            raise InvalidInputError(f"{str(p)!r} is neither a raster file nor a folder of them")
    return files


def check_rasters(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    what: str = "image",
    bands: int | None = None,
) -> list[Path]:
    """The GeoTIFFs under ``paths``; raise if there are none, or one lacks a CRS or bands.

    Examples
    --------
    >>> check_rasters([])
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: no image rasters (.tif) found in []
    """
    import rasterio

    files = _raster_files(paths)
    if not files:
        raise InvalidInputError(f"no {what} rasters (.tif) found in {paths!r}")
    no_crs, wrong = [], []
    for f in files:
        with rasterio.open(f) as src:
            if src.crs is None:
                no_crs.append(str(f))
            if bands is not None and src.count != bands:
                wrong.append(f"{f} ({src.count})")
    if no_crs:
        raise InvalidInputError(
            f"{what} rasters without a CRS: {', '.join(no_crs[:10])}; georeference them "
            "(e.g. `gdal_edit.py -a_srs EPSG:32631 FILE`)"
        )
    if wrong:
        raise InvalidInputError(
            f"{what} rasters must have {bands} bands ({', '.join(BANDS)}); these do not: "
            f"{', '.join(wrong[:10])}"
        )
    return files


def check_masks(files: Sequence[Path], *, num_classes: int = 2) -> None:
    """Raise if a mask holds a value other than ``0..num_classes-1`` or 255 (no label)."""
    import rasterio

    allowed = [*range(num_classes), IGNORE_INDEX]
    bad = []
    for f in files:
        with rasterio.open(f) as src:
            values = np.unique(src.read(1))
        extra = sorted(set(values.tolist()) - set(allowed))
        if extra:
            bad.append(f"{f} {extra[:10]}")
    if bad:
        raise InvalidInputError(
            f"masks with unexpected class values: {'; '.join(bad[:10])}; mask values must be "
            f"in {allowed} (0 land, 1 water, 255 no label)"
        )


class SceneImages(RasterDataset):
    """Six-band Sentinel-2 digital numbers (any CRS), as a TorchGeo raster dataset."""

    filename_glob = "*.tif"
    is_image = True
    all_bands = BANDS


class WaterMasks(RasterDataset):
    """Water masks (0 land, 1 water, 255 no label) in any CRS."""

    filename_glob = "*.tif"
    is_image = False


def paired_dataset(
    images: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    masks: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    crs: str | None = None,
    res_m: float | None = None,
    num_classes: int = 2,
) -> IntersectionDataset:
    """Images and masks intersected in one CRS (the first image's unless ``crs`` is given).

    Raises
    ------
    InvalidInputError
        No rasters, a raster without CRS, wrong band count, unexpected mask values, or
        images and masks that do not overlap.
    """
    image_files = check_rasters(images, what="image", bands=len(BANDS))
    mask_files = check_rasters(masks, what="mask", bands=1)
    check_masks(mask_files, num_classes=num_classes)
    from rasterio.crs import CRS

    common = CRS.from_user_input(crs) if crs is not None else None
    image_ds = SceneImages([str(f) for f in image_files], crs=common, res=res_m)
    mask_ds = WaterMasks([str(f) for f in mask_files], crs=image_ds.crs, res=image_ds.res)
    try:
        return IntersectionDataset(image_ds, mask_ds)
    except RuntimeError as exc:
        raise InvalidInputError(
            f"images and masks do not overlap in {image_ds.crs}: {exc}; pass masks of the "
            "same places as the images"
        ) from exc


def geographic_split(
    dataset: Any, *, val_fraction: float = 0.2
) -> tuple[shapely.Polygon, shapely.Polygon]:
    """West and east regions of ``dataset`` (train, validation), split by easting.

    The split line leaves ``val_fraction`` of the area covered by the dataset's files east
    of it (found by bisection), so no validation chip overlaps a training chip.
    """
    import shapely

    if not 0 < val_fraction < 1:
        raise InvalidInputError(f"val_fraction must lie in (0, 1); got {val_fraction}")
    covered = shapely.union_all(np.asarray(dataset.index.geometry))
    x, y, _ = dataset.bounds
    total = covered.area
    lo, hi = float(x.start), float(x.stop)
    for _ in range(60):
        cut = (lo + hi) / 2
        east = covered.intersection(shapely.box(cut, y.start, x.stop, y.stop)).area
        if east > val_fraction * total:
            lo = cut
        else:
            hi = cut
    cut = (lo + hi) / 2
    return (
        shapely.box(x.start, y.start, cut, y.stop),
        shapely.box(cut, y.start, x.stop, y.stop),
    )
