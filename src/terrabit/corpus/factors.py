"""The ``rabitq`` shard column (format 1.4): RaBitQ's per-row correction factors.

A corpus whose codec is ``rabitq`` or a chain ending in it (``norm+rabitq``,
``pca:64+rabitq``) stores beside each code the three factors of
:meth:`~terrabit.codecs.rabitq.RaBitQ.factors` (``norm, ip_code, ip_centroid``, in
:data:`~terrabit.codecs.rabitq.FACTORS` order) as little-endian floats in one
``fixed_size_binary`` column: 6 bytes per row (three float16) when every factor of the
publish is finite in float16, else 12 (three float32). The width tells a reader which.

Writers encode the factors as float32 (:func:`factors_array`, 12 bytes) while mapping,
note whether they all fit float16 (:func:`fits_float16`), and narrow the column
(:func:`narrow`) when writing the shards if every row of the publish did.

Examples
--------
>>> import numpy as np
>>> f = np.array([[1.5, 0.8, -0.25]], np.float32)
>>> col = factors_array(f)
>>> col.type.byte_width, narrow(col).type.byte_width
(12, 6)
>>> factor_values(narrow(col)).tolist()
[[1.5, 0.7998046875, -0.25]]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from terrabit.codecs.base import Codec
from terrabit.codecs.rabitq import FACTORS, rabitq_quantizer

__all__ = [
    "COLUMN",
    "DTYPES",
    "WIDE",
    "factor_values",
    "factors_array",
    "fits_float16",
    "has_factors",
    "narrow",
]

COLUMN = "rabitq"
"""The shard column holding the factors."""

DTYPES: dict[int, str] = {6: "<f2", 12: "<f4"}
"""The column's byte width -> the numpy dtype of its three values (float16, float32)."""

WIDE = 12
"""The float32 width, written while mapping and kept when a factor overflows float16."""

F32 = NDArray[np.float32]


def has_factors(codec: Codec) -> bool:
    """Whether a corpus of ``codec`` carries the ``rabitq`` column (its codec ends in
    ``rabitq``).

    Examples
    --------
    >>> from terrabit.codecs import parse
    >>> has_factors(parse("pca:64+rabitq")), has_factors(parse("rot+binary"))
    (True, False)
    """
    return rabitq_quantizer(codec) is not None


def fits_float16(factors: NDArray[np.floating]) -> bool:
    """Whether every factor is finite once rounded to float16 (``|x| < 65520``).

    Examples
    --------
    >>> import numpy as np
    >>> fits_float16(np.array([[1e4, 1.0, -3.0]])), fits_float16(np.array([[7e4, 1.0, 0.0]]))
    (True, False)
    """
    with np.errstate(over="ignore"):
        return bool(np.isfinite(np.asarray(factors).astype(np.float16)).all())


def factors_array(factors: NDArray[np.floating], width: int = WIDE) -> pa.FixedSizeBinaryArray:
    """Factors ``[n, 3]`` as the column's ``fixed_size_binary[width]`` values (6: float16,
    12: float32; little-endian).

    Examples
    --------
    >>> import numpy as np
    >>> factors_array(np.ones((2, 3)), 6).to_pylist()[0].hex()
    '003c003c003c'
    """
    values = np.asarray(factors)
    if values.ndim != 2 or values.shape[1] != len(FACTORS):
        raise ValueError(f"factors must be [n, {len(FACTORS)}], got shape {values.shape}")
    with np.errstate(over="ignore"):
        raw = np.ascontiguousarray(values, dtype=DTYPES[width])
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(values), [None, pa.py_buffer(raw)]
    )


def factor_values(column: pa.ChunkedArray | pa.Array) -> F32:
    """The column's factors as float32 ``[n, 3]`` (its width says float16 or float32).

    Examples
    --------
    >>> import numpy as np
    >>> factor_values(factors_array(np.array([[2.0, 0.5, 1.0]]), 6)).dtype
    dtype('float32')
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0 or pa.types.is_null(arr.type):
        return np.zeros((n, len(FACTORS)), dtype=np.float32)
    width = arr.type.byte_width
    dtype = np.dtype(DTYPES[width])
    data = np.frombuffer(arr.buffers()[1], dtype=np.uint8, count=(arr.offset + n) * width)
    values = data[arr.offset * width :].view(dtype).reshape(n, len(FACTORS))
    return values.astype(np.float32)


def narrow(column: pa.ChunkedArray | pa.Array) -> pa.FixedSizeBinaryArray:
    """A float32 (12-byte) factors column as float16 (6 bytes per row).

    Examples
    --------
    >>> import numpy as np
    >>> narrow(factors_array(np.zeros((3, 3)))).type
    FixedSizeBinaryType(fixed_size_binary[6])
    """
    return factors_array(factor_values(column), 6)
