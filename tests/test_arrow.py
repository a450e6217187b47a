"""terrabit._arrow converts like pyarrow does (pyarrow's own conversion is the oracle),
and without importing pandas."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit import _arrow
from terrabit._arrow import array, from_numpy, strings, to_numpy

NUMERIC = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
           pa.uint32(), pa.uint64(), pa.float16(), pa.float32(), pa.float64()]  # fmt: skip


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.flags.writeable == want.flags.writeable  # a view of arrow's memory is read-only
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(got, want)  # NaN equal to NaN
    else:
        assert got.tolist() == want.tolist()


@st.composite
def sliced(
    draw: st.DrawFn, values: st.SearchStrategy[list[Any]], type: pa.DataType
) -> pa.Array | pa.ChunkedArray:
    """An array of ``type`` from ``values``, sliced (a non-zero offset) or chunked."""
    items = draw(values)
    arr = pa.array(items, type)
    start = draw(st.integers(0, len(items)))
    stop = draw(st.integers(start, len(items)))
    out = arr.slice(start, stop - start)
    if draw(st.booleans()) and len(out) > 1:
        cut = draw(st.integers(1, len(out) - 1))
        return pa.chunked_array([out.slice(0, cut), out.slice(cut)])
    return out


@settings(max_examples=60, deadline=None)
@given(data=st.data(), t=st.sampled_from(NUMERIC), nulls=st.booleans())
def test_numbers_as_pyarrow_converts_them(data: st.DataObject, t: pa.DataType, nulls: bool) -> None:
    np_t = t.to_pandas_dtype()
    if np.dtype(np_t).kind == "f":
        item = st.floats(width=np.dtype(np_t).itemsize * 8, allow_nan=True)
    else:
        info = np.iinfo(np_t)
        item = st.integers(int(info.min), int(info.max))
    values = st.lists(st.one_of(item, st.none()) if nulls else item, max_size=40)
    arr = data.draw(sliced(values, t))
    _same(to_numpy(arr), arr.to_numpy() if isinstance(arr, pa.ChunkedArray)
          else arr.to_numpy(zero_copy_only=False))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(data=st.data(), nulls=st.booleans())
def test_booleans_and_timestamps_as_pyarrow_converts_them(data: st.DataObject, nulls: bool) -> None:
    item = st.booleans()
    arr = data.draw(sliced(st.lists(st.one_of(item, st.none()) if nulls else item, max_size=70),
                           pa.bool_()))  # fmt: skip
    _same(to_numpy(arr), np.asarray(arr.to_numpy() if isinstance(arr, pa.ChunkedArray)
                                    else arr.to_numpy(zero_copy_only=False)))  # fmt: skip
    unit = data.draw(st.sampled_from(["s", "ms", "us", "ns"]))
    ticks = st.integers(-(2**40), 2**40)
    ts = data.draw(sliced(st.lists(ticks, max_size=30), pa.int64())).cast(
        pa.timestamp(unit, tz=data.draw(st.sampled_from([None, "UTC"])))
    )
    _same(to_numpy(ts), ts.to_numpy() if isinstance(ts, pa.ChunkedArray)
          else ts.to_numpy(zero_copy_only=False))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(data=st.data(), text=st.booleans(), small=st.booleans())
def test_text_as_pyarrow_converts_it(data: st.DataObject, text: bool, small: bool) -> None:
    item = st.text(max_size=6) if text else st.binary(max_size=6)
    arr = data.draw(sliced(st.lists(st.one_of(item, st.none()), max_size=30),
                           pa.string() if text else pa.binary()))  # fmt: skip
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_arrow, "SMALL", 1_000 if small else 0)
        got = to_numpy(arr)
    _same(got, arr.to_numpy() if isinstance(arr, pa.ChunkedArray)
          else arr.to_numpy(zero_copy_only=False))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(data=st.data(), t=st.sampled_from([*NUMERIC, pa.bool_()]))
def test_arrays_as_pyarrow_builds_them(data: st.DataObject, t: pa.DataType) -> None:
    if pa.types.is_boolean(t):
        item: st.SearchStrategy[object] = st.booleans()
    elif pa.types.is_floating(t):
        item = st.floats(width=t.bit_width, allow_nan=False)
    else:
        info = np.iinfo(t.to_pandas_dtype())
        item = st.integers(int(info.min), int(info.max))
    items = data.draw(st.lists(item, max_size=30))
    assert array(np.array(items, t.to_pandas_dtype()), t).equals(pa.array(items, t))
    assert from_numpy(np.array(items, t.to_pandas_dtype())).equals(pa.array(items, t))
    with_nulls = data.draw(st.lists(st.one_of(item, st.none()), max_size=30))
    assert array(with_nulls, t).equals(pa.array(with_nulls, t))


@given(st.lists(st.text(max_size=8)), st.lists(st.binary(max_size=8)))
def test_strings_and_bytes_as_pyarrow_builds_them(texts: list[str], blobs: list[bytes]) -> None:
    assert strings(texts).equals(pa.array(texts, pa.string()))
    assert array(texts, pa.string()).equals(pa.array(texts, pa.string()))
    assert array(blobs, pa.binary()).equals(pa.array(blobs, pa.binary()))
    mixed = [*texts, None]
    assert array(mixed, pa.string()).equals(pa.array(mixed, pa.string()))  # pyarrow's path


def test_writable_where_pyarrow_gives_a_copy() -> None:
    chunked = pa.chunked_array([[1.0, 2.0], [3.0]])
    assert to_numpy(chunked).flags.writeable == chunked.to_numpy().flags.writeable
    assert to_numpy(chunked.chunk(0)).flags.writeable is False  # a view, as pyarrow's


def test_a_masked_array_keeps_its_nulls() -> None:
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    assert array(masked, pa.float64()).equals(pa.array(masked, pa.float64()))
    assert array(masked, pa.float64()).null_count == 1


def test_a_wider_type_is_a_cast() -> None:
    assert from_numpy(np.array([1, 2], np.int32), pa.float64()).equals(pa.array([1.0, 2.0]))


def test_no_conversion_imports_pandas() -> None:
    """The oracle is the interpreter's own module table, in a fresh process."""
    code = (
        "import sys, numpy as np, pyarrow as pa\n"
        "from terrabit._arrow import array, strings, to_numpy\n"
        "t = pa.Table.from_arrays([array(np.arange(5)), strings(list('abcde')),\n"
        "    array([b'x'] * 5, pa.binary()), array([1.0, 0.5, 2, 3, 4], pa.float64()),\n"
        "    array(np.arange(5) > 2)], names=list('vwxyz'))\n"
        "[to_numpy(t.column(n)) for n in t.column_names]\n"
        "to_numpy(t.column('v').cast(pa.timestamp('us')))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
