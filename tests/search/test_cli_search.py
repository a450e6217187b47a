"""``terrabit search`` through a click group like the real one (parses --json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit.cli.main import TerrabitGroup
from terrabit.cli.search import search

Brute = Callable[..., list[tuple[float, str]]]


@click.group(cls=TerrabitGroup)
def cli() -> None:
    """Test group with the search command (the real group registers it lazily)."""


cli.add_command(search)


def _run(*args: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _bbox(box: tuple[float, ...]) -> str:
    return ",".join(repr(v) for v in box)


@pytest.fixture(scope="module")
def inside(all_rows: pa.Table, busy_box: Any) -> list[str]:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    keep = shapely.intersects(geoms, shapely.box(*busy_box))
    return sorted(all_rows.filter(pa.array(keep)).column("id").to_pylist())


def test_json_equals_brute_force(
    corpus_dir: Path, busy_box: Any, inside: list[str], brute_force: Brute
) -> None:
    code, out, err = _run(
        "search",
        corpus_dir,
        "--bbox",
        _bbox(busy_box),
        "--positive",
        inside[0],
        "--negative",
        inside[1],
        "-k",
        15,
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data["stats"]) >= {"shards_read", "bytes_read", "candidates", "seconds"}
    got = [(r["score"], r["id"]) for r in data["results"]]
    assert got == brute_force(shapely.box(*busy_box), [inside[0]], [inside[1]])[:15]
    assert [r["rank"] for r in data["results"]] == list(range(1, 16))


def test_point_exemplar_combine_and_output(
    corpus_dir: Path, busy_box: Any, inside: list[str], all_rows: pa.Table, tmp_path: Path
) -> None:
    row = all_rows.filter(pa.compute.equal(all_rows.column("id"), inside[2]))
    c = shapely.from_wkb(row.column("geometry")[0].as_py()).centroid
    out = tmp_path / "hits.parquet"
    args = [
        "search",
        corpus_dir,
        "--bbox",
        _bbox(busy_box),
        "--positive",
        f"{c.x!r},{c.y!r}",
        "--positive",
        inside[3],
        "--combine",
        "or",
        "-k",
        5,
        "-o",
        out,
        "--json",
    ]
    code, stdout, err = _run(*args)
    assert code == 0, err
    assert len(json.loads(stdout)["results"]) == 5
    table = pq.read_table(out)
    assert table.column("role").to_pylist() == ["positive", "positive"] + ["result"] * 5
    code, _, err = _run(*args)
    assert code == 1 and "exists" in err
    code, _, err = _run(*args, "--overwrite")
    assert code == 0, err
    code, _, err = _run(*args, "--overwrite", "--with-codes")
    assert code == 0, err
    table = pq.read_table(out)
    assert {"code", "split", "datetime"} <= set(table.column_names)
    want = all_rows.filter(pa.compute.is_in(all_rows.column("id"), table.column("id")))
    assert table.schema.field("code").type == want.schema.field("embedding").type


def test_region_file_year_dedupe_and_views(
    corpus_dir: Path, busy_box: Any, inside: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.geojson"
    path.write_text(json.dumps(shapely.geometry.mapping(shapely.box(*busy_box))))
    for view in ("heatmap", "threshold", "outlier", "surprise", "gradient"):
        code, out, err = _run(
            "search",
            corpus_dir,
            "--region",
            path,
            "--positive",
            inside[0],
            "--view",
            view,
            "--year",
            2024,
            "--dedupe",
            "--json",
        )
        assert code == 0, (view, err)
        ids = [r["id"] for r in json.loads(out)["results"]]
        assert ids and all(i.endswith("-2024") for i in ids)


def test_global(corpus_dir: Path, inside: list[str], brute_force: Brute) -> None:
    code, out, err = _run(
        "search", corpus_dir, "--global", "--positive", inside[0], "-k", 7, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert [(r["score"], r["id"]) for r in data["results"]] == brute_force(None, [inside[0]])[:7]
    assert data["stats"]["shards_scanned"] <= data["stats"]["shards_total"]


def test_human_table(corpus_dir: Path, busy_box: Any, inside: list[str]) -> None:
    code, out, err = _run(
        "search", corpus_dir, "--bbox", _bbox(busy_box), "--positive", inside[0], "-k", 3
    )
    assert code == 0, err
    assert inside[0] not in out  # the exemplar is not a result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--positive", "nope"], "Error: unknown exemplar ids ['nope']"),
        (["--positive", "-179.99,-89.99"], "Error: no patch at -179.99,-89.99"),
        (["--bbox", "0,0,1,1", "--region", "x.geojson"], "either --bbox or --region"),
        ([], "pass a region"),
        (["-k", "0"], "must be at least 1"),
        (["--positive", "x", "--with-codes"], "--with-codes writes codes into the --output file"),
        (
            ["--positive", "x", "--max-shards", "3"],
            "Error: --max-shards 3 limits a global search; add --global, or drop --max-shards",
        ),
    ],
)
def test_errors(corpus_dir: Path, busy_box: Any, args: list[str], message: str) -> None:
    base = ["search", corpus_dir]
    if "--bbox" not in args and args:
        base += ["--bbox", _bbox(busy_box)]
    code, _, err = _run(*base, *args)
    assert code != 0
    assert message in err


def test_invalid_region_file(corpus_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}')
    code, _, err = _run("search", corpus_dir, "--region", path, "--positive", "x")
    assert code == 1 and "is not closed" in err


def test_asymmetric_flag(rerank_dir: Path, busy_box: Any, inside: list[str]) -> None:
    code, out, err = _run(
        "search", rerank_dir, "--bbox", _bbox(busy_box), "--positive", inside[0],
        "--asymmetric", "-k", 4, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)["results"]) == 4


@pytest.fixture(scope="module")
def labelled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus with pass-through columns ``label`` and ``year``."""
    from terrabit.corpus import publish
    from terrabit.corpus._fixture import write_input

    root = tmp_path_factory.mktemp("search-labelled")
    src = write_input(root / "in.parquet", rows=300, dims=16, seed=2)
    publish(src, root / "c", keep=["label", "year"], max_rows=60, show_progress=False)
    return root / "c"


