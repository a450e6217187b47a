"""Arrow ↔ numpy without pyarrow's pandas shim.

pyarrow 26 imports pandas (≈ 130 ms, more than the whole ``terrabit --version``) the first
time it converts to or from numpy or a Python list — ``Array.to_numpy``, ``np.asarray``
of an array, ``pa.array`` — to ask whether the values are a pandas object; it has no
opt-out. A command-line search converts a few columns and would spend a third of its
start-up there. These helpers do the conversions a search needs through the arrays'
buffers (the same bytes, no pandas) and fall back to pyarrow's own conversion for
anything else; results are identical to pyarrow's (tests/test_arrow.py checks them
against it).

>>> import numpy as np
>>> to_numpy(from_numpy(np.arange(3, dtype=np.int32))).tolist()
[0, 1, 2]
>>> strings(["a", "bé"]).to_pylist()
['a', 'bé']
>>> array([1.5, None], pa.float64()).to_pylist()
[1.5, None]
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["array", "from_numpy", "strings", "to_numpy"]

_NUMPY_OF: dict[pa.DataType, np.dtype[Any]] = {
    pa.int8(): np.dtype(np.int8),
    pa.int16(): np.dtype(np.int16),
    pa.int32(): np.dtype(np.int32),
    pa.int64(): np.dtype(np.int64),
    pa.uint8(): np.dtype(np.uint8),
    pa.uint16(): np.dtype(np.uint16),
    pa.uint32(): np.dtype(np.uint32),
    pa.uint64(): np.dtype(np.uint64),
    pa.float16(): np.dtype(np.float16),
    pa.float32(): np.dtype(np.float32),
    pa.float64(): np.dtype(np.float64),
}
_ARROW_OF: dict[np.dtype[Any], pa.DataType] = {dtype: arrow for arrow, dtype in _NUMPY_OF.items()}

_PYTHON_OF: dict[str, tuple[type, ...]] = {
    "b": (bool, np.bool_),
    "i": (int, np.integer),
    "u": (int, np.integer),
    "f": (int, float, np.integer, np.floating),
}
"""The Python values a list may hold for each numpy kind (what pyarrow takes without a
cast that could lose a value; anything else goes to pyarrow, which decides)."""

SMALL = 65_536
"""Binary and string arrays up to this many values become Python objects through
``to_pylist`` (no pandas; ≈ 1.4× pyarrow's conversion, at most ≈ 8 ms here); longer
ones, or any once pandas is loaded anyway, through pyarrow."""


def _is_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
    )


def to_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The values of a numeric, boolean, timestamp or (short) binary or string array
    as numpy (read-only where it is a view): what ``values.to_numpy(zero_copy_only=False)``
    gives, without importing pandas. Arrays with nulls and other types go through pyarrow.

    >>> to_numpy(pa.chunked_array([[1.5], [2.5]])).tolist()
    [1.5, 2.5]
    >>> to_numpy(pa.array([True, False, True])).tolist()
    [True, False, True]
    """
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks > 1:  # a new, writable array, as pyarrow gives
            return np.concatenate([to_numpy(chunk) for chunk in values.chunks])
        values = values.chunk(0) if values.num_chunks else values.combine_chunks()
    if values.null_count == 0:
        dtype = _NUMPY_OF.get(values.type)
        n, offset = len(values), values.offset
        if dtype is not None:
            view = (
                np.frombuffer(values.buffers()[1], dtype, count=n, offset=offset * dtype.itemsize)
                if n
                else np.empty(0, dtype)
            )
            view.flags.writeable = False  # arrow's memory: read-only, as pyarrow gives it
            return view
        if pa.types.is_timestamp(values.type):
            ticks = to_numpy(values.view(pa.int64()))
            return ticks.view(f"datetime64[{values.type.unit}]")
        if pa.types.is_boolean(values.type):
            bits = np.frombuffer(values.buffers()[1], np.uint8) if n else np.empty(0, np.uint8)
            return np.unpackbits(bits, bitorder="little")[offset : offset + n].astype(bool)
        if _is_text(values.type) and n <= SMALL and "pandas" not in sys.modules:
            out = np.empty(n, object)
            out[:] = values.to_pylist()
            return out
    return np.asarray(values.to_numpy(zero_copy_only=False))


def from_numpy(values: np.ndarray, type: pa.DataType | None = None) -> pa.Array:
    """A 1-D numeric or boolean numpy array as an arrow array (of ``type`` when given,
    which must be the array's own type or one it casts to), without importing pandas.

    >>> from_numpy(np.array([1, 2], np.int64), pa.float64()).to_pylist()
    [1.0, 2.0]
    """
    arr = np.ascontiguousarray(values)
    if arr.ndim == 1 and arr.dtype == np.bool_:
        bits = pa.py_buffer(np.packbits(arr, bitorder="little"))
        out = pa.Array.from_buffers(pa.bool_(), len(arr), [None, bits])
        return out if type is None else out.cast(type)
    own = _ARROW_OF.get(arr.dtype) if arr.ndim == 1 else None
    if own is None:
        return pa.array(arr, type=type)
    out = pa.Array.from_buffers(own, len(arr), [None, pa.py_buffer(arr)])
    return out if type is None or type == own else out.cast(type)


def strings(values: list[str]) -> pa.Array:
    """A list of Python strings as an arrow ``string`` array, without importing pandas.

    >>> strings([]).type
    DataType(string)
    """
    return _binaries([v.encode("utf-8") for v in values], pa.string())


def array(values: object, type: pa.DataType | None = None) -> pa.Array:
    """``pa.array(values, type)`` without importing pandas where the values are a 1-D
    numeric or boolean numpy array, or a list of Python ``str`` (``type`` string),
    ``bytes`` (``type`` binary), numbers or booleans (``type`` numeric or boolean;
    ``None`` is null); anything else goes to ``pa.array``.

    >>> array(np.array([3, 1]), pa.int64()).to_pylist()
    [3, 1]
    >>> array([b"x", b"yz"], pa.binary()).to_pylist()
    [b'x', b'yz']
    """
    if isinstance(values, np.ndarray):
        plain = not isinstance(values, np.ma.MaskedArray)  # pyarrow reads a mask as nulls
        if plain and values.ndim == 1 and (values.dtype in _ARROW_OF or values.dtype == np.bool_):
            return from_numpy(values, type)
        return pa.array(values, type=type)
    if not isinstance(values, list) or type is None:
        return pa.array(values, type=type)
    if pa.types.is_string(type) and all(isinstance(v, str) for v in values):
        return strings(values)
    if pa.types.is_binary(type) and all(isinstance(v, bytes) for v in values):
        return _binaries(values)
    dtype = _NUMPY_OF.get(type, np.dtype(np.bool_) if pa.types.is_boolean(type) else None)
    kinds = _PYTHON_OF.get(dtype.kind) if dtype is not None else None
    if dtype is None or kinds is None or not all(v is None or isinstance(v, kinds) for v in values):
        return pa.array(values, type=type)
    valid = np.fromiter((v is not None for v in values), bool, len(values))
    dense = np.array([0 if v is None else v for v in values], dtype)
    out = from_numpy(dense, type)
    if valid.all():
        return out
    bits = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(type, len(values), [bits, *out.buffers()[1:]])


def _binaries(values: list[bytes], type: pa.DataType | None = None) -> pa.Array:
    """A list of ``bytes`` as an arrow ``binary`` array, or ``string`` (``type``) where
    they are UTF-8 (32-bit offsets; pyarrow's own path beyond 2 GiB)."""
    type = type or pa.binary()
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum([len(b) for b in values], out=offsets[1:])
    if offsets[-1] >= 2**31:
        return pa.array(values, pa.binary()).cast(type)
    return pa.Array.from_buffers(
        type,
        len(values),
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(values))],
    )
