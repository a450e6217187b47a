"""The evaluate() API end to end: keys, baselines, codec specs, tasks, outputs, bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from terrabit.errors import InvalidInputError, OutputExistsError, SpecError
from terrabit.evaluate import (
    EvaluationReport,
    evaluate,
    knn_accuracy,
    pareto_front,
    parse_tasks,
    split_codec_list,
)
from terrabit.evaluate.report import RESULT_KEYS

FAST = dict(probe_Cs=(0.1, 1.0), max_speed_rows=200)


class NoiseCodec:
    """A float codec adding fixed noise: decoded != input, so recall@1 < 1."""

    hamming = False

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.fit_rows: list[int] = []

    @property
    def spec(self) -> str:
        return f"noise:{self.scale}"

    @property
    def code_size(self) -> int:
        return self.d * 4

    def fit(self, x: np.ndarray) -> NoiseCodec:
        self.d = x.shape[1]
        self.fit_rows.append(x.shape[0])
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        noise = np.random.default_rng(x.shape[0]).normal(scale=self.scale, size=x.shape)
        return (x + noise).astype(np.float32).view(np.uint8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return codes.view(np.float32)


@pytest.fixture(scope="module")
def report(labelled) -> EvaluationReport:
    d = labelled
    return evaluate(
        d.x_train,
        d.y_train,
        d.x_test,
        d.y_test,
        ["float32", "int8", "binary", "pca:8+int4"],
        seed=0,
        **FAST,
    )


def test_every_key_present_and_types(report) -> None:
    assert [r["codec"] for r in report.results] == ["float32", "int8", "binary", "pca:8+int4"]
    for row in report.results:
        assert set(row) == set(RESULT_KEYS)
    assert report.result("int8")["bytes_per_vector"] == 64
    assert report.result("binary")["bytes_per_vector"] == 8
    assert report.result("pca:8+int4")["bytes_per_vector"] == 4
    assert report.intrinsic_dim is not None and report.intrinsic_dim["mle"] > 1
    assert report.dataset["n_classes"] == 5


def test_float32_is_the_identity(report, labelled) -> None:
    d = labelled
    f = report.result("float32")
    assert f["recall"]["cosine"] == {"1": 1.0, "5": 1.0, "10": 1.0, "25": 1.0, "50": 1.0}
    assert f["recall_at_10_euclidean"] == 1.0
    assert f["mcnemar_p"] == 1.0 and f["accuracy_delta_ci"] == [0.0, 0.0]
    assert f["worst_class_f1_drop"] == 0.0
    assert f["knn_accuracy"] == pytest.approx(
        knn_accuracy(d.x_train, d.y_train, d.x_test, d.y_test)
    )
    assert f["disk_ratio"] == 1.0


def test_codec_metrics_are_sane(report) -> None:
    i8, b = report.result("int8"), report.result("binary")
    assert i8["recall_at_10_cosine"] > 0.9 and i8["mcnemar_p"] > 0.05
    assert b["knn_hamming_accuracy"] is not None and i8["knn_hamming_accuracy"] is None
    assert b["recall_at_10_cosine"] < i8["recall_at_10_cosine"]
    assert 2.5 < i8["disk_ratio"] < 4.0 and b["disk_ratio"] > i8["disk_ratio"]
    lo, hi = i8["accuracy_delta_ci"]
    assert lo <= i8["accuracy_delta"] <= hi
    assert i8["probe_C"] in (0.1, 1.0)
    assert b["encode_per_s"] > 0 and b["search_qps"] > 0


def test_not_run_tasks_are_null(labelled) -> None:
    d = labelled
    rep = evaluate(d.x_train, d.y_train, d.x_test, d.y_test, ["int8"], "recall")
    row = rep.result("int8")
    assert row["recall_at_10_cosine"] is not None
    for key in ("knn_accuracy", "probe_accuracy", "mcnemar_p", "disk_ratio", "encode_per_s"):
        assert row[key] is None
    assert rep.intrinsic_dim is None
    out = json.loads(rep.to_json())
    assert out["results"][0]["knn_accuracy"] is None and out["intrinsic_dim"] is None


def test_noise_codec_fitted_once_on_train_and_recall_not_trivial(labelled) -> None:
    d = labelled
    codec = NoiseCodec(0.3)
    rep = evaluate(d.x_train, d.y_train, d.x_test, d.y_test, [codec], ["recall", "knn"])
    assert codec.fit_rows == [d.x_train.shape[0]]
    r = rep.results[0]["recall"]["euclidean"]
    assert 0.05 < r["1"] < 1.0 and r["50"] > r["1"]


def test_split_codec_list() -> None:
    assert split_codec_list("float32,int8,pq:m=8,bits=8,pca:64+int8") == [
        "float32",
        "int8",
        "pq:m=8,bits=8",
        "pca:64+int8",
    ]
    assert split_codec_list(" int4 ; turbo:bits=2 ;") == ["int4", "turbo:bits=2"]
    assert split_codec_list("binary:threshold=median,rot+binary") == [
        "binary:threshold=median",
        "rot+binary",
    ]
    with pytest.raises(SpecError, match="parameter without a codec"):
        split_codec_list("bits=8,int8")
    with pytest.raises(SpecError, match="doubled comma"):
        split_codec_list("int8,,int4")


def test_parse_tasks() -> None:
    assert parse_tasks("speed,knn") == ["knn", "speed"]
    assert parse_tasks("all") == parse_tasks(None)
    with pytest.raises(SpecError, match="unknown task 'knnn'; valid tasks: all, knn"):
        parse_tasks("knnn")


def test_pareto_front() -> None:
    assert pareto_front([8, 8, 64, 256], [0.6, 0.7, 0.69, 0.71]).tolist() == [
        False,
        True,
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("codecs", "kwargs", "error", "message"),
    [
        (["int7"], {}, SpecError, "unknown codec 'int7'.*valid codecs: float32"),
        (["pca:100+int8"], {}, InvalidInputError, "pca:100 asks for 100 components"),
        (["int8", "int8"], {}, SpecError, "listed twice: int8"),
        (["int8"], {"tasks": "knn,nope"}, SpecError, "unknown task 'nope'"),
        ([42], {}, InvalidInputError, "spec strings or codec objects"),
    ],
)
def test_bad_codecs_and_tasks(small, codecs, kwargs, error, message) -> None:
    d = small
    with pytest.raises(error, match=message):
        evaluate(d.x_train, d.y_train, d.x_test, d.y_test, codecs, **kwargs)


def test_bad_arrays_raise_typed(small) -> None:
    d = small
    x = d.x_train.copy()
    x[3, 0] = np.nan
    with pytest.raises(InvalidInputError, match="x_train has NaN or inf in rows 3;"):
        evaluate(x, d.y_train, d.x_test, d.y_test, ["int8"])
    with pytest.raises(ValueError, match="y_test has 2 labels"):
        evaluate(d.x_train, d.y_train, d.x_test, d.y_test[:2], ["int8"])


def test_write_outputs_atomic(tmp_path, report) -> None:
    out = report.write(tmp_path / "eval")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "f1_drop_heatmap.png",
        "pareto_knn.png",
        "pareto_probe.png",
        "recall_at_k.png",
        "report.md",
        "results.json",
    ]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    assert data["results"][1]["codec"] == "int8"
    md = (out / "report.md").read_text()
    assert "| int8 |" in md and "Intrinsic dimension" in md
    with pytest.raises(OutputExistsError, match="--overwrite"):
        report.write(out)
    report.write(out, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_markdown_links_only_written_plots(tmp_path, small) -> None:
    d = small
    rep = evaluate(d.x_train, d.y_train, d.x_test, d.y_test, ["int8"], "knn,recall")
    out = rep.write(tmp_path / "e")
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["pareto_knn.png", "recall_at_k.png"]
    md = (out / "report.md").read_text()
    assert "pareto_probe.png" not in md and "recall_at_k.png" in md
