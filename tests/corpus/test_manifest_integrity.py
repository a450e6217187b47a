"""The manifest cannot lie (issue 18, format 1.6): its own digest is checked by every open
before a byte is trusted, cheap sanity checks catch what a sealed-but-wrong manifest
says, and the manifest is a GeoParquet file other tools open (pandas, geopandas, DuckDB)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import geopandas
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus.manifest import encode_manifest
from terrabit.errors import CorpusIntegrityError, TerrabitError
from terrabit.search.query import search

TINY = Path(__file__).resolve().parents[2] / "spec" / "fixtures" / "tiny"
BOX = (-60.0, -40.0, 60.0, 40.0)  # 38 of the 200 rows


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "tiny"))


def _results(root: Path) -> tuple[list[str], list[str]]:
    """Ids of a region search and of a global top-k, the two ways a manifest steers reads."""
    with open_corpus(root) as c:
        first = c.read(BOX, columns=["id"]).column("id")[0].as_py()
        region = search(c, BOX, positives=[first], k=15)
        whole = search(c, None, positives=[first], k=15, global_=True)
    return region.table["id"].to_pylist(), whole.table["id"].to_pylist()


def test_600_bit_flips_never_change_a_result_silently(corpus: Path) -> None:
    """A seeded sample of single-bit flips across every part of the manifest (data pages,
    footer, metadata JSON, the digest itself): each open fails with one integrity error
    naming the manifest — none returns a different result, none returns at all."""
    clean = (corpus / fmt.MANIFEST_NAME).read_bytes()
    expected = _results(corpus)
    rng = np.random.default_rng(18)
    where = np.concatenate(  # half anywhere, half in the footer, where the metadata lives
        [
            rng.integers(0, len(clean), 300),
            rng.integers(len(clean) - 8 - int.from_bytes(clean[-8:-4], "little"), len(clean), 300),
        ]
    )
    outcomes: dict[str, int] = {}
    for at, bit in zip(where.tolist(), rng.integers(0, 8, len(where)).tolist(), strict=True):
        damaged = bytearray(clean)
        damaged[at] ^= 1 << bit
        (corpus / fmt.MANIFEST_NAME).write_bytes(bytes(damaged))
        try:
            got = _results(corpus)
        except TerrabitError as exc:
            assert f"{corpus}/{fmt.MANIFEST_NAME}" in str(exc), str(exc)
            kind = type(exc).__name__
            outcomes[kind] = outcomes.get(kind, 0) + 1
        else:
            assert got == expected, f"a flip of bit {bit} at byte {at} changed the result"
            outcomes["same result"] = outcomes.get("same result", 0) + 1
    assert outcomes == {"CorpusIntegrityError": 600}


def _rewrite(root: Path, change_table=None, change_meta=None) -> None:  # type: ignore[no-untyped-def]
    """Rewrite ``root``'s manifest, sealed again (a writer that lies, not a damaged file)."""
    table = pq.read_table(root / fmt.MANIFEST_NAME)
    meta = json.loads(table.schema.metadata[fmt.METADATA_KEY])
    if change_table is not None:
        table = change_table(table)
    if change_meta is not None:
        change_meta(meta)
    (root / fmt.MANIFEST_NAME).write_bytes(encode_manifest(table, meta))


def _set(name: str, row: int, value: object):  # type: ignore[no-untyped-def]
    def change(table: pa.Table) -> pa.Table:
        values = table.column(name).to_pylist()
        values[row] = value
        i = table.schema.get_field_index(name)
        return table.set_column(
            i, table.schema.field(name), pa.array(values, table.schema.field(name).type)
        )

    return change


@pytest.mark.parametrize(
    ("table", "meta", "said"),
    [
        (_set("rows", 0, 999), None, "its shards' rows sum to"),
        (_set("bytes", 2, 1), None, "its shards' bytes sum to"),
        (_set("xmin", 1, 200.0), None, "shard extents are not finite, ordered and within"),
        (_set("ymax", 0, -89.0), None, "shard extents are not finite, ordered and within"),
        (_set("xmax", 3, float("nan")), None, "shard extents are not finite, ordered and within"),
        (_set("summary_radii", 0, [500]), None, "its summary radii lie outside 0..128 bits"),
        (None, lambda m: m.update(shards=m["shards"] + 1), "shard rows where its metadata says"),
    ],
    ids=["rows", "bytes", "x-range", "inverted", "nan", "radii", "shards"],
)
def test_a_sealed_manifest_that_contradicts_itself_is_refused(
    corpus: Path, table: object, meta: object, said: str
) -> None:
    _rewrite(corpus, table, meta)
    with pytest.raises(CorpusIntegrityError, match="contradicts itself") as info:
        open_corpus(corpus)
    assert said in str(info.value)
    assert str(info.value).endswith("restore it from a copy or republish the corpus")


def test_the_digest_is_required_from_1_6_and_older_manifests_still_open(corpus: Path) -> None:
    table = pq.read_table(corpus / fmt.MANIFEST_NAME)
    kv = dict(table.schema.metadata)
    kv.pop(fmt.DIGEST_KEY)
    pq.write_table(table.replace_schema_metadata(kv), corpus / fmt.MANIFEST_NAME)
    with pytest.raises(
        CorpusIntegrityError, match=r"carries no digest of its own \(terrabit.sha256\)"
    ):
        open_corpus(corpus)
    meta = json.loads(kv[fmt.METADATA_KEY])
    meta["format_version"] = "1.5"  # as a 1.5 writer wrote it: no digest, no footprints
    old = table.drop_columns(["geometry", "bbox"])
    kv[fmt.METADATA_KEY] = json.dumps(meta).encode()
    pq.write_table(old.replace_schema_metadata(kv), corpus / fmt.MANIFEST_NAME)
    with open_corpus(corpus) as c:
        assert c.metadata["format_version"] == "1.5"
        first = c.read(BOX, columns=["id"])["id"][0].as_py()
        assert search(c, BOX, positives=[first], k=3).table.num_rows == 3


def test_the_manifest_is_geoparquet_other_tools_open(corpus: Path) -> None:
    path = corpus / fmt.MANIFEST_NAME
    frame = pd.read_parquet(path)  # before 1.6: "Not implemented type for Arrow list to pandas"
    assert len(frame) == json.loads(pq.read_schema(path).metadata[b"terrabit"])["shards"]
    assert all(len(code) == 16 for codes in frame["summary_codes"] for code in codes)
    shards = geopandas.read_parquet(path)
    assert shards.crs is not None and shards.crs.equals("OGC:CRS84")
    # each footprint is the shard's extent, checked against the shard's own rows
    for row in shards.itertuples():
        rows = pq.read_table(corpus / row.path, columns=["geometry"])["geometry"]
        bounds = shapely.bounds(shapely.from_wkb(rows.to_numpy(zero_copy_only=False)))
        extent = (*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0))
        assert row.geometry.equals(shapely.box(*extent)), row.path
    # DuckDB reads it, covering column included
    (got,) = duckdb.sql(
        f"SELECT sum(rows), min(bbox.xmin), max(bbox.ymax) FROM read_parquet('{path}')"
    ).fetchall()
    assert got[0] == int(frame["rows"].sum())
    assert got[1] == pytest.approx(frame["xmin"].min())
    assert got[2] == pytest.approx(frame["ymax"].max())
