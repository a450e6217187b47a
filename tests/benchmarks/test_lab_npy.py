"""The compression-lab benchmarks' ``--npy`` input: a real model's unlabelled float matrix."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from terrabit.errors import InvalidInputError

pytest.importorskip("faiss")

BENCH = Path(__file__).parents[2] / "benchmarks"


def _bench(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture()
def npy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(1).normal(size=(300, 16)).astype(np.float32)
    x[200:220] = x[:20]  # 20 exact duplicates
    path = tmp_path / "x.npy"
    np.save(path, x)
    return path, x


def test_npy_split_drops_duplicates_and_holds_queries_out(npy: tuple[Path, np.ndarray]) -> None:
    path, x = npy
    bench = _bench("one_bit_codes")
    db, q = bench.npy_split(str(path), queries=50)
    assert q.shape == (50, 16) and db.shape == (230, 16)  # 280 distinct rows
    both = np.concatenate([db, q])
    assert len(np.unique(both, axis=0)) == 280  # no row twice, none lost
    distinct = {r.tobytes() for r in x}
    assert {r.tobytes() for r in both} == distinct
    db2, q2 = bench.npy_split(str(path), queries=50, max_db=100)
    assert db2.shape == (100, 16) and np.array_equal(q2, q) and np.array_equal(db2, db[:100])
    _, q3 = bench.npy_split(str(path), queries=50, seed=1)
    assert not np.array_equal(q3, q)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(8, np.float32), "must be a 2-D array"),
        (np.array([[0.0, np.nan]] * 80), "has NaN or inf in rows 0, 1, 2"),
        (np.array([["a", "b"]] * 80), "must be numeric"),
        (np.random.default_rng(0).normal(size=(40, 4)), "40 distinct rows; 50 queries need"),
    ],
)
def test_npy_split_bad_arrays(tmp_path: Path, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(InvalidInputError, match=message):
        _bench("one_bit_codes").npy_split(str(tmp_path / "bad.npy"), queries=50)


def test_npy_split_not_an_npy(tmp_path: Path) -> None:
    (tmp_path / "t.npy").write_text("hello")
    with pytest.raises(InvalidInputError, match=r"cannot read .* as an \.npy array"):
        _bench("one_bit_codes").npy_split(str(tmp_path / "t.npy"))


def test_unlabelled_evaluation_runs_recall_only(npy: tuple[Path, np.ndarray]) -> None:
    path, _ = npy
    bench = _bench("evaluate_world")
    data = bench.unlabelled(str(path), max_train=200, max_test=40, seed=0)
    assert data.x_train.shape == (200, 16) and data.x_test.shape == (40, 16)
    assert data.source == str(path) and data.world is None
    assert bench.label_free_tasks("all") == ["recall", "id", "storage"]
    for bad in ("knn", "probe,recall", "significance"):
        with pytest.raises(InvalidInputError, match=r"need labels, which an \.npy input has not"):
            bench.label_free_tasks(bad)
    report = bench.evaluate_data(data, ["float32", "int8"], ["recall"])
    assert report.result("float32")["recall_at_10_cosine"] == 1.0
    assert report.result("int8")["knn_accuracy"] is None
    assert report.baseline.get("knn_accuracy") is None


def test_rabitq_row_is_asymmetric_and_close_to_faiss() -> None:
    """Our ``rabitq`` with a float query ranks like faiss ``IndexRaBitQ`` (the oracle)."""
    import faiss

    bench = _bench("codecs_vs_faiss")
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2_200, 64)) @ rng.normal(size=(64, 64))).astype(np.float32)
    db, q = x[:2_000], x[2_000:]
    truth = bench.exact_topk(db, q, bench.K)
    ours = bench.ours_recall("rabitq", db, q, truth)
    index = faiss.IndexRaBitQ(64, faiss.METRIC_L2)
    index.qb = 0
    theirs = bench.faiss_recall(index, db, q, truth)
    hamming = bench.ours_recall("rot+binary:threshold=mean", db, q, truth)
    assert abs(ours - theirs) < 0.05, (ours, theirs)
    assert ours > hamming + 0.05, (ours, hamming)
