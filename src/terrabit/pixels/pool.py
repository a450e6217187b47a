"""One tile of an embedding raster pooled to patches of N x N pixels.

Every N x N block of a tile's pixels (its own grid, counted from the north-west corner)
becomes a patch: the mean of the de-quantized vectors of its valid pixels
(:func:`terrabit.aef.decode_block`: AEF ``int8`` codes de-quantized, nodata ``-128``; with
``raw`` the stored values, nodata from the raster), renormalized to unit length. A block
is kept when at least ``min_valid`` of its N x N pixels are valid; pixels beyond the tile's
edge count as missing, so a partial edge block keeps its true (smaller) footprint when it
holds enough valid pixels and is dropped otherwise.

The tile is read by windows of whole blocks (about 512 x 512 pixels, never the whole
tile; :func:`pool_windows`), and :func:`write_pooled_tile` writes their patches to a
file as they come, a row group per :data:`ROW_GROUP_PATCHES` patches: memory stays near
``window² x bands x 13`` bytes (the codes, their float32 values and the float64 block
sums) plus one row group of patches, whatever the tile's size (~260 MB per tile pooled
at once, 64 bands at patch 8, measured on 8192² tiles), beside GDAL's block cache
(``GDAL_CACHEMAX``: 5% of the machine's memory by default, shared by the process).
Bottom-up tiles (positive y resolution, as the Source Cooperative copy of AEF) are read
with flipped windows.

A block's footprint is its rectangle in the tile's CRS, its four corners transformed to
CRS84 (no resampling: each tile keeps its own UTM grid). Its ``id`` is
``{tile}-{row}-{col}-{year}``, where ``tile`` names the tile by its grid position
(``{zone}_{west}_{north}``, the UTM zone and the tile's north-west corner in metres), the
same for every year of a place, so that the annual layers of one block share everything
but the year.

Examples
--------
>>> import tempfile
>>> from terrabit.world.aef import write_aef_tiles
>>> info = write_aef_tiles(tempfile.mkdtemp(), seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
...                        years=[2024], tile_px=128)
>>> from terrabit.corpus.tiles import read_tile_index
>>> path = read_tile_index(info["index"])["path"][0]
>>> pooled = pool_tile(path, patch_px=16, year=2024)
>>> pooled.blocks, pooled.vectors.shape[1], pooled.ids()[0]
(64, 64, '19N_734720_5018880-4-2-2024')
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from terrabit._validation import check_int_range
from terrabit.aef import AEF_NODATA, decode_block, dequantize
from terrabit.corpus.tiles import gdal_env
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import GeoParquetWriter
from terrabit.kernels.pooling import block_sums

if TYPE_CHECKING:
    from rasterio.crs import CRS
    from rasterio.io import DatasetReader

__all__ = [
    "ROW_GROUP_PATCHES",
    "WINDOW_PX",
    "PooledTile",
    "check_pool_options",
    "pool_tile",
    "pool_windows",
    "tile_name",
    "write_pooled_tile",
]

#: Side of the windows a tile is read by, in pixels (rounded up to whole blocks): two COG
#: blocks of 256 px, so each compressed block is read once.
WINDOW_PX = 512
#: Fewest bands a raster must have to be read as embeddings (1-3 bands are imagery).
MIN_BANDS = 4
#: Patches per row group of a patch file (:func:`write_pooled_tile`): what is held in memory
#: before it is written, a strip of 512 px x 8192 px at patch 8.
ROW_GROUP_PATCHES = 1 << 16


@dataclass(frozen=True)
class PooledTile:
    """The patches of one tile (:func:`pool_tile`) or of one window of it
    (:func:`pool_windows`), in window order: windows row by row, the blocks of each row
    by row. Its counts (``blocks``, ``pixels``, ...) are those of the same pixels."""

    tile: str
    """The tile's name (:func:`tile_name`)."""
    zone: str
    """Its UTM zone (``19N``), or ``EPSG<code>`` for another CRS."""
    year: int
    """The tile's year, -1 when unknown."""
    path: str
    """Where it was read from."""
    bands: int
    """Bands per pixel (the dimension of the vectors)."""
    dtype: str
    """The raster's data type."""
    rows: npt.NDArray[np.int32]
    """Each patch's block row (0 = the northernmost)."""
    cols: npt.NDArray[np.int32]
    """Each patch's block column (0 = the westernmost)."""
    vectors: npt.NDArray[np.float32]
    """``(n, bands)`` pooled unit vectors."""
    valid_fraction: npt.NDArray[np.float32]
    """Valid pixels over N x N, per patch."""
    footprints: npt.NDArray[np.object_]
    """CRS84 polygons, one per patch."""
    blocks: int
    """Blocks of the tile (kept or not)."""
    pixels: int
    """Pixels of the tile."""
    valid_pixels: int
    """Pixels that are not nodata."""
    raster_bytes: int
    """Bytes of raster values read (pixels x bands x bytes per value)."""

    def ids(self) -> list[str]:
        """``{tile}-{row}-{col}-{year}`` per patch (``{tile}-{row}-{col}`` with no year)."""
        tail = "" if self.year < 0 else f"-{self.year}"
        return [f"{self.tile}-{r}-{c}{tail}" for r, c in zip(self.rows, self.cols, strict=True)]

    def counts(self) -> dict[str, int]:
        """``patches``, ``blocks``, ``pixels``, ``valid_pixels``, ``raster_bytes``."""
        return {
            "patches": len(self.rows),
            "blocks": self.blocks,
            "pixels": self.pixels,
            "valid_pixels": self.valid_pixels,
            "raster_bytes": self.raster_bytes,
        }

    @classmethod
    def join(cls, parts: Sequence[PooledTile]) -> PooledTile:
        """The windows of one tile (:func:`pool_windows`, at least one) as one: their
        patches in order, their counts summed."""
        first = parts[0]
        return dataclasses.replace(
            first,
            rows=np.concatenate([p.rows for p in parts]),
            cols=np.concatenate([p.cols for p in parts]),
            vectors=np.concatenate([p.vectors for p in parts]).reshape(-1, first.bands),
            valid_fraction=np.concatenate([p.valid_fraction for p in parts]),
            footprints=np.concatenate([p.footprints for p in parts]),
            blocks=sum(p.blocks for p in parts),
            pixels=sum(p.pixels for p in parts),
            valid_pixels=sum(p.valid_pixels for p in parts),
            raster_bytes=sum(p.raster_bytes for p in parts),
        )


