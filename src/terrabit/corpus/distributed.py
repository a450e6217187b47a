"""``publish --engine dask``: the count, map and reduce of :mod:`~terrabit.corpus.mapreduce`
as Dask tasks, with the same bytes as the local engine.

The client checks the inputs, fits the codec once on the seeded sample and chooses the
cells, as the local engine does; the workers do the heavy passes:

1. **count** — one task per *piece*: an input file, or consecutive row groups of it
   holding about :data:`TASK_ROWS` rows. It validates the piece's rows, counts them per
   precision-5 cell, hashes their ids and records their geometry bounds in the work
   folder (which the map reads back);
2. **map** — one task per piece: encode its rows and write per-cell Arrow part files
   under ``_work/map-<piece>/``;
3. **reduce** — one task per cell: read the cell's parts from every file, sort them by
   (geohash key, id), split while above ``max_rows``, write the shards (rows in
   Hilbert-key order); the task returns their manifest rows.

The client writes the manifest once, at the end, inside the same temporary folder that
replaces the output only on success. A cell's rows are sorted by (key, id), which
is unique, so neither the files' order of arrival nor the batching changes a byte.

Workers read the inputs and write into the output's temporary sibling folder at the
same paths as the client (one machine, or a shared file system). A task that fails is
retried by Dask (:data:`TASK_RETRIES` more attempts; the tasks of a lost worker are
rescheduled), each attempt starting from a clean slate; a task that still fails stops
the run with its error, and no manifest, nor corpus, is written. Connecting reuses
:func:`terrabit._cluster.connect` (``local:N`` or an address, clear errors for an
unreachable scheduler or a missing ``distributed``).

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus import publish
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_input(tmp / "in.parquet", rows=300, dims=32, seed=0)
>>> import distributed
>>> with distributed.Client(processes=False, n_workers=1, dashboard_address=":0") as client:
...     dask = publish(tmp / "in.parquet", tmp / "d", engine="dask", scheduler=client)
>>> local = publish(tmp / "in.parquet", tmp / "l")
>>> (tmp / "d" / "manifest.parquet").read_bytes() == (tmp / "l" / "manifest.parquet").read_bytes()
True
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from terrabit._cluster import (
    ClusterError,
    SchedulerError,
    connect,
    describe,
    gather,
    parse_scheduler,
)
from terrabit._compat import lazy_import
from terrabit._progress import progress_bar
from terrabit.codecs import Codec
from terrabit.corpus import mapreduce
from terrabit.corpus._inputs import InputSet, prefetch, string_hashes
from terrabit.errors import InvalidInputError, TerrabitError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "TASK_RETRIES",
    "TASK_ROWS",
    "ClusterError",
    "SchedulerError",
    "connect",
    "describe",
    "parse_scheduler",
    "quiet_logs",
    "run_publish",
]

log = logging.getLogger(__name__)

#: Extra attempts Dask makes at a failed task before the run stops.
TASK_RETRIES = 2
#: Input rows per count/map task: a file's row groups are grouped into tasks of at least
#: this many rows (a row group is never split), so one big file still keeps every worker
#: busy.
TASK_ROWS = 1 << 17

_CountResult = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint64], int]


# ------------------------------------------------------------------------ worker tasks


def _count_task(source: InputSet, work: str) -> _CountResult:
    """One file's ``(cells, counts, id hashes, valid rows)``; records its bounds cache."""
    cache = Path(work)
    (cache / f"bounds-{source.cache_names[0]}.f64").unlink(missing_ok=True)  # a retry
    codes: list[npt.NDArray[np.int64]] = []
    counts: list[npt.NDArray[np.int64]] = []
    hashes: list[npt.NDArray[np.uint64]] = []
    total = 0
    for batch in source.iter_batches(embeddings=False, extra=False, cache=cache):
        uniq, n = mapreduce.count_batch(batch)
        codes.append(uniq)
        counts.append(n)
        hashes.append(string_hashes(batch.ids))
        total += len(batch.ids)
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64), 0
    cells, inverse = np.unique(np.concatenate(codes), return_inverse=True)
    summed = np.zeros(len(cells), dtype=np.int64)
    np.add.at(summed, inverse, np.concatenate(counts))
    return cells, summed, np.concatenate(hashes), total


