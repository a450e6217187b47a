"""terrabit.codecs.auto: the choice is the candidate with the best recall measured here
independently (scikit-learn cosine truth, faiss ``IndexBinaryFlat`` on the codes)."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from terrabit.codecs import parse
from terrabit.codecs.auto import CODE_CANDIDATES, RERANK_CANDIDATES, TARGET_RECALL, choose
from terrabit.errors import InvalidInputError

N, QUERIES, K = 1500, 200, 10


def _split(X: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(X))
    return X[np.sort(order[:QUERIES])], X[np.sort(order[QUERIES:])]


def _oracle_recalls(X: np.ndarray) -> dict[str, float]:
    """recall@10 of every 1-bit candidate, by sklearn (truth) and faiss (Hamming)."""
    Q, D = _split(X)
    truth = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute").fit(D)
    true_ids = truth.kneighbors(Q, return_distance=False)
    out = {}
    for spec in CODE_CANDIDATES:
        codec = parse(spec).fit(D)
        index = faiss.IndexBinaryFlat(codec.code_size * 8)
        index.add(codec.encode(D))
        _, found = index.search(codec.encode(Q), K)
        hits = sum(len(set(f) & set(t)) for f, t in zip(found, true_ids, strict=True))
        out[spec] = hits / true_ids.size
    return out


def _offset_low_rank() -> np.ndarray:
    """Rank-6 Gaussian far from the origin: every sign bit is the same, so ``binary`` fails."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(N, 6)) @ rng.normal(size=(6, 64))
    return (Z + 8.0 + 0.05 * rng.normal(size=(N, 64))).astype(np.float32)


def _hypercube() -> np.ndarray:
    """Clusters at hypercube corners around the origin: sign bits are the exact code."""
    rng = np.random.default_rng(1)
    corners = np.sign(rng.normal(size=(N, 64)))
    return (corners + 0.4 * rng.normal(size=(N, 64))).astype(np.float32)


@pytest.mark.parametrize("make", [_offset_low_rank, _hypercube], ids=["offset", "hypercube"])
def test_choice_is_the_independently_best_code(make) -> None:
    X = make()
    oracle = _oracle_recalls(X)
    choice = choose(X, rerank=False, queries=QUERIES)
    best = max(oracle.values())
    expected = next(spec for spec in CODE_CANDIDATES if oracle[spec] >= best - 0.005)
    assert choice.codec == expected
    measured = {r["spec"]: r["recall_at_10"] for r in choice.report["code"]["candidates"]}
    assert measured == pytest.approx(oracle, abs=0.005)
    assert choice.rerank is None and choice.report["rerank"] is None


def test_offset_data_beats_sign_bits_and_hypercube_keeps_them() -> None:
    assert choose(_offset_low_rank(), rerank=False, queries=QUERIES).codec != "binary"
    assert choose(_hypercube(), rerank=False, queries=QUERIES).codec == "binary"


def test_rerank_smallest_reaching_target_and_budget() -> None:
    X = _offset_low_rank()
    free = choose(X, rerank=True, queries=QUERIES)
    rows = {r["spec"]: r for r in free.report["rerank"]["candidates"]}
    assert set(rows) == {s for s in RERANK_CANDIDATES if not s.startswith("pca:")}  # d = 64
    good = [r for r in rows.values() if r["recall_at_10"] >= TARGET_RECALL]
    assert good, rows
    assert rows[free.rerank]["bytes_per_row"] == min(r["bytes_per_row"] for r in good)
    tight = choose(X, rerank=True, max_rerank_bytes=16, queries=QUERIES)
    assert tight.rerank == "int2" and tight.codec == free.codec
    assert tight.report["max_rerank_bytes"] == 16


def test_rerank_budget_smaller_than_every_candidate() -> None:
    with pytest.raises(InvalidInputError, match="no rerank candidate fits max_rerank_bytes=3"):
        choose(_hypercube(), rerank=True, max_rerank_bytes=3, queries=QUERIES)


def test_fallback_on_too_few_rows() -> None:
    choice = choose(_hypercube()[:900], rerank=True, queries=QUERIES)
    assert (choice.codec, choice.rerank) == ("binary", "int8")
    assert "too few" in choice.report["fallback"]
    assert "fallback" not in choose(_hypercube(), rerank=False, queries=QUERIES).report


def test_report_is_json_and_deterministic() -> None:
    X = _offset_low_rank()
    a = choose(X, rerank=True, queries=QUERIES, seed=3)
    b = choose(X, rerank=True, queries=QUERIES, seed=3)
    assert a == b
    back = json.loads(json.dumps(a.report))
    assert back == a.report
    assert back["sample_rows"] == N and back["queries"] == QUERIES
    assert back["code"]["chosen"] == a.codec and back["rerank"]["chosen"] == a.rerank


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_rerank_bytes": 0}, "max_rerank_bytes"),
        ({"queries": 0}, "queries"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters(kwargs, match) -> None:
    with pytest.raises(InvalidInputError, match=match) as err:
        choose(_hypercube(), rerank=True, **kwargs)
    assert err.value.params == (match,)
