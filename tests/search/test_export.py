"""export(): GeoParquet 1.1 of exactly what the view shows, with query provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import open as open_corpus
from terrabit.errors import OutputExistsError
from terrabit.geoparquet import validate_geo_metadata
from terrabit.search.export import QUERY_METADATA_KEY, export
from terrabit.search.query import search


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


@pytest.fixture(scope="module")
def box(busy_box: tuple[float, float, float, float], all_rows: pa.Table) -> tuple[float, ...]:
    return busy_box


@pytest.fixture(scope="module")
def ids(all_rows: pa.Table, busy_box: Any) -> list[str]:
    """Two ids inside the busy box."""
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = shapely.intersects(geoms, shapely.box(*busy_box))
    return sorted(all_rows.filter(pa.array(inside)).column("id").to_pylist())[:2]


def test_topk_export(corpus: Any, ids: list[str], box: Any, tmp_path: Path) -> None:
    pos, neg = ids
    result = search(corpus, box, positives=[pos], negatives=[neg], k=12)
    out = export(result, tmp_path / "hits.parquet")
    table = pq.read_table(out)
    assert table.column_names == [
        "id",
        "geometry",
        "bbox",
        "score",
        "rank",
        "view",
        "value",
        "role",
    ]
    assert table.column("role").to_pylist() == ["positive", "negative"] + ["result"] * 12
    assert table.column("id").to_pylist()[2:] == result.shown.column("id").to_pylist()
    assert table.column("rank").to_pylist() == [None, None, *range(1, 13)]
    assert set(table.column("view").to_pylist()) == {"topk"}
    geo = json.loads(table.schema.metadata[b"geo"])
    assert validate_geo_metadata(geo, table.schema) == []
    assert geo["version"] == "1.1.0" and geo["columns"]["geometry"]["geometry_types"] == ["Polygon"]
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    assert geo["columns"]["geometry"]["bbox"] == pytest.approx(list(shapely.total_bounds(geoms)))
    prov = json.loads(table.schema.metadata[QUERY_METADATA_KEY])
    assert prov["query"]["k"] == 12 and prov["query"]["view"] == "topk"
    assert [e["id"] for e in prov["exemplars"]] == [pos, neg]
    assert prov["stats"]["candidates"] == result.stats["candidates"]
    gdf = geopandas.read_parquet(out)
    assert len(gdf) == 14 and gdf.crs.to_string() == "OGC:CRS84"


def test_threshold_export_writes_only_shown_rows(
    corpus: Any, ids: list[str], box: Any, tmp_path: Path
) -> None:
    pos = ids[0]
    result = search(corpus, box, positives=[pos], view="threshold", k=5)
    out = export(result, tmp_path / "t.parquet")
    table = pq.read_table(out)
    n_shown = result.shown.num_rows
    assert n_shown < result.table.num_rows
    assert table.num_rows == 1 + n_shown
    prov = json.loads(table.schema.metadata[QUERY_METADATA_KEY])
    assert prov["view_extra"]["t"] == result.extra["t"]


def test_vector_exemplar_is_in_provenance_only(corpus: Any, box: Any, tmp_path: Path) -> None:
    import numpy as np

    result = search(corpus, box, positives=[np.ones(64, np.float32)], k=3)
    table = pq.read_table(export(result, tmp_path / "v.parquet"))
    assert table.column("role").to_pylist() == ["result"] * 3
    prov = json.loads(table.schema.metadata[QUERY_METADATA_KEY])
    assert prov["exemplars"] == [
        {"role": "positive", "kind": "vector", "key": "vector[0]", "id": None}
    ]


def test_empty_result_export(corpus: Any, all_rows: pa.Table, tmp_path: Path) -> None:
    pos = all_rows.column("id")[0].as_py()
    result = search(corpus, (-179.99, -89.99, -179.98, -89.98), positives=[pos])
    table = pq.read_table(export(result, tmp_path / "e.parquet"))
    assert table.column("role").to_pylist() == ["positive"]
    assert "outside" in json.loads(table.schema.metadata[QUERY_METADATA_KEY])["reason"]


def test_never_overwrites_without_flag(
    corpus: Any, all_rows: pa.Table, box: Any, tmp_path: Path
) -> None:
    result = search(corpus, box, positives=[all_rows.column("id")[0].as_py()], k=2)
    out = export(result, tmp_path / "o.parquet")
    with pytest.raises(OutputExistsError):
        export(result, out)
    export(result, out, overwrite=True)
    assert pq.read_table(out).num_rows == 3


@pytest.fixture(scope="module")
def kept_dir(tmp_path_factory: pytest.TempPathFactory, twin_input: Path) -> Path:
    """``twin_input`` with a pass-through ``kind`` column and an int8 rerank column."""
    import pyarrow.compute as pc

    from terrabit.corpus import publish

    table = pq.read_table(twin_input)
    kind = pc.if_else(pc.ends_with(table.column("id"), "-2024"), "later", "earlier")
    table = table.append_column("kind", kind)
    src = tmp_path_factory.mktemp("kept") / "in.parquet"
    pq.write_table(table, src)
    out = src.parent / "c"
    publish(src, out, keep=["kind"], rerank="int8", max_rows=250, show_progress=False)
    return out


def _shard_rows(root: Path) -> dict[str, dict[str, Any]]:
    """Every corpus row read with plain pyarrow: the oracle of the exported columns."""
    columns = ["id", "datetime", "kind", "embedding", "rerank", "bbox"]
    rows = pq.read_table(root / "shards", columns=columns)
    return {r.pop("id"): r for r in rows.to_pylist()}


def test_training_data_export(kept_dir: Path, box: Any, tmp_path: Path) -> None:
    """Every exported row carries the corpus's time, pass-through column and codes (as plain
    pyarrow reads them from the shards), its label state and probability; the split keeps
    whole grid blocks on one side."""
    truth = _shard_rows(kept_dir)
    with open_corpus(kept_dir) as c:
        some = search(c, box, k=40, view="outlier").shown.column("id").to_pylist()
        pos, neg = [i for i in some if i.endswith("-2024")][:2], [some[-1]]
        result = search(c, box, positives=pos, negatives=neg, score="classifier", k=30)
        out = export(result, tmp_path / "train.parquet", corpus=c, with_codes=True)
    table = pq.read_table(out)
    for name in ("datetime", "kind", "code", "rerank_code", "split", "probability"):
        assert name in table.column_names, name
    records = table.to_pylist()
    assert [r["role"] for r in records] == ["positive", "positive", "negative"] + ["result"] * 30
    for r in records:
        want = truth[r["id"]]
        assert (r["datetime"], r["kind"]) == (want["datetime"], want["kind"])
        assert (r["code"], r["rerank_code"]) == (want["embedding"], want["rerank"])
    shown_p = result.shown.column("probability").to_pylist()
    assert table.column("probability").to_pylist() == [None] * 3 + shown_p
    split = np.array(table.column("split").to_pylist())
    assert set(split) == {"train", "validation"}
    boxes = [truth[i]["bbox"] for i in table.column("id").to_pylist()]  # the coverings
    x = np.array([(b["xmin"] + b["xmax"]) / 2 for b in boxes])
    y = np.array([(b["ymin"] + b["ymax"]) / 2 for b in boxes])
    span = max(np.ptp(x), np.ptp(y)) / 16
    blocks = np.floor((x - x.min()) / span) * 1000 + np.floor((y - y.min()) / span)
    for b in np.unique(blocks):
        assert len(set(split[blocks == b])) == 1  # a block is never cut
    assert (split == "validation").mean() >= 0.2
    prov = json.loads(table.schema.metadata[QUERY_METADATA_KEY])
    assert prov["codes"]["code"] == "binary" and prov["codes"]["rerank_code"] == "int8"


def test_with_codes_needs_the_corpus(corpus: Any, ids: list[str], box: Any, tmp_path: Path) -> None:
    from terrabit.errors import InvalidInputError

    result = search(corpus, box, positives=ids[:1], k=3)
    with pytest.raises(InvalidInputError, match="pass corpus= as well"):
        export(result, tmp_path / "x.parquet", with_codes=True)
    assert not (tmp_path / "x.parquet").exists()
