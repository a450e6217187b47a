"""Connecting to a Dask cluster, shared by every ``engine="dask"`` (publish, zonal stats).

Errors name the ``scheduler`` parameter (the CLI shows ``--scheduler``).
``scheduler="local:N"`` starts N single-threaded worker processes on this machine; any other
value is a scheduler address. An unreachable scheduler, or one with no worker, is a
:class:`SchedulerError` raised before anything is written; a task that still fails after
Dask's retries is a :class:`ClusterError`; :func:`gather` hands the tasks' results over as
they complete and stops the run at such a failure, keeping what had already finished.
Needs ``dask[distributed]`` (extra ``dask``).

Examples
--------
>>> parse_scheduler("local:2"), parse_scheduler("tcp://10.0.0.5:8786")
((2, None), (None, 'tcp://10.0.0.5:8786'))
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from terrabit._compat import lazy_import
from terrabit.errors import InvalidInputError, TerrabitError

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENGINES",
    "ClusterError",
    "Engine",
    "SchedulerError",
    "connect",
    "describe",
    "gather",
    "parse_scheduler",
]

#: Where a command's heavy work runs: this process, or a Dask cluster.
Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")
#: Seconds to wait for a scheduler to answer (and for its first worker).
CONNECT_TIMEOUT_S = 10.0
_LOCAL = re.compile(r"^local:(\d+)$")
_Label = TypeVar("_Label")


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
    terrabit.errors.InvalidInputError: scheduler local:N needs N >= 1 workers, got 'local:0'
    """
    value = text.strip()
    if not value:
        raise InvalidInputError(
            "scheduler is empty; pass a scheduler address (tcp://host:8786) or local:N",
            params=("scheduler",),
        )
    match = _LOCAL.match(value)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise InvalidInputError(
                f"scheduler local:N needs N >= 1 workers, got {value!r}", params=("scheduler",)
            )
        return n, None
    if value == "local" or value.startswith("local:"):
        raise InvalidInputError(
            f"scheduler {value!r} is not understood; pass local:N (N worker processes on "
            "this machine, e.g. local:4) or a scheduler address such as tcp://host:8786",
            params=("scheduler",),
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
                f"{type(scheduler).__name__}",
                params=("scheduler",),
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
            "the address, or pass scheduler='local:N' for a cluster on this machine",
            params=("scheduler",),
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


def gather(
    client: Client,
    futures: Mapping[Future, _Label],
    *,
    done: Callable[[_Label, Any], None],
    failed: Callable[[_Label, BaseException], Exception],
    drain: bool = False,
) -> None:
    """Hand each future's result to ``done(label, result)`` as it completes (``futures``
    maps a future to its label). The first future that failed after Dask's retries stops
    the run: the results that already arrived are handed over first (their work is kept
    for a resume), the rest are cancelled, and the task's own
    :class:`~terrabit.errors.TerrabitError` is raised as it is, any other error as
    ``failed(label, error)``. With ``drain``, it raises only once no worker still runs a
    cancelled task (tasks that write into a folder the caller cleans or resumes).
    """
    distributed = lazy_import("distributed", "dask")
    handed: set[Future] = set()

    def hand(fut: Future) -> None:
        done(futures[fut], fut.result())
        handed.add(fut)
        fut.release()

    try:
        for fut in distributed.as_completed(list(futures)):
            if fut.status == "finished":
                hand(fut)
                continue
            for other in futures:
                if other not in handed and other.status == "finished":
                    hand(other)
            exc = fut.exception() if fut.status == "error" else None
            if exc is None:  # cancelled or lost, not raised
                exc = RuntimeError(f"the task was {fut.status}")
            if isinstance(exc, TerrabitError):
                raise exc
            raise failed(futures[fut], exc) from exc
    except BaseException:
        client.cancel(list(futures))
        if drain:
            _drain(client, {str(f.key) for f in futures})
        raise


def _drain(client: Client, keys: set[str], timeout_s: float = 60.0) -> None:
    """Wait (up to ``timeout_s``) until no worker still executes one of ``keys``: a
    cancelled task keeps running to its end."""

    def executing(dask_worker: Any) -> list[str]:
        return [str(k) for k, ts in dask_worker.state.tasks.items() if ts.state in _RUNNING]

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            running = {k for ks in client.run(executing).values() for k in ks}
        except Exception:  # a worker going away: ask again
            running = keys
        if not running & keys:
            return
        time.sleep(0.05)


_RUNNING = ("executing", "long-running", "cancelled", "resumed")
