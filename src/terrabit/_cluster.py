"""Connecting to a Dask cluster, shared by every ``engine="dask"`` (publish, zonal stats).

Errors name the ``scheduler`` parameter (the CLI shows ``--scheduler``).
``scheduler="local:N"`` starts N single-threaded worker processes on this machine; any other
value is a scheduler address. An unreachable scheduler, or one with no worker, is a
:class:`SchedulerError` raised before anything is written; a task that still fails after
Dask's retries is a :class:`ClusterError`. Needs ``dask[distributed]`` (extra ``dask``).

Examples
--------
>>> parse_scheduler("local:2"), parse_scheduler("tcp://10.0.0.5:8786")
((2, None), (None, 'tcp://10.0.0.5:8786'))
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any, Literal

from terrabit._compat import lazy_import
from terrabit.errors import InvalidInputError, TerrabitError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENGINES",
    "ClusterError",
    "Engine",
    "SchedulerError",
    "connect",
    "describe",
    "parse_scheduler",
]

#: Where a command's heavy work runs: this process, or a Dask cluster.
Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")
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
