"""score="classifier": the Newton solver and the search's probabilities against
scikit-learn's LogisticRegression (the oracle), fed training rows picked by a plain
Python reading of the rule (ids sorted, every ``n / m``-th); bad input by message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import shapely
from sklearn.linear_model import LogisticRegression

from terrabit.corpus import open as open_corpus
from terrabit.errors import InvalidInputError
from terrabit.kernels import bit_features
from terrabit.search import constants as C
from terrabit.search.classifier import fit_logistic
from terrabit.search.query import search


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


def _sklearn(x: np.ndarray, y: np.ndarray, s: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, tol=1e-12, max_iter=10_000, solver="newton-cholesky")
    return model.fit(x, y, sample_weight=s)


@pytest.mark.parametrize(
    ("n", "p", "c", "seed"),
    [(40, 16, 1.0, 0), (300, 64, 0.1, 1), (20, 200, 10.0, 2), (259, 1024, 1.0, 3)],
)
def test_fit_equals_sklearn(n: int, p: int, c: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(n, p))
    y = (rng.random(n) < 0.3).astype(float)
    y[0] = 1.0
    s = np.where(rng.random(n) < 0.5, 1.0, 0.1)
    fit = fit_logistic(x, y, s, c=c)
    model = _sklearn(x, y, s, c)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, model.coef_[0], rtol=0, atol=1e-8)
    assert abs(fit.intercept - model.intercept_[0]) < 1e-8
    prob = 1 / (1 + np.exp(-(x @ fit.coef + fit.intercept)))
    np.testing.assert_allclose(prob, model.predict_proba(x)[:, 1], rtol=0, atol=1e-10)


def test_constant_bits_get_no_weight() -> None:
    """A bit set in no training row (padding) is absorbed by the intercept."""
    rng = np.random.default_rng(4)
    x = rng.choice([-1.0, 1.0], size=(30, 8))
    x[:, 5] = -1.0
    y = np.r_[np.ones(3), np.zeros(27)]
    fit = fit_logistic(x, y, np.ones(30))
    assert abs(fit.coef[5]) < 1e-12


def _oracle(
    all_rows: pa.Table, box: Any, pos: list[str], neg: list[str]
) -> tuple[dict[str, float], int]:
    """Every candidate's probability by scikit-learn, the background picked by hand."""
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    ids = all_rows.column("id").to_pylist()
    codes = {
        i: bytes(v) for i, v in zip(ids, all_rows.column("embedding").to_pylist(), strict=True)
    }
    inside = shapely.intersects(geoms, shapely.box(*box))
    cands = sorted(i for i, keep in zip(ids, inside, strict=True) if keep and i not in pos + neg)
    m = min(C.CLASSIFIER_BACKGROUND, len(cands))
    back = [cands[(i * len(cands)) // m] for i in range(m)]

    def feats(keys: list[str]) -> np.ndarray:
        bits = np.unpackbits(np.frombuffer(b"".join(codes[k] for k in keys), np.uint8))
        return bits.reshape(len(keys), -1).astype(float) * 2 - 1

    x = feats(pos + neg + back)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg) + m)]
    s = np.r_[np.ones(len(pos) + len(neg)), np.full(m, C.CLASSIFIER_BACKGROUND_WEIGHT)]
    model = _sklearn(x, y, s, C.CLASSIFIER_C)
    prob = model.predict_proba(feats(cands))[:, 1]
    return dict(zip(cands, prob.tolist(), strict=True)), m


@pytest.mark.parametrize(("npos", "nneg"), [(1, 0), (2, 1), (3, 2)])
def test_search_probabilities_equal_sklearn(
    corpus: Any, all_rows: pa.Table, busy_box: Any, npos: int, nneg: int
) -> None:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*busy_box)))
    ids = sorted(all_rows.column("id").take(pa.array(inside)).to_pylist())
    pos, neg = ids[3 : 3 + npos], ids[40 : 40 + nneg]
    truth, m = _oracle(all_rows, busy_box, pos, neg)
    result = search(
        corpus, busy_box, positives=pos, negatives=neg, view="heatmap", score="classifier"
    )
    got = dict(
        zip(
            result.table.column("id").to_pylist(),
            result.table.column("probability").to_pylist(),
            strict=True,
        )
    )
    assert got.keys() == truth.keys()
    diff = max(abs(got[i] - truth[i]) for i in truth)
    assert diff < 1e-9
    score = np.asarray(result.table.column("score"))
    prob = np.asarray(result.table.column("probability"))
    np.testing.assert_allclose(score, 1 - prob, rtol=0, atol=1e-12)
    info = result.query["classifier"]
    assert (info["positives"], info["negatives"], info["background"]) == (npos, nneg, m)
    assert info["converged"] and result.query["score"] == "classifier"
    assert ("note" in info) == (nneg == 0)
    # topk: the k most probable, ties by id
    top = search(corpus, busy_box, positives=pos, negatives=neg, k=10, score="classifier")
    expected = sorted(truth, key=lambda i: (-truth[i], i))[:10]
    assert top.shown.column("id").to_pylist() == expected


def test_every_view_takes_classifier_scores(corpus: Any, busy_box: Any, all_rows: pa.Table) -> None:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*busy_box)))
    a = sorted(all_rows.column("id").take(pa.array(inside)).to_pylist())[5]
    kw = {"positives": [a], "score": "classifier"}
    heat = search(corpus, busy_box, view="heatmap", **kw)
    p = dict(
        zip(
            heat.table.column("id").to_pylist(),
            heat.table.column("probability").to_pylist(),
            strict=True,
        )
    )
    thr = search(corpus, busy_box, view="threshold", k=7, **kw)
    shown = thr.shown.column("id").to_pylist()
    assert len(shown) == 7 and min(p[i] for i in shown) >= sorted(p.values())[-7]
    grad = search(corpus, busy_box, view="gradient", **kw)
    assert grad.table.num_rows == heat.table.num_rows
    dedupe = search(corpus, busy_box, dedupe=True, k=500, **kw)
    places = [g for g in dedupe.table.column("geometry").to_pylist()]
    assert len(places) == len(set(places))


def test_bad_input_one_line_messages(corpus: Any, busy_box: Any, all_rows: pa.Table) -> None:
    a = all_rows.column("id")[0].as_py()
    cases = [
        ({}, "learns from positive examples and got none"),
        ({"positives": [a], "view": "outlier"}, "view 'outlier' ranks by the codes alone"),
        ({"positives": [a], "invert": True}, "does not work with invert=True"),
        ({"positives": [a], "combine": "and"}, "does not work with combine='and'"),
        ({"positives": [a], "asymmetric": True}, "does not work with asymmetric=True"),
        ({"positives": [a], "global_": True}, "does not work with global_=True"),
    ]
    for kw, message in cases:
        with pytest.raises(InvalidInputError, match=message) as info:
            search(corpus, busy_box, score="classifier", **kw)
        assert "\n" not in str(info.value)
    with pytest.raises(InvalidInputError, match="score must be one of"):
        search(corpus, busy_box, positives=[a], score="svm")  # type: ignore[arg-type]


def test_bits_are_msb_first() -> None:
    bits = bit_features(np.array([[0b1010_0000, 0b0000_0001]], np.uint8))[0]
    assert bits.tolist() == [1, -1, 1, -1, -1, -1, -1, -1] + [-1] * 7 + [1]