def check_pool_options(*, patch_px: int, min_valid: float) -> None:
    """Check :func:`pool_tile`'s options before any tile is read.

    Examples
    --------
    >>> check_pool_options(patch_px=8, min_valid=0.5)
    >>> check_pool_options(patch_px=8, min_valid=1.5)
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: min_valid must be a fraction in [0, 1] (of a block's \
pixels that must be valid), got 1.5; e.g. 0.5
    """
    check_int_range("patch_px", patch_px, 1, 4096)
    ok = isinstance(min_valid, int | float) and not isinstance(min_valid, bool)
    if not ok or not 0.0 <= float(min_valid) <= 1.0 or math.isnan(float(min_valid)):
        raise InvalidInputError(
            f"min_valid must be a fraction in [0, 1] (of a block's pixels that must be "
            f"valid), got {min_valid!r}; e.g. 0.5",
            params=("min_valid",),
        )


def _zone(crs: CRS) -> str:
    """``19N`` / ``33S`` for WGS 84 / UTM, ``EPSG<code>`` for another EPSG CRS, else a short
    hash of the CRS's WKT."""
    epsg = crs.to_epsg()
    if epsg is not None and 32601 <= epsg <= 32760 and epsg % 100 <= 60:
        return f"{epsg % 100}{'N' if epsg < 32700 else 'S'}"
    if epsg is not None:
        return f"EPSG{epsg}"
    return "CRS" + hashlib.blake2b(crs.to_wkt().encode(), digest_size=4).hexdigest()


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def tile_name(zone: str, west: float, north: float) -> str:
    """A tile's name from its grid position: ``{zone}_{west}_{north}`` (the north-west
    corner in the CRS's units, metres for UTM). The same tile of another year has the same
    name, unlike AEF's file names, whose image id changes with the year.

    Examples
    --------
    >>> tile_name("19N", 716800.0, 5017600.0), tile_name("EPSG3857", -1000.5, 20.25)
    ('19N_716800_5017600', 'EPSG3857_-1000.5_20.25')
    """
    return f"{zone}_{_number(west)}_{_number(north)}"


@dataclass(frozen=True)
class _Grid:
    """What :func:`pool_tile` needs of an open tile."""

    width: int
    height: int
    bands: int
    dtype: str
    left: float
    top: float
    rx: float
    ry: float
    bottom_up: bool
    nodata: float | None
    crs: CRS


