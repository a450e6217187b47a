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


def test_float_query_neighbours_equal_the_single_query_estimators() -> None:
    """The batched float-query top 10 equal a numpy brute force over ``rabitq_scores`` /
    ``asymmetric_scores`` (the single-query lookup-table functions), query by query."""
    from terrabit.codecs import parse, rabitq_scores
    from terrabit.codecs.asymmetric import asymmetric_scores

    bench = _bench()
    rng = np.random.default_rng(1)
    db = bench.normalise(rng.standard_normal((1_500, 48)) + 0.5)
    q = bench.normalise(rng.standard_normal((30, 48)) + 0.5)
    for spec in ("rabitq", "rot+binary"):
        codec = parse(spec).fit(db)
        codes = codec.encode(db)
        got = bench.float_query_neighbours(codec, db, codes, q)
        assert set(got) == ({None, 4} if spec == "rabitq" else {None})
        for bits, ids in got.items():
            for i in (0, 7, 29):
                if spec == "rabitq":
                    one = rabitq_scores(codec, q[i], codes, codec.factors(db), query_bits=bits)
                else:
                    one = asymmetric_scores(codec, q[i], codes)
                expected = np.argsort(one, kind="stable")[: bench.K]
                assert len(set(ids[i]) & set(expected)) >= bench.K - 1  # float32 near-ties
    assert bench.float_query_neighbours(parse("int8").fit(db), db, codes, q) == {}


def test_measure_reports_every_column_and_the_goals() -> None:
    bench = _bench()
    x = np.random.default_rng(2).standard_normal((3_200, 24)).astype(np.float32)
    rep = bench.measure("tiny", x, 2_200)
    labels = [r["code"] for r in rep["rows"]]
    assert "`rabitq`" in labels and "faiss `IndexRaBitQ`" in labels
    assert sum(label.startswith("`auto` → ") for label in labels) == 2
    rabitq = next(r for r in rep["rows"] if r["code"] == "`rabitq`")
    assert None not in (rabitq["hamming"], rabitq["float_query"], rabitq["query_4bit"])
    assert rep["auto"]["report"]["sample_rows"] == 2_200
    assert set(rep["goals"]) == {
        "rabitq_float_minus_faiss_float",
        "rabitq_float_minus_faiss_rotated_float",
        "rabitq_float_minus_sign_bits_hamming",
    }
    assert "goals:" in bench.table(rep)
