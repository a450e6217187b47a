"""terrabit.codecs.auto: the choice is the candidate with the best mean recall measured here
independently (scikit-learn cosine truth; faiss ``IndexBinaryFlat`` on the codes for
exemplar rows; each estimator written out in float64 numpy for float-vector queries)."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from terrabit.codecs import parse
from terrabit.codecs.auto import (
    CODE_CANDIDATES,
    RERANK_CANDIDATES,
    RULE,
    SHORTLIST_BY,
    TARGET_RECALL,
    choose,
)
from terrabit.errors import InvalidInputError

N, QUERIES, K = 1500, 200, 10


def _split(X: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(X))
    return X[np.sort(order[:QUERIES])], X[np.sort(order[QUERIES:])]


def _recall(found: np.ndarray, true_ids: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, true_ids, strict=True))
    return hits / true_ids.size


def _float_scores(codec, Q: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Higher = closer, from the estimator's definition (float64, no codes unpacked)."""
    quantizer = getattr(codec, "quantizer", codec)
    if quantizer.family == "rabitq":  # cosine: RaBitQ's inner-product estimate / |o|
        R, c = quantizer.rotation_.astype(np.float64), quantizer.center_.astype(np.float64)
        r = D.astype(np.float64) @ R - c
        xbar = np.where(quantizer.center_ < quantizer.rotate(D), 1.0, -1.0) / np.sqrt(len(c))
        ip_code = (xbar * r).sum(axis=1) / np.linalg.norm(r, axis=1)
        qr = Q.astype(np.float64) @ R - c
        est = np.linalg.norm(r, axis=1) * (qr @ xbar.T) / ip_code
        ip = est + r @ c + (Q.astype(np.float64) @ R @ c)[:, None]
        return ip / np.linalg.norm(D.astype(np.float64), axis=1)
    thr = quantizer.threshold_  # sign bits: <q', s>, q' the query minus the threshold
    transform = getattr(codec, "transform", lambda x: x)  # a bare quantizer has none
    s = np.where(thr < transform(D), 1.0, -1.0)
    return (transform(Q).astype(np.float64) - thr) @ s.T


def _oracle(X: np.ndarray) -> dict[str, tuple[float, float]]:
    """(exemplar, float-query) recall@10 of every 1-bit candidate, measured independently."""
    Q, D = _split(X)
    truth = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute").fit(D)
    true_ids = truth.kneighbors(Q, return_distance=False)
    out = {}
    for spec in CODE_CANDIDATES:
        codec = parse(spec).fit(D)
        index = faiss.IndexBinaryFlat(codec.code_size * 8)
        index.add(codec.encode(D))
        exemplar = _recall(index.search(codec.encode(Q), K)[1], true_ids)
        ranked = np.argsort(-_float_scores(codec, Q, D), axis=1, kind="stable")[:, :K]
        out[spec] = (exemplar, _recall(ranked, true_ids))
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


def _clustered_offset() -> np.ndarray:
    """Clusters of uneven norms around a common offset (non-centred, like real embeddings)."""
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(30, 48)) * 1.5 + 2.0
    rows = centres[rng.integers(0, 30, N)] + rng.normal(size=(N, 48))
    return (rows * rng.lognormal(0.0, 0.3, (N, 1))).astype(np.float32)


CASES = [_offset_low_rank, _hypercube, _clustered_offset]


@pytest.mark.parametrize("make", CASES, ids=["offset", "hypercube", "clustered"])
def test_choice_is_the_independently_best_mean_and_never_below_binary(make) -> None:
    X = make()
    oracle = _oracle(X)
    choice = choose(X, rerank=False, queries=QUERIES)
    rows = {r["spec"]: r for r in choice.report["code"]["candidates"]}
    assert list(rows) == list(CODE_CANDIDATES)
    for spec, (exemplar, floatq) in oracle.items():
        assert rows[spec]["exemplar_recall_at_10"] == pytest.approx(exemplar, abs=0.003), spec
        assert rows[spec]["float_recall_at_10"] == pytest.approx(floatq, abs=0.003), spec
    means = {spec: (e + f) / 2 for spec, (e, f) in oracle.items()}
    best = max(means.values())
    near_best = [spec for spec in CODE_CANDIDATES if means[spec] >= best - 0.003]
    assert choice.codec in near_best
    assert means[choice.codec] >= means["binary"] - 0.003
    assert rows[choice.codec]["mean_recall_at_10"] == max(
        r["mean_recall_at_10"] for r in rows.values()
    )
    assert choice.rerank is None and choice.report["rerank"] is None


