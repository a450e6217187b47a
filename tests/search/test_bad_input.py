"""Issue 5's "Bad input" list, item by item, for the local and the global search.

Covered elsewhere: unknown ids, points with no patch, vectors of the wrong dim, k <= 0
and a region outside the corpus for the regional search (``test_query.py``); an
unclosed GeoJSON ring through the CLI (``test_cli_search.py``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import open as open_corpus
from terrabit.errors import CorpusIntegrityError, InvalidInputError, RegionError
from terrabit.search.query import search

Brute = Callable[..., list[tuple[float, str]]]


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


def _pairs(result: Any) -> list[tuple[float, str]]:
    shown = result.shown
    return list(zip(shown.column("score").to_pylist(), shown.column("id").to_pylist(), strict=True))


@pytest.mark.parametrize(
    ("region", "match"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "not closed"),
        ({"type": "Polygon"}, "GeoJSON"),
        ({"type": "Nope", "coordinates": []}, "GeoJSON"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0]', "not valid JSON"),
    ],
)
def test_invalid_geojson_is_a_region_error(corpus: Any, region: Any, match: str) -> None:
    with pytest.raises(RegionError, match=match):
        search(corpus, region, positives=["x"])
    with pytest.raises(RegionError, match=match):
        search(corpus, region, positives=["x"], global_=True)


def test_self_intersecting_polygon_is_repaired_and_stated(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    x0, y0, x1, y1 = busy_box
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]],
    }
    inside = shapely.make_valid(shapely.geometry.shape(bowtie))
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    ids = np.array(all_rows.column("id").to_pylist())
    pos = [str(ids[shapely.intersects(geoms, inside)][0])]
    result = search(corpus, bowtie, positives=pos, k=12)
    assert result.query["region_repaired"] is True
    assert _pairs(result) == brute_force(inside, pos)[:12]
    exported = json.loads(json.dumps(result.query))  # the repair is in the provenance
    assert exported["region_repaired"] is True


def test_global_bad_input(corpus: Any, all_rows: pa.Table) -> None:
    ident = all_rows.column("id")[0].as_py()
    with pytest.raises(InvalidInputError, match=r"unknown exemplar ids \['nope'\]"):
        search(corpus, positives=["nope"], global_=True)
    with pytest.raises(InvalidInputError, match="k must be a positive integer"):
        search(corpus, positives=[ident], k=0, global_=True)
    with pytest.raises(InvalidInputError, match="this corpus embeds 64 dimensions"):
        search(corpus, positives=[np.zeros(3, np.float32)], global_=True)
    with pytest.raises(InvalidInputError, match=r"no patch at -179\.99,-89\.99"):
        search(corpus, positives=[(-179.99, -89.99)], global_=True)
    outside = search(corpus, (-179.99, -89.99, -179.98, -89.98), positives=[ident], global_=True)
    assert outside.table.num_rows == 0 and "outside the corpus" in (outside.reason or "")
    assert outside.stats["shards_scanned"] == 0


def _changed_copy(corpus_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the corpus and the path of its biggest shard."""
    copy = tmp_path / "c"
    shutil.copytree(corpus_dir, copy)
    shards = sorted((copy / "shards").glob("*.parquet"), key=lambda p: p.stat().st_size)
    return copy, f"shards/{shards[-1].name}"


@pytest.mark.parametrize("how", ["swapped", "truncated"])
@pytest.mark.parametrize("global_", [False, True])
def test_corpus_changed_between_manifest_and_shard_reads(
    corpus_dir: Path, tmp_path: Path, how: str, global_: bool
) -> None:
    copy, rel = _changed_copy(corpus_dir, tmp_path)
    row = pq.read_table(copy / rel, columns=["id", "geometry"]).slice(0, 1)
    ident = row.column("id")[0].as_py()
    box = shapely.bounds(shapely.from_wkb(row.column("geometry")[0].as_py())).tolist()
    with open_corpus(copy, verify="footer") as c:
        # the corpus changes after its manifest was read
        data = (copy / rel).read_bytes()
        if how == "swapped":
            other = min((copy / "shards").glob("*.parquet"), key=lambda p: p.stat().st_size)
            (copy / rel).write_bytes(other.read_bytes())
        else:
            (copy / rel).write_bytes(data[: len(data) // 2] + data[-(len(data) // 4) :])
        with pytest.raises(CorpusIntegrityError, match=rel.split("/")[-1].split(".")[0]):
            search(c, None if global_ else box, positives=[ident], k=5, global_=global_)
