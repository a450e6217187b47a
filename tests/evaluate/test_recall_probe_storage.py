"""Recall@k, the linear probe (vs GridSearchCV), storage on disk and speed."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from terrabit.errors import InvalidInputError
from terrabit.evaluate import (
    disk_bytes_per_row,
    encode_throughput,
    ground_truth,
    linear_probe,
    recall_at_k,
    recall_curve,
    search_qps,
)
from terrabit.evaluate.storage import code_table, float32_codes


def test_recall_identity_and_partial(labelled) -> None:
    d = labelled
    truth = ground_truth(d.x_train, d.x_test, k=50)
    assert recall_curve(truth, truth) == {1: 1.0, 5: 1.0, 10: 1.0, 25: 1.0, 50: 1.0}
    shifted = np.roll(truth, 1, axis=1)  # same sets for k=50, one miss for k<50
    assert recall_at_k(truth, shifted, 50) == 1.0
    assert recall_at_k(truth, shifted, 10) == pytest.approx(0.9)
    with pytest.raises(InvalidInputError, match="k must be between 1 and 50"):
        recall_at_k(truth, truth, 60)


def test_recall_queries_are_held_out(labelled) -> None:
    d = labelled
    truth = ground_truth(d.x_train, d.x_test, k=10, metric="euclidean")
    assert truth.max() < d.x_train.shape[0]
    # nearest distance is never zero: no query is in the database
    from terrabit.evaluate import search

    dist, _ = search(d.x_train, d.x_test, 1, metric="euclidean")
    assert dist.min() > 1e-3
    noisy = d.x_train + np.random.default_rng(0).normal(scale=0.2, size=d.x_train.shape)
    found = ground_truth(noisy, d.x_test + 0, k=10, metric="euclidean")
    r1 = recall_at_k(truth, found, 1)
    assert 0.05 < r1 < 1.0  # not trivially 1 (it would be, were queries in the database)


def test_probe_matches_gridsearch(labelled) -> None:
    d = labelled
    cs = (0.01, 0.1, 1.0)
    got = linear_probe(d.x_train, d.y_train, d.x_test, d.y_test, Cs=cs, seed=3)
    with threadpool_limits(1, user_api="blas"):
        grid = GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
            {"logisticregression__C": list(cs)},
            cv=StratifiedKFold(3, shuffle=True, random_state=3),
        ).fit(d.x_train, d.y_train)
    assert grid.best_params_["logisticregression__C"] == got.C
    assert got.accuracy == pytest.approx(grid.score(d.x_test, d.y_test))
    assert set(got.cv_scores) == set(cs)
    assert got.cv_scores[got.C] == pytest.approx(grid.best_score_)


def test_storage_table_and_ratio(labelled) -> None:
    x = labelled.x_train
    table = code_table(float32_codes(x))
    assert table.column_names == ["id", "geometry", "datetime", "embedding"]
    assert table.column("embedding")[0].as_py() == x[0].tobytes()
    import shapely

    pt = shapely.from_wkb(table.column("geometry")[0].as_py())
    assert pt.geom_type == "Point" and -180 <= pt.x <= 180
    f32 = disk_bytes_per_row(float32_codes(x))
    q8 = np.clip(np.round((x - x.min(0)) / np.ptp(x, 0) * 255), 0, 255).astype(np.uint8)
    i8 = disk_bytes_per_row(q8)
    assert f32 > x.shape[1] * 4 * 0.8  # float noise barely compresses
    assert 2.0 < f32 / i8 < 4.5
    assert disk_bytes_per_row(q8) == i8  # deterministic


def test_storage_file_is_zstd(tmp_path, labelled) -> None:
    table = code_table(np.zeros((10, 4), np.uint8))
    pq.write_table(table, tmp_path / "a.parquet", compression="zstd")
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.row_group(0).column(3).compression == "ZSTD"
    with pytest.raises(InvalidInputError, match="uint8"):
        disk_bytes_per_row(np.zeros((3, 4), np.float32))


def test_speed_positive(labelled) -> None:
    x = labelled.x_train
    assert encode_throughput(lambda a: np.packbits(a > 0, axis=1), x, repeats=1) > 0
    bits = np.packbits(x > 0, axis=1)
    assert search_qps(bits, bits[:10], metric="hamming", repeats=1) > 0
    assert search_qps(x, x[:10], repeats=1) > 0


def test_float_query_recall_of_rabitq_and_sign_bits(labelled) -> None:
    """``recall_at_10_float_query``: RaBitQ's estimate written out in numpy (its factors
    from the definition), ranked against scikit-learn's exact cosine neighbours."""
    from sklearn.neighbors import NearestNeighbors

    from terrabit.codecs import parse
    from terrabit.evaluate import evaluate

    d = labelled
    rep = evaluate(d.x_train, d.y_train, d.x_test, d.y_test, ["rabitq", "binary", "int8"], "recall")
    rows = {r["codec"]: r for r in rep.results}
    assert rows["int8"]["recall_at_10_float_query"] is None
    assert rows["binary"]["float_scoring"] == "asymmetric"
    assert rows["rabitq"]["float_scoring"] == "rabitq"
    truth = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute")
    true_ids = truth.fit(d.x_train).kneighbors(d.x_test, return_distance=False)
    rq = parse("rabitq").fit(d.x_train)
    R, c = rq.rotation_.astype(np.float64), rq.center_.astype(np.float64)
    r = d.x_train.astype(np.float64) @ R - c
    xbar = np.where(r > 0, 1.0, -1.0) / np.sqrt(r.shape[1])
    ip_code = (xbar * r).sum(axis=1) / np.linalg.norm(r, axis=1)
    qr = d.x_test.astype(np.float64) @ R - c
    est = np.linalg.norm(r, axis=1) * (qr @ xbar.T) / ip_code + r @ c + (qr + c) @ c[:, None]
    ranked = np.argsort(-est / np.linalg.norm(d.x_train, axis=1), axis=1)[:, :10]
    want = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ranked, true_ids, strict=True)])
    assert rows["rabitq"]["recall_at_10_float_query"] == pytest.approx(want, abs=0.01)
    assert "R@10 float q" in rep.to_markdown()
