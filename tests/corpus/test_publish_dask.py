"""``publish --engine dask``: byte-identical to the local engine, faults retried, clear errors."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit import _cluster as cluster
from terrabit.cli.main import cli
from terrabit.corpus import distributed as dist
from terrabit.corpus import mapreduce, publish
from terrabit.corpus._fixture import write_input
from terrabit.corpus._inputs import InputSet
from terrabit.errors import InvalidInputError, MissingDependencyError

from ..conftest import digest_tree

distributed = pytest.importorskip("distributed")

FILES = 3
ROWS_PER_FILE = 700
OPTIONS: dict[str, Any] = {
    "max_rows": 150,
    "row_group_rows": 32,
    "keep": ["label"],
    "rerank": "int8",
    "seed": 5,
    "name": "c",  # the id of collection.json, whatever the output folder's name
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three input files (unique ids across them), several row groups each."""
    root = tmp_path_factory.mktemp("dask_inputs")
    whole = pq.read_table(
        write_input(root / "whole.parquet", rows=FILES * ROWS_PER_FILE, dims=32, seed=11)
    )
    folder = root / "in"
    folder.mkdir()
    for k in range(FILES):
        pq.write_table(
            whole.slice(k * ROWS_PER_FILE, ROWS_PER_FILE),
            folder / f"part-{k}.parquet",
            row_group_size=250,
        )
    return folder


