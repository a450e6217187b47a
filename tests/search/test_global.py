"""Global search: equals the brute-force global top-k exactly, scans fewer shards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from terrabit.corpus import open as open_corpus
from terrabit.errors import InvalidInputError
from terrabit.search.globalsearch import shard_lower_bounds
from terrabit.search.hamming import hamming_distances
from terrabit.search.query import fixed_codes, search

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
