"""Block sums of a window of ``int8`` codes: the pooling kernel of pixel corpora (numba).

:func:`block_sums` turns a ``(bands, h, w)`` window of codes into the float64 sums of their
looked-up values over each ``n x n`` block and the count of valid pixels per block, in one
pass and without a float copy of the window (~5x faster than de-quantizing with numpy and
summing). A pixel with the nodata code in any band is left out of every band. The sums run
in a fixed order (rows, then columns, of each band) with no fast-math reassociation, so
results are the same on every run and thread.

Examples
--------
>>> import numpy as np
>>> codes = np.array([[[1, 2, 3], [4, -128, 6]]], dtype=np.int8)  # 1 band, 2 x 3 pixels
>>> lut = np.arange(256, dtype=np.float64)
>>> lut[128:] -= 256  # the identity on int8 codes, read as uint8
>>> sums, counts = block_sums(codes, 2, lut, -128)
>>> sums.tolist(), counts.tolist()
([[[7.0, 9.0]]], [[3, 2]])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["block_sums"]


@njit(cache=True, nogil=True)
def _block_sums(
    codes: npt.NDArray[np.int8],
    n: int,
    lut: npt.NDArray[np.float64],
    nodata: int,
    sums: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    bands, h, w = codes.shape
    valid = np.ones((h, w), dtype=np.bool_)
    for b in range(bands):
        for y in range(h):
            for x in range(w):
                if codes[b, y, x] == nodata:
                    valid[y, x] = False
    for y in range(h):
        for x in range(w):
            if valid[y, x]:
                counts[y // n, x // n] += 1
    for b in range(bands):
        for y in range(h):
            by = y // n
            for x in range(w):
                if valid[y, x]:
                    sums[b, by, x // n] += lut[np.uint8(codes[b, y, x])]


def block_sums(
    codes: npt.NDArray[np.int8], n: int, lut: npt.NDArray[np.float64], nodata: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sums of ``lut[code]`` and valid counts over the ``n x n`` blocks of a window.

    Parameters
    ----------
    codes : int8 array ``(bands, h, w)``
        The window, any strides (a flipped view of a bottom-up tile is fine).
    n : int
        Block side in pixels; the last blocks may be partial (``ceil(h / n)`` rows of blocks).
    lut : float64 array ``(256,)``
        The value of each code, indexed by the code's bits read as ``uint8``.
    nodata : int
        The nodata code: a pixel holding it in any band is not valid.

    Returns
    -------
    (sums, counts)
        ``sums`` float64 ``(bands, ceil(h / n), ceil(w / n))`` over the valid pixels;
        ``counts`` int64 ``(ceil(h / n), ceil(w / n))`` valid pixels per block.
    """
    bands, h, w = codes.shape
    bh, bw = -(-h // n), -(-w // n)
    sums = np.zeros((bands, bh, bw), dtype=np.float64)
    counts = np.zeros((bh, bw), dtype=np.int64)
    _block_sums(codes, int(n), np.ascontiguousarray(lut, dtype=np.float64), int(nodata), sums,
                counts)  # fmt: skip
    return sums, counts
