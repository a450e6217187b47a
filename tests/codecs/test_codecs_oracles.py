"""Independent oracles: faiss, scikit-learn, the Haar distribution, TurboQuant's codebook."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from terrabit.codecs import parse
from terrabit.codecs.rotation import haar_rotation, lloyd_max_sphere

MakeData = Callable[..., np.ndarray]

faiss = pytest.importorskip("faiss")


def test_faiss_binary_flat_distances_equal_our_popcounts(make: MakeData) -> None:
    X = make(120, 40)
    codec = parse("binary:threshold=median").fit(X)
    codes = codec.encode(X)
    assert codec.code_size == 5
    index = faiss.IndexBinaryFlat(codec.code_size * 8)
    index.add(codes[20:])
    dist, idx = index.search(codes[:20], 100)
    bits = np.unpackbits(codes, axis=1)
    ours = (bits[:20, None, :] != bits[None, 20:, :]).sum(axis=2)
    np.testing.assert_array_equal(dist, np.take_along_axis(ours, idx, axis=1))


def test_faiss_binary_flat_searches_thermometer_codes_as_l1(make: MakeData) -> None:
    X = make(150, 12)
    codec = parse("pca:4+thermo:bits=40").fit(X)
    codes = codec.encode(X)
    index = faiss.IndexBinaryFlat(codec.code_size * 8)
    index.add(codes)
    dist, idx = index.search(codes[:10], 5)
    levels = codec.quantizer.levels_of(codec.transform(X))
    l1 = np.abs(levels[:10, None, :] - levels[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(dist, np.take_along_axis(l1, idx, axis=1))


def test_int8_reconstruction_close_to_faiss_scalar_quantizer(make: MakeData) -> None:
    X = make(400, 16)
    ours = parse("int8").fit(X)
    rec = ours.decode(ours.encode(X))
    sq = faiss.ScalarQuantizer(16, faiss.ScalarQuantizer.QT_8bit)
    sq.train(X)
    theirs = sq.decode(sq.compute_codes(X))
    step = (X.max(0) - X.min(0)) / 255
    assert (np.abs(rec - theirs) <= step + 1e-5).all()
    # ours rounds (error <= step/2), faiss truncates to bins (error <= step/2 around centres)
    assert np.abs(rec - X).mean() <= np.abs(theirs - X).mean() * 1.05


def test_pq_codes_match_faiss_assignment(make: MakeData) -> None:
    X = make(600, 16)
    codec = parse("pq:m=4,bits=4,kmeans=faiss").fit(X)
    pq = faiss.ProductQuantizer(16, 4, 4)
    faiss.copy_array_to_vector(codec.centroids_.ravel(), pq.centroids)
    idx = np.asarray(codec.assign(X))
    # faiss packs 4-bit sub-codes LSB-first; decode its codes through its own decoder
    theirs = pq.decode(pq.compute_codes(X))
    np.testing.assert_allclose(codec.decode(codec.encode(X)), theirs, atol=1e-5)
    assert idx.shape == (600, 4)


def test_pq_sklearn_engine_also_works(make: MakeData) -> None:
    X = make(300, 8)
    codec = parse("pq:m=2,bits=2,kmeans=sklearn,iterations=10").fit(X)
    err = np.mean((codec.decode(codec.encode(X)) - X) ** 2)
    assert err < np.mean((X - X.mean(0)) ** 2)


@pytest.mark.parametrize("spec", ["pca:5", "svd:5"])
def test_projection_matches_sklearn(spec: str, make: MakeData) -> None:
    from sklearn.decomposition import PCA, TruncatedSVD

    X = make(200, 20)
    codec = parse(spec).fit(X)
    ours = codec.reducers[0].components_.astype(np.float64)
    ref = (
        PCA(5, svd_solver="full").fit(X)
        if spec.startswith("pca")
        else TruncatedSVD(5, algorithm="arpack", random_state=0).fit(X)
    )
    theirs = ref.components_
    # same axes up to sign
    np.testing.assert_allclose(np.abs(np.sum(ours * theirs, axis=1)), 1.0, atol=1e-4)
    if spec.startswith("pca"):
        np.testing.assert_allclose(
            codec.decode(codec.encode(X)), ref.inverse_transform(ref.transform(X)), atol=1e-3
        )


def test_haar_rotation_is_uniform_in_distribution() -> None:
    # the trace of a Haar orthogonal matrix has mean 0 and variance 1 (Diaconis-Shahshahani)
    traces = np.array([np.trace(haar_rotation(6, seed=s)) for s in range(2000)])
    assert abs(traces.mean()) < 0.08
    assert abs(traces.var() - 1.0) < 0.12


def test_turbo_codebook_matches_gaussian_lloyd_max_in_high_dimension() -> None:
    # known Lloyd-Max levels of N(0, 1): 1 bit +-0.7979, 2 bits +-0.4528, +-1.5104
    d = 4096
    np.testing.assert_allclose(lloyd_max_sphere(1, d=d) * np.sqrt(d), [-0.7979, 0.7979], atol=3e-3)
    np.testing.assert_allclose(
        lloyd_max_sphere(2, d=d) * np.sqrt(d), [-1.5104, -0.4528, 0.4528, 1.5104], atol=5e-3
    )


def test_turbo_mse_beats_rotation_plus_min_max_at_2_bits() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 64)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    turbo = parse("turbo:2").fit(X)
    naive = parse("rot+int2").fit(X)
    mse_t = np.mean(np.sum((turbo.decode(turbo.encode(X)) - X) ** 2, axis=1))
    mse_n = np.mean(np.sum((naive.decode(naive.encode(X)) - X) ** 2, axis=1))
    # TurboQuant paper: D_mse(b=2) ~= 0.117 for unit vectors
    assert abs(mse_t - 0.117) < 0.02
    assert mse_t < mse_n
    assert turbo.code_size == 64 * 2 // 8 + 4


def test_itq_reduces_quantization_loss_vs_plain_pca(make: MakeData) -> None:
    # ITQ minimises ||sign(V R) - V R||^2 over rotations R; R = I is plain PCA + sign
    X = make(400, 16)
    v_itq = parse("itq:8").fit(X).transform(X).astype(np.float64)
    v_pca = parse("pca:8").fit(X).transform(X).astype(np.float64)
    np.testing.assert_allclose(  # same subspace, rotated: equal norms
        np.linalg.norm(v_itq, axis=1), np.linalg.norm(v_pca, axis=1), rtol=1e-4
    )

    def loss(v: np.ndarray) -> float:
        return float(np.sum((np.where(v >= 0, 1.0, -1.0) - v) ** 2))

    assert loss(v_itq) < loss(v_pca)
