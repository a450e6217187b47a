"""The real-embeddings benchmark's measurement on a tiny seeded set (no model, no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytest.importorskip("faiss")


def _bench() -> ModuleType:
    path = Path(__file__).parents[2] / "benchmarks" / "real_embeddings.py"
    spec = importlib.util.spec_from_file_location("real_embeddings", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_split_holds_queries_out_and_int8_rerank_matches_brute_force() -> None:
    bench = _bench()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3_000, 32)).astype(np.float32)
    db, q = bench.split(x, 1_500)
    assert q.shape == (1_000, 32) and db.shape == (1_500, 32)
    assert not (db[:, None, :] == q[None, :50, :]).all(axis=2).any()  # no query in the database
    truth = np.argsort(-(q @ db.T), axis=1, kind="stable")[:, : bench.K]  # brute force, numpy
    everything = np.tile(np.arange(db.shape[0]), (q.shape[0], 1))
    ids, size = bench.rerank(everything, "int8", db, q)
    assert size == 32
    hits = (ids[:, :, None] == truth[:, None, :]).any(axis=2).mean()
    assert hits > 0.9
