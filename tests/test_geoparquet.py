"""GeoParquet 1.1 metadata, covering bbox columns and the atomic writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from terrabit import geoparquet as gp
from terrabit.errors import InvalidInputError, OutputExistsError


def test_crs84_projjson_is_crs84_and_a_fresh_copy() -> None:
    from pyproj import CRS

    crs = gp.crs84_projjson()
    assert CRS.from_json_dict(crs) == CRS.from_user_input("OGC:CRS84")
    crs["id"] = "changed"
    assert gp.crs84_projjson()["id"] == {"authority": "OGC", "code": "CRS84"}


def test_geo_metadata_matches_the_spec_layout() -> None:
    geo = gp.geo_metadata((0, 1, 2, 3), ["Polygon", "MultiPolygon", "Polygon"])
    assert list(geo) == ["version", "primary_column", "columns"]
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    col = geo["columns"]["geometry"]
    assert list(col) == ["encoding", "geometry_types", "crs", "bbox", "covering"]
    assert col["geometry_types"] == ["MultiPolygon", "Polygon"]
    assert col["bbox"] == [0.0, 1.0, 2.0, 3.0]
    assert col["covering"] == {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    schema = pa.schema([("geometry", pa.binary()), ("bbox", gp.bbox_type())])
    assert gp.validate_geo_metadata(geo, schema) == []


def test_geo_metadata_options() -> None:
    geo = gp.geo_metadata(
        (0, 0, 1, 1), ["Point"], covering=False, edges="planar", orientation="counterclockwise"
    )
    col = geo["columns"]["geometry"]
    assert "covering" not in col
    assert (col["edges"], col["orientation"]) == ("planar", "counterclockwise")
    assert gp.geo_metadata((0, 0, 1, 1), [], crs=None)["columns"]["geometry"]["crs"] is None
    epsg = gp.geo_metadata((0, 0, 1, 1), [], crs="EPSG:4326")["columns"]["geometry"]["crs"]
    assert epsg["id"] == {"authority": "EPSG", "code": 4326}
    given_crs = {"id": {"authority": "EPSG", "code": 3857}}
    assert gp.geo_metadata((0, 0, 1, 1), [], crs=given_crs)["columns"]["geometry"]["crs"] == (
        given_crs
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"geometry_types": ["Blob"]}, r"unknown names \['Blob'\]"),
        ({"geometry_types": "Polygon"}, "must be a list of names"),
        ({"bbox": (0, 0, 1)}, "4 or 6 finite numbers"),
        ({"bbox": (0, 0, np.nan, 1)}, "4 or 6 finite numbers"),
        ({"edges": "curved"}, "edges must be one of 'planar', 'spherical'"),
        ({"orientation": "clockwise"}, "orientation must be one of 'counterclockwise'"),
        ({"crs": "EPSG:nope"}, "is not a CRS pyproj knows"),
    ],
)
def test_geo_metadata_refuses_bad_input(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    args = {"bbox": (0, 0, 1, 1), "geometry_types": ["Polygon"], **kwargs}
    bbox, types = args.pop("bbox"), args.pop("geometry_types")
    with pytest.raises(InvalidInputError, match=message):
        gp.geo_metadata(bbox, types, **args)


def test_bbox_type_and_column() -> None:
    assert gp.bbox_type().names == list(gp.BBOX_FIELDS)
    assert all(f.nullable and f.type == pa.float64() for f in gp.bbox_type())
    exact = gp.bbox_column(np.array([[0.1, 0.2, 0.3, 0.4], [-1.0, -2.0, 3.0, 4.0]]))
    assert exact.type == gp.bbox_type()
    assert exact.field("xmax").to_pylist() == [0.3, 3.0]
    with pytest.raises(InvalidInputError, match="float32 or float64"):
        gp.bbox_type(pa.int32())
    with pytest.raises(InvalidInputError, match=r"\[n, 4\] array"):
        gp.bbox_column([0.0, 1.0, 2.0, 3.0])
    wrong = pa.struct([("a", pa.float64()), ("b", pa.float64())])
    with pytest.raises(InvalidInputError, match="struct<xmin, ymin, xmax, ymax>"):
        gp.bbox_column([[0.0, 1.0, 2.0, 3.0]], type=wrong)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (8, 4), elements=st.floats(-180, 180, allow_subnormal=False)))
def test_float32_bbox_rounds_outward_by_at_most_one_step(values: np.ndarray) -> None:
    col = gp.bbox_column(values, type=gp.bbox_type(pa.float32(), nullable=False))
    got = np.column_stack([col.field(k).to_numpy() for k in gp.BBOX_FIELDS])
    assert got.dtype == np.float32
    wide = got.astype(np.float64)
    assert (wide[:, :2] <= values[:, :2]).all() and (wide[:, 2:] >= values[:, 2:]).all()
    nearest = values.astype(np.float32)  # within one float32 step of round-to-nearest
    lo = np.nextafter(nearest, np.float32(-np.inf))
    hi = np.nextafter(nearest, np.float32(np.inf))
    assert ((got >= lo) & (got <= hi)).all()


def test_write_geoparquet_reads_back_in_geopandas(tmp_path: Path) -> None:
    geopandas = pytest.importorskip("geopandas")
    geoms = [shapely.box(0, 0, 1, 1), shapely.Point(5, -3)]
    out = gp.write_geoparquet(
        {"name": pa.array(["a", "b"])}, tmp_path / "x.parquet", geometry=geoms, covering=True
    )
    schema = pq.read_schema(out)
    assert schema.names == ["name", "geometry", "bbox"]
    geo = json.loads(schema.metadata[gp.GEO_KEY])
    assert gp.validate_geo_metadata(geo, schema) == []
    col = geo["columns"]["geometry"]
    assert col["geometry_types"] == ["Point", "Polygon"] and col["bbox"] == [0.0, -3.0, 5.0, 1.0]
    frame = geopandas.read_parquet(out)
    assert frame.crs.equals("OGC:CRS84")
    assert all(a.equals(b) for a, b in zip(frame.geometry, geoms, strict=True))
    boxes = pq.read_table(out).column("bbox").combine_chunks()
    assert np.column_stack([boxes.field(k).to_numpy() for k in gp.BBOX_FIELDS]).tolist() == (
        shapely.bounds(np.array(geoms)).tolist()
    )


def test_write_geoparquet_from_a_table_without_covering(tmp_path: Path) -> None:
    table = pa.table({"v": pa.array([1, 2], pa.int64())})
    out = gp.write_geoparquet(
        table, tmp_path / "t.parquet", geometry=[shapely.Point(0, 0)] * 2, edges="planar"
    )
    written = pq.read_table(out)
    assert written.column_names == ["v", "geometry"]
    col = json.loads(written.schema.metadata[gp.GEO_KEY])["columns"]["geometry"]
    assert col["edges"] == "planar" and "covering" not in col


def test_write_geoparquet_refuses_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    point = [shapely.Point(0, 0)]
    with pytest.raises(InvalidInputError, match="already has a 'geometry' column"):
        gp.write_geoparquet({"geometry": pa.array([b""])}, target, geometry=point)
    with pytest.raises(InvalidInputError, match="data has 2 rows but geometry has 1"):
        gp.write_geoparquet({"v": pa.array([1, 2])}, target, geometry=point)
    with pytest.raises(InvalidInputError, match="1-D sequence of shapely geometries"):
        gp.write_geoparquet({"v": pa.array([1])}, target, geometry=["POINT (0 0)"])
    gp.write_geoparquet({"v": pa.array([1])}, target, geometry=point)
    with pytest.raises(OutputExistsError, match="already exists"):
        gp.write_geoparquet({"v": pa.array([1])}, target, geometry=point, overwrite=False)
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]  # no temporary left behind


def test_world_and_corpus_metadata_are_valid() -> None:
    from terrabit.corpus import format as fmt
    from terrabit.world.patches import geo_metadata as patch_geo
    from terrabit.world.patches import patch_schema

    assert gp.validate_geo_metadata(json.loads(patch_geo((0, 0, 1, 1))), patch_schema(64)) == []
    shard = fmt.geo_metadata((0, 0, 1, 1), ["Polygon"])
    assert gp.validate_geo_metadata(shard, fmt.shard_schema(8)) == []


def test_the_streaming_writer_writes_row_groups_and_the_extent_of_all_of_them(
    tmp_path: Path,
) -> None:
    geoms = [shapely.box(0, 0, 1, 1), shapely.Point(5, -3), shapely.box(-2, 4, -1, 6)]
    values = pa.array([1, 2, 3], pa.int64())
    with gp.GeoParquetWriter(tmp_path / "s.parquet", covering=True) as out:
        out.write({"v": values.slice(0, 2)}, geometry=geoms[:2])
        out.write({"v": values.slice(2)}, geometry=geoms[2:])
    f = pq.ParquetFile(tmp_path / "s.parquet")
    assert f.num_row_groups == 2
    col = json.loads(f.schema_arrow.metadata[gp.GEO_KEY])["columns"]["geometry"]
    assert col["bbox"] == [-2.0, -3.0, 5.0, 6.0]  # by hand: over both row groups
    assert col["geometry_types"] == ["Point", "Polygon"]
    assert f.metadata.metadata[gp.GEO_KEY] == f.schema_arrow.metadata[gp.GEO_KEY]
    whole = pq.read_table(tmp_path / "s.parquet")
    assert whole["v"].to_pylist() == [1, 2, 3]
    assert [shapely.from_wkb(g) for g in whole["geometry"].to_pylist()] == geoms
    # one write: the bytes of pyarrow writing the finished table with its metadata at once
    with gp.GeoParquetWriter(tmp_path / "one.parquet") as out:
        out.write({"v": values}, geometry=geoms)
    geo = gp.geo_metadata([-2.0, -3.0, 5.0, 6.0], ["Point", "Polygon"], covering=False)
    wkb = pa.array(shapely.to_wkb(geoms, output_dimension=2, byte_order=1, flavor="iso"))
    table = pa.table({"v": values, "geometry": wkb.cast(pa.binary())})
    table = table.replace_schema_metadata({gp.GEO_KEY: json.dumps(geo, sort_keys=True).encode()})
    pq.write_table(table, tmp_path / "direct.parquet", compression="zstd")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "direct.parquet").read_bytes()


def test_the_streaming_writer_leaves_nothing_on_error_or_when_nothing_was_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(KeyboardInterrupt), gp.GeoParquetWriter(tmp_path / "a.parquet") as out:
        out.write({"v": pa.array([1])}, geometry=[shapely.Point(0, 0)])
        raise KeyboardInterrupt
    with gp.GeoParquetWriter(tmp_path / "b.parquet"):
        pass
    assert list(tmp_path.iterdir()) == []  # no file and no temporary left behind
