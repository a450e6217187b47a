"""Registry, spec strings, chains and bit packing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from terrabit.codecs import REGISTRY, Chain, Quantizer, available, describe, parse
from terrabit.codecs._bits import gray, inverse_gray, pack_levels, unpack_levels

MakeData = Callable[..., np.ndarray]


@pytest.mark.parametrize(
    ("spec", "canonical", "code_size"),
    [
        ("float32", "float32", 64),
        ("float16", "float16", 32),
        ("int8", "int8", 16),
        ("int4", "int4", 8),
        ("int2", "int2", 4),
        ("ternary", "ternary", 4),
        ("binary", "binary", 2),
        ("binary:threshold=zero", "binary", 2),
        ("pq:m=4,bits=8", "pq:m=4", 4),
        ("turbo:bits=3", "turbo:3", 6 + 4),
        ("rabitq:seed=0", "rabitq", 2),
        ("rabitq:seed=7", "rabitq:seed=7", 2),
        ("rot+int4", "rot+int4", 8),
        ("pca:n=8+int8", "pca:8+int8", 8),
        ("PCA:8 + INT8", "pca:8+int8", 8),
        ("srp+binary", "srp+binary", 2),
        ("itq+binary", "itq+binary", 2),
        ("pca:4", "pca:4", 16),
        ("pca:4+float32", "pca:4", 16),
        ("select:3+int2", "select:3+int2", 1),
        ("pca:4+thermo:bits=16", "pca:4+thermo:bits=16", 2),
    ],
)
def test_spec_canonical_form_and_code_size(
    spec: str, canonical: str, code_size: int, make: MakeData
) -> None:
    codec = parse(spec).fit(make(300, 16))
    assert codec.spec == canonical
    assert parse(canonical).spec == canonical
    assert codec.code_size == code_size


def test_single_quantizer_is_not_wrapped_and_chain_hamming_follows_quantizer() -> None:
    assert isinstance(parse("binary"), Quantizer)
    chain = parse("rot+binary")
    assert isinstance(chain, Chain)
    assert chain.hamming and not parse("rot+int8").hamming
    assert {r["family"] for r in describe()} == set(available()) == set(REGISTRY)


def test_hamming_flag_per_family() -> None:
    hamming = {name for name, cls in REGISTRY.items() if getattr(cls, "HAMMING", False)}
    assert hamming == {"binary", "ternary", "thermo", "gray", "rabitq"}


def test_float32_is_identity(make: MakeData) -> None:
    X = make(20, 5)
    codec = parse("float32").fit(X)
    assert codec.code_size == 20
    np.testing.assert_array_equal(codec.decode(codec.encode(X)), X)


def test_fit_once_encode_uses_training_statistics(make: MakeData) -> None:
    X = make(100, 4)
    codec = parse("int8").fit(X)
    shifted = X + 1000.0
    assert (codec.encode(shifted) == 255).all()  # saturates; never re-fitted per call


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 8])
def test_pack_levels_round_trip_and_msb_first(bits: int) -> None:
    rng = np.random.default_rng(bits)
    q = rng.integers(0, 2**bits, size=(7, 11)).astype(np.uint8)
    packed = pack_levels(q, bits=bits)
    assert packed.shape == (7, (11 * bits + 7) // 8)
    np.testing.assert_array_equal(unpack_levels(packed, d=11, bits=bits), q)
    if bits == 4:
        np.testing.assert_array_equal(packed[:, 0], (q[:, 0] << 4) | q[:, 1])


def test_gray_code_neighbours_differ_by_one_bit() -> None:
    q = np.arange(256, dtype=np.uint8)
    g = gray(q)
    flips = np.unpackbits((g[1:] ^ g[:-1])[:, None], axis=1).sum(axis=1)
    assert (flips == 1).all()
    np.testing.assert_array_equal(inverse_gray(g), q)


def test_reducer_only_chain_decodes_to_projection(make: MakeData) -> None:
    X = make(200, 10)
    codec = parse("select:10").fit(X)
    np.testing.assert_array_equal(codec.decode(codec.encode(X)), X)
    rot = parse("rot").fit(X)
    np.testing.assert_allclose(rot.decode(rot.encode(X)), X, atol=1e-4)
