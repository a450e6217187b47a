"""The CLI group: version, help, errors as one line, Ctrl-C as exit 130, shared options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from terrabit import __version__
from terrabit.cli.main import COMMANDS, TerrabitGroup, cli
from terrabit.cli.options import (
    BBOX,
    bbox_option,
    echo_json,
    engine_options,
    json_option,
    output_option,
)
from terrabit.errors import InvalidInputError


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"terrabit, version {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "terrabit", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in proc.stdout


def test_every_registered_command_resolves() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert cli.get_command(ctx, name) is not None, name
    assert cli.list_commands(ctx) == sorted(COMMANDS)


def _group_with(fn: object) -> click.Group:
    @click.group(cls=TerrabitGroup)
    @click.option("-v", "--verbose", count=True)
    @click.pass_context
    def group(ctx: click.Context, verbose: int) -> None:
        ctx.ensure_object(dict)["verbose"] = verbose

    @group.command()
    @bbox_option()
    @json_option
    def run(bbox: tuple[float, float, float, float] | None, as_json: bool) -> None:
        fn()  # type: ignore[operator]
        echo_json({"bbox": bbox})

    return group


def test_terrabit_error_is_one_line_and_exit_1() -> None:
    def fail() -> None:
        raise InvalidInputError("--dim must be between 64 and 1024, got 8")

    result = CliRunner().invoke(_group_with(fail), ["run"])
    assert result.exit_code == 1
    assert result.output == "Error: --dim must be between 64 and 1024, got 8\n"


def test_traceback_with_vv() -> None:
    def fail() -> None:
        raise InvalidInputError("bad")

    result = CliRunner().invoke(_group_with(fail), ["-vv", "run"])
    assert isinstance(result.exception, InvalidInputError)


def test_keyboard_interrupt_exits_130() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    result = CliRunner().invoke(_group_with(interrupt), ["run"])
    assert result.exit_code == 130


def test_bbox_option_parses_and_prints_json() -> None:
    result = CliRunner().invoke(_group_with(lambda: None), ["run", "--bbox", "170,-10,-170,10"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"bbox": [170.0, -10.0, -170.0, 10.0]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3", "has 3 numbers"),
        ("a,b,c,d", "not four comma-separated numbers"),
        ("0,10,5,5", "miny (10.0) must be less than maxy (5.0)"),
        ("0,0,200,5", "longitudes must lie in [-180, 180]"),
        ("0,-95,5,5", "latitudes must lie in [-90, 90]"),
        ("3,0,3,5", "no width"),
        ("nan,0,3,5", "non-finite"),
    ],
)
def test_bad_bbox_names_the_fix(text: str, message: str) -> None:
    with pytest.raises(click.BadParameter) as info:
        BBOX.convert(text, None, None)
    assert message in info.value.message


def test_usage_error_is_one_line_naming_the_option() -> None:
    result = CliRunner().invoke(_group_with(lambda: None), ["run", "--bbox", "1,2,3"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "Invalid value for '--bbox'" in lines[0]
    assert "has 3 numbers" in lines[0]


def test_library_params_read_as_the_innermost_commands_flags(tmp_path: Path) -> None:
    from terrabit.cli.main import CommandGroup

    @click.group(cls=TerrabitGroup)
    def group() -> None: ...

    @group.group("tiles", cls=CommandGroup)
    def sub() -> None: ...

    @sub.command("stats")
    @output_option("Output.")
    @engine_options("Where.", scheduler_default="local:2")
    def stats(out: Path | None, engine: str, scheduler: str | None) -> None:
        raise InvalidInputError(
            f"scheduler needs engine='dask' (got engine={engine!r}); out {str(out)!r} kept",
            params=("scheduler", "engine", "out"),
        )

    out = tmp_path / "scheduler" / "out"
    result = CliRunner().invoke(group, ["tiles", "stats", "-o", str(out), "--scheduler", "x"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --scheduler needs --engine dask (got --engine local); --output {str(out)!r} kept\n"
    )


def test_the_command_exits_with_its_status_every_time(tmp_path: Path) -> None:
    """The process ends with the command's status, every run: pyarrow 26's thread pools
    abort about one process in six at interpreter teardown after a threaded read (status
    134 after a successful `terrabit info`: 3-4 of 20 runs, measured), which `main` skips
    (12 runs: an abort at that rate would show nine times in ten)."""
    from terrabit.corpus import publish
    from terrabit.corpus._fixture import write_input

    corpus = tmp_path / "c"
    publish(write_input(tmp_path / "in.parquet", rows=600, dims=32), corpus, max_rows=100)
    for _ in range(12):
        run = subprocess.run(
            [sys.executable, "-m", "terrabit", "info", str(corpus)], capture_output=True, text=True
        )
        assert run.returncode == 0 and "600 in" in run.stdout, run.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "terrabit", "info", str(tmp_path)], capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
