"""Tiled inference over a whole scene, soft outputs blended, written as a pixel-aligned COG.

The scene (one six-band raster, or several rasters stacked band by band; a raster on
another grid, such as 20 m SWIR bands, is warped bilinearly onto the first one's grid) is
read tile by tile (windowed reads; only the blended output is held whole). Tiles of
``size`` × ``size`` px start every ``stride`` px; the last row and column of tiles are
moved back to end at the scene's edge, so every pixel is covered and the output has no
nodata border. Each tile goes through the same preprocessing as training (÷ 10000,
indices, z-score with the checkpoint's statistics) and the model; the class
**probabilities** (softmax, never argmax labels) are blended:

* ``cosine``: each tile's probabilities weighted by a separable raised-cosine window
  (largest at the tile centre, small but positive at its edges), then divided by the sum
  of the weights;
* ``center``: each pixel takes the probabilities of the tile whose centre is nearest
  (per axis), i.e. every tile keeps its central part. With an overlap ``size - stride`` at
  least the model's receptive field, this equals a whole-scene forward pass exactly.

The output is a float32, tiled (256), deflate-compressed Cloud-Optimized GeoTIFF with
overviews 2, 4, 8, 16 and the CRS, transform, width and height of the scene: band ``k``
is the probability of class ``k`` (for two classes, one band: the probability of class 1).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from terrabit._atomic import atomic_file, check_output
from terrabit._compat import lazy_import
from terrabit._progress import progress_bar
from terrabit._validation import check_choice, check_int_range
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
    from torch import nn
else:
    torch = lazy_import("torch", "segment")
    nn = torch.nn

__all__ = [
    "BLENDS",
    "Blend",
    "blend_window",
    "predict_array",
    "predict_scene",
    "tile_starts",
]

Blend = Literal["cosine", "center"]
BLENDS: tuple[Blend, ...] = ("cosine", "center")
OVERVIEW_LEVELS = (2, 4, 8, 16)
FloatArray = npt.NDArray[np.float32]


def tile_starts(length: int, size: int, stride: int) -> list[int]:
    """Offsets of tiles of ``size`` every ``stride`` px, the last one ending at ``length``.

    Examples
    --------
    >>> tile_starts(1000, 512, 448)
    [0, 448, 488]
    >>> tile_starts(512, 512, 448)
    [0]
    """
    if length < size:
        raise InvalidInputError(f"a length of {length} px is smaller than the tile size {size}")
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def blend_window(size: int) -> FloatArray:
    """Separable raised-cosine window of ``size`` × ``size``, positive everywhere.

    Examples
    --------
    >>> w = blend_window(4)
    >>> bool(w.min() > 0), bool(w[1, 1] == w.max())
    (True, True)
    """
    i = (np.arange(size, dtype=np.float64) + 0.5) / size
    w = 0.5 - 0.5 * np.cos(2 * np.pi * i)
    return np.outer(w, w).astype(np.float32)


def _core_ranges(starts: list[int], size: int, length: int) -> list[tuple[int, int]]:
    """Per tile, the pixel range whose nearest tile centre is this tile's (ties: first)."""
    centres = np.asarray(starts, dtype=np.float64) + size / 2
    owner = np.argmin(np.abs(np.arange(length)[:, None] + 0.5 - centres[None, :]), axis=1)
    ranges = []
    for k in range(len(starts)):
        idx = np.flatnonzero(owner == k)
        ranges.append((int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0))
    return ranges


def _check_tiling(height: int, width: int, size: int, stride: int) -> None:
    check_int_range("size", size, 8)
    check_int_range("stride", stride, 1)
    if stride > size:
        raise InvalidInputError(
            f"stride={stride} is larger than size={size}: tiles would leave gaps; pass "
            f"stride={size} or less",
            params=("stride", "size"),
        )
    if height < size or width < size:
        raise InvalidInputError(
            f"the scene is {height} x {width} px, smaller than a {size} x {size} tile; pass "
            f"size={min(height, width)} or less (and stride no larger than it)",
            params=("size", "stride"),
        )


def _tiles(
    height: int, width: int, size: int, stride: int
) -> Iterator[tuple[int, int, tuple[int, int], tuple[int, int]]]:
    rows, cols = tile_starts(height, size, stride), tile_starts(width, size, stride)
    row_core, col_core = _core_ranges(rows, size, height), _core_ranges(cols, size, width)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            yield r, c, row_core[i], col_core[j]


