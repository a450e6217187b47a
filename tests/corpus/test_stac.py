"""``collection.json``: the STAC Collection beside the manifest passes pystac's validator
(offline), states the extent that DuckDB and a hand-written WKB reader find in the shards,
is named as asked, and ``validate`` reports it missing or wrong."""

from __future__ import annotations

import json
import re
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish, stac, validate_corpus
from terrabit.corpus._fixture import write_input

from ..conftest import validate_stac_offline

pystac = pytest.importorskip("pystac")
pytest.importorskip("jsonschema", reason="pystac[validation] validates with jsonschema")


def _wkb_xy(data: bytes) -> list[tuple[float, float]]:
    """Every (x, y) of a little-endian 2D ISO WKB Point, Polygon or MultiPolygon: an
    oracle of the extent that does not use shapely or terrabit."""
    out: list[tuple[float, float]] = []

    def geometry(at: int) -> int:
        assert data[at] == 1, "little-endian WKB"
        (kind,) = struct.unpack_from("<I", data, at + 1)
        at += 5
        if kind == 1:
            out.append(struct.unpack_from("<2d", data, at))
            return at + 16
        if kind == 3:
            (rings,) = struct.unpack_from("<I", data, at)
            at += 4
            for _ in range(rings):
                (n,) = struct.unpack_from("<I", data, at)
                at += 4
                out.extend(struct.unpack_from("<2d", data, at + 16 * i) for i in range(n))
                at += 16 * n
            return at
        assert kind == 6, f"geometry type {kind}"
        (parts,) = struct.unpack_from("<I", data, at)
        at += 4
        for _ in range(parts):
            at = geometry(at)
        return at

    geometry(0)
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stac")
    source = write_input(root / "in.parquet", rows=400, dims=24, seed=7)
    out = root / "coast-2024"
    publish(source, out, max_rows=120, rerank="int8", show_progress=False)
    return out


def test_a_published_collection_passes_pystacs_validator(published: Path) -> None:
    doc = json.loads((published / stac.COLLECTION_NAME).read_text())
    assert validate_stac_offline(doc) == [
        "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json"
    ]
    coll = pystac.Collection.from_file(str(published / stac.COLLECTION_NAME))
    assert (coll.id, coll.title, coll.license) == ("coast-2024", "coast-2024", "other")
    manifest = coll.assets["manifest"]
    assert manifest.media_type == "application/vnd.apache.parquet"
    assert manifest.roles == ["metadata", "index"]
    assert (published / manifest.href).resolve() == (published / fmt.MANIFEST_NAME).resolve()
    # relative links only (pystac adds the absolute self link of where it read the file)
    assert [(link["rel"], link["href"]) for link in doc["links"]] == [("root", "./collection.json")]
    assert coll.get_root_link().get_absolute_href() == str(published / stac.COLLECTION_NAME)


def test_extent_and_summaries_match_the_shards(published: Path) -> None:
    doc = json.loads((published / stac.COLLECTION_NAME).read_text())
    files = sorted((published / fmt.SHARDS_DIR).glob("*.parquet"))
    xy = [p for f in files for g in pq.read_table(f, columns=["geometry"])[0].to_pylist()
          for p in _wkb_xy(g)]  # fmt: skip
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    assert doc["extent"]["spatial"]["bbox"] == [[min(xs), min(ys), max(xs), max(ys)]]
    glob = str(published / fmt.SHARDS_DIR / "*.parquet")
    [(tmin, tmax, rows)] = duckdb.sql(
        f"SELECT min(datetime), max(datetime), count(*) FROM read_parquet('{glob}')"
    ).fetchall()
    interval = doc["extent"]["temporal"]["interval"]
    assert [[datetime.fromisoformat(t) for t in interval[0]]] == [
        [tmin.astimezone(UTC), tmax.astimezone(UTC)]
    ]
    schema = pq.read_schema(files[0])
    assert doc["summaries"] == {
        "terrabit:codec": ["binary"],
        "terrabit:dims": [24],  # the input's embedding width
        "terrabit:code_size": [schema.field("embedding").type.byte_width],
        "terrabit:rerank_codec": ["int8"],
    }
    assert (doc["terrabit:rows"], doc["terrabit:shards"]) == (rows, len(files))
    assert doc["terrabit:bytes"] == sum(f.stat().st_size for f in files)
    assert doc["terrabit:format_version"] == fmt.FORMAT_VERSION


