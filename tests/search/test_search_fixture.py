"""``spec/fixtures/tiny.search.json`` (the browser's search oracle) regenerates exactly, and
its ``score="classifier"`` cases (there and in ``tiny_rabitq.search.json``) hold the
probabilities of scikit-learn's LogisticRegression fitted on the codes read with pyarrow
from the shards, with ranking margins far above float rounding."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

from terrabit.search import constants as C

FIXTURES = Path(__file__).resolve().parents[2] / "spec" / "fixtures"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fixture_cases", FIXTURES / "search_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_search_cases_regenerate_the_same_json() -> None:
    fixture = json.loads((FIXTURES / "tiny.search.json").read_text())
    assert json.loads(json.dumps(_module().make())) == fixture


def _codes(corpus: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for shard in sorted((FIXTURES / corpus / "shards").glob("*.parquet")):
        t = pq.read_table(shard, columns=["id", "embedding"])
        out.update(zip(t.column("id").to_pylist(), t.column("embedding").to_pylist(), strict=True))
    return out


def _features(codes: dict[str, bytes], ids: list[str]) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(b"".join(codes[i] for i in ids), np.uint8))
    return bits.reshape(len(ids), -1).astype(np.float64) * 2 - 1


@pytest.mark.parametrize("name", ["tiny", "tiny_rabitq"])
def test_classifier_cases_equal_sklearn(name: str) -> None:
    fixture = json.loads((FIXTURES / f"{name}.search.json").read_text())
    codes = _codes(name)
    checked = 0
    for case in fixture["cases"]:
        query, exp = case["query"], case["expected"]
        if query.get("score") != "classifier":
            continue
        probability = {r["id"]: r["probability"] for r in exp["rows"]}
        if query["view"] != "gradient":  # which ranks by the probability's gradient
            for r in exp["rows"]:
                assert abs(r["score"] - (1 - r["probability"])) < 1e-12
        if query["view"] == "topk":
            continue  # the table holds the k best only: the background is not all there
        npos = len(query["positives"])
        pos, neg = exp["exemplars"][:npos], exp["exemplars"][npos:]
        cands = sorted(probability)
        assert len(cands) == exp["candidates"]
        m = min(C.CLASSIFIER_BACKGROUND, len(cands))
        back = [cands[(i * len(cands)) // m] for i in range(m)]
        x = _features(codes, pos + neg + back)
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg) + m)]
        s = np.r_[np.ones(len(pos) + len(neg)), np.full(m, C.CLASSIFIER_BACKGROUND_WEIGHT)]
        model = LogisticRegression(
            C=C.CLASSIFIER_C, tol=1e-12, max_iter=10_000, solver="newton-cholesky"
        )
        model.fit(x, y, sample_weight=s)
        want = model.predict_proba(_features(codes, cands))[:, 1]
        got = np.array([probability[i] for i in cands])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        assert exp["classifier"]["background"] == m
        # ranks follow the scores, with margins far above the browser's float rounding
        scores = np.array([r["score"] for r in exp["rows"]])
        assert np.all(np.diff(scores) >= 0)
        gaps = np.diff(np.unique(scores))
        assert gaps.size == 0 or gaps.min() > 1e-9, case["name"]
        checked += 1
    assert checked == {"tiny": 3, "tiny_rabitq": 1}[name]
