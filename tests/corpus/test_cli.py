"""``terrabit publish``, ``info`` and ``validate`` through a click group like the real one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.info import info, validate
from terrabit.cli.main import TerrabitGroup
from terrabit.cli.publish import publish
from terrabit.corpus import format as fmt


@click.group(cls=TerrabitGroup)
def cli() -> None:
    """Test group with the corpus commands (the real group registers them lazily)."""


cli.add_command(publish)
cli.add_command(info)
cli.add_command(validate)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_publish_json_info_and_validate(input_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    code, stdout, _ = _run("publish", input_file, "-o", out, "--max-rows", "500", "--json")
    assert code == 0, stdout
    data = json.loads(stdout)
    assert set(data) >= {"rows", "shards", "bytes", "bytes_per_row", "seconds"}
    assert data["rows"] == 3000
    assert data["bytes"] == sum(p.stat().st_size for p in out.glob("shards/*.parquet"))
    assert data["bytes_per_row"] == pytest.approx(data["bytes"] / 3000, abs=0.01)
    assert data["shards"] == len(pq.read_table(out / fmt.MANIFEST_NAME))

    code, stdout, _ = _run("info", out, "--json")
    assert code == 0
    meta = json.loads(stdout)
    assert (meta["rows"], meta["shards"], meta["codec"], meta["dims"]) == (
        3000,
        data["shards"],
        "binary",
        64,
    )
    code, stdout, _ = _run("info", out)
    assert code == 0 and "binary" in stdout

    code, stdout, _ = _run("validate", out, "--json")
    assert code == 0 and json.loads(stdout) == {
        "valid": True,
        "shards": data["shards"],
        "problems": [],
    }


def test_publish_refuses_existing_corpus_and_bad_columns(input_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert _run("publish", input_file, "-o", out)[0] == 0
    code, _, stderr = _run("publish", input_file, "-o", out)
    assert code == 1
    assert stderr.startswith("Error: --output ") and "pass --overwrite to replace" in stderr
    code, _, stderr = _run("publish", input_file, "-o", tmp_path / "d", "--id-col", "key")
    assert code == 1 and "no column 'key' (--id-col)" in stderr
    code, stdout, _ = _run(
        "publish", input_file, "-o", out, "--overwrite", "--codec", "int4", "--json"
    )
    assert code == 0 and json.loads(stdout)["rows"] == 3000


def test_publish_option_errors_name_the_flags(input_file: Path, tmp_path: Path) -> None:
    """The library names parameters (``max_rows``); the command line reads its flags."""
    out = tmp_path / "c"
    code, _, stderr = _run("publish", input_file, "-o", out, "--max-rows", "0")
    assert code == 1 and "Error: --max-rows must be at least 1, got 0" in stderr
    code, _, stderr = _run("publish", input_file, "-o", out, "--keep", "id")
    assert code == 1 and "Error: --keep ['id'] would clash with corpus columns" in stderr
    code, _, stderr = _run("publish", input_file, "-o", out, "--lon-col", "x")
    assert code == 1 and "pass both --lon-col and --lat-col" in stderr
    code, _, stderr = _run("publish", input_file, "-o", out, "--rerank", "int9")
    assert code == 1 and "Error: --rerank: unknown codec 'int9'" in stderr
    assert not out.exists()


def test_validate_reports_a_corrupted_shard(corpus_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus_dir, copy)
    shard = sorted(copy.glob("shards/*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[20] ^= 1
    shard.write_bytes(bytes(data))
    code, _, stderr = _run("validate", copy)
    assert code == 1
    assert f"shard shards/{shard.name}" in stderr and "checksum" in stderr
    code, stdout, _ = _run("validate", copy, "--json")
    report = json.loads(stdout)
    assert code == 1 and not report["valid"] and len(report["problems"]) == 1


def test_info_on_a_folder_without_manifest(tmp_path: Path) -> None:
    code, _, stderr = _run("info", tmp_path)
    assert code == 1
    assert stderr.strip().endswith("or run `terrabit publish` first")


def test_publish_keep_accepts_commas_and_repeats(input_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "k"
    code, stdout, _ = _run("publish", input_file, "-o", out, "--keep", "label,year", "--json")
    assert code == 0, stdout
    shard = next(out.glob("shards/*.parquet"))
    names = pq.read_schema(shard).names
    assert names[-2:] == ["label", "year"]


def test_info_says_what_it_checked_and_check_finds_damaged_shards(
    input_file: Path, tmp_path: Path
) -> None:
    """Plain ``info`` reads only the manifest and says so; ``--check`` reads every footer
    and names a damaged shard (exit 1, one line, the advice once)."""
    out = tmp_path / "c"
    assert _run("publish", input_file, "-o", out, "--max-rows", "500")[0] == 0
    code, stdout, _ = _run("info", out)
    assert code == 0 and "checked    the manifest only" in stdout
    code, stdout, _ = _run("info", out, "--check", "--json")
    assert code == 0 and json.loads(stdout)["problems"] == []
    assert json.loads(stdout)["checked"] == "shard footers"
    shard = sorted(out.glob("shards/*.parquet"))[1]
    data = bytearray(shard.read_bytes())
    data[-20] ^= 0xFF  # inside the footer
    shard.write_bytes(bytes(data))
    code, stdout, _ = _run("info", out)
    assert code == 0 and "the manifest only" in stdout  # says it did not look
    code, _, stderr = _run("info", out, "--check")
    assert code == 1 and stderr.count("\n") == 1
    assert f"1 damaged shards: shard shards/{shard.name}" in stderr
    assert "footer checksum differs" in stderr and stderr.count("republish") == 1
    code, _, stderr = _run("validate", out)
    assert code == 1 and stderr.count("republish") == 1, stderr
