"""AEF pixel semantics for zonal statistics: nodata masking and de-quantization.

AlphaEarth Foundations stores unit-length 64-d embeddings as ``int8`` codes with
``-128`` as nodata in every band. Codes are de-quantized with
``(q / 127.5) ** 2 * sign(q)`` **before** any statistic: the mapping is non-linear, so
the mean of the codes is not the code of the mean. ``raw=True`` keeps the stored values
(for other products) and masks only the raster's own nodata value.

Examples
--------
>>> import numpy as np
>>> block = np.array([[[127, -128]], [[-64, -128]]], dtype=np.int8)  # (bands, rows, cols)
>>> values = decode_block(block, raw=False, nodata=-128)
>>> values.round(3)
array([[ 0.992,    nan],
       [-0.252,    nan]], dtype=float32)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from terrabit.aef import AEF_NODATA, dequantize
from terrabit.errors import InvalidInputError

__all__ = ["AEF_NODATA", "decode_block"]


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
