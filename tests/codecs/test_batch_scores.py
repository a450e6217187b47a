"""Many float queries at once (``asymmetric_scores_batch``, ``rabitq_scores_batch``) equal
the single-query lookup-table functions, query by query, and a float64 numpy oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrabit.codecs import parse, rabitq_scores
from terrabit.codecs.asymmetric import asymmetric_scores, asymmetric_scores_batch, signs
from terrabit.codecs.rabitq import rabitq_scores_batch
from terrabit.errors import InvalidInputError

PROPS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIGN_SPECS = ("binary", "binary:threshold=median", "rot+binary", "norm+rot+binary")


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(12, 60))
    d = draw(st.sampled_from([1, 7, 8, 13, 32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([0.01, 1.0, 100.0]))
    offset = draw(st.sampled_from([0.0, 3.0]))
    return (rng.normal(size=(n, d)) * scale + offset).astype(np.float32)


def _close(batch: np.ndarray, single: np.ndarray) -> None:
    scale = float(np.abs(single).max()) + 1e-12
    np.testing.assert_allclose(batch, single, rtol=0, atol=2e-5 * scale)


def test_signs_are_the_bits_msb_first() -> None:
    codes = np.array([[0b10000001, 0b01000000], [0xFF, 0x00]], np.uint8)
    expected = [[1, -1, -1, -1, -1, -1, -1, 1, -1, 1], [1] * 8 + [-1, -1]]
    assert signs(codes, 10).tolist() == expected


@PROPS
@given(X=matrices(), spec=st.sampled_from(SIGN_SPECS))
def test_asymmetric_batch_equals_single_queries(X: np.ndarray, spec: str) -> None:
    codec = parse(spec).fit(X)
    codes = codec.encode(X)
    batch = asymmetric_scores_batch(codec, X[:5], codes)
    assert batch.shape == (5, len(X)) and batch.dtype == np.float32
    for i in range(5):
        _close(batch[i], asymmetric_scores(codec, X[i], codes))


@PROPS
@given(
    X=matrices(),
    metric=st.sampled_from(["l2", "ip"]),
    bits=st.sampled_from([None, 1, 4, 8]),
    spec=st.sampled_from(["rabitq", "rabitq:seed=3", "norm+rabitq"]),
)
def test_rabitq_batch_equals_single_queries(
    X: np.ndarray, metric: str, bits: int | None, spec: str
) -> None:
    codec = parse(spec).fit(X)
    quantizer = getattr(codec, "quantizer", codec)
    codes = codec.encode(X)
    fac = quantizer.factors(codec.transform(X) if spec.startswith("norm") else X)
    batch = rabitq_scores_batch(codec, X[:5], codes, fac, metric=metric, query_bits=bits)
    assert batch.shape == (5, len(X)) and batch.dtype == np.float32
    for i in range(5):
        single = rabitq_scores(codec, X[i], codes, fac, metric=metric, query_bits=bits)
        _close(batch[i], single)


def test_rabitq_batch_matches_a_float64_oracle_of_the_estimator() -> None:
    """The published estimator written out from the fitted rotation and centre."""
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(400, 24)) + 2.0).astype(np.float32)
    codec = parse("rabitq").fit(X)
    R, c = codec.rotation_.astype(np.float64), codec.center_.astype(np.float64)
    r = X.astype(np.float64) @ R - c
    xbar = np.where(r > 0, 1.0, -1.0) / np.sqrt(24)
    ip_code = (xbar * r).sum(axis=1) / np.linalg.norm(r, axis=1)
    Q = X[:7].astype(np.float64)
    qr = Q @ R - c
    est = np.linalg.norm(r, axis=1)[None, :] * (qr @ xbar.T) / ip_code[None, :]
    expected = -(est + (r @ c)[None, :] + (Q @ R @ c)[:, None])
    got = rabitq_scores_batch(codec, X[:7], codec.encode(X), codec.factors(X), metric="ip")
    _close(got, expected)
    assert np.allclose(codec.row_norms(codec.factors(X)), np.linalg.norm(X, axis=1), rtol=1e-4)


def test_batch_errors_name_the_parameter() -> None:
    X = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    codec = parse("rabitq").fit(X)
    codes, fac = codec.encode(X), codec.factors(X)
    with pytest.raises(InvalidInputError, match=r"queries must be a matrix \[m, d\]") as err:
        rabitq_scores_batch(codec, X[0], codes, fac)
    assert err.value.params == ("queries",)
    with pytest.raises(InvalidInputError, match="asymmetric scoring needs a sign-bit codec"):
        asymmetric_scores_batch(parse("int8").fit(X), X[:2], codes)