def _grid(src: DatasetReader, path: str, *, raw: bool) -> _Grid:
    """The tile's grid, checked: a CRS, north-up axes, 4+ bands, ``int8`` unless ``raw``."""
    if src.crs is None:
        raise InvalidInputError(
            f"tile {path!r} has no CRS, so its blocks cannot be placed on the Earth; assign "
            "its CRS (e.g. `gdal_edit.py -a_srs EPSG:32619 tile.tif`)"
        )
    t = src.transform
    if t.b != 0 or t.d != 0:
        raise InvalidInputError(f"tile {path!r} has a rotated geotransform; warp it north-up first")
    if src.count < MIN_BANDS:
        raise InvalidInputError(
            f"tile {path!r} has {src.count} band(s): it looks like imagery, not embeddings "
            f"(one band per dimension, {MIN_BANDS} or more; AEF has 64 int8 bands); pass "
            "embedding rasters (raw=True takes other products' float or int8 ones)",
            params=("raw",),
        )
    dtype = str(src.dtypes[0])
    if len(set(src.dtypes)) > 1:
        raise InvalidInputError(
            f"tile {path!r} mixes data types {sorted(set(src.dtypes))} across its bands; "
            "embedding rasters have one data type"
        )
    if not raw and dtype != "int8":
        raise InvalidInputError(
            f"tile {path!r} holds {dtype} values, not AEF's int8 codes; pass raw=True to pool "
            "the stored values of another product",
            params=("raw",),
        )
    bottom_up = t.e > 0
    top = t.f + src.height * t.e if bottom_up else t.f
    return _Grid(
        src.width, src.height, src.count, dtype, t.c, top, t.a, abs(t.e), bottom_up,
        src.nodata, src.crs,
    )  # fmt: skip


#: The de-quantized value of every AEF code (nodata as 0), indexed by the code read as uint8.
_AEF_VALUES = dequantize(np.arange(256, dtype=np.uint8).view(np.int8), nodata=0.0).astype(
    np.float64
)


