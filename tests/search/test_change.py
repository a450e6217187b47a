"""view="change": each place's two years against a numpy brute force (places paired by
their geometry bytes in a dict, distances by unpackbits), the years chosen, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit.cli.main import TerrabitGroup
from terrabit.cli.search import search as search_command
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.errors import InvalidInputError
from terrabit.search.change import pick_years
from terrabit.search.query import search


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Any:
    with open_corpus(corpus_dir) as c:
        yield c


def _bits(code: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(code, np.uint8)).astype(np.int64)


def _pairs(all_rows: pa.Table, box: Any) -> dict[bytes, dict[int, tuple[str, bytes]]]:
    """geometry -> {year: (id, code)} of the rows meeting ``box`` (smallest id per year)."""
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = shapely.intersects(geoms, shapely.box(*box))
    places: dict[bytes, dict[int, tuple[str, bytes]]] = {}
    rows = zip(
        all_rows.column("id").to_pylist(),
        all_rows.column("geometry").to_pylist(),
        all_rows.column("embedding").to_pylist(),
        all_rows.column("datetime").to_pylist(),
        inside,
        strict=True,
    )
    for i, g, code, when, keep in rows:
        if keep:
            slot = places.setdefault(g, {})
            if when.year not in slot or i < slot[when.year][0]:
                slot[when.year] = (i, code)
    return places


def test_change_equals_brute_force(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    places = _pairs(all_rows, busy_box)
    truth = []
    for slot in places.values():
        if 2023 in slot and 2024 in slot:
            d = int((_bits(slot[2023][1]) != _bits(slot[2024][1])).sum())
            truth.append((-d, slot[2024][0], slot[2023][0]))
    truth.sort()
    result = search(corpus, busy_box, view="change", k=15)
    t = result.table
    assert result.stats["places"] == len(truth) == t.num_rows
    assert result.extra["years"] == [2023, 2024]
    got = list(
        zip(
            (-v for v in t.column("value").to_pylist()),
            t.column("id").to_pylist(),
            t.column("earlier").to_pylist(),
            strict=True,
        )
    )
    assert got == truth
    assert t.column("rank").to_pylist() == list(range(1, len(truth) + 1))
    assert t.column("score").to_pylist() == [-v for v in t.column("value").to_pylist()]
    assert result.shown.num_rows == 15


def test_change_toward_exemplars_equals_brute_force(
    corpus: Any, all_rows: pa.Table, busy_box: Any
) -> None:
    places = _pairs(all_rows, busy_box)
    ids = sorted(slot[2024][0] for slot in places.values() if 2024 in slot)
    pos, neg = ids[:2], ids[5:6]
    codes = dict(
        zip(
            all_rows.column("id").to_pylist(), all_rows.column("embedding").to_pylist(), strict=True
        )
    )

    def s(code: bytes) -> float:
        d = [int((_bits(code) != _bits(codes[e])).sum()) for e in pos]
        n = [int((_bits(code) != _bits(codes[e])).sum()) for e in neg]
        return float(np.mean(d) - np.mean(n))

    truth = []
    for slot in places.values():
        later, earlier = slot.get(2024), slot.get(2023)
        if later and earlier and later[0] not in pos + neg:
            truth.append((s(later[1]) - s(earlier[1]), later[0]))
    truth.sort()
    result = search(corpus, busy_box, positives=pos, negatives=neg, view="change", k=5)
    got = list(
        zip(
            result.table.column("score").to_pylist(),
            result.table.column("id").to_pylist(),
            strict=True,
        )
    )
    assert [g[1] for g in got] == [t[1] for t in truth]
    np.testing.assert_allclose([g[0] for g in got], [t[0] for t in truth], atol=1e-9)
    assert result.table.column("value").to_pylist() == result.table.column("score").to_pylist()


def test_change_with_classifier_scores(corpus: Any, all_rows: pa.Table, busy_box: Any) -> None:
    """s(later) - s(earlier) with s = 1 - p: the classifier's heatmap gives both."""
    places = _pairs(all_rows, busy_box)
    pos = sorted(slot[2024][0] for slot in places.values() if 2024 in slot)[:2]
    heat = search(corpus, busy_box, positives=pos, view="heatmap", score="classifier")
    s = dict(
        zip(
            heat.table.column("id").to_pylist(), heat.table.column("score").to_pylist(), strict=True
        )
    )
    truth = sorted(
        (s[slot[2024][0]] - s[slot[2023][0]], slot[2024][0])
        for slot in places.values()
        if 2023 in slot and 2024 in slot and slot[2024][0] not in pos
    )
    result = search(corpus, busy_box, positives=pos, view="change", k=5, score="classifier")
    assert result.table.column("id").to_pylist() == [t[1] for t in truth]


