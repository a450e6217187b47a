"""``spec/fixtures/tiny_rabitq.search.json`` (the browser's asymmetric search oracle):
regenerated exactly, its estimates equal a numpy evaluation of RaBitQ's estimator for the
4-bit query, its re-ranked scores equal numpy cosines, and its rankings have margins far
above float rounding (so the browser, which rounds differently, ranks the same)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from terrabit.codecs import from_dict
from terrabit.corpus import open as open_corpus

FIXTURES = Path(__file__).resolve().parents[2] / "spec" / "fixtures"
CORPUS = FIXTURES / "tiny_rabitq"


@pytest.fixture(scope="module")
def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "tiny_rabitq.search.json").read_text())
    return data


@pytest.fixture(scope="module")
def stored() -> dict[str, tuple[bytes, np.ndarray, bytes]]:
    """Per id: the code, the float16 factors (as float64) and the rerank code, read with
    pyarrow from the shards."""
    out = {}
    for shard in sorted((CORPUS / "shards").glob("*.parquet")):
        t = pq.read_table(shard, columns=["id", "embedding", "rabitq", "rerank"])
        columns = (t.column(k).to_pylist() for k in t.column_names)
        for i, code, fac, rr in zip(*columns, strict=True):
            out[i] = (code, np.frombuffer(fac, "<f2").astype(np.float64), rr)
    return out


def test_search_cases_regenerate_the_same_json(fixture: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("fixture_cases", FIXTURES / "search_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(json.dumps(module.make_rabitq())) == fixture


def _cos_distance_4bit(q: np.ndarray, codes: np.ndarray, fac: np.ndarray, state: Any) -> np.ndarray:
    """RaBitQ's estimated ``1 - cos`` for ``q`` rotated in float64, centred and rounded to
    16 levels on its own range (spec §3.4), bit by bit."""
    rotation = np.asarray(state.rotation_, dtype=np.float64)
    c = np.asarray(state.center_, dtype=np.float64)
    y = q.astype(np.float32).astype(np.float64) @ rotation
    qr = y - c
    step = (qr.max() - qr.min()) / 15
    qbar = qr.min() + step * np.rint((qr - qr.min()) / step)
    d = y.shape[0]
    signs = np.unpackbits(codes, axis=1, count=d).astype(np.float64) * 2 - 1
    est = fac[:, 0] / fac[:, 1] * (signs @ qbar) / np.sqrt(d)
    ip = est + fac[:, 2] + y @ c
    o_norm = np.sqrt(fac[:, 0] ** 2 + 2 * fac[:, 2] + c @ c)
    out: np.ndarray = 1 - ip / (o_norm * np.linalg.norm(y))
    return out


def test_asymmetric_estimates_equal_numpy(
    fixture: dict[str, Any], stored: dict[str, tuple[bytes, np.ndarray, bytes]]
) -> None:
    with open_corpus(CORPUS) as c:
        codec, rerank = c.codec, from_dict(c.metadata["rerank_codec"])
    checked = 0
    for case in fixture["cases"]:
        query, exp = case["query"], case["expected"]
        if not query.get("asymmetric") or query["view"] not in ("heatmap", "threshold"):
            continue  # topk re-ranks every row; gradient's score is the gradient
        assert case["query_bits"] == 4
        ids = [r["id"] for r in exp["rows"]]
        codes = np.array([list(stored[i][0]) for i in ids], dtype=np.uint8)
        fac = np.stack([stored[i][1] for i in ids])
        vectors = rerank.decode(np.array([list(stored[i][2]) for i in exp["exemplars"]], np.uint8))
        npos = len(query["positives"])
        want = np.zeros(len(ids))
        for j, v in enumerate(vectors):
            group = npos if j < npos else len(vectors) - npos
            want += (1 if j < npos else -1) * _cos_distance_4bit(v, codes, fac, codec) / group
        got = np.array([r["score"] for r in exp["rows"]])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * np.abs(want).max())
        # ranks follow the scores with margins far above the browser's rounding (~1e-7)
        assert [r["rank"] for r in exp["rows"]] == list(range(1, len(ids) + 1))
        assert np.diff(got).min() > 1e-5 * np.abs(got).max(), case["name"]
        checked += 1
    assert checked == 3


def test_reranked_scores_are_numpy_cosines_of_the_decoded_rerank_codes(
    fixture: dict[str, Any], stored: dict[str, tuple[bytes, np.ndarray, bytes]]
) -> None:
    with open_corpus(CORPUS) as c:
        rerank = from_dict(c.metadata["rerank_codec"])

    def unit(ids: list[str]) -> np.ndarray:
        X = rerank.decode(np.array([list(stored[i][2]) for i in ids], np.uint8))
        X = X.astype(np.float64)
        out: np.ndarray = X / np.linalg.norm(X, axis=1, keepdims=True)
        return out

    cases = [c for c in fixture["cases"] if c["expected"]["reranked"]]
    assert {c["query"]["asymmetric"] for c in cases} == {True, False}
    for case in cases:
        exp, npos = case["expected"], len(case["query"]["positives"])
        X, E = unit([r["id"] for r in exp["rows"]]), unit(exp["exemplars"])
        want = (1 - X @ E[:npos].T).mean(axis=1) - (1 - X @ E[npos:].T).mean(axis=1)
        np.testing.assert_allclose([r["score"] for r in exp["rows"]], want, atol=1e-12)