def _pool_window(
    block: npt.NDArray[Any], n: int, *, raw: bool, nodata: float | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sums ``(bands, BH, BW)`` (float64) and valid counts ``(BH, BW)`` of the N x N blocks
    of a ``(bands, h, w)`` window (its last blocks may be partial): AEF codes by the
    compiled :func:`~terrabit.kernels.pooling.block_sums`, raw values by
    :func:`~terrabit.aef.decode_block` and numpy (the same sums)."""
    if not raw:
        return block_sums(block, n, _AEF_VALUES, AEF_NODATA)
    bands, h, w = block.shape
    bh, bw = -(-h // n), -(-w // n)
    values = decode_block(block, raw=raw, nodata=nodata).reshape(bands, h, w)
    valid = ~np.isnan(values[0])
    padded = np.zeros((bands, bh * n, bw * n), dtype=values.dtype)
    padded[:, :h, :w] = np.where(valid, values, 0)
    mask = np.zeros((bh * n, bw * n), dtype=np.int64)
    mask[:h, :w] = valid
    sums = padded.reshape(bands, bh, n, bw, n).sum(axis=(2, 4), dtype=np.float64)
    counts = mask.reshape(bh, n, bw, n).sum(axis=(1, 3))
    return sums, counts


def _footprints(
    grid: _Grid, to_ll: Any, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.object_]:
    """The blocks' rectangles (clipped to the tile) as CRS84 polygons, counter-clockwise
    (``to_ll``: the tile's CRS to CRS84, a ``pyproj.Transformer``)."""
    x0 = grid.left + cols * n * grid.rx
    x1 = grid.left + np.minimum((cols + 1) * n, grid.width) * grid.rx
    y1 = grid.top - rows * n * grid.ry
    y0 = grid.top - np.minimum((rows + 1) * n, grid.height) * grid.ry
    xs = np.column_stack([x0, x1, x1, x0, x0])  # SW, SE, NE, NW, SW
    ys = np.column_stack([y0, y0, y1, y1, y0])
    lon, lat = to_ll.transform(xs.reshape(-1), ys.reshape(-1))
    coords = np.stack([np.reshape(lon, xs.shape), np.reshape(lat, ys.shape)], axis=-1)
    return np.asarray(shapely.polygons(coords), dtype=object)


def pool_windows(
    path: str,
    *,
    patch_px: int = 8,
    min_valid: float = 0.5,
    raw: bool = False,
    year: int = -1,
    expect: tuple[int, str] | None = None,
) -> Iterator[PooledTile]:
    """Pool one embedding tile window by window: the patches of each window of whole
    blocks (about :data:`WINDOW_PX` pixels square), windows row by row, as it is read.

    Each :class:`PooledTile` holds the kept blocks of one window and the counts of that
    window's pixels (every window is yielded, with or without a kept block), so memory
    stays bounded by one window whatever the tile's size; :func:`pool_tile` joins them.
    Parameters and errors are those of :func:`pool_tile`, the errors raised before the
    first window is read.

    Examples
    --------
    >>> import tempfile
    >>> from terrabit.world.aef import write_aef_tiles
    >>> info = write_aef_tiles(tempfile.mkdtemp(), seed=0, bbox=(-66.004, 45.275, -65.998,
    ...                        45.278), years=[2024], tile_px=128)
    >>> from terrabit.corpus.tiles import read_tile_index
    >>> path = read_tile_index(info["index"])["path"][0]
    >>> [(w.pixels, w.blocks, len(w.rows)) for w in pool_windows(path, patch_px=16, year=2024)]
    [(16384, 64, 4)]
    """
    import rasterio
    from pyproj import Transformer
    from rasterio.windows import Window

    check_pool_options(patch_px=patch_px, min_valid=min_valid)
    n = int(patch_px)
    win = n * max(1, -(-WINDOW_PX // n))
    with gdal_env(path), rasterio.open(path) as src:
        grid = _grid(src, path, raw=raw)
        if expect is not None and (grid.bands, grid.dtype) != tuple(expect):
            raise InvalidInputError(
                f"tile {path!r} has {grid.bands} bands of {grid.dtype}, but the run's first "
                f"tile has {expect[0]} bands of {expect[1]}; publish one product (one band "
                "count and data type) at a time"
            )
        zone = _zone(grid.crs)
        name = tile_name(zone, grid.left, grid.top)
        to_ll = Transformer.from_crs(grid.crs, "OGC:CRS84", always_xy=True)
        itemsize = np.dtype(grid.dtype).itemsize
        for r0 in range(0, grid.height, win):
            h = min(win, grid.height - r0)
            for c0 in range(0, grid.width, win):
                w = min(win, grid.width - c0)
                file_row = grid.height - r0 - h if grid.bottom_up else r0
                block = src.read(window=Window(c0, file_row, w, h))
                if grid.bottom_up:
                    block = block[:, ::-1, :]
                sums, counts = _pool_window(block, n, raw=raw, nodata=grid.nodata)
                fraction = counts / float(n * n)
                keep = (counts > 0) & (fraction >= min_valid)
                mean = sums[:, keep].T / counts[keep][:, None]
                norm = np.linalg.norm(mean, axis=1)
                good = norm > 0
                br, bc = np.nonzero(keep)
                rows, cols = br[good] + r0 // n, bc[good] + c0 // n
                yield PooledTile(
                    tile=name,
                    zone=zone,
                    year=int(year),
                    path=path,
                    bands=grid.bands,
                    dtype=grid.dtype,
                    rows=rows.astype(np.int32),
                    cols=cols.astype(np.int32),
                    vectors=(mean[good] / norm[good, None]).astype(np.float32),
                    valid_fraction=fraction[keep][good].astype(np.float32),
                    footprints=_footprints(grid, to_ll, rows, cols, n),
                    blocks=counts.size,
                    pixels=h * w,
                    valid_pixels=int(counts.sum()),
                    raster_bytes=h * w * grid.bands * itemsize,
                )


def pool_tile(
    path: str,
    *,
    patch_px: int = 8,
    min_valid: float = 0.5,
    raw: bool = False,
    year: int = -1,
    expect: tuple[int, str] | None = None,
) -> PooledTile:
    """Pool one embedding tile to patches of ``patch_px`` x ``patch_px`` pixels, in memory
    (:func:`write_pooled_tile` streams them to a file instead).

    Parameters
    ----------
    path : str
        The tile: a local path or an ``http(s)://`` / ``s3://`` URL (GDAL reads it by ranges).
    patch_px : int
        Block side N in pixels (8 = 80 m at AEF's 10 m).
    min_valid : float
        Keep a block when at least this fraction of its N x N pixels is valid.
    raw : bool
        Pool the stored values (other products' float or int8 rasters, nodata from the
        raster) instead of de-quantizing AEF codes.
    year : int
        The tile's year (ids and the ``datetime`` of the patch file); -1 unknown.
    expect : (bands, dtype), optional
        The band count and data type of the run's other tiles: a tile that differs is
        refused before its pixels are read.

    Returns
    -------
    PooledTile
        Its patches in window order (:func:`pool_windows`), its counts the tile's.

    Raises
    ------
    InvalidInputError
        The tile has no CRS, fewer than 4 bands, is not ``int8`` (without ``raw``), is
        rotated, or differs from ``expect``.
    """
    windows = list(
        pool_windows(
            path, patch_px=patch_px, min_valid=min_valid, raw=raw, year=year, expect=expect
        )
    )
    return PooledTile.join(windows)


def write_pooled_tile(
    path: str,
    target: str | os.PathLike[str],
    *,
    patch_px: int = 8,
    min_valid: float = 0.5,
    raw: bool = False,
    year: int = -1,
    expect: tuple[int, str] | None = None,
) -> dict[str, int]:
    """Pool one tile (:func:`pool_windows`) into a GeoParquet file of patches as it is
    read, a row group per :data:`ROW_GROUP_PATCHES` patches (or more: whole windows), so
    that memory stays bounded whatever the tile's size.

    The file (``id``, ``datetime`` when the year is known, ``embedding``, ``tile``,
    ``year``, ``zone``, ``geometry``: what :func:`terrabit.corpus.publish` takes) is written
    under a temporary name and renamed once complete; a tile with no kept block writes no
    file. Parameters are those of :func:`pool_tile`.

    Returns
    -------
    dict
        The tile's counts: ``patches``, ``blocks``, ``pixels``, ``valid_pixels``,
        ``raster_bytes``.

    Examples
    --------
    >>> import tempfile, pyarrow.parquet as pq
    >>> from terrabit.world.aef import write_aef_tiles
    >>> tmp = tempfile.mkdtemp()
    >>> info = write_aef_tiles(tmp, seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
    ...                        years=[2024], tile_px=128)
    >>> from terrabit.corpus.tiles import read_tile_index
    >>> path = read_tile_index(info["index"])["path"][0]
    >>> write_pooled_tile(path, tmp + "/p.parquet", patch_px=16, year=2024)["patches"]
    4
    >>> pq.read_table(tmp + "/p.parquet")["id"][0].as_py()
    '19N_734720_5018880-4-2-2024'
    """
    counts = dict.fromkeys(("patches", "blocks", "pixels", "valid_pixels", "raster_bytes"), 0)
    held: list[PooledTile] = []
    with GeoParquetWriter(
        target, geometry_types=["Polygon"], orientation="counterclockwise"
    ) as out:
        for part in pool_windows(
            path, patch_px=patch_px, min_valid=min_valid, raw=raw, year=year, expect=expect
        ):
            for key, value in part.counts().items():
                counts[key] += value
            if len(part.rows):
                held.append(part)
            if held and sum(len(p.rows) for p in held) >= ROW_GROUP_PATCHES:
                _write_patches(out, PooledTile.join(held))
                held = []
        if held:
            _write_patches(out, PooledTile.join(held))
    return counts


def _write_patches(out: GeoParquetWriter, pooled: PooledTile) -> None:
    """Append the patches of ``pooled`` to a patch file as one row group."""
    n, d = pooled.vectors.shape
    columns: dict[str, pa.Array] = {"id": pa.array(pooled.ids(), pa.string())}
    if pooled.year >= 0:
        start = np.datetime64(f"{pooled.year:04d}-01-01T00:00:00", "ms").astype(np.int64)
        columns["datetime"] = pa.array(np.full(n, start, np.int64), pa.timestamp("ms", tz="UTC"))
    flat = pa.array(pooled.vectors.reshape(-1), pa.float32())
    columns["embedding"] = pa.FixedSizeListArray.from_arrays(flat, d)
    columns["tile"] = pa.array([pooled.tile] * n, pa.string())
    columns["year"] = pa.array(np.full(n, pooled.year, np.int32), pa.int32())
    columns["zone"] = pa.array([pooled.zone] * n, pa.string())
    out.write(columns, geometry=pooled.footprints)
