"""``publish --resume``: an interrupted or failed publish is finished from its journal,
byte-identical to an uninterrupted one, without redoing what it finished."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit import _cluster as cluster
from terrabit.cli.main import cli
from terrabit.corpus import distributed as dist
from terrabit.corpus import mapreduce, publish, writer
from terrabit.corpus._fixture import write_input
from terrabit.corpus.staging import Staging
from terrabit.errors import InvalidInputError, OutputExistsError

from ..conftest import digest_tree

OPTIONS: dict[str, Any] = {"max_rows": 120, "row_group_rows": 32, "keep": ["label"], "seed": 3}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resume_in")
    return write_input(root / "in.parquet", rows=1500, dims=32, seed=21, row_group_rows=300)


@pytest.fixture(scope="module")
def reference(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus an uninterrupted publish writes."""
    out = tmp_path_factory.mktemp("resume_ref") / "c"
    publish(source, out, show_progress=False, **OPTIONS)
    return out


def _target(name: str) -> tuple[Any, str]:
    """``(module, attribute)`` of a step: the local count is the writer's, the map and
    reduce steps (both engines') are :mod:`terrabit.corpus.mapreduce`'s."""
    return (writer, name) if name.startswith("_") else (mapreduce, name)


def _calls(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    *,
    fail_at: int = 0,
    exc: BaseException | None = None,
) -> dict[str, int]:
    """Count the calls of step ``name`` (:func:`_target`); with ``fail_at``, its
    ``fail_at``-th call raises ``exc`` instead (a crash mid-run). Returns the live count."""
    module, attr = _target(name)
    real = getattr(module, attr)
    seen = {"n": 0}
    lock = threading.Lock()

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n == fail_at and exc is not None:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, wrapped)
    return seen


def _stop_after(monkeypatch: pytest.MonkeyPatch, name: str, calls: int, exc: BaseException) -> None:
    """Make step ``name`` raise ``exc`` on its ``calls``-th call (a crash mid-run)."""
    _calls(monkeypatch, name, fail_at=calls, exc=exc)


def _forbid(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} ran again on resume")

    monkeypatch.setattr(*_target(name), forbidden)


