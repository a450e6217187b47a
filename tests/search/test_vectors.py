"""Vector files (``.npy`` / JSON) read back exactly, and every bad file is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from terrabit.errors import InvalidInputError
from terrabit.search.vectors import read_vectors

FINITE = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 16)), elements=FINITE))
def test_npy_and_json_round_trip(tmp_path_factory: pytest.TempPathFactory, x: np.ndarray) -> None:
    root = tmp_path_factory.mktemp("v")
    np.save(root / "v.npy", x)
    (root / "v.json").write_text(json.dumps(x.tolist()))
    for name in ("v.npy", "v.json"):
        got = read_vectors(root / name, dims=x.shape[1])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, x)


def test_one_vector_is_one_row(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.arange(3, dtype=np.int64))
    assert read_vectors(tmp_path / "v.npy").tolist() == [[0.0, 1.0, 2.0]]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.npy", None, "does not exist"),
        ("v.csv", "1,2,3", "neither .npy nor .json"),
        ("v.json", "[1, 2", "is not valid JSON"),
        ("v.json", '{"a": 1}', "array of numbers or an array of arrays"),
        ("v.json", "[[1, 2], [3]]", "rows of unequal lengths"),
        ("v.json", "[]", "holds no vectors"),
        ("v.json", "[[1, 2, NaN]]", r"rows \[0\] hold NaN or infinite values"),
        ("v.npy", "plain text", "is not a readable .npy file"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: str | None, match: str) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(InvalidInputError, match=match) as info:
        read_vectors(tmp_path / name)
    assert "allow_pickle" not in str(info.value)


def test_object_arrays_are_refused_not_unpickled(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidInputError, match="holds Python objects, not numbers"):
        read_vectors(tmp_path / "v.npy")


def test_wrong_dimension(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.zeros((2, 8), np.float32))
    with pytest.raises(InvalidInputError, match="holds 8-d vectors, but this corpus embeds 64"):
        read_vectors(tmp_path / "v.npy", dims=64)
