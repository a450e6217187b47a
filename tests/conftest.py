"""Suite-wide settings and shared fixtures.

Hypothesis explores new random examples on every developer run (that is how it finds
bugs); under CI (``CI`` set, as `.ci/run` is run) it is derandomized so that a
submission's result does not depend on luck. A failure found locally is replayed from
the example database until fixed.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A two-worker in-process Dask cluster (threads), one per test module that asks."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as lc,
        distributed.Client(lc) as c,
    ):
        yield c


def validate_stac_offline(doc: dict[str, Any]) -> list[str]:
    """pystac's JSON-schema validation of the STAC object ``doc`` with every network
    connection refused: the STAC 1.1 core schemas ship with pystac, so a corpus's
    ``collection.json`` validates without the internet. Returns the schemas checked."""
    import pystac.validation

    def refused(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access while validating a STAC object offline")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(socket, "create_connection", refused)
        m.setattr(socket.socket, "connect", refused)
        return list(pystac.validation.validate_dict(doc))


def digest_tree(root: Path) -> dict[str, str]:
    """SHA-256 of every file below ``root`` by relative path: the oracle of "the same
    bytes" for corpora written by different engines, runs or sinks."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
