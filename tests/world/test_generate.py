"""A whole small world: GeoParquet schema and metadata, land, determinism, labelled split."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from global_land_mask import globe
from pyproj import CRS
from sklearn.neighbors import KNeighborsClassifier

from terrabit.errors import InvalidInputError, OutputExistsError, RegionError
from terrabit.world import generate as gen
from terrabit.world.generate import WorldSummary, generate_world
from terrabit.world.landcover import CHANGES, CLASSES, YEARS, change_kinds, classify_years

from .conftest import SMALL


def _parts(out: Path) -> list[Path]:
    return sorted((out / "patches").glob("part-*.parquet"))


def _hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_schema_and_geo_metadata(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    parts = _parts(out)
    assert [p.name for p in parts] == ["part-00000.parquet"]
    pf = pq.ParquetFile(parts[0])
    schema = pf.schema_arrow
    assert schema.names == ["id", "geometry", "datetime", "embedding", "label", "year", "bbox"]
    assert schema.field("id").type == pa.string()
    assert schema.field("geometry").type == pa.binary()
    assert schema.field("datetime").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("embedding").type == pa.list_(pa.float32(), 64)
    assert schema.field("label").type == pa.string()
    assert schema.field("year").type == pa.int16()
    assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    col = geo["columns"]["geometry"]
    assert col["encoding"] == "WKB" and col["geometry_types"] == ["Polygon"]
    assert CRS.from_json_dict(col["crs"]) == CRS("OGC:CRS84")
    assert col["covering"]["bbox"] == {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}
    table = pf.read()
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    bounds = shapely.bounds(geoms)
    assert col["orientation"] == "counterclockwise"
    assert shapely.is_ccw(shapely.get_exterior_ring(geoms)).all()
    assert np.allclose(col["bbox"], [*bounds[:, :2].min(0), *bounds[:, 2:].max(0)])
    bbox = table.column("bbox").combine_chunks()
    for i, key in enumerate(("xmin", "ymin", "xmax", "ymax")):
        assert np.allclose(bbox.field(key).to_numpy(), bounds[:, i])


def test_reads_in_geopandas(world: tuple[Path, WorldSummary]) -> None:
    out, summary = world
    gdf = gpd.read_parquet(out / "patches")
    assert len(gdf) == summary.patches == SMALL["n"]
    assert gdf.crs is not None and gdf.crs.equals(CRS("OGC:CRS84"))
    assert (gdf.geom_type == "Polygon").all() and gdf.is_valid.all()
    side_km = np.sqrt(gdf.to_crs("+proj=cea").area.to_numpy()) / 1000
    assert np.all((side_km > 2.5) & (side_km < 2.65))


def test_rows_places_and_labels(world: tuple[Path, WorldSummary]) -> None:
    out, summary = world
    table = pq.read_table(out / "patches")
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids) == summary.patches
    years = table.column("year").to_numpy()
    places = [i.rsplit("-", 1)[0] for i in ids]
    assert np.all(np.unique(places, return_counts=True)[1] == 2)
    assert sorted(set(years.tolist())) == list(YEARS)
    assert all(i.endswith(str(y)) for i, y in zip(ids, years, strict=True))
    when = table.column("datetime").to_numpy().astype("datetime64[D]")
    assert np.array_equal(when.astype("datetime64[Y]").astype(int) + 1970, years)
    month = when.astype("datetime64[M]").astype(int) % 12 + 1
    assert np.all((month >= 6) & (month <= 8))
    # centroids on land (the package as oracle) and labels as the classifier says
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    c = shapely.centroid(geoms)
    lon, lat = shapely.get_x(c), shapely.get_y(c)
    assert globe.is_land(lat, lon).all()
    y1, y2 = classify_years(lon, lat, seed=0)
    expected = np.where(years == YEARS[0], y1, y2)
    assert table.column("label").to_pylist() == [CLASSES[k] for k in expected]
    counts = summary.classes
    place_y1, place_y2 = y1[years == YEARS[0]], y2[years == YEARS[1]]
    kinds = change_kinds(place_y1, place_y2)
    assert summary.changes == {k: int(np.sum(kinds == i)) for i, k in enumerate(CHANGES) if i}
    assert sum(counts.values()) == summary.patches
    assert counts == {n: int(np.sum(expected == i)) for i, n in enumerate(CLASSES)}
    emb = table.column("embedding").combine_chunks().flatten().to_numpy().reshape(-1, 64)
    assert emb.dtype == np.float32 and np.isfinite(emb).all()


def test_same_seed_same_bytes(world: tuple[Path, WorldSummary], world_again: Path) -> None:
    a, b = _hashes(world[0]), _hashes(world_again)
    assert set(a) == {"labelled.npz", "patches/part-00000.parquet"}
    assert a == b


def test_other_seed_other_bytes(world: tuple[Path, WorldSummary], world_seed1: Path) -> None:
    a, b = _hashes(world[0]), _hashes(world_seed1)
    assert all(a[k] != b[k] for k in a)


def test_labelled_split(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    with np.load(out / "labelled.npz") as z:
        data = {k: z[k] for k in z.files}
    assert data["x_train"].dtype == np.float32 and data["x_train"].shape[1] == 64
    assert data["classes"].tolist() == list(CLASSES)
    assert len(data["y_train"]) == len(data["x_train"]) > 100
    assert len(data["y_test"]) == len(data["x_test"]) > 50
    # no coarse block holds both a train and a test sample
    b = float(data["block_deg"])

    def blocks(lon: np.ndarray, lat: np.ndarray) -> set[tuple[int, int]]:
        return set(zip(np.floor(lat / b).astype(int), np.floor(lon / b).astype(int), strict=True))

    train = blocks(data["lon_train"], data["lat_train"])
    test = blocks(data["lon_test"], data["lat_test"])
    assert train and test and not train & test
    # kNN (sklearn) well above the majority baseline
    knn = KNeighborsClassifier(n_neighbors=5).fit(data["x_train"], data["y_train"])
    acc = float(np.mean(knn.predict(data["x_test"]) == data["y_test"]))
    majority = np.bincount(data["y_test"]).max() / len(data["y_test"])
    assert acc > 0.75 and acc > majority + 0.3, (acc, majority)


def test_world_marker_in_patches_and_labelled(world: tuple[Path, WorldSummary]) -> None:
    """Both outputs name their generator and settings, so a reader can tell the world."""
    out, s = world
    from terrabit import __version__

    expected = {
        "generator": "terrabit world",
        "synthetic": True,
        "terrabit": __version__,
        "seed": 0,
        "patches": s.patches,
        "dim": 64,
        "bbox": None,
    }
    meta = pq.ParquetFile(_parts(out)[0]).schema_arrow.metadata
    assert json.loads(meta[b"terrabit_world"]) == expected
    with np.load(out / "labelled.npz") as z:
        assert json.loads(str(z["terrabit_world"])) == expected


def test_summary(world: tuple[Path, WorldSummary]) -> None:
    out, s = world
    assert s.dim == 64 and s.seed == 0 and s.bbox is None
    assert set(s.intrinsic_dim) == {"mle", "twonn"}
    assert all(10 <= v <= 20 for v in s.intrinsic_dim.values()), s.intrinsic_dim
    assert s.paths == {"patches": str(out / "patches"), "labelled": str(out / "labelled.npz")}
    json.dumps(s.to_dict())


def test_bbox_world(tmp_path: Path) -> None:
    bbox = (-10.0, 35.0, 30.0, 60.0)
    s = generate_world(tmp_path / "eu", n=200, dim=64, seed=0, bbox=bbox, aef=False)
    table = pq.read_table(tmp_path / "eu" / "patches", columns=["bbox"])
    bb = table.column("bbox").combine_chunks()
    cx = (bb.field("xmin").to_numpy() + bb.field("xmax").to_numpy()) / 2
    cy = (bb.field("ymin").to_numpy() + bb.field("ymax").to_numpy()) / 2
    assert np.all((cx >= -10) & (cx <= 30) & (cy >= 35) & (cy <= 60))
    assert s.bbox == bbox and s.patches == 200


def test_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "CHUNK_PLACES", 100)
    calls = {"n": 0}
    real = gen.patch_table

    def flaky(*args: object, **kwargs: object) -> pa.Table:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gen, "patch_table", flaky)
    with pytest.raises(KeyboardInterrupt):
        generate_world(tmp_path / "w", n=1000, dim=64, seed=0, aef=False)
    assert calls["n"] == 3
    assert list(tmp_path.iterdir()) == []


def test_existing_output(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        generate_world(tmp_path / "w", n=100, dim=64, aef=False)
    s = generate_world(tmp_path / "w", n=100, dim=64, aef=False, overwrite=True)
    assert s.patches == 100 and (tmp_path / "w" / "labelled.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n": 0}, InvalidInputError, "n must be at least 100, got 0"),
        ({"n": 1001}, InvalidInputError, "n must be even"),
        ({"dim": 8}, InvalidInputError, "dim must be between 64 and 1024, got 8"),
        ({"bbox": (1.0, 2.0, 3.0)}, RegionError, "four numbers"),
        ({"bbox": (0.0, 50.0, 10.0, 40.0)}, RegionError, "miny < maxy"),
        ({"bbox": (-40.0, 0.0, -30.0, 10.0)}, RegionError, "holds no land"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], err: type, match: str) -> None:
    args: dict[str, object] = {"n": 200, "dim": 64, "aef": False, **kwargs}
    with pytest.raises(err, match=match):
        generate_world(tmp_path / "w", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "w").exists()


def test_aef_part_is_wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``aef=True`` the tile writer runs first and its bbox goes to the zones writer.

    Fake writers stand in for ``terrabit.world.aef`` / ``.zones`` (tested on their own).
    """
    seen: dict[str, object] = {}

    def write_aef_tiles(out_dir: Path, *, seed: int, show_progress: object = None) -> dict:
        out_dir.mkdir()
        (out_dir / "index.parquet").write_bytes(b"x")
        seen["aef"] = (out_dir.name, seed)
        return {"tiles": 3, "index": str(out_dir / "index.parquet"), "bbox": (1, 2, 3, 4)}

    def write_zones(path: Path, *, seed: int, aef_bbox: tuple) -> dict:
        path.write_bytes(b"z")
        seen["zones"] = (path.name, seed, aef_bbox)
        return {"zones": 7, "path": str(path)}

    monkeypatch.setitem(
        sys.modules, "terrabit.world.aef", SimpleNamespace(write_aef_tiles=write_aef_tiles)
    )
    monkeypatch.setitem(
        sys.modules, "terrabit.world.zones", SimpleNamespace(write_zones=write_zones)
    )
    out = tmp_path / "w"
    s = generate_world(out, n=100, dim=64, seed=4, aef=True)
    assert seen == {"aef": ("aef", 4), "zones": ("zones.parquet", 4, (1.0, 2.0, 3.0, 4.0))}
    assert s.paths["aef"] == str(out / "aef")
    assert s.paths["aef_index"] == str(out / "aef" / "index.parquet")
    assert s.paths["zones"] == str(out / "zones.parquet")
    assert all(Path(p).exists() for p in s.paths.values())
    assert s.aef == {"tiles": 3, "bbox": (1, 2, 3, 4)} and s.zones == {"zones": 7}
