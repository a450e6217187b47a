"""``terrabit segment`` through the real CLI group: JSON output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from terrabit.cli.main import cli


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["-q", "segment", *map(str, args)])


@pytest.fixture()
def patch_dirs(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("unet", "fcn", "masks"):
        (tmp_path / sub).mkdir()
    for i in range(3):
        mask = rng.choice([0, 1, 2], p=[0.7, 0.1, 0.2], size=(16, 16)).astype(np.uint8)
        np.save(tmp_path / "masks" / f"{i:03d}.npy", mask)
        np.save(tmp_path / "unet" / f"{i:03d}.npy", (mask > 0).astype(np.uint8))
        np.save(tmp_path / "fcn" / f"{i:03d}.npy", (mask == 1).astype(np.uint8))
    return tmp_path


def test_metrics_json_and_plot(patch_dirs: Path) -> None:
    result = run(
        "metrics",
        patch_dirs / "unet",
        patch_dirs / "fcn",
        patch_dirs / "masks",
        "--plot",
        patch_dirs / "r.png",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    unet, fcn = out["models"]["unet"], out["models"]["fcn"]
    assert unet["dwr"] == 1.0 and unet["recall"]["tc"] == 1.0  # predicts all TC as road
    assert fcn["dwr"] == 0.0 and fcn["recall"]["road"] == 1.0
    assert unet["by_distance"]["edges"] == fcn["by_distance"]["edges"]
    assert len(unet["by_distance"]["counts"]) == 20
    assert Path(out["plot"]).read_bytes()[:4] == b"\x89PNG"


def test_metrics_errors(patch_dirs: Path) -> None:
    np.save(patch_dirs / "masks" / "999.npy", np.zeros((16, 16), np.uint8))
    result = run("metrics", patch_dirs / "unet", patch_dirs / "masks")
    assert result.exit_code == 1
    assert "Error: masks without a prediction of the same name in PRED_DIR: 999" in result.stderr
    result = run("metrics", patch_dirs / "masks")
    assert result.exit_code == 1
    assert "Error: give PRED_DIR and MASK_DIR" in result.stderr


def test_erf_untrained_arch(tmp_path: Path) -> None:
    for i in range(2):
        np.save(tmp_path / f"{i}.npy", np.random.default_rng(i).normal(size=(9, 40, 40)))
    result = run(
        "erf",
        "--arch",
        "fcn-tiny",
        tmp_path / "0.npy",
        tmp_path / "1.npy",
        "--size",
        "32",
        "--class",
        "0",
        "--class",
        "1",
        "--plot",
        tmp_path / "erf.png",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["theoretical_rf"] == 7
    assert out["classes"]["1"]["support_diameter"] == 7
    assert out["classes"]["0"]["diameters"]["99"] <= 7
    assert (tmp_path / "erf-class0.png").exists() and (tmp_path / "erf-class1.png").exists()
    result = run(
        "erf",
        "--arch",
        "fcn-tiny",
        tmp_path / "0.npy",
        "--size",
        "32",
        "--point",
        "0,0",
        "--point",
        "5,31",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["classes"]["1"]["n_points"] == 2
    bad = run("erf", "--arch", "fcn-tiny", tmp_path / "0.npy", "--size", "32", "--point", "40,1")
    assert bad.exit_code == 1 and "points must be (row, col) pixels inside" in bad.stderr
    result = run("erf", tmp_path / "0.npy")
    assert (
        result.exit_code == 1
        and "Error: pass checkpoint (a trained model) or --arch (an untrained one)" in result.stderr
    )


def test_train_predict_erf_with_checkpoint(
    config_path: Path, scenes: dict[str, Any], tmp_path: Path
) -> None:
    result = run("train", config_path, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    best = summary["best"]
    assert Path(best).exists() and summary["best_epoch"] == 1
    scene = scenes["images"][0]
    result = run(
        "predict",
        best,
        scene,
        "-o",
        tmp_path / "w.tif",
        "--size",
        "32",
        "--stride",
        "24",
        "--blend",
        "center",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    with rasterio.open(scene) as src, rasterio.open(out["output"]) as dst:
        assert (dst.crs, dst.transform, dst.shape) == (src.crs, src.transform, src.shape)
    again = run("predict", best, scene, "-o", tmp_path / "w.tif", "--size", "32")
    assert again.exit_code == 1 and "already exists; pass --overwrite" in again.stderr
    small = run("predict", best, scene, "-o", tmp_path / "x.tif", "--size", "100")
    assert small.exit_code == 1
    assert "smaller than a 100 x 100 tile; pass --size 64 or less" in small.stderr
    result = run("erf", best, scene, "--size", "32", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["arch"] == "fcn-tiny"
    wrong = run("erf", best, scene, "--arch", "unet-r18", "--size", "32")
    assert wrong.exit_code == 1 and "holds a 'fcn-tiny' model, not 'unet-r18'" in wrong.stderr
