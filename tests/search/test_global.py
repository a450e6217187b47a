"""Global search: equals the brute-force global top-k exactly, scans fewer shards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.corpus.summary import shard_summary, summary_fields
from terrabit.errors import InvalidInputError
from terrabit.kernels import hamming_distances
from terrabit.search.columns import fixed_codes
from terrabit.search.globalsearch import shard_lower_bounds
from terrabit.search.query import search

Brute = Callable[..., list[tuple[float, str]]]


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


def _pairs(result: Any) -> list[tuple[float, str]]:
    shown = result.shown
    return list(zip(shown.column("score").to_pylist(), shown.column("id").to_pylist(), strict=True))


@pytest.mark.parametrize("row", [0, 17, 901, 2399])
@pytest.mark.parametrize("k", [1, 10, 60])
def test_global_equals_brute_force(
    corpus: Any, all_rows: pa.Table, brute_force: Brute, row: int, k: int
) -> None:
    ident = all_rows.column("id")[row].as_py()
    result = search(corpus, positives=[ident], k=k, global_=True)
    assert _pairs(result) == brute_force(None, [ident])[:k]
    stats = result.stats
    assert stats["shards_total"] == len(corpus.manifest)
    assert 1 <= stats["shards_scanned"] <= stats["shards_total"]


def test_global_invert_and_year(corpus: Any, all_rows: pa.Table, brute_force: Brute) -> None:
    ident = all_rows.column("id")[5].as_py()
    inv = search(corpus, positives=[ident], k=10, global_=True, invert=True)
    assert _pairs(inv) == brute_force(None, [ident], invert=True)[:10]
    yr = search(corpus, positives=[ident], k=10, global_=True, year=2024)
    assert _pairs(yr) == brute_force(None, [ident], year=2024)[:10]


def test_global_equals_regional_search_over_the_world(corpus: Any, all_rows: pa.Table) -> None:
    ident = all_rows.column("id")[33].as_py()
    a = search(corpus, positives=[ident], k=25, global_=True)
    b = search(corpus, None, positives=[ident], k=25)
    assert _pairs(a) == _pairs(b)


def test_lower_bound_holds_for_every_shard(corpus: Any, all_rows: pa.Table) -> None:
    q = fixed_codes(all_rows.column("embedding").slice(3, 1), 8)[0]
    bounds = shard_lower_bounds(corpus.manifest, q)
    for i, path in enumerate(corpus.manifest.column("path").to_pylist()):
        codes = fixed_codes(
            corpus._read_shard(path, [(-180, -90, 180, 90)], ["embedding"]).column("embedding"), 8
        )
        assert hamming_distances(q, codes)[0].min() >= bounds[i]


def test_global_prunes_shards(corpus: Any, all_rows: pa.Table) -> None:
    fractions = [
        search(corpus, positives=[all_rows.column("id")[r].as_py()], k=1, global_=True).stats[
            "shard_fraction"
        ]
        for r in range(0, 2400, 300)
    ]
    assert float(np.mean(fractions)) < 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"view": "heatmap"}, "global search shows a top-k only"),
        ({"dedupe": True}, "does not dedupe"),
        ({"negatives": ["anything"]}, "exactly one positive"),
    ],
)
def test_global_scope_errors(
    corpus: Any, all_rows: pa.Table, kwargs: dict[str, Any], match: str
) -> None:
    ident = all_rows.column("id")[0].as_py()
    with pytest.raises(InvalidInputError, match=match):
        search(corpus, positives=[ident], global_=True, **kwargs)


def test_global_within_a_region_and_k_beyond_rows(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    import shapely

    ident = all_rows.column("id")[7].as_py()
    result = search(corpus, busy_box, positives=[ident], k=20, global_=True)
    assert _pairs(result) == brute_force(shapely.box(*busy_box), [ident])[:20]
    everything = search(corpus, positives=[ident], k=5000, global_=True)
    assert everything.shown.num_rows == all_rows.num_rows - 1
    assert everything.stats["shard_fraction"] == 1.0


def _manifest(shards: list[np.ndarray], balls: int) -> pa.Table:
    fields = summary_fields()
    rows = [shard_summary(c, balls=balls) for c in shards]
    return pa.table({f.name: pa.array([r[f.name] for r in rows], f.type) for f in fields})


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    size=st.integers(1, 6),
    balls=st.integers(1, 6),
)
def test_bound_never_exceeds_the_true_minimum(data: st.DataObject, size: int, balls: int) -> None:
    shards = data.draw(
        st.lists(
            arrays(np.uint8, st.tuples(st.integers(1, 30), st.just(size))), min_size=1, max_size=4
        )
    )
    query = data.draw(arrays(np.uint8, st.just(size)))
    bounds = shard_lower_bounds(_manifest(shards, balls), query)
    bits_q = np.unpackbits(query)
    for shard, bound in zip(shards, bounds.tolist(), strict=True):
        true_min = int((np.unpackbits(shard, axis=1) != bits_q).sum(axis=1).min())
        assert 0 <= bound <= true_min
        if len(np.unique(shard, axis=0)) <= balls:  # one radius-0 ball per distinct code
            assert bound == true_min


def test_bound_of_a_one_ball_legacy_manifest() -> None:
    legacy = pa.table(
        {
            "summary_code": pa.array([b"\x00", b"\xff"], pa.binary(1)),
            "summary_radius_bits": pa.array([1, 2], pa.int32()),
        }
    )
    assert shard_lower_bounds(legacy, np.array([0], np.uint8)).tolist() == [0, 6]
    assert shard_lower_bounds(legacy.slice(0, 0), np.array([0], np.uint8)).tolist() == []


def test_bound_rejects_null_or_ragged_summaries() -> None:
    fields = summary_fields()
    nulls = pa.table({f.name: pa.array([None], f.type) for f in fields})
    with pytest.raises(InvalidInputError, match="no summary codes"):
        shard_lower_bounds(nulls, np.array([0], np.uint8))
    ragged = pa.table(
        {
            fields[0].name: pa.array([[b"\x00", b"\x01"]], fields[0].type),
            fields[1].name: pa.array([[1]], fields[1].type),
        }
    )
    with pytest.raises(InvalidInputError, match="differ in number"):
        shard_lower_bounds(ragged, np.array([0], np.uint8))


@pytest.fixture(scope="module")
def wide_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another corpus: 256-d embeddings (32-byte codes), clustered, 1500 rows, small shards."""
    root = tmp_path_factory.mktemp("global-wide")
    src = write_input(root / "in.parquet", rows=1500, dims=256, seed=5)
    publish(src, root / "c", max_rows=120, row_group_rows=64, show_progress=False)
    return root / "c"