def test_interrupted_reduce_resumes_without_redoing_cells(
    source: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "reduce_cell", 6, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            publish(source, out, show_progress=False, **OPTIONS)
    staging = tmp_path / ".c.publishing"
    assert not out.exists() and not (staging / "manifest.parquet").exists()
    finished = len(list((staging / "_work" / "journal").glob("cell-*.arrow")))
    total = len(json.loads((staging / "_work" / "journal" / "plan.json").read_text())["cells"])
    assert 0 < finished < total
    with monkeypatch.context() as m:
        _forbid(m, "_count")  # the count and the map are not redone
        _forbid(m, "route")
        reduced = _calls(m, "reduce_cell")
        result = publish(source, out, show_progress=False, resume=True, **OPTIONS)
    assert result.resumed
    assert reduced["n"] == total - finished
    assert digest_tree(out) == digest_tree(reference)
    meta = json.loads(pq.read_schema(out / "manifest.parquet").metadata[b"terrabit"])
    assert "false_colour" in meta  # refitted on the same sample: the same bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # staging renamed onto it


def test_interrupted_map_resumes_without_recounting(
    source: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "route", 1, OSError("disk full"))
        with pytest.raises(OSError, match="disk full"):
            publish(source, out, show_progress=False, **OPTIONS)
    with monkeypatch.context() as m:
        _forbid(m, "_count")
        publish(source, out, show_progress=False, resume=True, **OPTIONS)
    assert digest_tree(out) == digest_tree(reference)


def test_resume_with_nothing_to_resume_publishes(
    source: Path, reference: Path, tmp_path: Path
) -> None:
    result = publish(source, tmp_path / "c", show_progress=False, resume=True, **OPTIONS)
    assert not result.resumed
    assert digest_tree(tmp_path / "c") == digest_tree(reference)


def test_without_resume_the_unfinished_work_is_discarded(
    source: Path,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "reduce_cell", 3, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            publish(source, out, show_progress=False, **OPTIONS)
    assert "rerun the same command with --resume" in caplog.text
    with monkeypatch.context() as m:
        reduced = _calls(m, "reduce_cell")
        result = publish(source, out, show_progress=False, **OPTIONS)
    assert not result.resumed and "discarding the unfinished publish" in caplog.text
    total = len(set(digest_tree(reference)) - {"manifest.parquet", "collection.json"})
    assert reduced["n"] >= total - 1  # everything redone (a cell may hold two shards)
    assert digest_tree(out) == digest_tree(reference)


def test_resume_refuses_changed_options_or_inputs(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "in.parquet"
    data.write_bytes(source.read_bytes())
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "reduce_cell", 2, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            publish(data, out, show_progress=False, **OPTIONS)
    with pytest.raises(InvalidInputError, match=r"different options\.max_rows; rerun without"):
        publish(data, out, show_progress=False, resume=True, **{**OPTIONS, "max_rows": 90})
    os.utime(data, ns=(1, 1))
    with pytest.raises(InvalidInputError, match=r"cannot continue .* different inputs"):
        publish(data, out, show_progress=False, resume=True, **OPTIONS)
    assert (tmp_path / ".c.publishing" / "_work" / "journal" / "plan.json").is_file()


def test_damaged_shard_in_the_staging_folder_is_refused(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "reduce_cell", 4, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            publish(source, out, show_progress=False, **OPTIONS)
    shard = sorted((tmp_path / ".c.publishing" / "shards").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    with pytest.raises(
        InvalidInputError, match=r"shard 'shards/\w+\.parquet' is missing or damaged"
    ):
        publish(source, out, show_progress=False, resume=True, **OPTIONS)


def test_a_second_publish_to_the_same_output_is_refused(source: Path, tmp_path: Path) -> None:
    lock = tmp_path / ".c.publishing" / "_work" / "lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(OutputExistsError, match="another publish is using"):
            publish(source, tmp_path / "c", show_progress=False, **OPTIONS)


def test_staging_refuses_a_foreign_folder(tmp_path: Path) -> None:
    root = tmp_path / ".c.publishing"
    root.mkdir()
    (root / "holiday.jpg").write_bytes(b"x")
    with (
        pytest.raises(OutputExistsError, match="is not a terrabit publish"),
        Staging.begin(root, {"a": 1}, resume=True),
    ):
        pass
    assert (root / "holiday.jpg").exists()


def test_dask_failure_resumes_on_the_cluster(
    source: Path,
    reference: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cells failing every attempt stop the run; --resume (on Dask, then it finishes)
    redoes only those cells; the corpus equals the local engine's."""
    out = tmp_path / "c"
    real = mapreduce.reduce_cell
    broken_cells: set[str] = set()
    lock = threading.Lock()
    others_done = threading.Semaphore(0)

    def flaky(table: Any, cell: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            if not broken_cells:
                broken_cells.add(cell)
        if cell in broken_cells:
            # fail only once other cells finished on the other worker: the run stops
            # with work to keep, whatever the machine's speed
            for _ in range(3):
                others_done.acquire(timeout=30)
            raise MemoryError("simulated out of memory")
        rows = real(table, cell, *args, **kwargs)
        others_done.release()
        return rows

    with monkeypatch.context() as m:
        m.setattr(mapreduce, "reduce_cell", flaky)
        m.setattr(dist, "TASK_RETRIES", 1)
        with pytest.raises(cluster.ClusterError, match="rerun with resume=True"):
            publish(
                source, out, engine="dask", scheduler=dask_client, show_progress=False, **OPTIONS
            )
    journal = tmp_path / ".c.publishing" / "_work" / "journal"
    assert len(list(journal.glob("map-*.json"))) >= 1
    with monkeypatch.context() as m:
        _forbid(m, "route")  # every piece was encoded: the map is not redone
        reduced = _calls(m, "reduce_cell")
        result = publish(
            source,
            out,
            engine="dask",
            scheduler=dask_client,
            show_progress=False,
            resume=True,
            **OPTIONS,
        )
    done = len(list(journal.parent.parent.glob("shards/*"))) if journal.exists() else None
    assert done is None  # the staging folder became the corpus
    assert result.resumed and 1 <= reduced["n"] < result.shards
    assert digest_tree(out) == digest_tree(reference)


def test_cli_resume_flag(
    source: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c"
    args = ["publish", str(source), "-o", str(out), "--max-rows", "120",
            "--row-group-rows", "32", "--keep", "label", "--seed", "3"]  # fmt: skip
    with monkeypatch.context() as m:
        _stop_after(m, "reduce_cell", 5, OSError("no space left on device"))
        res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "Error: no space left on device" in res.output
    res = CliRunner().invoke(cli, [*args, "--resume", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["resumed"] is True
    assert digest_tree(out) == digest_tree(reference)


def test_local_map_resumes_from_the_last_flushed_piece(
    source: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces of 300 rows (5 of them), a flush after each: killed while encoding the
    fourth piece, the resume encodes only the fourth and fifth."""
    monkeypatch.setattr(writer, "PIECE_ROWS", 300)
    monkeypatch.setattr(writer, "_FLUSH_SECONDS", 0.0)
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        _stop_after(m, "route", 4, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            publish(source, out, show_progress=False, **OPTIONS)
    journal = tmp_path / ".c.publishing" / "_work" / "journal"
    assert sorted(p.name for p in journal.glob("map-*.json")) == [
        f"map-{i:06d}.json" for i in range(3)
    ]
    with monkeypatch.context() as m:
        routed = _calls(m, "route")
        publish(source, out, show_progress=False, resume=True, **OPTIONS)
    assert routed["n"] == 2  # one batch per 300-row piece: pieces 3 and 4 only
    assert digest_tree(out) == digest_tree(reference)
