"""The evaluation report says which data its figures come from, and warns about the world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.evaluate import check_arrays, evaluate_data, load_input
from terrabit.evaluate.data import WORLD_KEY, WORLD_WARNING
from terrabit.world import patches as world_patches
from terrabit.world.generate import generate_world

N_WORLD = 400


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prov") / "w"
    generate_world(out, n=N_WORLD, dim=64, seed=3, aef=False, progress=False)
    return out


def _run(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-q", "evaluate", *args], catch_exceptions=False)


def test_marker_key_is_the_worlds() -> None:
    assert WORLD_KEY == world_patches.WORLD_KEY


@pytest.mark.parametrize("which", ["npz", "patches"])
def test_world_input_is_named_and_warned_about(tmp_path: Path, world: Path, which: str) -> None:
    path = world / "labelled.npz" if which == "npz" else world / "patches"
    out = tmp_path / "eval"
    res = _run([str(path), "--codecs", "int8", "--tasks", "recall", "--json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    ds = json.loads(res.stdout)["dataset"]
    if which == "npz":
        with np.load(path) as z:
            n_train, n_test = len(z["y_train"]), len(z["y_test"])
    else:
        n_train = n_test = None  # the split is made by evaluate; only the total is known
    assert ds["source"] == str(path) and ds["dim"] == 64 and ds["rows"] == N_WORLD
    if n_train is not None:
        assert (ds["n_train"], ds["n_test"]) == (n_train, n_test)
    assert ds["n_train"] + ds["n_test"] == N_WORLD
    assert ds["synthetic_world"] is True and ds["warning"] == WORLD_WARNING
    assert ds["world"]["generator"] == "terrabit world"
    assert (ds["world"]["seed"], ds["world"]["patches"], ds["world"]["dim"]) == (3, N_WORLD, 64)
    md = (out / "report.md").read_text()
    assert f"data: {path} — {N_WORLD} rows used" in md
    assert "synthetic world: yes (terrabit world, seed 3, 400 patches, d = 64)" in md
    assert f"**WARNING: {WORLD_WARNING}**" in md
    assert json.loads((out / "results.json").read_text())["dataset"]["synthetic_world"] is True
    table = _run([str(path), "--codecs", "int8", "--tasks", "recall"])
    text = " ".join(table.stdout.split())
    assert str(path) in text and "synthetic world: yes" in text and "WARNING:" in text


def test_other_input_says_it_is_not_the_world(tmp_path: Path, small, npz_writer) -> None:  # type: ignore[no-untyped-def]
    npz = npz_writer(tmp_path / "real.npz", small)
    out = tmp_path / "eval"
    res = _run([str(npz), "--codecs", "int8", "--tasks", "recall", "--json", "-o", str(out)])
    ds = json.loads(res.stdout)["dataset"]
    rows = len(small.y_train) + len(small.y_test)
    assert ds["source"] == str(npz) and ds["rows"] == rows
    assert (ds["n_train"], ds["n_test"]) == (len(small.y_train), len(small.y_test))
    assert ds["synthetic_world"] is False and ds["world"] is None and ds["warning"] is None
    md = (out / "report.md").read_text()
    assert "synthetic world: no" in md and "WARNING" not in md


def test_world_without_its_marker_is_not_called_the_world(tmp_path: Path, world: Path) -> None:
    with np.load(world / "labelled.npz") as z:
        arrays = {k: z[k] for k in z.files if k != WORLD_KEY}
    np.savez(tmp_path / "copy.npz", **arrays)
    assert load_input(tmp_path / "copy.npz").world is None
    assert load_input(world / "labelled.npz").world is not None


def test_an_unreadable_marker_still_marks_the_world(tmp_path: Path, small) -> None:  # type: ignore[no-untyped-def]
    np.savez(
        tmp_path / "m.npz",
        x_train=small.x_train,
        y_train=small.y_train,
        x_test=small.x_test,
        y_test=small.y_test,
        **{WORLD_KEY: np.array("not json")},
    )
    data = load_input(tmp_path / "m.npz")
    assert data.world == {"marker": "not json"} and data.describe()["warning"] == WORLD_WARNING


def test_arrays_and_a_recall_only_report_claim_no_knn(small) -> None:  # type: ignore[no-untyped-def]
    data = check_arrays(small.x_train, small.y_train, small.x_test, small.y_test)
    report = evaluate_data(data, ["int8"], "recall")
    assert report.dataset["source"] == "arrays" and report.dataset["synthetic_world"] is False
    assert report.baseline.get("knn_accuracy") is None
    assert "kNN accuracy" not in report.to_markdown()


def test_recommend_states_its_data(tmp_path: Path, world: Path) -> None:
    path = world / "labelled.npz"
    res = _run([str(path), "--recommend", "--json"])
    got = json.loads(res.stdout)["data"]
    assert got["source"] == str(path) and got["rows"] == N_WORLD
    assert got["synthetic_world"] is True and got["rows_measured"] == N_WORLD
    res = _run([str(path), "--recommend"])
    text = " ".join(res.stdout.split())
    assert f"data: {path}" in text and f"WARNING: {WORLD_WARNING}" in text
