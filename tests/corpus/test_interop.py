"""Shards are ordinary GeoParquet 1.1: geopandas, duckdb and pyarrow read them, and their
``geo`` metadata follows the GeoParquet 1.1 rules (checked by our validator, which encodes
the spec's JSON-schema rules, since no independent validator is installed)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit.corpus import format as fmt


def _shards(corpus_dir: Path) -> list[Path]:
    return sorted(corpus_dir.glob("shards/*.parquet"))


def test_geopandas_reads_shards_with_crs84(corpus_dir: Path) -> None:
    gpd = pytest.importorskip("geopandas")
    path = _shards(corpus_dir)[0]
    frame = gpd.read_parquet(path)
    assert frame.crs is not None and frame.crs.equals("OGC:CRS84")
    assert frame.geometry.name == "geometry"
    assert len(frame) == pq.read_metadata(path).num_rows
    assert frame.geometry.geom_type.unique().tolist() == ["Polygon"]
    # geopandas can use the bbox covering column to filter
    x0, y0, x1, y1 = frame.total_bounds
    sub = gpd.read_parquet(path, bbox=(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2))
    assert 0 < len(sub) <= len(frame)


def test_duckdb_reads_the_corpus(corpus_dir: Path) -> None:
    glob = str(corpus_dir / "shards" / "*.parquet")
    con = duckdb.connect()
    rows, ids = con.execute(
        f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{glob}')"
    ).fetchone()
    assert rows == ids == 3000
    width = con.execute(
        f"SELECT max(octet_length(embedding)) FROM read_parquet('{glob}')"
    ).fetchone()[0]
    assert width == 8
    n = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}') WHERE bbox.xmin > 0 AND bbox.ymax < 60"
    ).fetchone()[0]
    assert 0 < n < 3000
    m = con.execute(
        f"SELECT sum(rows) FROM read_parquet('{corpus_dir / 'manifest.parquet'}')"
    ).fetchone()[0]
    assert m == 3000


def test_geo_metadata_of_every_shard(corpus_dir: Path) -> None:
    for path in _shards(corpus_dir):
        md = pq.read_metadata(path)
        geo = json.loads(md.metadata[b"geo"])
        schema = pq.read_schema(path)
        assert fmt.validate_geo_metadata(geo, schema) == []
        col = geo["columns"]["geometry"]
        table = pq.read_table(path, columns=["geometry"])
        b = shapely.bounds(shapely.from_wkb(table.column(0).to_numpy(zero_copy_only=False)))
        assert col["bbox"] == pytest.approx(
            [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
        )
        assert col["covering"]["bbox"]["ymax"] == ["bbox", "ymax"]
        assert schema.field("bbox").type.field("xmin").type == "float"
