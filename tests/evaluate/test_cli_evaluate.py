"""``terrabit evaluate`` end to end: .npz and GeoParquet inputs, --json, outputs, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli


def _run(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-q", "evaluate", *args], catch_exceptions=False)


def test_npz_json_and_outputs(tmp_path, small, npz_writer) -> None:
    npz = npz_writer(tmp_path / "s.npz", small, classes=["forest", "crop", "water"])
    out = tmp_path / "eval"
    res = _run(
        [
            str(npz),
            "--codecs",
            "float32,int8,pq:m=4,bits=4",
            "--codec",
            "binary",
            "-o",
            str(out),
            "--json",
            "--seed",
            "3",
        ]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["codec"] for r in data["results"]] == ["float32", "int8", "pq:m=4,bits=4", "binary"]
    f32, i8, pq, b = data["results"]
    assert f32["recall_at_10_cosine"] == 1.0 and f32["mcnemar_p"] == 1.0
    assert i8["bytes_per_vector"] == 32 and pq["bytes_per_vector"] == 2
    assert b["knn_hamming_accuracy"] is not None and i8["knn_hamming_accuracy"] is None
    assert set(i8["recall"]) == {"cosine", "euclidean"}
    assert i8["probe_C"] is not None and i8["disk_ratio"] > 2 and i8["search_qps"] > 0
    assert i8["worst_class"] in ("forest", "crop", "water")
    assert data["dataset"]["classes"] == ["forest", "crop", "water"]
    assert data["intrinsic_dim"]["n_samples"] > 0
    files = sorted(p.name for p in out.iterdir())
    assert {
        "report.md",
        "results.json",
        "pareto_knn.png",
        "pareto_probe.png",
        "recall_at_k.png",
        "f1_drop_heatmap.png",
    } <= set(files)
    assert json.loads((out / "results.json").read_text())["seed"] == 3
    again = _run([str(npz), "--codecs", "int8", "--tasks", "knn", "-o", str(out)])
    assert again.exit_code == 1
    assert "already exists; pass --overwrite" in again.stderr


def test_geoparquet_folder_table_output(tmp_path, small, patch_writer) -> None:
    root = patch_writer(tmp_path / "world", small)
    res = _run([str(root), "--codecs", "float32;int4", "--tasks", "knn,recall,storage"])
    assert res.exit_code == 0, res.output
    assert "int4" in res.stdout and "R@10 cos" in res.stdout
    res = _run([str(root), "--codecs", "int4", "--tasks", "knn", "--json"])
    data = json.loads(res.stdout)
    assert data["dataset"]["split"] == "spatial"
    assert data["results"][0]["probe_accuracy"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--codecs", "int8,int7"], "unknown codec 'int7'"),
        (["--codecs", "pca:200+int8"], "pca:200 asks for 200 components"),
        (["--tasks", "knn,speedy"], "unknown task 'speedy'; valid tasks"),
        (["--codecs", "bits=8"], "parameter without a codec"),
    ],
)
def test_errors_one_line_nothing_written(tmp_path, small, npz_writer, extra, message) -> None:
    npz = npz_writer(tmp_path / "s.npz", small)
    out = tmp_path / "eval"
    res = _run([str(npz), "-o", str(out), *extra])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]


def test_bad_npz_inputs(tmp_path, small) -> None:
    p = tmp_path / "bad.npz"
    np.savez(
        p,
        x_train=small.x_train,
        y_train=small.y_train[:-1],
        x_test=small.x_test,
        y_test=small.y_test,
    )
    res = _run([str(p), "--tasks", "knn"])
    assert res.exit_code == 1 and "y_train has" in res.stderr and "labels but x_train" in res.stderr
    x = small.x_test.copy()
    x[[4, 9]] = np.inf
    np.savez(p, x_train=small.x_train, y_train=small.y_train, x_test=x, y_test=small.y_test)
    res = _run([str(p), "--tasks", "knn"])
    assert "x_test has NaN or inf in rows 4, 9" in res.stderr
    np.savez(p, x_train=small.x_train)
    res = _run([str(p)])
    assert "lacks key(s) y_train, x_test, y_test" in res.stderr


def test_recommend_prints_what_publish_auto_would_choose(
    tmp_path, small, measurable, npz_writer
) -> None:  # type: ignore[no-untyped-def]
    """``--recommend`` runs the measurement of ``publish --codec auto --rerank auto``: every
    candidate is reported, binary among them, and the best measured 1-bit code is chosen
    (ties to the earlier); a set too small to measure gets the stated fallback."""
    for data, name in ((measurable, "big.npz"), (small, "small.npz")):
        res = _run([str(npz_writer(tmp_path / name, data)), "--recommend", "--json"])
        assert res.exit_code == 0, res.output
        got = json.loads(res.stdout)
        code = got["report"]["code"]
        if data is small:
            assert got["codec"] == "binary" and "fallback" in got["report"]
            continue
        specs = [c["spec"] for c in code["candidates"]]
        means = [c["mean_recall_at_10"] for c in code["candidates"]]
        assert specs[0] == "binary" and got["codec"] == specs[int(np.argmax(means))]
        assert "rabitq" in specs and "float4_recall_at_10" in code["candidates"][-1]
        assert got["rerank"] in [c["spec"] for c in got["report"]["rerank"]["candidates"]]
    table = _run([str(tmp_path / "big.npz"), "--recommend"])
    assert table.exit_code == 0, table.output
    assert "float query" in table.stdout and "exemplar rows" in table.stdout
    assert "rule: code: the 1-bit candidate with the best mean" in " ".join(table.stdout.split())