def test_global_equals_a_full_scan_on_another_corpus(wide_corpus: Path) -> None:
    tables = [
        pq.read_table(p, columns=["id", "embedding"])
        for p in sorted((wide_corpus / "shards").glob("*.parquet"))
    ]
    table = pa.concat_tables(tables)
    ids = np.array(table.column("id").to_pylist())
    codes = np.array(fixed_codes(table.column("embedding"), 32))
    bits = np.unpackbits(codes, axis=1)
    fractions = []
    with open_corpus(wide_corpus) as corpus:
        for row in (0, 250, 777, 1499):
            d = (bits != bits[row]).sum(axis=1)
            keep = np.arange(len(ids)) != row
            truth = sorted(zip(d[keep].astype(float).tolist(), ids[keep].tolist(), strict=True))
            for k in (1, 10, 37):
                result = search(corpus, positives=[str(ids[row])], k=k, global_=True)
                assert _pairs(result) == truth[:k]
                fractions.append(result.stats["shard_fraction"])
    assert len(corpus.manifest) > 10
    assert min(fractions) < 1.0


def test_budget_stops_early_and_says_whether_exact(corpus: Any, all_rows: pa.Table) -> None:
    ident = all_rows.column("id")[17].as_py()
    full = search(corpus, positives=[ident], k=10, global_=True)
    assert full.stats["exact"] is True
    for budget in (1, 2, full.stats["shards_scanned"]):
        part = search(corpus, positives=[ident], k=10, global_=True, max_shards=budget)
        assert part.stats["shards_scanned"] <= budget
        assert part.query["max_shards"] == budget
        if part.stats["exact"]:
            assert _pairs(part) == _pairs(full)
        else:
            assert budget < full.stats["shards_scanned"]
        # rows from a subset of shards: rank by rank never closer than the true top-k
        got = [s for s, _ in _pairs(part)]
        want = [s for s, _ in _pairs(full)][: len(got)]
        assert all(g >= w for g, w in zip(got, want, strict=True))
    assert search(corpus, positives=[ident], k=10, global_=True, max_shards=1).stats["exact"] is (
        full.stats["shards_scanned"] == 1
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_shards": 0, "global_": True}, "max_shards"),
        ({"max_shards": True, "global_": True}, "max_shards"),
        ({"max_shards": 3}, r"max_shards=3 limits a global search; add global_=True"),
    ],
)
def test_bad_budget(corpus: Any, all_rows: pa.Table, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        search(corpus, positives=[all_rows.column("id")[0].as_py()], **kwargs)