def test_no_time_column_gives_an_open_interval(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.parquet", rows=60, dims=8, seed=2)
    table = pq.read_table(source).drop_columns(["datetime"])
    pq.write_table(table, tmp_path / "timeless.parquet")
    publish(tmp_path / "timeless.parquet", tmp_path / "c", show_progress=False)
    doc = json.loads((tmp_path / "c" / stac.COLLECTION_NAME).read_text())
    assert doc["extent"]["temporal"]["interval"] == [[None, None]]


def test_the_name_is_the_folders_or_the_one_given(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.parquet", rows=60, dims=8, seed=2)
    publish(source, tmp_path / "out" / "alps", show_progress=False)
    publish(source, tmp_path / "b", name="alps", show_progress=False)
    a = (tmp_path / "out" / "alps" / stac.COLLECTION_NAME).read_bytes()
    assert json.loads(a)["id"] == "alps"
    assert (tmp_path / "b" / stac.COLLECTION_NAME).read_bytes() == a  # nothing else differs
    result = CliRunner().invoke(
        cli, ["publish", str(source), "-o", str(tmp_path / "c"), "--name", "Sierra 2024"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "c" / stac.COLLECTION_NAME).read_text())["id"] == "Sierra 2024"
    result = CliRunner().invoke(
        cli, ["publish", str(source), "-o", str(tmp_path / "d"), "--name", " "]
    )
    assert result.exit_code == 1
    assert "--name must be a non-empty string" in result.stderr


def test_the_worlds_patches_name_their_model(tmp_path: Path) -> None:
    from terrabit.world.patches import WORLD_KEY, world_marker

    assert WORLD_KEY.encode() == stac.WORLD_KEY
    source = write_input(tmp_path / "in.parquet", rows=60, dims=8, seed=2)
    table = pq.read_table(source)
    marker = world_marker(seed=9, patches=60, dim=8, bbox=None)
    table = table.replace_schema_metadata({**table.schema.metadata, WORLD_KEY: marker})
    pq.write_table(table, tmp_path / "world.parquet")
    publish(tmp_path / "world.parquet", tmp_path / "c", show_progress=False)
    doc = json.loads((tmp_path / "c" / stac.COLLECTION_NAME).read_text())
    model = "terrabit world (synthetic embeddings, seed 9, 8 dims)"
    assert doc["summaries"]["terrabit:model"] == [model]
    assert f"embeddings from {model}" in doc["description"]
    # an input without the marker: no model is claimed
    publish(source, tmp_path / "plain", show_progress=False)
    plain = json.loads((tmp_path / "plain" / stac.COLLECTION_NAME).read_text())
    assert "terrabit:model" not in plain["summaries"]


def _corpus_at(version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small corpus whose manifest states ``version`` (what the writer records)."""
    source = write_input(tmp_path / "in.parquet", rows=80, dims=8, seed=4)
    with monkeypatch.context() as m:
        m.setattr(fmt, "FORMAT_VERSION", version)
        publish(source, tmp_path / version, show_progress=False)
    return tmp_path / version


def _problems(corpus: Path) -> list[str]:
    with open_corpus(corpus) as c:
        return [p for p in validate_corpus(c) if stac.COLLECTION_NAME in p]


def test_validate_reports_a_missing_collection_from_format_1_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = _corpus_at("1.6", tmp_path, monkeypatch)
    assert _problems(new) == []
    (new / stac.COLLECTION_NAME).unlink()
    assert _problems(new) == [
        "collection.json: missing; format 1.6 writes a STAC Collection beside the manifest"
    ]
    old = _corpus_at("1.5", tmp_path, monkeypatch)
    (old / stac.COLLECTION_NAME).unlink()  # a 1.5 corpus has none, and needs none
    assert _problems(old) == []
    with open_corpus(old) as c:
        assert c.info()["collection"] is None and c.read(columns=["id"]).num_rows == 80


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: "{not json", r"^collection\.json: not JSON \(Expecting property name"),
        (lambda d: "[1, 2]", r"^collection\.json: not a JSON object, got list$"),
        (
            lambda d: {k: v for k, v in d.items() if k != "license"},
            r"^collection\.json: lacks the STAC Collection fields \['license'\]$",
        ),
        (
            lambda d: {**d, "type": "Feature"},
            r"^collection\.json: not a STAC Collection pystac reads \(.*does not represent a "
            r"Collection",
        ),
        (
            lambda d: {**d, "extent": {**d["extent"], "spatial": {"bbox": [[0, 0, 1, 1]]}}},
            r"^collection\.json: extent\.spatial\.bbox is \[\[0, 0, 1, 1\]\], the manifest "
            r"says \[\[-?\d",
        ),
        (
            lambda d: {**d, "summaries": {**d["summaries"], "terrabit:codec": ["int8"]}},
            r"^collection\.json: summaries\.terrabit:codec is \['int8'\], the manifest says "
            r"\['binary'\]$",
        ),
        (
            lambda d: {**d, "terrabit:rows": 1},
            r"^collection\.json: terrabit:rows is 1, the manifest says 80$",
        ),
        (
            lambda d: {**d, "assets": {}},
            r"^collection\.json: assets\.manifest\.href is None, the manifest says "
            r"'\./manifest\.parquet'; collection\.json: assets\.manifest\.type is None, the "
            r"manifest says 'application/vnd\.apache\.parquet'$",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-license",
        "not-collection",
        "bbox",
        "codec",
        "rows",
        "no-manifest-asset",
    ],
)
def test_validate_reports_a_wrong_collection(
    damage: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus_at("1.6", tmp_path, monkeypatch)
    path = corpus / stac.COLLECTION_NAME
    changed = damage(json.loads(path.read_text()))
    path.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    problems = "; ".join(_problems(corpus))
    assert re.search(message, problems), problems


def test_cli_validate_and_info_speak_of_it(published: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["info", str(published), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["collection"] == "collection.json"
    copy = tmp_path / "c"
    shutil.copytree(published, copy)
    doc = json.loads((copy / stac.COLLECTION_NAME).read_text())
    doc["summaries"]["terrabit:dims"] = [25]
    (copy / stac.COLLECTION_NAME).write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["validate", str(copy), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["problems"] == [
        "collection.json: summaries.terrabit:dims is [25], the manifest says [24]"
    ]
