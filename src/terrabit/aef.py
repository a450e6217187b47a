"""The AlphaEarth Foundations (AEF) tile format: quantization, bands, nodata, UTM zones.

AEF stores unit-length 64-d embeddings as 64-band ``int8`` COGs in the UTM zone of each
tile, 10 m pixels, band descriptions ``A00`` … ``A63`` and nodata ``-128`` in every band.
The codes are a non-linear function of the values::

    q = round(127.5 * sign(x) * sqrt(|x|))   clipped to [-127, 127]
    x ≈ (q / 127.5) ** 2 * sign(q)           (-128 is nodata -> NaN)

so every statistic must be taken on de-quantized values. The synthetic world writes this
format (:mod:`terrabit.world.aef`); zonal statistics (:mod:`terrabit.zonal`) and pixel
corpora (:mod:`terrabit.pixels`) read it with :func:`decode_block`; all take the rules from
here.

Examples
--------
>>> import numpy as np
>>> quantize(np.array([0.0, 0.25, -1.0, np.nan]))
array([   0,   64, -127, -128], dtype=int8)
>>> dequantize(np.array([0, 64, -127, -128], dtype=np.int8)).round(3)
array([ 0.   ,  0.252, -0.992,    nan], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from terrabit.errors import InvalidInputError

__all__ = [
    "AEF_BANDS",
    "AEF_DIM",
    "AEF_NODATA",
    "decode_block",
    "dequantize",
    "quantize",
    "utm_epsg",
]

#: Bands per pixel, as AEF.
AEF_DIM = 64
#: Band descriptions (and names) ``A00`` … ``A63``.
AEF_BANDS: tuple[str, ...] = tuple(f"A{i:02d}" for i in range(AEF_DIM))
#: Nodata value in every band.
AEF_NODATA = -128


def quantize(x: np.ndarray) -> np.ndarray:
    """Quantize float values in ``[-1, 1]`` to AEF ``int8`` codes.

    ``q = rint(127.5 * sign(x) * sqrt(|x|))`` clipped to ``[-127, 127]``; ``NaN`` becomes the
    nodata code ``-128``. The square root spends more codes near zero, where the
    components of a unit-length 64-d vector mostly lie. ``float32`` input is computed in
    ``float32`` (fast), anything else in ``float64``.

    Parameters
    ----------
    x : array of float
        Values, normally components of unit-length vectors (values beyond ±1 clip).

    Returns
    -------
    numpy.ndarray of int8, the shape of ``x``.

    Examples
    --------
    >>> quantize(np.array([1.0, 0.5, 0.0, -0.01]))
    array([127,  90,   0, -13], dtype=int8)
    """
    values = np.asarray(x)
    if values.dtype != np.float32:
        values = values.astype(np.float64)
    code = np.sqrt(np.abs(values))
    code *= code.dtype.type(127.5)
    np.copysign(code, values, out=code)
    np.rint(code, out=code)
    np.clip(code, -127, 127, out=code)
    nan = np.isnan(code)
    if nan.any():
        code[nan] = AEF_NODATA
    return code.astype(np.int8)


def dequantize(q: np.ndarray, *, nodata: float = math.nan) -> np.ndarray:
    """Map AEF ``int8`` codes back to floats: ``(q / 127.5) ** 2 * sign(q)``; ``-128 -> nodata``.

    Always de-quantize before any statistic (mean, std, PCA): the codes are a non-linear
    function of the values. The error of a round trip is at most
    ``2 * 0.5 / 127.5 ≈ 0.0078`` per component for inputs in ``[-1, 1]``.

    Parameters
    ----------
    q : array of int8 (any integer dtype)
        AEF codes.
    nodata : float
        The value given to the nodata code ``-128`` (default ``NaN``; ``0.0`` suits sums
        over valid pixels).

    Returns
    -------
    numpy.ndarray of float32, the shape of ``q``.

    Examples
    --------
    >>> dequantize(np.array([127, 90, 0, -13, -128], dtype=np.int8)).round(4)
    array([ 0.9922,  0.4983,  0.    , -0.0104,     nan], dtype=float32)
    >>> dequantize(np.array([-128, 127], dtype=np.int8), nodata=0.0).round(4)
    array([0.    , 0.9922], dtype=float32)
    """
    codes = np.asarray(q)
    if codes.dtype.kind not in "iu":
        raise InvalidInputError(
            f"dequantize expects integer AEF codes (int8), got dtype {codes.dtype}; "
            "pass the raster values as read, before any conversion"
        )
    if codes.dtype == np.int8:
        lut = _DEQUANTIZE_LUT
        if not math.isnan(nodata):
            lut = lut.copy()
            lut[AEF_NODATA & 0xFF] = nodata
        return lut[codes.view(np.uint8)]  # a table lookup: ~10x faster than the formula
    out = _dequantize_formula(codes)
    if not math.isnan(nodata):
        out[codes == AEF_NODATA] = nodata
    return out


def _dequantize_formula(codes: np.ndarray) -> np.ndarray:
    c = codes.astype(np.float32)
    out = np.square(c / np.float32(127.5)) * np.sign(c)
    out[codes == AEF_NODATA] = np.nan
    return out.astype(np.float32)


#: ``dequantize`` of every int8 code, indexed by the code's bits read as uint8.
_DEQUANTIZE_LUT = _dequantize_formula(np.arange(256, dtype=np.uint8).view(np.int8))


def decode_block(
    block: npt.NDArray[np.generic], *, raw: bool, nodata: float | None
) -> npt.NDArray[np.floating]:
    """Turn a ``(bands, rows, cols)`` block into ``(bands, rows * cols)`` floats, NaN = nodata.

    A pixel that is nodata in any band is nodata in all of them (AEF writes ``-128`` in
    every band at once).

    Parameters
    ----------
    block : array ``(bands, rows, cols)``
        Values as read from the raster.
    raw : bool
        ``False``: AEF ``int8`` codes, de-quantized (nodata ``-128``). ``True``: stored values
        as float64, masking ``nodata`` (if any) and NaN.
    nodata : float, optional
        The raster's nodata value (used when ``raw``).

    Examples
    --------
    >>> block = np.array([[[127, -128]], [[-64, -128]]], dtype=np.int8)  # (bands, rows, cols)
    >>> decode_block(block, raw=False, nodata=-128).round(3)
    array([[ 0.992,    nan],
           [-0.252,    nan]], dtype=float32)
    >>> decode_block(np.array([[[2, 5]]], dtype=np.int16), raw=True, nodata=5)
    array([[ 2., nan]])
    """
    bands = block.shape[0]
    flat = block.reshape(bands, -1)
    if not raw:
        if flat.dtype != np.int8:
            raise InvalidInputError(
                f"AEF tiles hold int8 codes but this raster is {flat.dtype}; pass raw=True "
                "to summarise the stored values of another product",
                params=("raw",),
            )
        values: npt.NDArray[np.floating] = dequantize(flat)
        bad = (flat == AEF_NODATA).any(axis=0)
    else:
        values = flat.astype(np.float64)
        bad = np.isnan(values).any(axis=0)
        if nodata is not None and not np.isnan(nodata):
            bad |= (flat == nodata).any(axis=0)
    if bad.any():
        values[:, bad] = np.nan
    return values


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding a point (``326zz`` north, ``327zz`` south).

    The plain 6° zones (no Norway/Svalbard exceptions), as AEF uses.

    Examples
    --------
    >>> utm_epsg(-72.1, 41.35), utm_epsg(18.0, -33.0)
    (32618, 32734)
    """
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone
