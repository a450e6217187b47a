"""Bad input: typed errors whose messages say what was wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from terrabit.codecs import available, from_dict, parse
from terrabit.errors import InvalidInputError, NotFittedError, SpecError

MakeData = Callable[..., np.ndarray]


def test_typo_lists_valid_codecs_and_suggests() -> None:
    with pytest.raises(
        SpecError,
        match=r"unknown codec 'int7'.*did you mean 'int8'.*valid codecs: float32, float16, int8",
    ) as info:
        parse("int7")
    for name in available():
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "non-empty string"),
        ("int8+pca:64", "quantizer 'int8' must come last.*'pca:64\\+int8'"),
        ("int8+binary", "one quantizer, got int8 and binary"),
        ("binary:threshold=avg", "threshold must be one of 'zero', 'mean', 'median'; got 'avg'"),
        ("binary:limit=3", "binary has no parameter 'limit'; valid: threshold"),
        ("pca:abc", "pca: n must be int, got 'abc'"),
        ("pca:0", r"pca: n must be in \[1, inf\], got 0"),
        ("int8:99", "needs the form name=value"),
        ("turbo:bits=9", r"bits must be in \[1, 8\]"),
        ("pq:m=2,m=4", "given twice"),
        ("pca:64++int8", "empty stage"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse(spec)


def test_encode_before_fit() -> None:
    with pytest.raises(NotFittedError, match=r"int8 is not fitted; call \.fit\(X_train\)"):
        parse("int8").encode(np.zeros((2, 3), np.float32))
    with pytest.raises(NotFittedError, match="pca:2\\+int8 is not fitted"):
        parse("pca:2+int8").encode(np.zeros((2, 3), np.float32))


def test_one_dimensional_input() -> None:
    with pytest.raises(InvalidInputError, match=r"2-D array \[n, d\], got 1-D .*reshape\(1, -1\)"):
        parse("int8").fit(np.zeros(5, np.float32))


def test_wrong_dimension_at_encode(make: MakeData) -> None:
    codec = parse("pca:2+binary").fit(make(50, 8))
    with pytest.raises(InvalidInputError, match="X has 9 dims but the codec was fitted on 8"):
        codec.encode(np.zeros((3, 9), np.float32))


def test_nan_and_inf_rows_are_named(make: MakeData) -> None:
    X = make(40, 6)
    X[[3, 17], 2] = np.nan
    X[21, 0] = np.inf
    with pytest.raises(InvalidInputError, match=r"NaN or inf in rows 3, 17, 21; drop or impute"):
        parse("int8").fit(X)
    X = make(40, 6)
    X[:12, 0] = np.nan
    with pytest.raises(
        InvalidInputError, match=r"rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 \(first 10 of 12\)"
    ):
        parse("binary").fit(X)


def test_fewer_samples_than_components(make: MakeData) -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"pca:64 asks for 64 components but the data has only 10 training rows "
        r"and 32 dims; use pca:10",
    ):
        parse("pca:64+int8").fit(make(10, 32))


def test_pq_needs_divisible_dimension_and_enough_rows(make: MakeData) -> None:
    with pytest.raises(
        InvalidInputError, match="m=5 must divide the dimension 16; try m=2 or m=4 or m=8"
    ):
        parse("pq:m=5").fit(make(300, 16))
    with pytest.raises(InvalidInputError, match="needs at least 256 training rows"):
        parse("pq:m=4").fit(make(100, 16))


def test_wrong_codes_shape_and_dtype(make: MakeData) -> None:
    codec = parse("int4").fit(make(30, 6))
    with pytest.raises(InvalidInputError, match=r"codes must be a uint8 array \[n, 3\]"):
        codec.decode(np.zeros((2, 4), np.uint8))
    with pytest.raises(InvalidInputError, match="dtype uint8, got int64"):
        codec.decode(np.zeros((2, 3), np.int64))


def test_bad_serialized_codec() -> None:
    with pytest.raises(InvalidInputError, match="not a serialized terrabit codec"):
        from_dict({"spec": "int8"})


def test_float16_overflow_rows_named(make: MakeData) -> None:
    X = make(10, 4)
    X[4, 1] = 1e6
    codec = parse("float16").fit(X[:3])
    with pytest.raises(InvalidInputError, match="rows 4"):
        codec.encode(X)
