"""Zonal statistics on a Dask cluster: one task per tile, partial sums merged by the client.

Connecting (``local:N`` or an address) and the errors live in :mod:`terrabit._cluster`,
shared with ``publish --engine dask``; they are re-exported here.

``terrabit zonal stats … --engine dask --scheduler ADDRESS|local:N`` sends each tile's
work (its path, the rows and geometries of the polygons meeting it) to a Dask worker as
one task. The worker reads the tile (windowed, as the local engine does) and returns the
tile's mergeable partial sums; the client saves each one in the work folder as it arrives
(resume after an interruption) and merges them in the plan's order, exactly as the local
engine does, so both engines give identical results.

Faults: a tile that cannot be read is retried on the worker with back-off and then
reported by path (as locally); any other failure of a task, a worker that dies among
them, is retried by Dask (``retries`` extra attempts, and the scheduler reschedules the
tasks of a lost worker) before the run stops with the error. Workers need the tiles at
the same paths (a shared file system) or URLs.

Examples
--------
>>> parse_scheduler("local:2"), parse_scheduler("tcp://10.0.0.5:8786")
((2, None), (None, 'tcp://10.0.0.5:8786'))
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from terrabit._cluster import (
    ClusterError,
    SchedulerError,
    connect,
    describe,
    gather,
    parse_scheduler,
)
from terrabit.zonal.engine import TileReadError, TileResult, TileTask, summarise_tile, tile_key

__all__ = ["ClusterError", "SchedulerError", "connect", "describe", "parse_scheduler", "run_tiles"]


def _tile_task(task: TileTask, *, raw: bool, read_retries: int) -> TileResult | str:
    """One tile's partial sums on a worker; a tile unreadable after retries gives its error."""
    try:
        return summarise_tile(task, raw=raw, retries=read_retries)
    except TileReadError as exc:
        return str(exc.__cause__)


def run_tiles(
    client: Any,
    tasks: list[TileTask],
    *,
    raw: bool,
    retries: int,
    done: Callable[[TileResult], None],
    bar: Any,
) -> list[str]:
    """Summarise ``tasks`` as Dask tasks (the map step); return the failed tiles.

    ``done`` gets each tile's result in this process as soon as it arrives; ``bar``
    advances once per tile. A tile that stays unreadable after ``retries`` extra reads
    is listed in the returned failures; a task that fails otherwise (after ``retries``
    Dask retries) stops the run with its error, finished tiles having been handed to
    ``done``.
    """
    run = uuid.uuid4().hex[:8]
    futures: dict[Any, str] = {}
    for task in tasks:
        fut = client.submit(
            _tile_task,
            task,
            raw=raw,
            read_retries=retries,
            key=f"terrabit-zonal-{tile_key(task.path)}-{run}",
            retries=retries,
        )
        futures[fut] = task.path
    failures: list[str] = []

    def finished(path: str, outcome: TileResult | str) -> None:
        if isinstance(outcome, str):
            failures.append(f"{path} ({outcome})")
        else:
            done(outcome)
        bar.advance()

    def failed(path: str, exc: BaseException) -> ClusterError:
        return ClusterError(
            f"tile {path!r} failed on the Dask cluster after {retries + 1} attempts "
            f"({type(exc).__name__}: {exc}); finished tiles are kept in the work "
            "folder, so rerun the same command to resume"
        )

    gather(client, futures, done=finished, failed=failed)
    return failures