class _Blender:
    def __init__(self, n_out: int, height: int, width: int, size: int, blend: str) -> None:
        self.blend = blend
        self.size = size
        self.sum = np.zeros((n_out, height, width), dtype=np.float32)
        self.weight = np.zeros((height, width), dtype=np.float32)
        self.window = blend_window(size)

    def add(
        self, probs: FloatArray, r: int, c: int, rc: tuple[int, int], cc: tuple[int, int]
    ) -> None:
        s = self.size
        if self.blend == "cosine":
            self.sum[:, r : r + s, c : c + s] += probs * self.window
            self.weight[r : r + s, c : c + s] += self.window
        else:
            self.sum[:, rc[0] : rc[1], cc[0] : cc[1]] = probs[
                :, rc[0] - r : rc[1] - r, cc[0] - c : cc[1] - c
            ]
            self.weight[rc[0] : rc[1], cc[0] : cc[1]] = 1.0

    def result(self) -> FloatArray:
        if not (self.weight > 0).all():  # pragma: no cover - the tiling covers every pixel
            raise AssertionError("tiling left pixels uncovered")
        self.sum /= self.weight  # in place: a whole scene's probabilities are large
        return self.sum


def _run(model: nn.Module, batch: list[npt.NDArray[Any]], norm: Any) -> FloatArray:
    from terrabit.segment.data import to_model_input

    x = torch.from_numpy(np.stack(batch).astype(np.float32))
    if norm is not None:
        x = to_model_input(x, norm)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    out: FloatArray = probs.numpy().astype(np.float32)
    return out


def predict_array(
    model: nn.Module,
    image: npt.ArrayLike,
    *,
    size: int = 512,
    stride: int | None = None,
    blend: str = "cosine",
    norm: Any = None,
    batch_size: int = 4,
    show_progress: bool | None = None,
) -> FloatArray:
    """Blended class probabilities ``(classes, H, W)`` of a ``(bands, H, W)`` array.

    ``stride`` defaults to ``size - size // 8`` (448 for 512). ``norm`` (a
    :class:`~terrabit.segment.data.Normalization`) turns digital numbers into
    the 9-channel input; ``None`` feeds ``image`` to the model as it is.

    Examples
    --------
    >>> from terrabit.segment.models import build_model
    >>> net = build_model("fcn-tiny", in_channels=2)
    >>> predict_array(net, np.zeros((2, 40, 50)), size=32, stride=24).shape
    (2, 40, 50)
    """
    check_int_range("size", size, 8)
    stride = size - size // 8 if stride is None else stride
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise InvalidInputError(f"image must be (bands, H, W); got shape {arr.shape}")
    _, height, width = arr.shape

    def read(r: int, c: int) -> npt.NDArray[Any]:
        return arr[:, r : r + size, c : c + size]

    return _predict_tiles(
        model,
        read,
        height,
        width,
        size=size,
        stride=stride,
        blend=blend,
        norm=norm,
        batch_size=batch_size,
        show_progress=show_progress,
    )


def _predict_tiles(
    model: nn.Module,
    read: Callable[[int, int], npt.NDArray[Any]],
    height: int,
    width: int,
    *,
    size: int,
    stride: int,
    blend: str,
    norm: Any,
    batch_size: int,
    show_progress: bool | None,
) -> FloatArray:
    """Blend the probabilities of every tile; ``read(row, col)`` gives one tile's bands."""
    check_choice("blend", blend, BLENDS)
    check_int_range("batch_size", batch_size, 1)
    _check_tiling(height, width, size, stride)
    model.eval()
    tiles = list(_tiles(height, width, size, stride))
    blender: _Blender | None = None
    with progress_bar("predicting tiles", total=len(tiles), show=show_progress) as bar:
        for start in range(0, len(tiles), batch_size):
            chunk = tiles[start : start + batch_size]
            probs = _run(model, [read(r, c) for r, c, _, _ in chunk], norm)
            if blender is None:
                blender = _Blender(probs.shape[1], height, width, size, blend)
            for p, (r, c, rc, cc) in zip(probs, chunk, strict=True):
                blender.add(p, r, c, rc, cc)
            bar.advance(len(chunk))
    assert blender is not None
    return blender.result()


def _open_scene(
    stack: ExitStack, scenes: Sequence[str | os.PathLike[str]]
) -> tuple[Any, list[Any]]:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    if not scenes:
        raise InvalidInputError("no SCENE given; pass the scene raster(s)")
    sources = []
    for path in scenes:
        if not Path(path).is_file():
            raise InvalidInputError(f"scene raster {str(path)!r} does not exist")
        src = stack.enter_context(rasterio.open(path))
        if src.crs is None:
            raise InvalidInputError(
                f"scene raster {str(path)!r} has no CRS; georeference it (e.g. "
                "`gdal_edit.py -a_srs EPSG:32631 FILE`) so the prediction can be aligned"
            )
        sources.append(src)
    ref = sources[0]
    readers = [ref]
    for src in sources[1:]:
        same = (
            src.crs == ref.crs
            and src.transform == ref.transform
            and (src.width, src.height) == (ref.width, ref.height)
        )
        readers.append(
            src
            if same
            else stack.enter_context(
                WarpedVRT(
                    src,
                    crs=ref.crs,
                    transform=ref.transform,
                    width=ref.width,
                    height=ref.height,
                    resampling=Resampling.bilinear,
                )
            )
        )
    return ref, readers


