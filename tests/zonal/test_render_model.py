"""``terrabit zonal render`` and ``zonal model`` end to end on a small world."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.errors import InvalidInputError
from terrabit.zonal.model import fit_models
from terrabit.zonal.render import pca_rgb


@pytest.fixture(scope="module")
def features(mixed_world: dict[str, Any]) -> Path:
    out = mixed_world["root"] / "features.parquet"
    res = CliRunner().invoke(
        cli,
        [
            "zonal",
            "stats",
            mixed_world["zones"],
            "--index",
            mixed_world["index"],
            "--year",
            "2023",
            "--drop-water",
            "-o",
            str(out),
            "--json",
            "--overwrite",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["polygons_with_data"] >= 20
    return out


def test_render_cog_and_preview(features: Path, tmp_path: Path) -> None:
    out = tmp_path / "pca.tif"
    res = CliRunner().invoke(
        cli, ["zonal", "render", str(features), "-o", str(out), "--res", "20", "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["bands"] == 3 and summary["skipped"] == 0
    with rasterio.open(out) as src:
        assert src.count == 3 and src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.profile["compress"] == "deflate" and src.profile["tiled"]
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        data = src.read()
    assert (tmp_path / "pca.png").exists()
    assert (data > 0).any(axis=0).mean() > 0.3  # polygons were burnt in
    res = CliRunner().invoke(cli, ["zonal", "render", str(features), "-o", str(out)])
    assert res.exit_code == 1 and "already exists; pass --overwrite" in res.stderr


def test_pca_rgb_orders_by_first_component() -> None:
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 50)
    x = np.column_stack([t, t + 0.01 * rng.normal(size=50), t, rng.normal(size=50)])
    rgb = pca_rgb(x, components=1)
    assert rgb.dtype == np.uint8 and rgb.min() >= 1
    assert abs(spearmanr(rgb[:, 0], t).statistic) > 0.99


def test_model_recovers_urban_rural(features: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    res = CliRunner().invoke(
        cli,
        [
            "zonal",
            "model",
            str(features),
            "--target",
            "UR",
            "--pca",
            "5",
            "--report",
            str(report),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["task"] == "classification"
    assert out["accuracy"] > out["baseline"] + 0.15
    assert set(out["correlations"]["PC1"]) >= {"POP", "HOUSING", "UR==U"}
    text = (report / "report.md").read_text()
    assert "baseline" in text and "| PC1 |" in text
    assert (report / "pc1_map.png").exists() and (report / "correlations.png").exists()


def test_model_regression_states_upper_bound(features: Path) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "zonal",
            "model",
            str(features),
            "--target",
            "POP",
            "--task",
            "regression",
            "--log",
            "--pca",
            "3",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert 0 <= out["r2_in_sample"] <= 1 and out["r2_cv"] <= out["r2_in_sample"] + 1e-9


def test_model_bad_inputs() -> None:
    frame = pd.DataFrame(
        {
            "A00_mean": np.arange(20.0),
            "A01_mean": np.arange(20.0) ** 2,
            "UR": ["U"] * 18 + ["R"] * 2,
        }
    )
    with pytest.raises(InvalidInputError, match="target 'POP' is not a column"):
        fit_models(frame, target="POP")
    with pytest.raises(InvalidInputError, match="needs at least 2 classes with 5 rows each"):
        fit_models(frame, target="UR", pca=1)
    with pytest.raises(InvalidInputError, match="no feature columns"):
        fit_models(frame[["UR"]], target="UR")
