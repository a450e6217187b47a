"""``spec/fixtures/tiny.search.json`` and ``tiny_twin.search.json`` (the browser's search
oracles) regenerate exactly; their ``score="classifier"`` cases (and
``tiny_rabitq.search.json``'s) hold the probabilities of scikit-learn's LogisticRegression
fitted on the codes read with pyarrow from the shards, with ranking margins far above float
rounding; the ``view="change"`` cases equal a numpy brute force over those codes."""

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


@pytest.mark.parametrize(("name", "build"), [("tiny", "make"), ("tiny_twin", "make_twin")])
def test_search_cases_regenerate_the_same_json(name: str, build: str) -> None:
    fixture = json.loads((FIXTURES / f"{name}.search.json").read_text())
    assert json.loads(json.dumps(getattr(_module(), build)())) == fixture


def _codes(corpus: str, column: str = "embedding") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for shard in sorted((FIXTURES / corpus / "shards").glob("*.parquet")):
        t = pq.read_table(shard, columns=["id", column])
        out.update(zip(t.column("id").to_pylist(), t.column(column).to_pylist(), strict=True))
    return out


def _sklearn_probability(
    codes: dict[str, bytes], pos: list[str], neg: list[str], cands: list[str]
) -> dict[str, float]:
    """The classifier's rule, by scikit-learn: the background every n/m-th sorted id."""
    cands = sorted(cands)
    m = min(C.CLASSIFIER_BACKGROUND, len(cands))
    back = [cands[(i * len(cands)) // m] for i in range(m)]
    x = _features(codes, pos + neg + back)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg) + m)]
    s = np.r_[np.ones(len(pos) + len(neg)), np.full(m, C.CLASSIFIER_BACKGROUND_WEIGHT)]
    model = LogisticRegression(
        C=C.CLASSIFIER_C, tol=1e-12, max_iter=10_000, solver="newton-cholesky"
    )
    model.fit(x, y, sample_weight=s)
    prob = model.predict_proba(_features(codes, cands))[:, 1]
    return dict(zip(cands, prob.tolist(), strict=True))


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
        want = _sklearn_probability(codes, pos, neg, cands)
        got = np.array([probability[i] for i in cands])
        np.testing.assert_allclose(got, [want[i] for i in cands], rtol=0, atol=1e-9)
        assert exp["classifier"]["background"] == m
        # ranks follow the scores, with margins far above the browser's float rounding
        scores = np.array([r["score"] for r in exp["rows"]])
        assert np.all(np.diff(scores) >= 0)
        gaps = np.diff(np.unique(scores))
        assert gaps.size == 0 or gaps.min() > 1e-9, case["name"]
        checked += 1
    assert checked == {"tiny": 3, "tiny_rabitq": 1}[name]


def _distance(bits: dict[str, np.ndarray], i: str, pos: list[str], neg: list[str]) -> float:
    """Mean Hamming distance of row ``i`` to the positives minus that to the negatives."""
    d = [float((bits[i] != bits[e]).sum()) for e in pos]
    n = [float((bits[i] != bits[e]).sum()) for e in neg]
    return float(np.mean(d) - (np.mean(n) if n else 0.0))


def test_change_cases_equal_numpy() -> None:
    fixture = json.loads((FIXTURES / "tiny_twin.search.json").read_text())
    codes, geometry = _codes("tiny_twin"), _codes("tiny_twin", "geometry")
    bits = {i: np.unpackbits(np.frombuffer(c, np.uint8)).astype(np.int64) for i, c in codes.items()}
    for case in fixture["cases"]:
        query, exp = case["query"], case["expected"]
        npos = len(query["positives"])
        pos, neg = exp["exemplars"][:npos], exp["exemplars"][npos:]
        rows = exp["rows"]
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        assert sum(r["shown"] for r in rows) == min(query["k"], len(rows)) == query["k"]
        for r in rows:  # one place: the same footprint, 2023 then 2024
            assert geometry[r["earlier"]] == geometry[r["id"]]
            assert (r["earlier"][-4:], r["id"][-4:]) == ("2023", "2024")
        if not pos:
            want = [float((bits[r["id"]] != bits[r["earlier"]]).sum()) for r in rows]
            assert [r["value"] for r in rows] == want
            assert [r["score"] for r in rows] == [-v for v in want]
        elif query.get("score") == "classifier":
            assert not query["regions"]  # the candidates: every row but the exemplars
            p = _sklearn_probability(codes, pos, neg, [i for i in codes if i not in pos + neg])
            want = [(1 - p[r["id"]]) - (1 - p[r["earlier"]]) for r in rows]
            np.testing.assert_allclose([r["score"] for r in rows], want, rtol=0, atol=1e-9)
        else:
            want = [
                _distance(bits, r["id"], pos, neg) - _distance(bits, r["earlier"], pos, neg)
                for r in rows
            ]
            assert [r["score"] for r in rows] == want
        scores = [r["score"] for r in rows]
        ids = [r["id"] for r in rows]
        assert sorted(zip(scores, ids, strict=True)) == list(zip(scores, ids, strict=True))
