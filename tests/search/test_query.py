"""search(): brute-force oracle (pyarrow + numpy unpackbits + shapely), exemplars, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import open as open_corpus
from terrabit.errors import InvalidInputError, RegionError
from terrabit.region import Region
from terrabit.search.candidates import dedupe_rows
from terrabit.search.query import search

Brute = Callable[..., list[tuple[float, str]]]


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


def _ids_in(all_rows: pa.Table, box: tuple[float, ...], n: int, year: str = "2023") -> list[str]:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    ids = np.array(all_rows.column("id").to_pylist())
    inside = shapely.intersects(geoms, shapely.box(*box)) & np.char.endswith(ids.astype(str), year)
    return sorted(ids[inside].tolist())[:n]


def _pairs(result: Any) -> list[tuple[float, str]]:
    shown = result.shown
    return list(zip(shown.column("score").to_pylist(), shown.column("id").to_pylist(), strict=True))


@pytest.mark.parametrize(
    ("npos", "nneg", "combine", "invert"),
    [
        (1, 0, "mean", False),
        (2, 1, "mean", False),
        (3, 0, "majority", False),
        (2, 0, "and", False),
        (2, 1, "or", False),
        (3, 0, "xor", False),
        (1, 0, "mean", True),
        (2, 1, "mean", True),
    ],
)
def test_topk_equals_brute_force(
    corpus: Any,
    all_rows: pa.Table,
    busy_box: Any,
    brute_force: Brute,
    npos: int,
    nneg: int,
    combine: str,
    invert: bool,
) -> None:
    ex = _ids_in(all_rows, busy_box, npos + nneg)
    pos, neg = ex[:npos], ex[npos:]
    result = search(
        corpus, busy_box, positives=pos, negatives=neg, combine=combine, invert=invert, k=25
    )
    expected = brute_force(shapely.box(*busy_box), pos, neg, combine, invert)
    assert result.stats["candidates"] == len(expected)
    assert _pairs(result) == expected[:25]
    assert result.shown.column("rank").to_pylist() == list(range(1, 26))


def test_heatmap_and_threshold_rank_every_candidate(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    expected = brute_force(shapely.box(*busy_box), pos)
    heat = search(corpus, busy_box, positives=pos, view="heatmap")
    assert (
        list(
            zip(
                heat.table.column("score").to_pylist(),
                heat.table.column("id").to_pylist(),
                strict=True,
            )
        )
        == expected
    )
    values = np.array(heat.table.column("value").to_pylist())
    assert values.min() == 0.0 and values.max() == 1.0
    thr = search(corpus, busy_box, positives=pos, view="threshold", k=10)
    cut = expected[9][0]
    assert _pairs(thr) == [p for p in expected if p[0] <= cut]
    assert sum(thr.extra["histogram"]["counts"]) == len(expected)


def test_polygon_region_and_year(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    x0, y0, x1, y1 = busy_box
    tri = shapely.Polygon([(x0, y0), (x1, y0), (x0, y1)])
    pos = _ids_in(all_rows, busy_box, 1)
    result = search(corpus, tri, positives=pos, year=2024, k=15)
    expected = brute_force(tri, pos, year=2024)
    assert _pairs(result) == expected[:15]
    assert all(i.endswith("-2024") for i in result.shown.column("id").to_pylist())


def test_geojson_and_region_object_give_same_result(
    corpus: Any, all_rows: pa.Table, busy_box: Any
) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    a = search(corpus, busy_box, positives=pos, k=10)
    b = search(corpus, Region.from_bbox(busy_box).to_geojson(), positives=pos, k=10)
    assert _pairs(a) == _pairs(b)


def test_point_exemplar_fetched_outside_region(
    corpus: Any, all_rows: pa.Table, busy_box: Any
) -> None:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    ids = all_rows.column("id").to_pylist()
    outside = next(i for i, g in enumerate(geoms) if not g.intersects(shapely.box(*busy_box)))
    c = shapely.centroid(geoms[outside])
    place = ids[outside].rsplit("-", 1)[0]
    by_point = search(corpus, busy_box, positives=[(c.x, c.y)], k=10)
    assert by_point.exemplars[0].id == f"{place}-2023"  # both years cover it: the lowest id
    assert by_point.exemplars[0].kind == "point"
    by_id = search(corpus, busy_box, positives=[f"{place}-2023"], k=10)
    assert _pairs(by_point) == _pairs(by_id)
    in_2024 = search(corpus, busy_box, positives=[(c.x, c.y)], k=10, year=2024)
    assert in_2024.exemplars[0].id == f"{place}-2024"  # the time filter is preferred


def test_vector_exemplar_encoded_with_corpus_codec(
    corpus: Any, twin_input: Path, busy_box: Any, brute_force: Brute
) -> None:
    table = pq.read_table(twin_input, columns=["id", "embedding"])
    vec = np.asarray(table.column("embedding")[0].values.to_numpy(), dtype=np.float32)
    ident = table.column("id")[0].as_py()
    result = search(corpus, busy_box, positives=[vec], k=20, asymmetric=False)
    assert result.exemplars[0].kind == "vector"
    assert result.exemplars[0].code.tolist() == corpus.codec.encode(vec[None])[0].tolist()
    expected = brute_force(shapely.box(*busy_box), [ident])
    got = [p for p in _pairs(result) if p[1] != ident]
    assert got == expected[: len(got)]


def test_exemplars_are_excluded(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    pos = _ids_in(all_rows, busy_box, 2)
    result = search(corpus, busy_box, positives=pos, view="heatmap")
    assert not set(pos) & set(result.table.column("id").to_pylist())


def test_dedupe_keeps_one_row_per_place(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    result = search(corpus, busy_box, positives=pos, k=30, dedupe=True)
    shown = result.shown.column("id").to_pylist()
    places = [i.rsplit("-", 1)[0] for i in shown]
    assert len(set(places)) == len(places) == 30
    assert pos[0].rsplit("-", 1)[0] not in places  # the exemplar's other year is dropped
    expected, seen = [], {pos[0].rsplit("-", 1)[0]}
    for s, i in brute_force(shapely.box(*busy_box), pos):
        if i.rsplit("-", 1)[0] not in seen:
            seen.add(i.rsplit("-", 1)[0])
            expected.append((s, i))
    assert _pairs(result) == expected[:30]


def test_dedupe_rows_ties_break_by_id() -> None:
    geom = pa.array([b"x", b"x", b"y"])
    assert dedupe_rows(geom, np.array([1.0, 1.0, 0.0]), np.array([1, 0, 2])).tolist() == [1, 2]


@pytest.mark.parametrize("view", ["outlier", "surprise"])
def test_views_without_exemplars(corpus: Any, busy_box: Any, view: str) -> None:
    result = search(corpus, busy_box, view=view)  # type: ignore[arg-type]
    n = result.stats["candidates"]
    assert result.table.num_rows == n > 0
    assert sorted(result.table.column("rank").to_pylist()) == list(range(1, n + 1))
    values = np.array(result.table.column("value").to_pylist())
    assert (np.diff(values) <= 0).all()  # rank 1 = most outlying / surprising


def test_gradient_view(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    result = search(corpus, busy_box, positives=pos, view="gradient")
    assert result.shown.num_rows == result.stats["candidates"]


def test_rerank_recall_against_float32(rerank_dir: Path, twin_input: Path, busy_box: Any) -> None:
    inp = pq.read_table(twin_input)
    geoms = shapely.from_wkb(inp.column("geometry").to_numpy(zero_copy_only=False))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*busy_box)))
    X = inp.column("embedding").combine_chunks().values.to_numpy().reshape(inp.num_rows, -1)
    ids = np.array(inp.column("id").to_pylist())
    q = int(inside[0])
    Xn = X[inside] / np.linalg.norm(X[inside], axis=1, keepdims=True)
    cos = Xn @ (X[q] / np.linalg.norm(X[q]))
    order = [i for i in np.argsort(-cos, kind="stable") if inside[i] != q]
    truth = set(ids[inside[order[:10]]])
    with open_corpus(rerank_dir) as c:
        result = search(c, busy_box, positives=[str(ids[q])], k=10)
        plain = search(c, busy_box, positives=[str(ids[q])], k=10, rerank=False)
    assert result.stats["reranked"] == min(1000, result.stats["candidates"])
    assert "hamming" in result.table.column_names and "hamming" not in plain.table.column_names
    recall = len(truth & set(result.shown.column("id").to_pylist())) / 10
    plain_recall = len(truth & set(plain.shown.column("id").to_pylist())) / 10
    assert recall >= 0.9
    assert recall >= plain_recall


def test_to_geodataframe(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    gdf = search(corpus, busy_box, positives=pos, k=7).to_geodataframe()
    assert len(gdf) == 7 and gdf.crs.to_string() == "OGC:CRS84"
    assert list(gdf["rank"]) == list(range(1, 8))


def test_stats(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    stats = search(corpus, busy_box, positives=pos, k=5).stats
    assert set(stats) >= {"shards_read", "bytes_read", "candidates", "seconds"}
    assert 0 < stats["shards_read"] < len(corpus.manifest)
    assert stats["seconds"] > 0


# ----------------------------------------------------------------------- bad input


def test_region_outside_corpus_is_an_empty_stated_result(corpus: Any, all_rows: pa.Table) -> None:
    pos = all_rows.column("id")[0].as_py()
    result = search(corpus, (-179.99, -89.99, -179.98, -89.98), positives=[pos])
    assert result.table.num_rows == 0 and "outside the corpus" in (result.reason or "")
    assert result.to_json()["results"] == []


def test_unknown_ids(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown exemplar ids \['nope-1', 'nope-2'\]"):
        search(corpus, busy_box, positives=["nope-2", "nope-1"])


def test_point_without_patch(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"no patch at -179\.99,-89\.99"):
        search(corpus, busy_box, positives=[(-179.99, -89.99)])


def test_vector_of_wrong_dim(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match="this corpus embeds 64 dimensions"):
        search(corpus, busy_box, positives=[np.zeros(12, np.float32)])


@pytest.mark.parametrize("k", [0, -3])
def test_k_must_be_positive(corpus: Any, busy_box: Any, k: int) -> None:
    with pytest.raises(InvalidInputError, match="k must be a positive integer"):
        search(corpus, busy_box, positives=["x"], k=k)


def test_view_needs_a_positive(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match="needs at least one positive"):
        search(corpus, busy_box, view="topk")


def test_bad_view_and_region(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match="view"):
        search(corpus, busy_box, positives=["x"], view="nope")  # type: ignore[arg-type]
    with pytest.raises(RegionError, match="out of range"):
        search(corpus, (0, 0, 200, 1), positives=["x"])


def test_max_candidates(corpus: Any, all_rows: pa.Table) -> None:
    with pytest.raises(InvalidInputError, match="more than max_candidates=10"):
        search(corpus, None, positives=[all_rows.column("id")[0].as_py()], max_candidates=10)


def test_cached_region_reads_respect_time_and_columns(
    corpus: Any, all_rows: pa.Table, busy_box: Any, brute_force: Brute
) -> None:
    pos = _ids_in(all_rows, busy_box, 1)
    for year in (2023, 2024, None, 2023):  # the region read is cached per (region, time)
        result = search(corpus, busy_box, positives=pos, year=year, k=10)
        assert _pairs(result) == brute_force(shapely.box(*busy_box), pos, year=year)[:10]


def test_bad_rerank_shortlist(corpus: Any, busy_box: Any) -> None:
    with pytest.raises(InvalidInputError, match="rerank_shortlist must be a positive integer"):
        search(corpus, busy_box, positives=["x"], rerank_shortlist=0)


def test_antimeridian_region(tmp_path: Path) -> None:
    import json

    from terrabit.corpus import publish
    from terrabit.geoparquet import crs84_projjson

    rng = np.random.default_rng(3)
    lon = np.concatenate([rng.uniform(179.0, 179.98, 30), rng.uniform(-179.98, -179.0, 30)])
    lon = np.concatenate([lon, rng.uniform(-10, 10, 20)])
    lat = rng.uniform(-0.9, 0.9, lon.size)
    geoms = shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    X = rng.normal(size=(lon.size, 16)).astype(np.float32)
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {"encoding": "WKB", "geometry_types": ["Polygon"], "crs": crs84_projjson()}
        },
    }
    table = pa.table(
        {
            "id": [f"r{i:03d}" for i in range(lon.size)],
            "geometry": pa.array(shapely.to_wkb(geoms), pa.binary()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 16),
        }
    ).replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, tmp_path / "in.parquet")
    publish(tmp_path / "in.parquet", tmp_path / "c", max_rows=10, show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        result = search(c, (179.0, -1.0, -179.0, 1.0), positives=["r000"], view="heatmap")
    got = sorted(result.table.column("id").to_pylist())
    assert got == [f"r{i:03d}" for i in range(1, 60)]  # both sides of 180, nothing else
    codes = np.packbits(X > 0, axis=1)
    d = np.unpackbits(codes[1:60] ^ codes[0], axis=1).sum(axis=1)
    expected = sorted(
        zip(d.astype(float).tolist(), [f"r{i:03d}" for i in range(1, 60)], strict=True)
    )
    assert (
        list(
            zip(
                result.table.column("score").to_pylist(),
                result.table.column("id").to_pylist(),
                strict=True,
            )
        )
        == expected
    )


def test_point_exemplar_reads_little(corpus_dir: Path, all_rows: pa.Table) -> None:
    from terrabit.search.resolve import resolve_exemplars

    g = shapely.from_wkb(all_rows.column("geometry")[100].as_py())
    with open_corpus(corpus_dir, verify="footer") as c:
        before = c.bytes_read
        (ex,) = resolve_exemplars(c, [(g.centroid.x, g.centroid.y)], [])
        used = c.bytes_read - before
        total = int(c.metadata["bytes"])
    assert (
        ex.id is not None
        and ex.id.rsplit("-", 1)[0] == all_rows.column("id")[100].as_py().rsplit("-", 1)[0]
    )
    assert used < total / 10  # one shard's footer and a row group or two, not the corpus


def test_non_hamming_codec_is_refused(twin_input: Path, tmp_path: Path) -> None:
    from terrabit.corpus import publish

    publish(twin_input, tmp_path / "c", codec="int8", max_rows=5000, show_progress=False)
    with (
        open_corpus(tmp_path / "c") as c,
        pytest.raises(InvalidInputError, match="not a Hamming codec"),
    ):
        search(c, None, positives=["x"])


def test_asymmetric_scores_equal_numpy_oracle(
    corpus: Any, all_rows: pa.Table, busy_box: Any, twin_input: Path
) -> None:
    vec = np.asarray(
        pq.read_table(twin_input, columns=["embedding"]).column("embedding")[5].values.to_numpy(),
        dtype=np.float64,
    )
    result = search(corpus, busy_box, positives=[vec], asymmetric=True, view="heatmap")
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = shapely.intersects(geoms, shapely.box(*busy_box))
    rows = all_rows.filter(pa.array(inside))
    codes = np.frombuffer(b"".join(rows.column("embedding").to_pylist()), np.uint8).reshape(
        rows.num_rows, -1
    )
    signs = np.unpackbits(codes, axis=1).astype(np.float64) * 2 - 1  # binary: threshold 0
    expected_scores = -(signs @ vec) / (np.linalg.norm(vec) * np.sqrt(signs.shape[1]))
    expected = sorted(
        zip(expected_scores.round(9).tolist(), rows.column("id").to_pylist(), strict=True)
    )
    got = list(
        zip(
            np.round(result.table.column("score").to_numpy(), 9).tolist(),
            result.table.column("id").to_pylist(),
            strict=True,
        )
    )
    assert got == expected


def test_asymmetric_with_rerank_codes_and_errors(
    corpus: Any, rerank_dir: Path, all_rows: pa.Table, busy_box: Any
) -> None:
    ident = _ids_in(all_rows, busy_box, 1)
    with open_corpus(rerank_dir) as c:
        result = search(c, busy_box, positives=ident, asymmetric=True, k=10)
    assert result.shown.num_rows == 10 and result.query["asymmetric"]
    with pytest.raises(InvalidInputError, match="needs a float vector for exemplar"):
        search(corpus, busy_box, positives=ident, asymmetric=True)
    with pytest.raises(InvalidInputError, match="combine='mean' and no invert"):
        search(corpus, busy_box, positives=ident, asymmetric=True, combine="or")


def test_corpus_read_accepts_region_and_corpus_search(
    corpus: Any, all_rows: pa.Table, busy_box: Any
) -> None:
    region = Region.from_bbox(busy_box)
    a = corpus.read(region, columns=["id"]).column("id").to_pylist()
    b = corpus.read(busy_box, columns=["id"]).column("id").to_pylist()
    assert a == b and a
    crossing = Region.from_bbox((179.0, -1.0, -179.0, 1.0))
    assert (
        corpus.read(crossing, columns=["id"]).num_rows
        == corpus.read((179.0, -1.0, -179.0, 1.0), columns=["id"]).num_rows
    )
    pos = _ids_in(all_rows, busy_box, 1)
    assert _pairs(search(corpus, region, positives=pos, k=9)) == _pairs(
        search(corpus, busy_box, positives=pos, k=9)
    )