def test_human_table_shows_passthrough_columns(labelled_dir: Path) -> None:
    from terrabit.corpus import open as open_corpus
    from terrabit.search.attributes import passthrough_columns, row_attributes
    from terrabit.search.query import search as run_search

    src = pq.read_table(labelled_dir.parent / "in.parquet", columns=["id", "label", "year"])
    truth = {r["id"]: (r["label"], r["year"]) for r in src.to_pylist()}
    with open_corpus(labelled_dir) as c:
        assert passthrough_columns(c) == ["label", "year"]
        result = run_search(c, None, positives=["p000000007"], k=40)
        attrs = row_attributes(c, result.shown)
    assert sorted(attrs) == sorted(result.shown.column("id").to_pylist())
    assert all((a["label"], a["year"]) == truth[i] for i, a in attrs.items())
    code, out, err = _run("search", labelled_dir, "--global", "--positive", "p000000007", "-k", 3)
    assert code == 0, err
    header = next(line for line in out.splitlines() if " rank " in line or "rank" in line.split())
    assert "label" in header and "year" in header
    best = result.shown.column("id")[0].as_py()
    best_line = next(line for line in out.splitlines() if best in line)
    assert truth[best][0] in best_line
    code, out, err = _run(
        "search", labelled_dir, "--global", "--positive", "p000000007", "-k", 3, "--json"
    )
    assert code == 0, err
    assert set(json.loads(out)["results"][0]) == {"id", "score", "rank"}  # --json unchanged


def test_vector_file_is_a_positive(
    corpus_dir: Path,
    twin_input: Path,
    busy_box: Any,
    inside: list[str],
    brute_force: Brute,
    tmp_path: Path,
) -> None:
    """A row's own float embedding, given as a vector file and scored by Hamming distance
    (--no-asymmetric), finds that row first (distance 0: the same code) and then exactly
    the rows searching by its id finds (brute force)."""
    table = pq.read_table(twin_input, columns=["id", "embedding"])
    i = table.column("id").to_pylist().index(inside[0])
    vector = np.asarray(table.column("embedding")[i].as_py(), dtype=np.float32)
    np.save(tmp_path / "q.npy", vector)
    (tmp_path / "q.json").write_text(json.dumps([vector.tolist()]))
    want = brute_force(shapely.box(*busy_box), [inside[0]])[:9]
    for name in ("q.npy", "q.json"):
        code, out, err = _run(
            "search", corpus_dir, "--bbox", _bbox(busy_box), "--vector", tmp_path / name,
            "-k", 10, "--json", "--no-asymmetric",
        )  # fmt: skip
        assert code == 0, err
        got = [(r["score"], r["id"]) for r in json.loads(out)["results"]]
        assert got[0] == (0.0, inside[0]) and got[1:] == want


def test_bad_vector_files(corpus_dir: Path, busy_box: Any, tmp_path: Path) -> None:
    (tmp_path / "short.json").write_text("[1.0, 2.0]")
    (tmp_path / "nan.json").write_text(json.dumps([[float("nan")] * 64]).replace("NaN", "NaN"))
    (tmp_path / "text.npy").write_text("not numpy")
    code, _, err = _run(
        "search", corpus_dir, "--bbox", _bbox(busy_box), "--vector", tmp_path / "short.json"
    )
    assert code == 1 and "holds 2-d vectors, but this corpus embeds 64 dimensions" in err
    code, _, err = _run(
        "search", corpus_dir, "--bbox", _bbox(busy_box), "--vector", tmp_path / "nan.json"
    )
    assert code == 1 and "rows [0] hold NaN or infinite values" in err
    code, _, err = _run(
        "search", corpus_dir, "--bbox", _bbox(busy_box), "--negative-vector", tmp_path / "text.npy"
    )
    assert code == 1 and "is not a readable .npy file" in err and "allow_pickle" not in err
