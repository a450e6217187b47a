"""Format constants, schemas, GeoParquet metadata rules and summary codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from terrabit.corpus import format as fmt
from terrabit.corpus.summary import summary_code
from terrabit.errors import CorpusIntegrityError


def test_shard_schema_columns_and_types() -> None:
    schema = fmt.shard_schema(128, time=True, rerank_code_size=1024)
    assert schema.names == ["id", "geometry", "bbox", "embedding", "datetime", "rerank"]
    assert schema.field("embedding").type.byte_width == 128
    assert [f.name for f in schema.field("bbox").type] == list(fmt.BBOX_FIELDS)


def test_geo_metadata_is_valid_and_names_crs84() -> None:
    geo = fmt.geo_metadata((1, 2, 3, 4), ["Polygon", "Polygon"])
    assert fmt.validate_geo_metadata(geo, fmt.shard_schema(8)) == []
    col = geo["columns"]["geometry"]
    assert col["geometry_types"] == ["Polygon"]
    assert col["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: g.update(version=2), "version must be"),
        (lambda g: g["columns"]["geometry"].update(encoding="WKT"), "encoding must be 'WKB'"),
        (lambda g: g["columns"]["geometry"].update(geometry_types=["Blob"]), "unknown ['Blob']"),
        (lambda g: g["columns"]["geometry"].update(bbox=[0, 1]), "bbox must be 4 or 6"),
        (lambda g: g["columns"]["geometry"].update(crs="EPSG:4326"), "crs must be PROJJSON"),
        (
            lambda g: g["columns"]["geometry"]["covering"]["bbox"].update(xmin=["nope", "xmin"]),
            "is not a float/double field",
        ),
        (lambda g: g.update(primary_column="geom"), "primary_column 'geom'"),
    ],
)
def test_geo_metadata_rules_catch_mistakes(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    geo = fmt.geo_metadata((0, 0, 1, 1), ["Polygon"])
    mutate(geo)
    problems = fmt.validate_geo_metadata(geo, fmt.shard_schema(8))
    assert any(message in p for p in problems), problems


def test_corpus_metadata_version_rules() -> None:
    base = {k: 0 for k in ("codec", "dims", "code_size", "rows", "shards", "bytes", "columns")}
    assert fmt.check_corpus_metadata({**base, "format_version": "1.9"})["format_version"] == "1.9"
    with pytest.raises(CorpusIntegrityError, match="newer than this terrabit reads"):
        fmt.check_corpus_metadata({**base, "format_version": "2.0"})
    with pytest.raises(CorpusIntegrityError, match=r"lacks \['rows'\]"):
        fmt.check_corpus_metadata(
            {k: v for k, v in {**base, "format_version": "1.0"}.items() if k != "rows"}
        )


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 4))))
def test_summary_code_is_majority_and_radius_bounds_distances(codes: np.ndarray) -> None:
    centre, radius = summary_code(codes)
    bits = np.unpackbits(codes, axis=1)
    expected = (bits.sum(axis=0) * 2 > len(codes)).astype(np.uint8)  # oracle: bit by bit
    assert np.unpackbits(np.frombuffer(centre, np.uint8)).tolist() == expected.tolist()
    dist = (bits != expected).sum(axis=1)
    assert radius == dist.max()


def test_leaf_paths_are_pyarrows_and_codes_get_their_own_level(tmp_path: Path) -> None:
    """The per-column compression levels name the leaves pyarrow writes (the oracle: the
    written file's own column paths), so no leaf falls back to the codec's default."""
    schema = fmt.shard_schema(16, time=True, rerank_code_size=8).append(
        pa.field("tags", pa.list_(pa.string()))
    )
    schema = schema.append(pa.field("attrs", pa.map_(pa.string(), pa.struct([("a", pa.int8())]))))
    opts = fmt.shard_parquet_options(schema, keep=["tags", "attrs"])
    pq.write_table(schema.empty_table(), tmp_path / "s.parquet")
    md = pq.read_metadata(tmp_path / "s.parquet")
    leaves = [md.schema.column(j).path for j in range(md.num_columns)]
    assert sorted(opts["compression_level"]) == sorted(leaves)
    levels = opts["compression_level"]
    assert levels["embedding"] == levels["rerank"] == fmt.CODE_ZSTD_LEVEL
    assert {levels[leaf] for leaf in leaves if leaf not in ("embedding", "rerank")} == {
        fmt.ZSTD_LEVEL
    }