def _map_task(
    source: InputSet,
    work: str,
    shared: tuple[Codec, Codec | None, npt.NDArray[np.int64], pa.Schema],
    buffer_bytes: int,
) -> tuple[dict[int, list[str]], int, bool]:
    """Encode one file into per-cell part files; ``({cell: part paths}, dropped rows,
    whether its rabitq factors fit float16)``."""
    codec, rerank, starts, schema = shared
    root = Path(work) / f"map-{source.cache_names[0]}"
    shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left
    root.mkdir()
    parts = mapreduce.PartFiles(root, schema, buffer_bytes)
    dropped = 0
    fits = True
    batches = source.iter_batches(embeddings=True, extra=True, cache=Path(work))
    for batch in prefetch(batches, depth=2):
        dropped += batch.dropped
        if len(batch.ids):
            fits &= mapreduce.route(
                batch, parts, starts, codec=codec, rerank=rerank, packed=source.packed
            )
    parts.flush()
    return {cell: [str(p) for p in paths] for cell, paths in parts.files.items()}, dropped, fits


def _reduce_task(
    cell: str,
    paths: list[str],
    root: str,
    shared: tuple[Codec, Codec | None, npt.NDArray[np.int64], pa.Schema],
    *,
    max_rows: int,
    row_group_rows: int,
    keep: list[str],
    rabitq_width: int | None,
) -> list[dict[str, Any]]:
    """One cell's shards, written under ``root``; their manifest rows. The part files are
    left for the client to delete once it holds the result (so a lost result can be
    computed again)."""
    codec, _, _, schema = shared
    table = mapreduce.read_parts([Path(p) for p in paths], schema)
    return mapreduce.reduce_cell(
        table,
        cell,
        Path(root),
        codec=codec,
        max_rows=max_rows,
        row_group_rows=row_group_rows,
        keep=keep,
        rabitq_width=rabitq_width,
    )


# ------------------------------------------------------------------------------ client


def _gather(
    client: Client,
    futures: dict[Any, Any],
    *,
    what: str,
    done: Callable[[Any, Any], None],
) -> None:
    """Hand each future's result to ``done(label, result)`` as it completes (``futures``
    maps a future to its label and its name for messages): :func:`terrabit._cluster.gather`
    (a failure keeps the results that already arrived, so a resume does not redo them),
    waiting for cancelled tasks to end before the staging folder is touched again."""
    labels = {fut: label for fut, (label, _name) in futures.items()}
    names = {label: name for label, name in futures.values()}

    def failed(label: Any, exc: BaseException) -> ClusterError:
        hint = ""
        if type(exc).__name__ == "KilledWorker":
            hint = " — its workers died running it, most often out of memory"
        return ClusterError(
            f"{what} {names[label]} failed on the Dask cluster after {TASK_RETRIES + 1} "
            f"attempts ({type(exc).__name__}: {exc}{hint}); no corpus was written — "
            "fix the cause (e.g. more worker memory, or a smaller buffer) and rerun "
            "with resume=True to keep the finished work",
            params=("resume",),
        )

    gather(client, labels, done=done, failed=failed, drain=True)


EVENTS = "terrabit-publish"
"""Dask event topic of the task attempts that failed (then retried, or not)."""


def _shared(value: Any) -> Any:
    """The codecs, cell starts and part schema every map and reduce task reads."""
    return value