def test_years_pick_the_pair(
    tmp_path: Path, twin_input: Path, corpus_dir: Path, busy_box: Any
) -> None:
    table = pq.read_table(twin_input)
    when = table.column("datetime")
    # a third year: the 2024 rows again, a year later (their places change by nothing)
    later = table.filter(pc.equal(pc.year(when), 2024))
    shifted = pc.add(later.column("datetime"), pa.scalar(365 * 86_400_000_000, pa.duration("us")))
    later = later.set_column(
        later.schema.get_field_index("datetime"), "datetime", shifted
    ).set_column(0, "id", pc.replace_substring(later.column("id"), "-2024", "-2025"))
    three = pa.concat_tables([table, later.cast(table.schema)])
    pq.write_table(three.replace_schema_metadata(table.schema.metadata), tmp_path / "in.parquet")
    publish(tmp_path / "in.parquet", tmp_path / "c", max_rows=400, show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        latest = search(c, busy_box, view="change", k=3)
        assert latest.extra["years"] == [2024, 2025]
        assert set(latest.table.column("value").to_pylist()) == {0.0}  # copies: no change
        first = search(c, busy_box, view="change", years=(2024, 2023), k=3)
        assert first.extra["years"] == [2023, 2024] and first.query["years"] == [2023, 2024]
        with open_corpus(corpus_dir) as two:
            pair = search(two, busy_box, view="change", k=3)
        assert first.table.column("id").to_pylist() == pair.table.column("id").to_pylist()


def test_one_year_corpus_names_years(tmp_path: Path, twin_input: Path, busy_box: Any) -> None:
    table = pq.read_table(twin_input)
    one = table.filter(pc.equal(pc.year(table.column("datetime")), 2024))
    pq.write_table(one, tmp_path / "in.parquet")
    publish(tmp_path / "in.parquet", tmp_path / "c", show_progress=False)
    message = r"every row of this corpus is from 2024: no years="
    with open_corpus(tmp_path / "c") as c, pytest.raises(InvalidInputError, match=message) as info:
        search(c, busy_box, view="change")
    assert "\n" not in str(info.value) and "years" in info.value.params


def test_region_with_one_year_names_years() -> None:
    with pytest.raises(InvalidInputError, match=r"rows are from 2024 only; .*years=\(A, B\)"):
        pick_years(np.array([2024, 2024, -1]), None, None)
    assert pick_years(np.array([2021, 2024, 2022]), None, None) == (2022, 2024)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"years": (2023, 2024)}, r"years=\(2023, 2024\) picks the pair that view 'change'"),
        ({"view": "change", "year": 2024}, "drop year"),
        ({"view": "change", "years": (2024, 2024)}, "pair of different calendar year numbers"),
        ({"view": "change", "years": ("a", 1)}, "pair of different calendar year numbers"),
        ({"view": "change", "years": (2020, 2024)}, r"lie outside the corpus's span 2023-2024"),
        ({"view": "change", "negatives": ["x"]}, "needs at least one positive"),
    ],
)
def test_bad_change_input(corpus: Any, busy_box: Any, kw: dict[str, Any], message: str) -> None:
    if kw.get("negatives"):
        kw = {**kw, "negatives": [_first_id(corpus)]}
    with pytest.raises(InvalidInputError, match=message) as info:
        search(corpus, busy_box, **kw)
    assert "\n" not in str(info.value)


def _first_id(corpus: Any) -> str:
    return str(corpus.read(columns=["id"]).column("id")[0].as_py())


@click.group(cls=TerrabitGroup)
def cli() -> None:
    """Test group with the search command."""


cli.add_command(search_command)


def test_cli_change_and_years(corpus: Any, corpus_dir: Path, busy_box: Any) -> None:
    box = ",".join(repr(v) for v in busy_box)
    runner = CliRunner()
    res = runner.invoke(
        cli, ["search", str(corpus_dir), "--bbox", box, "--view", "change", "-k", "4", "--json"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["results"]
    api = search(corpus, busy_box, view="change", k=4)
    assert [r["id"] for r in rows] == api.shown.column("id").to_pylist()
    res = runner.invoke(
        cli, ["search", str(corpus_dir), "--bbox", box, "--view", "change", "--years", "2020,2024"]
    )
    assert res.exit_code != 0
    assert "--years (2020, 2024) lie outside the corpus's span 2023-2024" in res.stderr
    res = runner.invoke(cli, ["search", str(corpus_dir), "--bbox", box, "--years", "2023"])
    assert res.exit_code != 0 and "--years 2023,2024" in res.stderr
    table = runner.invoke(cli, ["search", str(corpus_dir), "--bbox", box, "--view", "change"])
    assert table.exit_code == 0 and "earlier" in table.stdout


def test_cli_classifier(corpus: Any, corpus_dir: Path, busy_box: Any, all_rows: pa.Table) -> None:
    box = ",".join(repr(v) for v in busy_box)
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = np.flatnonzero(shapely.intersects(geoms, shapely.box(*busy_box)))
    a = sorted(all_rows.column("id").take(pa.array(inside)).to_pylist())[0]
    runner = CliRunner()
    args = ["search", str(corpus_dir), "--bbox", box, "--positive", a, "-k", "6"]
    res = runner.invoke(cli, [*args, "--score", "classifier", "--json"])
    assert res.exit_code == 0, res.output
    api = search(corpus, busy_box, positives=[a], k=6, score="classifier")
    assert [r["id"] for r in json.loads(res.stdout)["results"]] == api.shown.column(
        "id"
    ).to_pylist()
    res = runner.invoke(cli, ["search", str(corpus_dir), "--bbox", box, "--score", "classifier"])
    assert res.exit_code != 0
    assert "--score classifier learns from positive examples and got none" in res.stderr
    res = runner.invoke(cli, [*args, "--score", "classifier"])
    assert res.exit_code == 0 and "probability" in res.stdout