def test_report_fields_per_candidate() -> None:
    choice = choose(_clustered_offset(), rerank=True, queries=QUERIES)
    for row in choice.report["code"]["candidates"]:
        scoring = "rabitq" if row["spec"] == "rabitq" else "asymmetric"
        assert row["float_scoring"] == scoring
        assert ("float4_recall_at_10" in row) == (scoring == "rabitq")
        mean = (row["exemplar_recall_at_10"] + row["float_recall_at_10"]) / 2
        assert row["mean_recall_at_10"] == pytest.approx(mean, abs=1e-6)
        assert row["bytes_per_row"] == 6
    assert choice.report["rule"] == RULE and "mean" in RULE
    assert choice.report["rerank"]["shortlist_by"] == SHORTLIST_BY


def test_code_without_an_estimator_counts_its_exemplar_figure() -> None:
    choice = choose(_clustered_offset(), rerank=False, queries=QUERIES, codec="pca:16+thermo")
    (row,) = choice.report["code"]["candidates"]
    assert row["float_scoring"] == "hamming"
    assert row["float_recall_at_10"] == row["exemplar_recall_at_10"] == row["mean_recall_at_10"]


def test_four_bit_query_is_measured_for_rabitq() -> None:
    """The 4-bit query ranks as the float query does, up to a little quantization noise."""
    choice = choose(_clustered_offset(), rerank=False, queries=QUERIES)
    (row,) = [r for r in choice.report["code"]["candidates"] if r["spec"] == "rabitq"]
    assert abs(row["float4_recall_at_10"] - row["float_recall_at_10"]) < 0.05


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


def test_pca_rerank_candidates_share_one_fit_without_changing_a_figure() -> None:
    """pca:128 and pca:64 reuse one eigendecomposition; each figure equals the one from
    fitting the spec directly on the same database rows (brute-force rerank here)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 24)) @ rng.normal(size=(24, 160)) + rng.normal(size=(N, 160))
    X = X.astype(np.float32)
    Q, D = _split(X)
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    true_ids = np.argsort(-(Qn @ (D / np.linalg.norm(D, axis=1, keepdims=True)).T), axis=1)[:, :K]
    choice = choose(X, rerank=True, queries=QUERIES, codec="binary")
    rows = {r["spec"]: r["recall_at_10"] for r in choice.report["rerank"]["candidates"]}
    assert {"pca:128+int8", "pca:64+int8"} <= set(rows)
    binary = parse("binary").fit(D)
    index = faiss.IndexBinaryFlat(binary.code_size * 8)
    index.add(binary.encode(D))
    shortlist = index.search(binary.encode(Q), 1000)[1]
    for spec in ("pca:128+int8", "pca:64+int8"):
        codec = parse(spec).fit(D)
        dec = codec.decode(codec.encode(D))
        dec /= np.linalg.norm(dec, axis=1, keepdims=True)
        scores = np.einsum("qd,qsd->qs", Qn, dec[shortlist])
        found = np.take_along_axis(shortlist, np.argsort(-scores, axis=1)[:, :K], axis=1)
        assert rows[spec] == pytest.approx(_recall(found, true_ids), abs=0.006), spec


def test_truncated_pca_matches_scikit_learn() -> None:
    from sklearn.decomposition import PCA as SkPCA

    from terrabit.codecs.reduce import PCA

    X = np.random.default_rng(4).normal(size=(300, 20)).astype(np.float32)
    X[:, :5] *= 4.0
    mine = PCA(12).fit(X).truncated(5)
    sk = SkPCA(5, svd_solver="full").fit(X.astype(np.float64))
    np.testing.assert_allclose(mine.components_, sk.components_, atol=1e-4)
    np.testing.assert_allclose(mine.explained_variance_, sk.explained_variance_, rtol=1e-4)
    with pytest.raises(InvalidInputError, match="cannot truncate pca:12 to 13 axes"):
        PCA(12).fit(X).truncated(13)


@pytest.mark.parametrize("spec", ["rabitq", "rot+binary", "norm+rot+binary:threshold=median"])
def test_float_query_topk_is_the_estimators_ranking(spec: str) -> None:
    from terrabit.codecs.estimate import estimator, float_query_topk

    Q, D = _split(_clustered_offset())
    codec = parse(spec).fit(D)
    want = np.argsort(-_float_scores(codec, Q, D), axis=1, kind="stable")[:, :K]
    got = float_query_topk(codec, Q, D, k=K)
    assert np.mean([len(set(a) & set(b)) / K for a, b in zip(got, want, strict=True)]) > 0.99
    assert estimator(codec) == ("rabitq" if spec == "rabitq" else "asymmetric")


def test_float_query_topk_bad_input() -> None:
    from terrabit.codecs.estimate import float_query_topk

    Q, D = _split(_hypercube())
    with pytest.raises(InvalidInputError, match="'int8' has no estimator for float queries"):
        float_query_topk(parse("int8").fit(D), Q, D, k=K)
    with pytest.raises(InvalidInputError, match="'binary' has none, drop it"):
        float_query_topk(parse("binary").fit(D), Q, D, k=K, query_bits=4)