def _run_task(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one task, recording a failed attempt as a Dask event (for the report)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        with contextlib.suppress(Exception):
            distributed = lazy_import("distributed", "dask")
            worker = distributed.get_worker()
            worker.log_event(
                EVENTS,
                {
                    "key": str(worker.get_current_task()),
                    "worker": worker.address,
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
        raise


def task_failures(client: Any, keys: dict[str, str]) -> list[str]:
    """What went wrong in the attempts of the tasks ``keys`` (``{key: name}``): the
    errors they raised and the workers that died running them (killed by their nanny
    for going over the memory limit, or lost), one line each, in time order."""
    out: list[tuple[float, str]] = []
    for stamp, msg in client.get_events(EVENTS):
        if msg.get("key") in keys:
            out.append((stamp, f"{keys[msg['key']]}: {msg['error']} on {msg['worker']}"))
    for stamp, worker, running in client.run_on_scheduler(_lost_workers):
        for key in running:
            if key in keys:
                out.append(
                    (
                        stamp,
                        f"{keys[key]}: worker {worker} died running it (e.g. killed for "
                        "going over its memory limit)",
                    )
                )
    return [line for _, line in sorted(out)]


def _lost_workers(dask_scheduler: Any) -> list[tuple[float, str, list[str]]]:
    """``(time, worker, keys it was running)`` of each worker the scheduler lost
    unexpectedly (run on the scheduler: its ``all`` events do not all serialize)."""
    out = []
    for stamp, msg in dask_scheduler.get_events("all"):
        lost = isinstance(msg, dict) and msg.get("action") == "remove-worker"
        if lost and not msg.get("expected"):
            running = sorted(str(k) for k in msg.get("processing-tasks", ()))
            out.append((float(stamp), str(msg.get("worker")), running))
    return out


def _submit(
    client: Any,
    fn: Callable[..., Any],
    jobs: Iterable[tuple[str, Any, str, tuple[Any, ...]]],
    names: dict[str, str],
    what: str,
    **kw: Any,
) -> dict[Any, Any]:
    """``{future: (label, name)}`` of ``fn(*args, **kw)`` for each
    ``(key, label, name, args)`` (the name is for messages; ``names`` collects
    ``{key: "what name"}``)."""
    jobs = list(jobs)
    names.update((key, f"{what} {name}") for key, _, name, _ in jobs)
    return {
        client.submit(_run_task, fn, *args, key=key, retries=TASK_RETRIES, pure=False, **kw): (
            label,
            name,
        )
        for key, label, name, args in jobs
    }


@contextlib.contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Raise Dask's loggers (``distributed.*``, ``tornado``) to ``level`` for a while, so
    that a cluster's start and stop do not flood the terminal; restored at exit."""
    lazy_import("distributed", "dask")
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name == "distributed" or name.startswith(("distributed.", "tornado"))
    ]
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < level:
                logger.setLevel(level)
        yield
    finally:
        for name, old in saved.items():
            logging.getLogger(name).setLevel(old)


def run_publish(client: Client, job: mapreduce.PublishJob) -> tuple[list[dict[str, Any]], int]:
    """Count, map and reduce ``job`` (:class:`terrabit.corpus.mapreduce.PublishJob`) on the
    cluster of ``client``, writing the shards into its staging folder and skipping what
    its journal says a previous run finished; the manifest rows in cell order and the
    number of dropped rows, exactly as the local engine returns them.

    The progress bars advance as tasks complete, across the cluster.
    """
    names: dict[str, str] = {}
    try:
        result = _run_publish(client, job, names)
    except TerrabitError:  # bad input, or a task that failed every attempt (reported)
        raise
    except BaseException:
        _report(job, task_failures(client, names), retried=False)
        raise
    _report(job, task_failures(client, names), retried=True)
    return result


def _report(job: mapreduce.PublishJob, failures: list[str], *, retried: bool) -> None:
    job.retried = failures
    if failures:
        log.warning(
            "publish: %d task attempt(s) failed on the Dask cluster%s:\n  %s%s",
            len(failures),
            " and were retried" if retried else "",
            "\n  ".join(failures[:10]),
            f"\n  ... and {len(failures) - 10} more" if len(failures) > 10 else "",
        )


def _run_publish(
    client: Client, job: mapreduce.PublishJob, names: dict[str, str]
) -> tuple[list[dict[str, Any]], int]:
    """:func:`run_publish`, collecting ``{task key: name}`` in ``names``."""
    source, work, show = job.source, str(job.work), job.show_progress
    run = uuid.uuid4().hex[:8]
    pieces = source.pieces(TASK_ROWS)
    subsets = [piece for _, piece in pieces]

    # 1. count
    def count() -> list[tuple[str, int, int]]:
        counts = np.zeros(32**mapreduce.COUNT_PRECISION, dtype=np.uint32)
        id_hashes: list[npt.NDArray[np.uint64]] = []
        counted = 0
        with progress_bar("publish: counting (dask)", source.rows, show=show) as bar:

            def counted_file(i: int, result: _CountResult) -> None:
                nonlocal counted
                cells, n, hashes, total = result
                counts[cells] += n.astype(np.uint32)
                id_hashes.append(hashes)
                counted += total
                bar.advance(subsets[i].rows)

            jobs = [
                (f"terrabit-publish-count-{i}-{run}", i, pieces[i][0], (subsets[i], work))
                for i in range(len(pieces))
            ]
            futures = _submit(client, _count_task, jobs, names, "input")
            _gather(client, futures, what="input file", done=counted_file)
        mapreduce.check_duplicates(
            source, np.concatenate(id_hashes) if id_hashes else np.zeros(0, np.uint64)
        )
        if counted == 0:
            raise InvalidInputError("every input row was dropped as invalid; nothing to publish")
        return mapreduce.choose_cells(counts, job.max_rows)

    cells = job.cells(count)
    starts = np.array([c[1] for c in cells], dtype=np.int64)
    # a task, not scattered data: Dask's memory manager keeps one replica of scattered
    # data, lost for good with its worker; a task's result is computed again
    shared = client.submit(
        _shared,
        (job.codec, job.rerank, starts, job.part_schema),
        key=f"terrabit-publish-shared-{run}",
        pure=False,
        retries=TASK_RETRIES,
    )

    # 2. map (pieces a previous run encoded are recorded in the journal)
    recorded, dropped, todo = job.mapped(len(pieces))
    parts: dict[int, list[str]] = {c: [str(p) for p in ps] for c, ps in recorded.items()}
    with progress_bar("publish: encoding (dask)", source.rows, show=show) as bar:
        skipped = source.rows - sum(subsets[i].rows for i in todo)
        if skipped:
            bar.advance(skipped)

        def mapped(i: int, result: tuple[dict[int, list[str]], int, bool]) -> None:
            nonlocal dropped
            files, lost, fits = result
            written = {c: [Path(p) for p in ps] for c, ps in files.items()}
            job.record_map(i, written, lost, factors_f16=fits)
            for cell, paths in files.items():
                parts.setdefault(cell, []).extend(paths)
            dropped += lost
            bar.advance(subsets[i].rows)

        jobs = [
            (
                f"terrabit-publish-map-{i}-{run}",
                i,
                pieces[i][0],
                (subsets[i], work, shared, job.buffer_bytes),
            )
            for i in todo
        ]
        futures = _submit(client, _map_task, jobs, names, "input")
        _gather(client, futures, what="input file", done=mapped)

    # 3. reduce (cells a previous run finished are recorded in the journal)
    written, todo_cells = job.skip_finished(sorted(parts), parts)
    rabitq_width = job.rabitq_width(len(pieces))
    with progress_bar("publish: writing shards (dask)", len(parts), show=show) as bar:
        if written:
            bar.advance(len(written))

        def reduced(i: int, rows: list[dict[str, Any]]) -> None:
            job.finish_cell(i, rows)
            written[i] = rows
            mapreduce.remove_parts(parts[i])
            bar.advance()

        reduce_jobs = [
            (
                f"terrabit-publish-reduce-{cells[i][0]}-{run}",
                i,
                repr(cells[i][0]),
                (cells[i][0], sorted(parts[i]), str(job.root), shared),
            )
            for i in todo_cells
        ]
        _gather(
            client,
            _submit(
                client,
                _reduce_task,
                reduce_jobs,
                names,
                "cell",
                max_rows=job.max_rows,
                row_group_rows=job.row_group_rows,
                keep=list(source.keep),
                rabitq_width=rabitq_width,
            ),
            what="cell",
            done=reduced,
        )
    del shared
    rows_out = [row for i in sorted(written) for row in written[i]]
    return rows_out, dropped
