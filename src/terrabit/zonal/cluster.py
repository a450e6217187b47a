"""Zonal statistics on a Dask cluster: one task per tile, partial sums merged by the client.

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

import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from terrabit._compat import lazy_import
from terrabit.errors import InvalidInputError, TerrabitError

if TYPE_CHECKING:
    from terrabit.zonal.engine import _TileResult

__all__ = ["ClusterError", "SchedulerError", "connect", "describe", "parse_scheduler", "run_tiles"]

#: Seconds to wait for a scheduler to answer (and for its first worker).
CONNECT_TIMEOUT_S = 10.0
_LOCAL = re.compile(r"^local:(\d+)$")


class ClusterError(TerrabitError, RuntimeError):
    """A task failed on the Dask cluster after Dask's retries."""


class SchedulerError(TerrabitError, ConnectionError):
    """The Dask scheduler cannot be reached, or it has no worker."""


def parse_scheduler(text: str) -> tuple[int | None, str | None]:
    """``(n_workers, None)`` for ``local:N``; ``(None, address)`` for a scheduler address.

    Examples
    --------
    >>> parse_scheduler("localhost:8786")
    (None, 'localhost:8786')
    >>> parse_scheduler("local:0")
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: --scheduler local:N needs N >= 1 workers, got 'local:0'
    """
    value = text.strip()
    if not value:
        raise InvalidInputError(
            "--scheduler is empty; pass a scheduler address (tcp://host:8786) or local:N"
        )
    match = _LOCAL.match(value)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise InvalidInputError(f"--scheduler local:N needs N >= 1 workers, got {value!r}")
        return n, None
    if value == "local" or value.startswith("local:"):
        raise InvalidInputError(
            f"--scheduler {value!r} is not understood; pass local:N (N worker processes on "
            "this machine, e.g. local:4) or a scheduler address such as tcp://host:8786"
        )
    return None, value


@contextlib.contextmanager
def connect(scheduler: Any, *, timeout_s: float | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler``, closed (with its local cluster) at exit.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``local:N`` starts a cluster of N single-threaded worker processes on this
        machine; any other string is a scheduler address; a ``Client`` is used as it is
        (and left open).
    timeout_s : float, optional
        How long to wait for the scheduler to answer and for a first worker (default
        :data:`CONNECT_TIMEOUT_S`).

    Raises
    ------
    SchedulerError
        When the scheduler cannot be reached or has no worker: nothing has been
        written yet at that point.
    MissingDependencyError
        When ``dask[distributed]`` is not installed (extra ``dask``).
    """
    distributed = lazy_import("distributed", "dask")
    if timeout_s is None:
        timeout_s = CONNECT_TIMEOUT_S
    if not isinstance(scheduler, str):
        if not hasattr(scheduler, "submit"):
            raise InvalidInputError(
                f"scheduler must be an address, local:N or a distributed.Client, got "
                f"{type(scheduler).__name__}"
            )
        yield scheduler
        return
    n_workers, address = parse_scheduler(scheduler)
    if n_workers is not None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = distributed.Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout_s:g} s ({exc}); "
            "start one (`dask scheduler`, then `dask worker ADDRESS` on each machine), check "
            "the address, or pass --scheduler local:N for a cluster on this machine"
        ) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(
                f"the Dask scheduler at {address!r} has no worker after {timeout_s:g} s; "
                f"start some with `dask worker {address}`"
            ) from exc
        yield client
    finally:
        client.close()


def describe(client: Any) -> dict[str, Any]:
    """The scheduler's address and its number of workers and threads (for summaries)."""
    threads = client.nthreads()
    return {
        "scheduler": str(client.scheduler.address),
        "dask_workers": len(threads),
        "dask_threads": int(sum(threads.values())),
    }


def _tile_task(
    path: str,
    rows: npt.NDArray[np.intp],
    geoms: npt.NDArray[np.object_],
    *,
    raw: bool,
    read_retries: int,
) -> _TileResult | str:
    """One tile's partial sums on a worker; a tile unreadable after retries gives its error."""
    from terrabit.zonal import engine

    try:
        return engine._with_retries(path, read_retries, engine._tile_partials, rows, geoms, raw=raw)
    except engine.TileReadError as exc:
        return str(exc.__cause__)


def run_tiles(
    client: Any,
    tasks: list[tuple[str, npt.NDArray[np.intp], npt.NDArray[np.object_]]],
    *,
    raw: bool,
    retries: int,
    done: Callable[[_TileResult], None],
    bar: Any,
) -> list[str]:
    """Summarise ``tasks`` (path, rows, geometries) as Dask tasks; return the failed tiles.

    ``done`` gets each tile's result in this process as soon as it arrives; ``bar``
    advances once per tile. A tile that stays unreadable after ``retries`` extra reads
    is listed in the returned failures; a task that fails otherwise (after ``retries``
    Dask retries) stops the run with its error, finished tiles having been handed to
    ``done``.
    """
    distributed = lazy_import("distributed", "dask")
    from terrabit.zonal.engine import _tile_key

    run = uuid.uuid4().hex[:8]
    futures: dict[Any, str] = {}
    for path, rows, geoms in tasks:
        fut = client.submit(
            _tile_task,
            path,
            rows,
            geoms,
            raw=raw,
            read_retries=retries,
            key=f"terrabit-zonal-{_tile_key(path)}-{run}",
            retries=retries,
        )
        futures[fut] = path
    failures: list[str] = []
    try:
        for fut in distributed.as_completed(list(futures)):
            path = futures[fut]
            if fut.status != "finished":
                exc = fut.exception()
                if isinstance(exc, TerrabitError):
                    raise exc
                raise ClusterError(
                    f"tile {path!r} failed on the Dask cluster after {retries + 1} attempts "
                    f"({type(exc).__name__}: {exc}); finished tiles are kept in the work "
                    "folder, so rerun the same command to resume"
                ) from exc
            outcome = fut.result()
            if isinstance(outcome, str):
                failures.append(f"{path} ({outcome})")
            else:
                done(outcome)
            bar.advance()
    except BaseException:
        client.cancel(list(futures))
        raise
    return failures
