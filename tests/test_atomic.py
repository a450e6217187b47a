"""Atomic outputs: a failure leaves the old output or nothing, never half a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrabit._atomic import atomic_dir, atomic_file
from terrabit.errors import OutputExistsError


def test_atomic_dir_replaces_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("crash mid-write")
    assert (out / "a").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_interrupt_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "half").write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_existing_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError, match="pass --overwrite"), atomic_dir(tmp_path / "out"):
        pass


def test_atomic_dir_overwrite_replaces_contents(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale").write_text("old")
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "fresh").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["fresh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_file_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_file(target) as tmp:
        tmp.write_text("new")
        raise ValueError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
