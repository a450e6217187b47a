"""The CLI's error boundary: OS and library errors become one line naming the files given;
a bug of terrabit's own keeps its traceback; ``-vv`` always shows it."""

from __future__ import annotations

import errno
from pathlib import Path

import click
import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

from terrabit.cli.boundary import describe, origin
from terrabit.cli.main import TerrabitGroup


def _group(fail: object) -> click.Group:
    @click.group(cls=TerrabitGroup)
    @click.option("-v", "--verbose", count=True)
    @click.pass_context
    def group(ctx: click.Context, verbose: int) -> None:
        ctx.ensure_object(dict)["verbose"] = verbose

    @group.command()
    @click.argument("path")
    def run(path: str) -> None:
        fail(path)  # type: ignore[operator]

    return group


def _one_line(fail: object, path: Path) -> str:
    result = CliRunner().invoke(_group(fail), ["run", str(path)])
    assert result.exit_code == 1, result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_pyarrow_error_names_the_file_given(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("text")
    line = _one_line(lambda p: pq.read_table(p), path)
    assert line.startswith("Error: pyarrow could not use the input of `group run` (ArrowInvalid: ")
    assert line.endswith(
        f"check the files given ({path}) and the options (`group run --help`); -vv shows the "
        "traceback"
    )


def test_an_sklearn_error_is_one_line(tmp_path: Path) -> None:
    def fit(_path: str) -> None:
        LogisticRegression().fit(np.ones((4, 2)), np.zeros(4))

    line = _one_line(fit, tmp_path)
    assert line.startswith(
        "Error: scikit-learn could not use the input of `group run` (ValueError: "
    )
    assert "at least 2 classes" in line


def test_numpy_pickle_advice_is_never_repeated(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    line = _one_line(lambda p: np.load(p, allow_pickle=False), path)
    assert "numpy could not use the input" in line
    assert "pickled Python objects, which terrabit never loads" in line
    assert "allow_pickle" not in line


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, "no space left on the device; free some space or write elsewhere"),
        (errno.EACCES, "permission denied; check its permissions, or choose another path"),
        (errno.ENOENT, "does not exist (boom); check the path"),
    ],
)
def test_os_errors_name_the_file_and_the_fix(tmp_path: Path, code: int, expected: str) -> None:
    target = tmp_path / "out.parquet"

    def fail(_path: str) -> None:
        raise OSError(code, "boom", str(target))

    assert expected in _one_line(fail, tmp_path)


def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "make.py"
    blocker.write_text("")
    line = _one_line(lambda _p: (blocker / "a" / "b").mkdir(parents=True), tmp_path)
    assert line == (
        f"Error: cannot write {str(blocker / 'a' / 'b')!r}: {str(blocker)!r} is a file, not a "
        "folder; choose an output path outside it, or move that file away"
    )


def test_a_bug_of_our_own_keeps_its_traceback_and_vv_shows_any(tmp_path: Path) -> None:
    def bug(_path: str) -> None:
        raise KeyError("internal")

    result = CliRunner().invoke(_group(bug), ["run", str(tmp_path)])
    assert isinstance(result.exception, KeyError)
    assert describe(KeyError("x"), "terrabit x") is None

    text = tmp_path / "x.parquet"
    text.write_text("text")
    result = CliRunner().invoke(_group(lambda p: pq.read_table(p)), ["-vv", "run", str(text)])
    assert type(result.exception).__name__ == "ArrowInvalid"


def test_origin_is_where_the_error_was_raised() -> None:
    try:
        LogisticRegression().fit(np.ones((4, 2)), np.zeros(4))
    except ValueError as exc:
        assert origin(exc) == "sklearn"
    try:
        pq.read_table("/nonexistent/x.parquet")
    except OSError as exc:
        assert origin(exc) == "pyarrow"