@pytest.fixture(scope="module")
def local_corpus(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dask_local") / "c"
    publish(inputs, out, show_progress=False, **OPTIONS)
    return out


@pytest.mark.parametrize("task_rows", [dist.TASK_ROWS, 300])
def test_identical_to_local_engine(
    inputs: Path,
    local_corpus: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    task_rows: int,
) -> None:
    """One task per file, or per two row groups (so files are split across tasks)."""
    monkeypatch.setattr(dist, "TASK_ROWS", task_rows)
    pieces = InputSet([inputs]).pieces(task_rows)
    assert len(pieces) == (FILES if task_rows > ROWS_PER_FILE else 2 * FILES)
    out = tmp_path / "c"
    result = publish(
        inputs, out, engine="dask", scheduler=dask_client, show_progress=False, **OPTIONS
    )
    expected = digest_tree(local_corpus)
    assert result.rows == FILES * ROWS_PER_FILE and result.shards > FILES
    assert (result.engine, result.dask_workers) == ("dask", 2)
    assert len(expected) == result.shards + 2  # every shard, the manifest and collection.json
    assert digest_tree(out) == expected
    meta = json.loads(pq.read_schema(out / "manifest.parquet").metadata[b"terrabit"])
    assert "false_colour" in meta  # format 1.5: fitted here, written with the manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no work files left


def test_progress_advances_as_tasks_complete(
    inputs: Path, dask_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advanced: dict[str, list[float]] = {}
    totals: dict[str, float] = {}

    class _Bar:
        def __init__(self, name: str) -> None:
            self.name = name

        def advance(self, amount: float = 1) -> None:
            advanced[self.name].append(amount)

    @contextlib.contextmanager
    def recording(description: str, total: float, show: bool | None = None) -> Iterator[_Bar]:
        advanced[description] = []
        totals[description] = total
        yield _Bar(description)

    monkeypatch.setattr(dist, "progress_bar", recording)
    result = publish(inputs, tmp_path / "c", engine="dask", scheduler=dask_client, **OPTIONS)
    count, encode, shards = sorted(advanced)  # counting, encoding, writing shards
    assert advanced[count] == [ROWS_PER_FILE] * FILES  # once per file task
    assert advanced[encode] == [ROWS_PER_FILE] * FILES
    assert sum(advanced[shards]) == totals[shards] and 0 < totals[shards] <= result.shards


def test_failed_tasks_are_retried_and_output_identical(
    inputs: Path,
    local_corpus: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lock = threading.Lock()
    calls: dict[str, int] = {}

    def first_attempt_fails(name: str, real: Any, key: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with lock:
                tag = f"{name}:{key(*args, **kwargs)}"
                calls[tag] = calls.get(tag, 0) + 1
                first = calls[tag] == 1
            if first:  # each task's first attempt dies midway (after writing some parts)
                raise MemoryError("simulated worker failure")
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(
        mapreduce,
        "count_batch",
        first_attempt_fails("count", mapreduce.count_batch, lambda b: b.ids[0].as_py()),
    )
    monkeypatch.setattr(
        mapreduce,
        "route",
        first_attempt_fails("map", mapreduce.route, lambda b, *a, **k: b.ids[0].as_py()),
    )
    monkeypatch.setattr(
        mapreduce,
        "reduce_cell",
        first_attempt_fails("reduce", mapreduce.reduce_cell, lambda t, cell, *a, **k: cell),
    )
    out = tmp_path / "c"
    publish(inputs, out, engine="dask", scheduler=dask_client, show_progress=False, **OPTIONS)
    kinds = [tag.split(":")[0] for tag in calls]
    assert kinds.count("count") >= FILES and kinds.count("map") >= FILES
    assert kinds.count("reduce") > 1
    assert set(calls.values()) == {2}  # every task failed once, then succeeded
    assert digest_tree(out) == digest_tree(local_corpus)


def test_task_failing_every_retry_leaves_nothing(
    inputs: Path, dask_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("simulated out of memory")

    monkeypatch.setattr(mapreduce, "reduce_cell", broken)
    monkeypatch.setattr(dist, "TASK_RETRIES", 1)
    out = tmp_path / "c"
    with pytest.raises(
        cluster.ClusterError,
        match=r"cell '\w+' failed on the Dask cluster after 2 attempts \(MemoryError: "
        r"simulated out of memory\); no corpus was written — .* rerun with resume=True",
    ):
        publish(inputs, out, engine="dask", scheduler=dask_client, show_progress=False, **OPTIONS)
    # no corpus, no manifest; only the staging folder with its journal, for --resume
    assert [p.name for p in tmp_path.iterdir()] == [".c.publishing"]
    assert not list(tmp_path.rglob("manifest.parquet"))


def test_failed_run_keeps_the_old_corpus(
    inputs: Path,
    local_corpus: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "c"
    publish(inputs, out, show_progress=False, **OPTIONS)
    before = digest_tree(out)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(mapreduce, "route", broken)
    with pytest.raises(cluster.ClusterError, match=r"input file '.*part-\d\.parquet' failed"):
        publish(
            inputs,
            out,
            engine="dask",
            scheduler=dask_client,
            overwrite=True,
            show_progress=False,
            **OPTIONS,
        )
    assert digest_tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.publishing", "c"]


def test_bad_input_error_comes_back_as_is(dask_client: Any, tmp_path: Path) -> None:
    path = write_input(tmp_path / "in" / "x.parquet", rows=200, dims=16, seed=2)
    table = pq.read_table(path)
    emb = table.column("embedding").to_pylist()
    emb[17] = [float("nan")] * 16
    table = table.set_column(
        table.schema.get_field_index("embedding"),
        table.schema.field("embedding"),
        pa.array(emb, table.schema.field("embedding").type),
    )
    pq.write_table(table, path)
    messages = []
    for engine, scheduler in (("local", None), ("dask", dask_client)):
        with pytest.raises(InvalidInputError, match="p000000017") as info:
            publish(path, tmp_path / engine, engine=engine, scheduler=scheduler, sample_rows=50)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    # with --drop-invalid, the row is dropped (and counted) alike by both engines
    for engine, scheduler in (("local", None), ("dask", dask_client)):
        result = publish(
            path,
            tmp_path / engine,
            engine=engine,
            scheduler=scheduler,
            sample_rows=50,
            drop_invalid=True,
            name="c",
            show_progress=False,
        )
        assert (result.rows, result.dropped) == (199, 1)
    assert digest_tree(tmp_path / "local") == digest_tree(tmp_path / "dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_cli_local_n_processes_identical(inputs: Path, local_corpus: Path, tmp_path: Path) -> None:
    """``--scheduler local:2``: worker processes, so every task argument is pickled."""
    out = tmp_path / "c"
    args = ["publish", str(inputs), "-o", str(out), "--max-rows", "150", "--row-group-rows"]
    args += ["32", "--keep", "label", "--rerank", "int8", "--seed", "5", "--json"]
    res = CliRunner().invoke(cli, [*args, "--engine", "dask", "--scheduler", "local:2"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["rows"] == FILES * ROWS_PER_FILE
    assert (data["engine"], data["dask_workers"]) == ("dask", 2)
    assert digest_tree(out) == digest_tree(local_corpus)


def test_cli_unreachable_scheduler_writes_nothing(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 0.5)
    address = f"tcp://127.0.0.1:{_free_port()}"
    res = CliRunner().invoke(
        cli,
        [
            "publish",
            str(inputs),
            "-o",
            str(tmp_path / "c"),
            "--engine",
            "dask",
            "--scheduler",
            address,
        ],
    )
    assert res.exit_code == 1
    assert f"cannot reach the Dask scheduler at '{address}' within 0.5 s" in res.stderr
    assert "--scheduler local:N" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_scheduler_needs_dask_engine(inputs: Path, tmp_path: Path) -> None:
    base = ["publish", str(inputs), "-o", str(tmp_path / "c")]
    res = CliRunner().invoke(cli, [*base, "--scheduler", "local:2"])
    assert res.exit_code == 1 and "--scheduler needs --engine dask" in res.stderr
    res = CliRunner().invoke(cli, [*base, "--engine", "dask", "--scheduler", "local:zero"])
    assert res.exit_code == 1 and "--scheduler 'local:zero' is not understood" in res.stderr
    res = CliRunner().invoke(cli, [*base, "--engine", "spark"])
    assert res.exit_code == 2 and "'spark' is not one of 'local', 'dask'" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_api_engine_checks(inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="engine must be one of 'local', 'dask'"):
        publish(inputs, tmp_path / "c", engine="spark")
    with pytest.raises(InvalidInputError, match="scheduler needs engine=dask"):
        publish(inputs, tmp_path / "c", scheduler="local:2")
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'terrabit\[dask\]'"):
        publish(inputs, tmp_path / "c", engine="dask")
    assert list(tmp_path.iterdir()) == []


def test_subset_pickles_without_open_files(inputs: Path) -> None:
    import pickle

    source = InputSet([inputs])
    part = pickle.loads(pickle.dumps(source.subset(2)))
    assert [p.name for p in part.paths] == ["part-2.parquet"] and part.cache_names == ["000002"]
    assert part.rows == ROWS_PER_FILE and part.files[0].metadata.num_rows == ROWS_PER_FILE
    ids = np.concatenate(
        [
            b.ids.to_numpy(zero_copy_only=False)
            for b in part.iter_batches(embeddings=False, extra=False)
        ]
    )
    assert ids[0] == f"p{2 * ROWS_PER_FILE:09d}" and len(ids) == ROWS_PER_FILE


_WorkerPlugin: Any = distributed.WorkerPlugin


class _OncePerRun(_WorkerPlugin):
    """Runs :meth:`act` in the worker where the first task of ``prefix`` starts, once per
    run across every worker (the file ``marker`` records that it happened)."""

    def __init__(self, marker: str, prefix: str) -> None:
        self.marker = marker
        self.prefix = prefix

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or self.prefix not in str(key):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        self.act()

    def act(self) -> None:
        raise NotImplementedError


class _KillOnce(_OncePerRun):
    """Kills its worker process when the first task of ``prefix`` starts (once per run)."""

    def act(self) -> None:
        os._exit(1)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["map", "reduce"])
def test_killed_worker_process_is_replaced_and_output_identical(
    inputs: Path, local_corpus: Path, tmp_path: Path, stage: str
) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    out = tmp_path / "c"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as lc,
        distributed.Client(lc) as c,
    ):
        c.register_plugin(_KillOnce(str(marker), f"terrabit-publish-{stage}-"))
        publish(inputs, out, engine="dask", scheduler=c, show_progress=False, **OPTIONS)
    assert marker.exists()  # a worker really died mid-run
    assert digest_tree(out) == digest_tree(local_corpus)


class _HogOnce(_OncePerRun):
    """On the first task of ``prefix`` (once per run), fills its worker with ``mib`` MiB and
    holds it: over the worker's memory limit, so its nanny kills the process, as happens
    to a task that runs out of memory."""

    def __init__(self, marker: str, prefix: str, mib: int) -> None:
        super().__init__(marker, prefix)
        self.mib = mib

    def act(self) -> None:
        import time

        hog = np.ones(self.mib << 17)  # float64: mib MiB, every page touched
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the nanny kills us long before this ends
            hog[::4096] += 1.0
            time.sleep(0.05)


@pytest.mark.slow
def test_worker_out_of_memory_is_retried_and_reported(
    inputs: Path, local_corpus: Path, tmp_path: Path
) -> None:
    """A worker that goes over its memory limit is killed by its nanny; Dask reruns its
    task elsewhere, the corpus is still identical, and the result reports what died."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "hogged"
    out = tmp_path / "c"
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="600MiB",
            dashboard_address=":0",
        ) as lc,
        distributed.Client(lc) as c,
    ):
        c.register_plugin(_HogOnce(str(marker), "terrabit-publish-reduce-", 1024))
        result = publish(inputs, out, engine="dask", scheduler=c, show_progress=False, **OPTIONS)
    assert marker.exists()
    assert digest_tree(out) == digest_tree(local_corpus)
    assert any(
        line.startswith("cell '")
        and "died running it (e.g. killed for going over its memory" in line
        for line in result.task_failures
    ), result.task_failures
