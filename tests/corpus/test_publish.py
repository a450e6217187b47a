"""``publish``: cells, sort order, row groups, metadata, atomicity, idempotence, bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from terrabit import geohash
from terrabit.codecs import from_dict, parse
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish, shards, validate_corpus
from terrabit.corpus import writer as writer_mod
from terrabit.corpus._fixture import write_input
from terrabit.errors import InvalidInputError, OutputExistsError
from terrabit.kernels import hilbert


def _write(path: Path, ids, lon, lat, X, *, geometry=None, crs=None, emb_type=None) -> Path:  # type: ignore[no-untyped-def]
    """A small input file built by hand (point-like square patches)."""
    if geometry is None:
        geometry = list(
            shapely.to_wkb(
                shapely.box(
                    np.subtract(lon, 0.01),
                    np.subtract(lat, 0.01),
                    np.add(lon, 0.01),
                    np.add(lat, 0.01),
                )
            )
        )
    if emb_type is None:
        emb = pa.array(
            [list(map(float, row)) if row is not None else None for row in X],
            pa.list_(pa.float32()),
        )
    else:
        emb = pa.array([list(map(float, row)) for row in X], emb_type)
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "geometry": pa.array(geometry, pa.binary()),
            "embedding": emb,
        }
    )
    if crs is not None:
        geo = {
            "version": "1.1.0",
            "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "WKB", "geometry_types": [], "crs": crs}},
        }
        table = table.replace_schema_metadata({"geo": json.dumps(geo)})
    pq.write_table(table, path)
    return path


def _rand(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


# ------------------------------------------------------------------------ the corpus


def test_sources_replace_the_inputs_in_the_provenance(tmp_path: Path, input_file: Path) -> None:
    """What the inputs were made from: local paths relative to the parent of their common
    folder, URLs as they are; ``created`` from the local sources' modification time."""
    tiles = tmp_path / "tiles" / "2024"
    tiles.mkdir(parents=True)
    for name in ("a.tif", "b.tif"):
        (tiles / name).write_bytes(b"")
    os.utime(tiles / "a.tif", (0, 86_400))  # 1970-01-02, the latest
    os.utime(tiles / "b.tif", (0, 3_600))
    url = "https://example.com/aef/c.tif"
    sources = [str(tiles / "a.tif"), url, tiles / "b.tif"]
    publish(input_file, tmp_path / "c", sources=sources, show_progress=False)
    meta = json.loads(pq.read_schema(tmp_path / "c" / fmt.MANIFEST_NAME).metadata[b"terrabit"])
    assert meta["provenance"]["inputs"] == ["2024/a.tif", url, "2024/b.tif"]
    assert meta["provenance"]["created"] == "1970-01-02T00:00:00Z"


def test_manifest_and_metadata(corpus_dir: Path, input_file: Path) -> None:
    manifest = pq.read_table(corpus_dir / fmt.MANIFEST_NAME)
    assert manifest.schema.names == fmt.manifest_schema().names
    meta = json.loads(manifest.schema.metadata[fmt.METADATA_KEY])
    assert meta["format_version"] == fmt.FORMAT_VERSION == "1.6"
    assert meta["rows"] == 3000 == sum(manifest.column("rows").to_pylist())
    assert meta["dims"] == 64 and meta["code_size"] == 8
    assert meta["columns"] == ["id", "geometry", "bbox", "embedding", "datetime", "label"]
    assert meta["provenance"]["inputs"] == [input_file.name]  # relative to its folder
    assert meta["checksum_algorithm"] == "sha256"
    # the stored codec is the exact fitted codec: it re-encodes the input to the stored codes
    codec = from_dict(meta["codec"])
    src = pq.read_table(input_file, columns=["id", "embedding"])
    X = np.asarray(src.column("embedding").combine_chunks().flatten()).reshape(-1, 64)
    with open_corpus(corpus_dir) as c:
        table = c.read(columns=["id", "embedding"])
    lookup = dict(zip(src.column("id").to_pylist(), range(len(src)), strict=True))
    rows = [lookup[i] for i in table.column("id").to_pylist()]
    stored = np.frombuffer(
        table.column("embedding").combine_chunks().buffers()[1], np.uint8
    ).reshape(-1, 8)
    assert np.array_equal(codec.encode(X[rows]), stored)
    # binary = sign bits packed MSB first (np.packbits), the spec's bit order
    assert np.array_equal(np.packbits(X[rows] > 0, axis=1), stored)


