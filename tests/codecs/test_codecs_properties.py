"""Hypothesis properties that every codec family must satisfy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrabit.codecs import from_dict, parse

# (spec, needs d divisible by 4 / minimum d)
SPECS = [
    "float32",
    "float16",
    "int8",
    "int4",
    "int2",
    "int8:clip=99.0",
    "ternary",
    "binary",
    "binary:threshold=mean",
    "binary:threshold=median",
    "thermo:4",
    "thermo:3,scale=dim",
    "thermo:5,scale=quantile",
    "pca:3+thermo:bits=20",
    "gray:3",
    "pq:m=4,bits=2,iterations=5",
    "turbo:2",
    "turbo:1,seed=3",
    "rabitq",
    "rabitq:seed=5",
    "pca:4+rabitq",
    "rot+int4",
    "rot+binary",
    "itq:4+binary",
    "srp+binary",
    "rp:6+int8",
    "pca:4+int8",
    "svd:4+int4",
    "select:5+int2",
    "norm+pca:4+rot+thermo:bits=16",
    "pca:3",
]

PROPS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(40, 80))
    d = draw(st.sampled_from([8, 12, 16]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.01, 1.0, 100.0]))
    offset = draw(st.sampled_from([0.0, 3.0]))
    return (rng.normal(size=(n, d)) * scale + offset).astype(np.float32)


@pytest.mark.parametrize("spec", SPECS)
@PROPS
@given(X=matrices())
def test_encode_shape_round_trip_and_spec(spec: str, X: np.ndarray) -> None:
    codec = parse(spec).fit(X)
    codes = codec.encode(X)
    assert codes.dtype == np.uint8
    assert codes.shape == (X.shape[0], codec.code_size)
    dec = codec.decode(codes)
    assert dec.dtype == np.float32 and dec.shape == X.shape
    assert np.isfinite(dec).all()
    # exact serialization round trip through JSON text
    again = from_dict(json.loads(json.dumps(codec.to_dict())))
    assert again.spec == codec.spec
    np.testing.assert_array_equal(again.encode(X), codes)
    np.testing.assert_array_equal(again.decode(codes), dec)
    # canonical spec parses back to the same spec and, refitted, the same codes
    refit = parse(codec.spec).fit(X)
    assert refit.spec == codec.spec
    np.testing.assert_array_equal(refit.encode(X), codes)


@pytest.mark.parametrize("bits", [8, 4, 2])
@PROPS
@given(X=matrices())
def test_affine_error_is_at_most_half_a_step(bits: int, X: np.ndarray) -> None:
    codec = parse(f"int{bits}").fit(X)
    dec = codec.decode(codec.encode(X))
    step = (X.max(0) - X.min(0)) / (2**bits - 1)
    tol = step / 2 + 1e-5 * (np.abs(X).max(0) + 1)
    assert (np.abs(dec - X) <= tol).all()


@PROPS
@given(X=matrices(), threshold=st.sampled_from(["zero", "mean", "median"]))
def test_binary_bits_are_packbits_of_threshold(X: np.ndarray, threshold: str) -> None:
    codec = parse(f"binary:threshold={threshold}").fit(X)
    # the mean is fitted in float64, then stored as float32
    means = {"zero": 0.0, "mean": X.mean(0, dtype=np.float64), "median": np.median(X, axis=0)}
    thr = means[threshold]
    np.testing.assert_array_equal(codec.encode(X), np.packbits(np.float32(thr) < X, axis=1))
    # decode goes to the per-dimension centroid of each side
    dec = codec.decode(codec.encode(X))
    above = np.float32(thr) < X
    for j in range(X.shape[1]):
        if above[:, j].any():
            np.testing.assert_allclose(dec[above[:, j], j], X[above[:, j], j].mean(), rtol=1e-4)


@PROPS
@given(X=matrices(), spec=st.sampled_from(["thermo:6", "thermo:4,scale=dim", "ternary"]))
def test_thermometer_hamming_equals_l1_of_levels(X: np.ndarray, spec: str) -> None:
    codec = parse(spec).fit(X)
    codes = codec.encode(X)
    if spec == "ternary":
        levels = (codec.cuts_[0] < X).astype(int) + (codec.cuts_[1] < X).astype(int)
    else:
        levels = codec.levels_of(X)
    bits = np.unpackbits(codes, axis=1)
    ham = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    l1 = np.abs(levels[:, None, :] - levels[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(ham, l1)


@PROPS
@given(d=st.integers(2, 40), seed=st.integers(0, 1000))
def test_rotation_is_orthogonal_and_seeded(d: int, seed: int) -> None:
    from terrabit.codecs.rotation import haar_rotation

    q = haar_rotation(d, seed=seed)
    np.testing.assert_allclose(q @ q.T, np.eye(d), atol=1e-10)
    np.testing.assert_array_equal(q, haar_rotation(d, seed=seed))
    q[:] = 0.0  # each call returns its own copy of the kept matrix
    again = haar_rotation(d, seed=seed)
    np.testing.assert_allclose(again @ again.T, np.eye(d), atol=1e-10)
    X = np.ones((2, d), dtype=np.float32)
    a = parse(f"rot:seed={seed}").fit(X)
    b = parse(f"rot:seed={seed}").fit(X)
    np.testing.assert_array_equal(a.encode(X), b.encode(X))


@st.composite
def spec_strings(draw: st.DrawFn) -> str:
    reducers = draw(
        st.lists(
            st.one_of(
                st.just("norm"),
                st.builds(lambda s: f"rot:seed={s}", st.integers(0, 9)),
                st.builds(lambda n: f"pca:{n}", st.integers(1, 64)),
                st.builds(lambda n: f"svd:n={n}", st.integers(1, 64)),
                st.builds(lambda n, s: f"rp:{n},seed={s}", st.integers(1, 64), st.integers(0, 3)),
                st.builds(lambda n: f"select:{n}", st.integers(1, 64)),
                st.builds(lambda n: f"itq:{n},iterations=3", st.integers(1, 64)),
            ),
            max_size=3,
        )
    )
    quantizer = draw(
        st.one_of(
            st.sampled_from(["float32", "float16", "int8", "int4", "int2", "ternary"]),
            st.builds(lambda c: f"int8:clip={c}", st.floats(50, 100, allow_nan=False)),
            st.builds(
                lambda t: f"binary:threshold={t}", st.sampled_from(["zero", "mean", "median"])
            ),
            st.builds(lambda m, b: f"pq:m={m},bits={b}", st.integers(1, 16), st.integers(1, 8)),
            st.builds(
                lambda b, s: f"turbo:bits={b},seed={s}", st.integers(1, 8), st.integers(0, 5)
            ),
            st.builds(
                lambda lv, sc: f"thermo:levels={lv},scale={sc}",
                st.integers(2, 20),
                st.sampled_from(["global", "dim", "quantile"]),
            ),
            st.builds(lambda b: f"thermo:bits={b}", st.integers(1, 2048)),
            st.builds(lambda b: f"gray:{b}", st.integers(1, 8)),
        )
    )
    return "+".join([*reducers, quantizer])


@settings(max_examples=200, deadline=None)
@given(spec=spec_strings())
def test_canonical_spec_round_trips(spec: str) -> None:
    codec = parse(spec)
    canonical = codec.spec
    again = parse(canonical)
    assert again.spec == canonical
    stages = getattr(codec, "stages", [codec])
    stages_again = getattr(again, "stages", [again])
    assert [type(s) for s in stages] == [type(s) for s in stages_again]
    assert [s.get_params() for s in stages] == [s.get_params() for s in stages_again]
