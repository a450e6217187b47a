"""``terrabit world``: JSON output, human output, and bad input as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["world", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output(tmp_path: Path) -> None:
    out = tmp_path / "w"
    code, stdout, stderr = _run(str(out), "--n", "200", "--dim", "64", "--no-aef", "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["patches"] == 200 and data["dim"] == 64 and data["seed"] == 0
    assert set(data["intrinsic_dim"]) == {"mle", "twonn"}
    assert sum(data["classes"].values()) == 200
    assert set(data["paths"]) == {"patches", "labelled"}
    assert Path(data["paths"]["patches"]).is_dir() and Path(data["paths"]["labelled"]).is_file()
    assert data["seconds"] > 0


def test_human_output(tmp_path: Path) -> None:
    code, stdout, stderr = _run(str(tmp_path / "w"), "--n", "100", "--dim", "64", "--no-aef")
    assert code == 0, stderr
    assert stdout.strip()  # a rich table; its wording is not an API
    assert (tmp_path / "w" / "patches" / "part-00000.parquet").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dim", "8"], "Error: --dim must be between 64 and 1024, got 8"),
        (["--n", "0"], "Error: --n must be at least 100, got 0"),
        (["--n", "201"], "Error: --n must be even"),
        (["--bbox", "-40,0,-30,10"], "holds no land; choose a bbox that covers land"),
    ],
)
def test_bad_input_exits_1(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, stderr = _run(str(tmp_path / "w"), "--no-aef", *args)
    assert code == 1
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("bbox", "message"),
    [("1,2,3", "has 3 numbers"), ("a,b,c,d", "not four comma-separated numbers")],
)
def test_bad_bbox_is_a_usage_error(tmp_path: Path, bbox: str, message: str) -> None:
    # the shared BBOX option type reports through click: usage error, exit 2
    code, _, stderr = _run(str(tmp_path / "w"), "--bbox", bbox)
    assert code == 2
    assert "Invalid value for '--bbox'" in stderr and message in stderr


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    code, _, stderr = _run(str(tmp_path / "w"), "--n", "100", "--dim", "64", "--no-aef")
    assert code == 1
    assert "already exists; pass --overwrite to replace it" in stderr
    code, stdout, _ = _run(
        str(tmp_path / "w"), "--n", "100", "--dim", "64", "--no-aef", "--overwrite", "--json"
    )
    assert code == 0 and json.loads(stdout)["patches"] == 100