def test_cells_are_adaptive_prefix_free_and_hold_their_rows(corpus_dir: Path) -> None:
    manifest = pq.read_table(corpus_dir / fmt.MANIFEST_NAME)
    cells = manifest.column("geohash").to_pylist()
    assert cells == sorted(cells)
    assert len({len(c) for c in cells}) > 1  # adaptive: several precisions
    for a in cells:
        assert not any(b != a and b.startswith(a) for b in cells)
    assert max(manifest.column("rows").to_pylist()) <= 400
    for row in manifest.to_pylist():
        shard = pq.read_table(corpus_dir / row["path"])
        b = shapely.bounds(
            shapely.from_wkb(shard.column("geometry").to_numpy(zero_copy_only=False))
        )
        lon, lat = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        keys = geohash.encode(lon, lat, precision=12)
        assert all(k.startswith(row["geohash"]) for k in keys)
        # sorted by the Hilbert key of the anchor point, then id
        curve = hilbert.keys(lon, lat).tolist()
        ids = shard.column("id").to_pylist()
        assert list(zip(curve, ids, strict=True)) == sorted(zip(curve, ids, strict=True))
        # a parent of a split cell held more than max_rows (else it would not be split)
        assert row["rows"] == shard.num_rows
        assert [row["xmin"], row["ymin"], row["xmax"], row["ymax"]] == pytest.approx(
            [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
        )


def test_split_cells_exceed_max_rows(corpus_dir: Path) -> None:
    manifest = pq.read_table(corpus_dir / fmt.MANIFEST_NAME).to_pylist()
    parents = {r["geohash"][:-1] for r in manifest if len(r["geohash"]) > 1}
    for parent in parents:
        total = sum(r["rows"] for r in manifest if r["geohash"].startswith(parent))
        assert total > 400, parent


def test_row_groups_and_statistics(corpus_dir: Path) -> None:
    path = max(corpus_dir.glob("shards/*.parquet"), key=lambda p: p.stat().st_size)
    md = pq.read_metadata(path)
    assert md.num_row_groups > 1
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        assert rg.num_rows <= 64
        cols = {rg.column(j).path_in_schema: rg.column(j) for j in range(rg.num_columns)}
        assert cols["embedding"].compression == "ZSTD"
        assert cols["bbox.xmin"].statistics.has_min_max
        assert "BYTE_STREAM_SPLIT" in cols["bbox.xmin"].encodings


def test_validate_finds_no_problem(corpus_dir: Path) -> None:
    with open_corpus(corpus_dir, verify="full") as c:
        assert validate_corpus(c) == []


def test_republish_gives_the_same_bytes(input_file: Path, tmp_path: Path) -> None:
    # the same name: the output's folder name is the id of its collection.json
    options = {"max_rows": 700, "row_group_rows": 128, "name": "c", "show_progress": False}
    a = publish(input_file, tmp_path / "a", **options)
    b = publish(input_file, tmp_path / "b", **options)
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b and a.bytes == b.bytes
    assert Path("collection.json") in files_a and Path("manifest.parquet") in files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    # overwriting in place is idempotent too
    publish(input_file, tmp_path / "a", overwrite=True, **options)
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_small_buffer_spills_to_parts_with_the_same_result(
    input_file: Path, tmp_path: Path
) -> None:
    publish(input_file, tmp_path / "a", max_rows=700, show_progress=False)
    publish(input_file, tmp_path / "b", max_rows=700, buffer_bytes=10_000, show_progress=False)
    for p in (tmp_path / "a").rglob("*.parquet"):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()


def test_interrupted_publish_leaves_the_old_corpus(
    input_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c"
    publish(input_file, out, max_rows=700, show_progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = {"n": 0}
    real = shards.write_shard

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(shards, "write_shard", dying)
    with pytest.raises(KeyboardInterrupt):
        publish(input_file, out, max_rows=100, overwrite=True, show_progress=False)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    # the unfinished publish is kept beside it for --resume, with no manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.publishing", "c"]
    assert not (tmp_path / ".c.publishing" / "manifest.parquet").exists()


def test_output_rules(input_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    publish(input_file, out, max_rows=3000, show_progress=False)
    with pytest.raises(OutputExistsError, match="already holds a corpus; pass overwrite=True"):
        publish(input_file, out, show_progress=False)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(
        OutputExistsError, match=r"is not a terrabit corpus .* even with overwrite=True"
    ):
        publish(input_file, other, overwrite=True, show_progress=False)
    assert (other / "cat.jpg").read_bytes() == b"meow"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert publish(input_file, empty, show_progress=False).rows == 3000


def test_rerank_keep_and_codec_options(input_file: Path, tmp_path: Path) -> None:
    publish(
        input_file,
        tmp_path / "c",
        codec="binary",
        rerank="int8",
        keep=["label", "year"],
        show_progress=False,
    )
    with open_corpus(tmp_path / "c") as c:
        assert c.columns == [
            "id",
            "geometry",
            "bbox",
            "embedding",
            "datetime",
            "rerank",
            "label",
            "year",
        ]
        assert c.rerank_codec is not None and c.rerank_codec.code_size == 64
        table = c.read(columns=["rerank", "label", "year"])
        assert table.column("rerank").type == pa.binary(64)
        assert set(table.column("label").to_pylist()) <= {
            "water",
            "forest",
            "crop",
            "urban",
            "bare",
            "grass",
        }


def test_reprojects_other_crs_to_crs84(tmp_path: Path) -> None:
    from pyproj import CRS, Transformer

    lon, lat = np.array([2.35, 13.4, -74.0]), np.array([48.85, 52.5, 40.7])
    tx = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    x, y = tx.transform(lon, lat)
    geoms = list(shapely.to_wkb(shapely.points(x, y)))
    src = _write(
        tmp_path / "m.parquet",
        ["a", "b", "c"],
        lon,
        lat,
        _rand(3),
        geometry=geoms,
        crs=CRS("EPSG:3857").to_json_dict(),
    )
    publish(src, tmp_path / "c", show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        t = c.read(columns=["id", "geometry"])
    pts = dict(
        zip(
            t.column("id").to_pylist(),
            shapely.from_wkb(t.column("geometry").to_numpy(zero_copy_only=False)),
            strict=True,
        )
    )
    assert pts["a"].x == pytest.approx(2.35) and pts["a"].y == pytest.approx(48.85)


def test_fixed_size_and_float64_embeddings(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "f.parquet",
        ["a", "b"],
        [1.0, 2.0],
        [1.0, 2.0],
        _rand(2, 8),
        emb_type=pa.list_(pa.float64(), 8),
    )
    assert publish(src, tmp_path / "c", show_progress=False).rows == 2


# ------------------------------------------------------------------------ bad input


def test_mixed_dims_within_a_file(tmp_path: Path) -> None:
    X = [[0.1] * 8, [0.2] * 8, [0.3] * 5]
    src = _write(tmp_path / "x.parquet", ["a", "b", "c"], [0, 1, 2], [0, 1, 2], X)
    with pytest.raises(InvalidInputError, match=r"mixed dimensions: expected 8 .* ids 'c \(5\)'"):
        publish(src, tmp_path / "c", show_progress=False)
    assert not (tmp_path / "c").exists()


def test_mixed_dims_across_files(tmp_path: Path) -> None:
    a = _write(
        tmp_path / "a.parquet", ["a"], [0], [0], _rand(1, 8), emb_type=pa.list_(pa.float32(), 8)
    )
    b = _write(
        tmp_path / "b.parquet", ["b"], [0], [0], _rand(1, 4), emb_type=pa.list_(pa.float32(), 4)
    )
    with pytest.raises(
        InvalidInputError,
        match=r"disagree on the embedding dimension \(4 in 'b.parquet'; 8 in 'a.parquet'\)",
    ):
        publish([a, b], tmp_path / "c", show_progress=False)


def test_nan_embeddings_rejected_with_ids_or_dropped(tmp_path: Path) -> None:
    X = _rand(20)
    X[3, 2] = np.nan
    X[7, 0] = np.inf
    ids = [f"r{i}" for i in range(20)]
    src = _write(tmp_path / "x.parquet", ids, np.linspace(0, 10, 20), np.linspace(0, 10, 20), X)
    with pytest.raises(
        InvalidInputError,
        match=r"2 rows have a null, NaN or infinite embedding \(ids 'r3', 'r7'\).*"
        r"drop_invalid=True",
    ):
        publish(src, tmp_path / "c", show_progress=False)
    assert not (tmp_path / "c").exists()
    result = publish(src, tmp_path / "c", drop_invalid=True, show_progress=False)
    assert (result.rows, result.dropped) == (18, 2)
    with open_corpus(tmp_path / "c") as c:
        assert c.metadata["provenance"]["dropped_rows"] == 2
        assert "r3" not in c.read(columns=["id"]).column("id").to_pylist()


@pytest.mark.parametrize(
    "bad",
    [
        None,
        b"\x00\x01garbage",
        shapely.to_wkb(shapely.Polygon()),
        shapely.to_wkb(shapely.Point(200, 10)),
    ],
    ids=["null", "garbage", "empty", "out-of-range"],
)
def test_missing_or_invalid_geometry(tmp_path: Path, bad: bytes | None) -> None:
    good = shapely.to_wkb(shapely.Point(1, 1))
    src = _write(tmp_path / "x.parquet", ["a", "b"], [1, 1], [1, 1], _rand(2), geometry=[good, bad])
    with pytest.raises(
        InvalidInputError,
        match=r"1 rows have a missing, empty, unreadable or out-of-range geometry \(ids 'b'\)",
    ):
        publish(src, tmp_path / "c", show_progress=False)
    assert publish(src, tmp_path / "c", drop_invalid=True, show_progress=False).rows == 1


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.parquet", ["x", "y"], [0, 1], [0, 1], _rand(2))
    b = _write(tmp_path / "b.parquet", ["z", "x"], [2, 3], [2, 3], _rand(2))
    with pytest.raises(InvalidInputError, match=r"1 ids occur more than once \('x'\)"):
        publish(tmp_path, tmp_path / "c", show_progress=False)
    assert a.exists() and b.exists() and not (tmp_path / "c").exists()


def test_empty_input(tmp_path: Path) -> None:
    src = _write(tmp_path / "x.parquet", [], [], [], np.zeros((0, 4)))
    with pytest.raises(InvalidInputError, match="the input is empty"):
        publish(src, tmp_path / "c", show_progress=False)
    with pytest.raises(InvalidInputError, match="does not exist"):
        publish(tmp_path / "nope.parquet", tmp_path / "c", show_progress=False)
    (tmp_path / "d").mkdir()
    with pytest.raises(InvalidInputError, match="no input files"):
        publish(tmp_path / "d", tmp_path / "c", show_progress=False)


def test_unknown_columns_name_the_existing_ones(input_file: Path, tmp_path: Path) -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"no column 'emb' \(embedding_col\); the file has columns "
        r"\['id', 'geometry', 'datetime', 'embedding', 'label', 'year'\]",
    ):
        publish(input_file, tmp_path / "c", embedding_col="emb", show_progress=False)
    with pytest.raises(InvalidInputError, match=r"no column 'colour' \(keep\)"):
        publish(input_file, tmp_path / "c", keep=["colour"], show_progress=False)
    with pytest.raises(InvalidInputError, match=r"keep=\['id'\] would clash"):
        publish(input_file, tmp_path / "c", keep=["id"], show_progress=False)


def test_wrong_embedding_type(tmp_path: Path, input_file: Path) -> None:
    with pytest.raises(InvalidInputError, match="embedding column 'label' is string"):
        publish(input_file, tmp_path / "c", embedding_col="label", show_progress=False)


def test_bad_options(input_file: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="max_rows must be at least 1"):
        publish(input_file, tmp_path / "c", max_rows=0, show_progress=False)


def test_codec_is_fitted_once_on_a_seeded_sample(
    input_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[int] = []
    real_parse = writer_mod.parse

    def counting_parse(spec: str):  # type: ignore[no-untyped-def]
        codec = real_parse(spec)
        real_fit = codec.fit

        def fit(X):  # type: ignore[no-untyped-def]
            fits.append(len(X))
            return real_fit(X)

        codec.fit = fit  # type: ignore[method-assign]
        return codec

    monkeypatch.setattr(writer_mod, "parse", counting_parse)
    publish(input_file, tmp_path / "c", codec="srp+binary", sample_rows=1000, show_progress=False)
    assert fits == [1000]
    assert parse("binary").spec == "binary"


def test_source_date_epoch_sets_created(
    input_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    publish(input_file, tmp_path / "c", show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        assert c.metadata["provenance"]["created"] == "1970-01-01T00:00:00Z"
    assert os.environ["SOURCE_DATE_EPOCH"] == "0"


def test_write_input_helper_is_seeded(tmp_path: Path) -> None:
    a = write_input(tmp_path / "a.parquet", rows=50, dims=4, seed=1)
    b = write_input(tmp_path / "b.parquet", rows=50, dims=4, seed=1)
    assert pq.read_table(a).equals(pq.read_table(b))


def test_big_endian_and_ewkb_geometry_is_rewritten_as_iso_wkb(tmp_path: Path) -> None:
    pts = shapely.points([1.0, 2.0], [3.0, 4.0])
    shapely.set_srid(pts, 4326)
    geoms = [
        shapely.to_wkb(pts[0], byte_order=0),  # big-endian
        shapely.to_wkb(pts[1], include_srid=True, flavor="extended"),  # EWKB with SRID
    ]
    src = _write(tmp_path / "x.parquet", ["a", "b"], [1, 2], [3, 4], _rand(2), geometry=geoms)
    publish(src, tmp_path / "c", show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        table = c.read(columns=["id", "geometry"])
        for path in c.manifest.column("path").to_pylist():
            geo = json.loads(pq.read_metadata(tmp_path / "c" / path).metadata[b"geo"])
            assert geo["columns"]["geometry"]["geometry_types"] == ["Point"]
    for wkb in table.column("geometry").to_pylist():
        assert wkb[0] == 1 and int.from_bytes(wkb[1:5], "little") == 1  # LE ISO Point
        assert len(wkb) == 21


def test_validate_checks_the_row_order_of_the_corpus_version(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """Format 1.3 sorts rows by Hilbert key, 1.2 and before by geohash: a 1.3 corpus whose
    manifest claimed 1.2 would be out of order, and validate says so."""
    copy = tmp_path / "c"
    shutil.copytree(corpus_dir, copy)
    with open_corpus(copy) as c:
        assert validate_corpus(c) == []
    manifest = pq.read_table(copy / fmt.MANIFEST_NAME)
    meta = json.loads(manifest.schema.metadata[fmt.METADATA_KEY])
    meta["format_version"] = "1.2"
    pq.write_table(
        manifest.replace_schema_metadata({fmt.METADATA_KEY: json.dumps(meta).encode()}),
        copy / fmt.MANIFEST_NAME,
    )
    (copy / "collection.json").unlink()  # a 1.2 corpus has none (its version would differ)
    with open_corpus(copy) as c:
        problems = validate_corpus(c)
    assert problems
    assert all("not sorted by (geohash-12 of the anchor, id)" in p for p in problems)


def test_manifest_bytes_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same input published from two folders (given relatively, then absolutely) gives
    byte-identical manifests; the inputs are recorded relative to their folder's parent."""
    folder = tmp_path / "data" / "parts"
    folder.mkdir(parents=True)
    write_input(folder / "a.parquet", rows=120, dims=16, seed=1)
    other = pq.read_table(folder / "a.parquet")  # the same rows under other ids
    ids = pa.array([f"b{i}" for i in range(other.num_rows)])
    pq.write_table(other.set_column(0, "id", ids), folder / "b.parquet")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "data")
    publish("parts", tmp_path / "c1", show_progress=False)
    monkeypatch.chdir(tmp_path / "elsewhere")
    publish(str(folder), tmp_path / "c2", show_progress=False)
    one = (tmp_path / "c1" / fmt.MANIFEST_NAME).read_bytes()
    assert one == (tmp_path / "c2" / fmt.MANIFEST_NAME).read_bytes()
    meta = json.loads(pq.read_metadata(tmp_path / "c1" / fmt.MANIFEST_NAME).metadata[b"terrabit"])
    assert meta["provenance"]["inputs"] == ["parts/a.parquet", "parts/b.parquet"]


def _with_bowties(src: Path, out: Path, rows: list[int]) -> Path:
    """``src`` with the footprints of ``rows`` replaced by self-intersecting bow ties."""
    table = pq.read_table(src)
    wkb = table.column("geometry").to_pylist()
    for r in rows:
        x0, y0, x1, y1 = shapely.bounds(shapely.from_wkb(wkb[r]))
        bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
        assert not shapely.is_valid(bowtie)
        wkb[r] = shapely.to_wkb(bowtie, byte_order=1, flavor="iso")
    i = table.column_names.index("geometry")
    pq.write_table(table.set_column(i, "geometry", pa.array(wkb, pa.binary())), out)
    return out


def test_invalid_footprints_are_repaired_or_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Self-intersecting footprints: repaired with make_valid (a warning names them and
    their count), or dropped and counted with drop_invalid; validate passes either way,
    and reports such footprints in a corpus that holds them (shapely's validity: oracle)."""
    src = _with_bowties(
        write_input(tmp_path / "in.parquet", rows=300, dims=16), tmp_path / "bow.parquet", [3, 7]
    )
    ids = pq.read_table(src, columns=["id"]).column("id").to_pylist()
    with caplog.at_level("WARNING"):
        publish(src, tmp_path / "fixed", show_progress=False)
    assert "repaired 2 invalid (self-intersecting) footprints" in caplog.text
    assert ids[3] in caplog.text
    with open_corpus(tmp_path / "fixed") as c:
        table = c.read(None, columns=["id", "geometry"])
        geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        assert shapely.is_valid(geoms).all() and table.num_rows == 300
        assert validate_corpus(c) == []
    publish(src, tmp_path / "dropped", drop_invalid=True, show_progress=False)
    with open_corpus(tmp_path / "dropped") as c:
        assert c.rows == 298 and c.metadata["provenance"]["dropped_rows"] == 2


def test_validate_reports_invalid_footprints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from terrabit.corpus._inputs import InputSet

    src = _with_bowties(
        write_input(tmp_path / "in.parquet", rows=200, dims=16), tmp_path / "bow.parquet", [5]
    )
    # a corpus as an older terrabit wrote it: the footprint as given
    monkeypatch.setattr(InputSet, "_valid_footprints", lambda self, path, wkb, ids, bad: wkb)
    publish(src, tmp_path / "c", show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        problems = validate_corpus(c)
    assert len(problems) == 1 and "1 invalid footprints" in problems[0], problems
    assert "Self-intersection" in problems[0]