def _write_cog(
    probs: FloatArray, ref: Any, target: Path, names: list[str], overwrite: bool
) -> list[int]:
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling

    height, width = probs.shape[1:]
    levels = [f for f in OVERVIEW_LEVELS if min(height, width) // f >= 1]
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": probs.shape[0],
        "dtype": "float32",
        "crs": ref.crs,
        "transform": ref.transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with atomic_file(target, overwrite=overwrite) as tmp:
        plain = tmp.with_name(tmp.name + ".plain.tif")
        try:
            with rasterio.open(plain, "w", **profile) as dst:
                dst.write(probs)
                dst.descriptions = tuple(names)
                if levels:
                    dst.build_overviews(levels, Resampling.average)
            rasterio.shutil.copy(
                plain,
                tmp,
                driver="COG",
                compress="DEFLATE",
                predictor="YES",
                blocksize=256,
                overviews="FORCE_USE_EXISTING" if levels else "NONE",
            )
        finally:
            Path(plain).unlink(missing_ok=True)
            Path(str(plain) + ".ovr").unlink(missing_ok=True)
    return levels


def predict_scene(
    checkpoint: str | os.PathLike[str],
    scenes: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    size: int = 512,
    stride: int | None = None,
    blend: str = "cosine",
    batch_size: int = 4,
    arch: str | None = None,
    overwrite: bool = False,
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Predict a whole scene with a checkpoint and write the probabilities as a COG.

    Parameters
    ----------
    checkpoint : path
        From ``terrabit segment train`` (:func:`~terrabit.segment.models.save_checkpoint`).
    scenes : sequence of paths
        One six-band raster of digital numbers, or single-band rasters stacked in band
        order (B02, B03, B04, B08, B11, B12); others are warped onto the first's grid.
    out : path
        Output ``.tif`` (COG).
    size, stride : int
        Tile side and step in pixels (``stride <= size``; default ``size - size // 8``,
        448 for 512).
    blend : {"cosine", "center"}
        How overlapping tiles' probabilities are combined.
    batch_size : int
        Tiles per forward pass.
    arch : str, optional
        Expected architecture; a checkpoint of another one is refused.
    overwrite : bool
        Replace ``out`` if it exists.

    Returns
    -------
    dict
        ``output``, ``width``, ``height``, ``crs``, ``bands``, ``tiles``, ``size``,
        ``stride``, ``blend``, ``overviews``, ``seconds``.
    """
    import rasterio

    from terrabit.segment.data import BANDS, Normalization
    from terrabit.segment.models import load_checkpoint

    check_choice("blend", blend, BLENDS)
    check_int_range("size", size, 8)
    stride = size - size // 8 if stride is None else stride
    target = check_output(out, overwrite=overwrite, option="out")
    model, meta = load_checkpoint(checkpoint, arch=arch)
    norm = Normalization(**meta["norm"]) if meta.get("norm") else None
    started = time.perf_counter()
    with ExitStack() as stack:
        ref, readers = _open_scene(stack, scenes)
        n_bands = sum(r.count for r in readers)
        expected = len(BANDS) if norm is not None else int(meta["in_channels"])
        if n_bands != expected:
            raise InvalidInputError(
                f"the scene has {n_bands} bands; the checkpoint needs {expected} "
                f"({', '.join(BANDS) if norm is not None else 'model inputs'}); pass one "
                "six-band raster or the band rasters in that order"
            )
        _check_tiling(ref.height, ref.width, size, stride)
        from rasterio.windows import Window

        def read(r: int, c: int) -> npt.NDArray[Any]:
            window = Window(c, r, size, size)
            return np.concatenate([src.read(window=window) for src in readers])

        probs = _predict_tiles(
            model,
            read,
            ref.height,
            ref.width,
            size=size,
            stride=stride,
            blend=blend,
            norm=norm,
            batch_size=batch_size,
            show_progress=show_progress,
        )
        names = [str(n) for n in meta.get("class_names", [])] or [
            f"class{i}" for i in range(probs.shape[0])
        ]
        if probs.shape[0] == 2:
            probs, names = probs[1:], [f"p_{names[1]}"]
        else:
            names = [f"p_{n}" for n in names]
        levels = _write_cog(probs, ref, target, names, overwrite)
        with rasterio.open(target) as check:
            aligned = (
                check.crs == ref.crs
                and check.transform == ref.transform
                and (check.width, check.height) == (ref.width, ref.height)
            )
        if not aligned:  # pragma: no cover - a GDAL regression, never expected
            raise AssertionError("the written prediction is not aligned with the scene")
        crs = ref.crs.to_string()
        width, height = ref.width, ref.height
    tiles = len(tile_starts(height, size, stride)) * len(tile_starts(width, size, stride))
    return {
        "output": os.fspath(target),
        "width": width,
        "height": height,
        "crs": crs,
        "bands": names,
        "tiles": tiles,
        "size": size,
        "stride": stride,
        "blend": blend,
        "overviews": levels,
        "seconds": round(time.perf_counter() - started, 3),
        "mean_probability": float(np.mean(probs[0])) if math.prod(probs.shape) else math.nan,
    }
