"""``open`` / ``Corpus.read``: pruning, exact results against a brute-force oracle,
integrity errors, and the local, HTTP and object-store sources."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrabit.corpus import ObjectStoreSource, open_source, publish, validate_corpus
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus._validate import _check_pages
from terrabit.errors import (
    CorpusIntegrityError,
    CorpusNotFoundError,
    InvalidInputError,
    RangeNotSupportedError,
    RegionError,
)


def _all_rows(corpus_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    tables = [pq.read_table(p) for p in sorted(corpus_dir.glob("shards/*.parquet"))]
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    geoms = np.concatenate(
        [shapely.from_wkb(t.column("geometry").to_numpy(zero_copy_only=False)) for t in tables]
    )
    times = np.concatenate(
        [t.column("datetime").to_numpy().astype("datetime64[us]") for t in tables]
    )
    return ids, geoms, times


REGIONS = [
    (0.0, 0.0, 60.0, 60.0),
    (-180.0, -90.0, 180.0, 90.0),
    (150.0, -60.0, -150.0, 60.0),  # crosses the antimeridian
    (10.0, 10.0, 10.5, 10.5),  # probably empty
    shapely.Polygon([(-100, -20), (40, -40), (20, 50), (-100, -20)]),
    {
        "type": "Polygon",
        "coordinates": [[[170, -50], [200, -50], [200, 50], [170, 50], [170, -50]]],
    },
]


def _region_oracle(region: object) -> shapely.Geometry:
    """The geometry of each of :data:`REGIONS`, written by hand (split at 180)."""
    if isinstance(region, tuple):
        x0, y0, x1, y1 = region
        return (
            shapely.box(x0, y0, x1, y1)
            if x0 <= x1
            else shapely.union(shapely.box(x0, y0, 180, y1), shapely.box(-180, y0, x1, y1))
        )
    if isinstance(region, dict):  # 170..200 -> 170..180 and -180..-160
        return shapely.union(shapely.box(170, -50, 180, 50), shapely.box(-180, -50, -160, 50))
    assert isinstance(region, shapely.Geometry)
    return region


@pytest.mark.parametrize("region", REGIONS, ids=range(len(REGIONS)))
def test_read_matches_brute_force(corpus_dir: Path, region: object) -> None:
    ids, geoms, _ = _all_rows(corpus_dir)
    geom = _region_oracle(region)
    expected = sorted(i for i, g in zip(ids, geoms, strict=True) if g.intersects(geom))
    with open_corpus(corpus_dir) as c:
        got = c.read(region, columns=["id"]).column("id").to_pylist()
    assert sorted(got) == expected
    assert len(got) == len(set(got))


def test_time_filter_matches_brute_force(corpus_dir: Path) -> None:
    ids, _, times = _all_rows(corpus_dir)
    start, end = np.datetime64("2023-06-01", "us"), np.datetime64("2024-03-01", "us")
    expected = sorted(i for i, t in zip(ids, times, strict=True) if start <= t < end)
    with open_corpus(corpus_dir) as c:
        got = c.read(columns=["id"], time=("2023-06-01", "2024-03-01")).column("id").to_pylist()
        assert sorted(got) == expected
        assert len(c.select_shards(time=("2030-01-01", None))) == 0


def test_region_read_prunes_shards_row_groups_and_columns(corpus_dir: Path) -> None:
    total = sum(p.stat().st_size for p in corpus_dir.glob("shards/*.parquet"))
    with open_corpus(corpus_dir, verify="footer") as c:
        after_manifest = c.bytes_read
        # a small box around one row
        row = c.read(columns=["bbox"]).column("bbox")[100].as_py()
        c.source.close()
        c.source.bytes_read = 0
        box = (row["xmin"], row["ymin"], row["xmax"], row["ymax"])
        shards = c.select_shards(box)
        assert 1 <= len(shards) < len(c.manifest)
        got = c.read(box, columns=["id"])
        assert got.num_rows >= 1
        assert 0 < c.bytes_read < total / 10
        assert after_manifest > 0


def test_columns_are_checked_and_only_requested_ones_returned(corpus_dir: Path) -> None:
    with open_corpus(corpus_dir) as c:
        assert c.read((0, 0, 90, 90), columns=["embedding"]).column_names == ["embedding"]
        empty = c.read((10.0, 10.0, 10.0001, 10.0001), columns=["id", "embedding"])
        assert empty.num_rows == 0 and empty.column_names == ["id", "embedding"]
        with pytest.raises(
            InvalidInputError,
            match=r"unknown columns \['emb'\]; this corpus has columns \['id', 'geometry'",
        ):
            c.read(columns=["emb"])
        with pytest.raises(RegionError, match="out of range"):
            c.read((0, 0, 200, 10))
        with pytest.raises(InvalidInputError, match="is not a date"):
            c.read(time=("soon", None))


def test_not_a_corpus(tmp_path: Path, corpus_dir: Path) -> None:
    with pytest.raises(
        CorpusNotFoundError,
        match=r"does not exist; pass the corpus root, the folder holding manifest.parquet, "
        r"or run `terrabit publish` first$",
    ):
        open_corpus(tmp_path)
    with pytest.raises(CorpusNotFoundError):
        open_corpus(corpus_dir / "shards")
    with open_corpus(corpus_dir / fmt.MANIFEST_NAME) as c:  # the manifest itself is fine
        assert c.rows == 3000
    assert "3000 rows" in repr(c)


@pytest.fixture
def corrupt_copy(corpus_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    copy = tmp_path / "copy"
    shutil.copytree(corpus_dir, copy)
    path = pq.read_table(copy / fmt.MANIFEST_NAME).column("path")[0].as_py()
    yield copy, path


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _chunk_offset(path: Path, leaf: str, group: int = 0) -> int:
    md = pq.read_metadata(path)
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    offset, length = fmt.chunk_ranges(md)[group * md.num_columns + names.index(leaf)]
    return offset + length // 2


def test_flipped_byte_is_caught_by_the_chunk_checksum(corrupt_copy: tuple[Path, str]) -> None:
    copy, path = corrupt_copy
    _flip(copy / path, 10)  # inside the first chunk: row group 0, column id
    for verify in ("auto", "footer"):
        with (
            open_corpus(copy, verify=verify) as c,  # type: ignore[arg-type]
            pytest.raises(
                CorpusIntegrityError,
                match=rf"^shard {path} .*column chunk 'id' of row group 0 differs from its "
                "checksum; the corpus changed after publishing",
            ),
        ):
            c.read(columns=["id"])
    with (
        open_corpus(copy, verify="full") as c,
        pytest.raises(
            CorpusIntegrityError, match=rf"shard {path} .*checksum .* differs from the manifest"
        ),
    ):
        c.read(columns=["id"])
    with open_corpus(copy) as c:  # only what is read is checked: other columns read fine
        assert c.read(columns=["embedding"]).num_rows == 3000
        assert validate_corpus(c)  # the deep check hashes everything


def test_integrity_costs_only_what_is_read(corrupt_copy: tuple[Path, str]) -> None:
    copy, path = corrupt_copy
    _flip(copy / path, _chunk_offset(copy / path, "embedding", group=0))
    md = pq.read_metadata(copy / path)
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    ranges = fmt.chunk_ranges(md)
    embedding = sum(n for k, (_, n) in enumerate(ranges) if names[k % len(names)] == "embedding")
    with open_corpus(copy) as c:
        c.footer(path)
        before = c.bytes_read
        c.read_shard(path, columns=["id", "datetime"])  # the flipped chunk is not read
        assert 0 < c.bytes_read - before <= sum(n for _, n in ranges) - embedding
        with pytest.raises(CorpusIntegrityError, match=r"column chunk 'embedding' of row group 0"):
            c.read_shard(path, columns=["embedding"])


def test_chunks_read_once_are_kept(corpus_dir: Path) -> None:
    with open_corpus(corpus_dir) as c:
        box = (-20.0, -20.0, 40.0, 40.0)
        first = c.read(box, columns=["id", "embedding"])
        fetched = c.bytes_read
        again = c.read(box, columns=["id", "embedding"])
        assert c.bytes_read == fetched  # served from the verified chunks kept in memory
        assert again.equals(first)
        c.source.close()  # byte ranges dropped: the decoded row groups are kept
        assert c.read(box, columns=["id", "embedding"]).equals(first)
        assert c.bytes_read == fetched
        c.drop_caches(footers=False)
        assert c.read(box, columns=["id", "embedding"]).equals(first)
        assert c.bytes_read > fetched


def test_region_reads_are_kept_and_forgotten_on_request(corpus_dir: Path) -> None:
    """A repeated region read returns the rows assembled before (the very table); a
    selection reads what its region would; forgetting region reads re-assembles them."""
    box = (-20.0, -20.0, 40.0, 40.0)
    with open_corpus(corpus_dir) as c:
        first = c.read(box, columns=["id", "embedding"])
        assert c.read(box, columns=["id", "embedding"]) is first
        assert c.read(c.select(box), columns=["id", "embedding"]) is first
        c.region_cache_entries = 1
        c.read((0.0, 0.0, 1.0, 1.0), columns=["id"])  # evicts the first read
        assert c.read(box, columns=["id", "embedding"]) is not first
        kept = c.read(box, columns=["id", "embedding"])
        c.forget_region_reads()
        again = c.read(box, columns=["id", "embedding"])
        assert again is not kept and again.equals(first)
        with pytest.raises(InvalidInputError, match="time is part of a Selection"):
            c.read(c.select(box), time=("2024-01-01", None))


def test_replaced_shard_is_caught_by_rows_or_footer(
    corrupt_copy: tuple[Path, str], corpus_dir: Path
) -> None:
    copy, path = corrupt_copy
    other = pq.read_table(copy / fmt.MANIFEST_NAME).column("path")[1].as_py()
    shutil.copy(copy / other, copy / path)
    with (
        open_corpus(copy, verify="footer") as c,
        pytest.raises(CorpusIntegrityError, match=rf"shard {path} "),
    ):
        c.read()
    (copy / path).unlink()
    with (
        open_corpus(copy) as c,
        pytest.raises(CorpusIntegrityError, match=rf"shard {path} .*the file is missing"),
    ):
        c.read()


# --------------------------------------------------------------------------- sources


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    honour_range = True

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        header = self.headers.get("Range")
        if header and self.honour_range:
            start, end = (int(v) for v in header.removeprefix("bytes=").split("-"))
            chunk = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
        else:
            chunk = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        self.wfile.write(chunk)


class _NoRangeHandler(_RangeHandler):
    honour_range = False


@pytest.fixture(params=[_RangeHandler, _NoRangeHandler], ids=["range", "no-range"])
def server(request: pytest.FixtureRequest, corpus_dir: Path) -> Iterator[tuple[str, bool]]:
    handler = functools.partial(request.param, directory=str(corpus_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", request.param.honour_range
    httpd.shutdown()


def test_http_source(server: tuple[str, bool], corpus_dir: Path) -> None:
    url, honours = server
    box = (0.0, 0.0, 60.0, 60.0)
    with open_corpus(corpus_dir) as local:
        expected = sorted(local.read(box, columns=["id"]).column("id").to_pylist())
    if not honours:
        with pytest.raises(
            RangeNotSupportedError, match=r"answered 200 to a Range request instead of 206"
        ):
            open_corpus(url)
        return
    with open_corpus(url) as c:
        assert c.verify == "auto"
        got = sorted(c.read(box, columns=["id"]).column("id").to_pylist())
        assert got == expected
        requests = c.source.requests
        c.read(box, columns=["id"])  # ranges are cached: no new request
        assert c.source.requests == requests
    with pytest.raises(CorpusNotFoundError, match="run `terrabit publish` first"):
        open_corpus(url + "/nothing-here")


def test_object_store_source_reads_ranges(corpus_dir: Path) -> None:
    pytest.importorskip("obstore")
    src = ObjectStoreSource(corpus_dir.resolve().as_uri())
    data = (corpus_dir / fmt.MANIFEST_NAME).read_bytes()
    assert src.size(fmt.MANIFEST_NAME) == len(data)
    assert src.read_range(fmt.MANIFEST_NAME, 4, 10) == data[4:14]
    assert not src.exists("nope.parquet")


def test_range_file_and_open_source(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="unsupported corpus location"):
        open_source("ftp://x/y")
    pytest.importorskip("obstore")
    monkeypatch.setenv("AWS_SKIP_SIGNATURE", "true")  # a public bucket: no keys needed
    assert type(open_source("s3://bucket/prefix")).__name__ == "ObjectStoreSource"


def test_deep_validation_names_the_corrupt_chunk(corpus_dir: Path) -> None:
    from terrabit.corpus._validate import _check_chunks

    path = pq.read_table(corpus_dir / fmt.MANIFEST_NAME).column("path")[0].as_py()
    data = bytearray((corpus_dir / path).read_bytes())
    md = pq.read_metadata(corpus_dir / path)
    assert _check_chunks(path, md, bytes(data)) == []
    offset = _chunk_offset(corpus_dir / path, "embedding")
    data[offset] ^= 1
    assert _check_chunks(path, md, bytes(data)) == [
        f"{path}: 1 column chunks differ from their checksums (first: column 'embedding' of "
        "row group 0)"
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cx=st.floats(-180, 180),
    cy=st.floats(-80, 80),
    size=st.sampled_from([0.05, 0.3, 1.0, 4.0, 20.0]),
    columns=st.sampled_from([["id"], ["id", "embedding"], ["bbox", "id"]]),
)
def test_two_step_region_reads_match_brute_force(
    corpus_dir: Path, cx: float, cy: float, size: float, columns: list[str]
) -> None:
    ids, geoms, _ = _all_rows(corpus_dir)
    box = (cx - size, max(-90.0, cy - size / 2), min(180.0, cx + size), min(90.0, cy + size / 2))
    box = (max(-180.0, box[0]), box[1], box[2], box[3])
    expected = sorted(i for i, g in zip(ids, geoms, strict=True) if g.intersects(shapely.box(*box)))
    with open_corpus(corpus_dir) as c:
        got = c.read(box, columns=columns)
        assert got.column_names == columns
        assert sorted(got.column("id").to_pylist()) == expected


# ------------------------------------------------------------------- page-level reads


@pytest.fixture(scope="module")
def paged_dir(tmp_path_factory: pytest.TempPathFactory, input_file: Path) -> Path:
    """``input_file`` published with pages of 8 rows (8-byte codes, 64-byte pages)."""
    out = tmp_path_factory.mktemp("paged") / "c"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fmt, "DATA_PAGE_BYTES", 64)
        mp.setattr(fmt, "WRITE_BATCH_ROWS", 8)
        publish(
            input_file, out, max_rows=400, row_group_rows=64, keep=["label"], show_progress=False
        )
    return out


def _oracle(corpus_dir: Path, boxes: list[tuple[float, float, float, float]]) -> pa.Table:
    """What a region read must return, from pyarrow alone: every shard in manifest order,
    rows whose bbox meets a box, in shard order."""
    tables = []
    for path in pq.read_table(corpus_dir / fmt.MANIFEST_NAME).column("path").to_pylist():
        t = pq.read_table(corpus_dir / path)
        b = t.column("bbox").combine_chunks()
        x0, y0, x1, y1 = (b.field(n).to_numpy(zero_copy_only=False) for n in fmt.BBOX_FIELDS)
        keep = np.zeros(t.num_rows, dtype=bool)
        for qx0, qy0, qx1, qy1 in boxes:
            keep |= (x0 <= qx1) & (x1 >= qx0) & (y0 <= qy1) & (y1 >= qy0)
        tables.append(t.filter(pa.array(keep)))
    return pa.concat_tables(tables)


def test_paged_shards_carry_a_page_index(paged_dir: Path) -> None:
    path = next(paged_dir.glob("shards/*.parquet"))
    md = pq.read_metadata(path)
    digests = fmt.read_page_index_digests(md)
    assert digests is not None and set(digests) == {"offset_index", "column_index"}
    data = path.read_bytes()
    for start, length, digest in digests.values():
        assert fmt.sha256_hex(data[start : start + length]) == digest
    assert md.row_group(0).column(3).total_compressed_size > 0
    with open_corpus(paged_dir) as c:
        locs = c._shard(str(path.relative_to(paged_dir))).page_locations()
        assert locs is not None
        names = [md.schema.column(j).path for j in range(md.num_columns)]
        emb = locs.get(0, names.index("embedding"))
        assert len(emb) == -(-md.row_group(0).num_rows // 8)  # pages of 8 rows


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cx=st.floats(-180, 180),
    cy=st.floats(-80, 80),
    size=st.sampled_from([0.05, 0.3, 1.0, 4.0, 20.0]),
    columns=st.sampled_from(
        [
            ["id", "embedding"],
            ["embedding", "geometry", "datetime"],
            ["label", "id", "bbox"],
            None,
        ]
    ),
)
def test_page_reads_equal_whole_row_group_reads_and_pyarrow(
    paged_dir: Path, cx: float, cy: float, size: float, columns: list[str] | None
) -> None:
    box = (
        max(-180.0, cx - size),
        max(-90.0, cy - size / 2),
        min(180.0, cx + size),
        min(90.0, cy + size / 2),
    )
    with open_corpus(paged_dir) as c:
        got = c.read(box, columns=columns)
    with open_corpus(paged_dir) as c:
        c._page_reads = False
        whole = c.read(box, columns=columns)
    assert got.schema == whole.schema
    assert got.equals(whole)
    want = _oracle(paged_dir, [box]).select(got.column_names)
    assert got.cast(want.schema).equals(want)


def test_page_reads_fetch_fewer_bytes(paged_dir: Path) -> None:
    rng = np.random.default_rng(0)
    bbox = pq.read_table(next(paged_dir.glob("shards/*.parquet")), columns=["bbox"])
    fewer = 0
    for row in rng.choice(bbox.num_rows, 10, replace=False):
        b = bbox.column("bbox")[int(row)].as_py()
        box = (b["xmin"], b["ymin"], b["xmax"], b["ymax"])  # one row's box: partial groups
        fetched = []
        for pages_on in (True, False):
            with open_corpus(paged_dir) as c:
                c._page_reads = pages_on
                c.footer(c.select_shards(box).column("path")[0].as_py())
                c.drop_caches(footers=False)
                before = c.bytes_read
                table = c.read(box, columns=["id", "embedding"])
                assert table.num_rows >= 1
                fetched.append(c.bytes_read - before)
        fewer += fetched[0] < fetched[1]
    assert fewer >= 8


def test_pages_read_once_are_kept(paged_dir: Path) -> None:
    path = pq.read_table(paged_dir / fmt.MANIFEST_NAME).column("path")[0].as_py()
    b = pq.read_table(paged_dir / path, columns=["bbox"]).column("bbox")[5].as_py()
    box = (b["xmin"], b["ymin"], b["xmax"], b["ymax"])
    with open_corpus(paged_dir) as c:
        first = c.read(box, columns=["id", "embedding"])
        fetched = c.bytes_read
        c._io.decoded.clear()  # decoded rows dropped: the verified pages are kept
        assert c.read(box, columns=["id", "embedding"]).equals(first)
        assert c.bytes_read == fetched


def _page_of_row(corpus: Path, path: str, leaf: str, row: int) -> tuple[int, int]:
    """The row group and file offset of the middle of the page holding ``row`` of the
    first row group."""
    from terrabit.corpus import pages

    data = (corpus / path).read_bytes()
    md = pq.read_metadata(corpus / path)
    footer = data[-8 - int.from_bytes(data[-8:-4], "little") : -8]
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    loc = pages.page_index_locations(footer)[0][names.index(leaf)]
    index = pages.read_offset_index(
        data[loc.offset_index_offset : loc.offset_index_offset + loc.offset_index_length]
    )
    page = [p for p in index if p.first_row_index <= row][-1]
    return 0, page.offset + page.compressed_page_size - 3


@pytest.fixture
def paged_copy(paged_dir: Path, tmp_path: Path) -> tuple[Path, str, tuple[float, ...]]:
    copy = tmp_path / "paged"
    shutil.copytree(paged_dir, copy)
    manifest = pq.read_table(copy / fmt.MANIFEST_NAME).sort_by([("rows", "descending")])
    path = manifest.column("path")[0].as_py()
    b = pq.read_table(copy / path, columns=["bbox"]).column("bbox")[20].as_py()
    return copy, path, (b["xmin"], b["ymin"], b["xmax"], b["ymax"])


def test_tampered_page_is_an_error_naming_the_shard(
    paged_copy: tuple[Path, str, tuple[float, ...]],
) -> None:
    copy, path, box = paged_copy
    _, offset = _page_of_row(copy, path, "embedding", 20)
    _flip(copy / path, offset)
    with (
        open_corpus(copy) as c,
        pytest.raises(
            CorpusIntegrityError,
            match=rf"^shard {path} .*column 'embedding' of row group 0: a data page differs "
            "from its CRC",
        ),
    ):
        c.read_shard(path, box, columns=["id", "embedding"])
    with open_corpus(copy) as c:  # the whole-chunk path catches it with the chunk checksum
        c._page_reads = False
        with pytest.raises(CorpusIntegrityError, match="column chunk 'embedding'"):
            c.read_shard(path, box, columns=["id", "embedding"])
    problems = _check_pages(path, pq.read_metadata(copy / path), (copy / path).read_bytes(), "1.2")
    assert problems == [
        f"{path}: 1 page problems (first: column 'embedding' of row group 0: a data page "
        "differs from its CRC)"
    ]


def test_tampered_page_index_is_an_error_naming_the_shard(
    paged_copy: tuple[Path, str, tuple[float, ...]],
) -> None:
    copy, path, box = paged_copy
    md = pq.read_metadata(copy / path)
    digests = fmt.read_page_index_digests(md)
    assert digests is not None
    start, length, _ = digests["offset_index"]
    _flip(copy / path, start + length // 2)
    with (
        open_corpus(copy) as c,
        pytest.raises(
            CorpusIntegrityError,
            match=rf"^shard {path} .*the page index \(OffsetIndex\) differs from its checksum",
        ),
    ):
        c.read_shard(path, box, columns=["id", "embedding"])
    problems = _check_pages(path, pq.read_metadata(copy / path), (copy / path).read_bytes(), "1.2")
    assert problems == [f"{path}: the offset_index region differs from its checksum"]


def test_tampered_column_index_is_caught_by_validate(
    paged_copy: tuple[Path, str, tuple[float, ...]],
) -> None:
    copy, path, box = paged_copy
    digests = fmt.read_page_index_digests(pq.read_metadata(copy / path))
    assert digests is not None
    start, length, _ = digests["column_index"]
    _flip(copy / path, start + length // 2)
    with open_corpus(copy) as c:  # the reader does not use the ColumnIndex
        assert c.read_shard(path, box, columns=["id", "embedding"]).num_rows >= 1
    problems = _check_pages(path, pq.read_metadata(copy / path), (copy / path).read_bytes(), "1.2")
    assert problems == [f"{path}: the column_index region differs from its checksum"]


def test_shards_without_a_page_index_still_read(tmp_path: Path, input_file: Path) -> None:
    original = fmt.shard_parquet_options

    def v11(schema: pa.Schema, *, keep: tuple[str, ...] = ()) -> dict[str, object]:
        opts = original(schema, keep=keep)
        for key in ("write_page_index", "write_page_checksum", "data_page_size"):
            opts.pop(key)
        return opts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fmt, "shard_parquet_options", v11)
        publish(input_file, tmp_path / "c", max_rows=400, row_group_rows=64, show_progress=False)
    path = next((tmp_path / "c").glob("shards/*.parquet"))
    assert fmt.read_page_index_digests(pq.read_metadata(path)) is None
    box = (-30.0, -30.0, 30.0, 30.0)
    with open_corpus(tmp_path / "c") as c:
        got = c.read(box, columns=["id", "embedding"])
        problems = validate_corpus(c)  # the manifest says 1.2, which requires a page index
    assert problems and all(p.endswith("format 1.2 requires one") for p in problems)
    assert got.equals(_oracle(tmp_path / "c", [box]).select(["id", "embedding"]))


@pytest.mark.parametrize("region", REGIONS, ids=range(len(REGIONS)))
def test_paged_read_matches_brute_force(paged_dir: Path, region: object) -> None:
    ids, geoms, _ = _all_rows(paged_dir)
    with open_corpus(paged_dir) as c:
        got = c.read(region, columns=["id", "embedding"])
    geom = _region_oracle(region)
    expected = sorted(i for i, g in zip(ids, geoms, strict=True) if g.intersects(geom))
    assert sorted(got.column("id").to_pylist()) == expected
    with open_corpus(paged_dir) as c:
        c._page_reads = False
        assert c.read(region, columns=["id", "embedding"]).equals(got)


def test_page_reads_then_whole_chunk_reads_share_caches(paged_dir: Path) -> None:
    path = pq.read_table(paged_dir / fmt.MANIFEST_NAME).sort_by([("rows", "descending")])
    path = path.column("path")[0].as_py()
    b = pq.read_table(paged_dir / path, columns=["bbox"]).column("bbox")[3].as_py()
    box = (b["xmin"], b["ymin"], b["xmax"], b["ymax"])
    with open_corpus(paged_dir) as c:
        some = c.read_shard(path, box, columns=["id", "embedding"])
        kept = len(c._io.pages)
        assert kept > 0  # pages of the first row group were read and kept
        everything = c.read_shard(path, columns=["id", "embedding"])  # whole chunks now
        assert everything.num_rows == pq.read_metadata(paged_dir / path).num_rows
        again = c.read_shard(path, box, columns=["id", "embedding"])
    assert again.equals(some)
    assert set(some.column("id").to_pylist()) <= set(everything.column("id").to_pylist())


_box_strategy = st.tuples(
    st.floats(-12, 12, width=32),
    st.floats(-12, 12, width=32),
    st.floats(0, 12, width=32),
    st.floats(0, 12, width=32),
).map(lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))
"""Boxes ``(minx, miny, maxx, maxy)``, flat ones included."""


def _box_region(box: tuple[float, float, float, float]) -> shapely.Geometry:
    """The box as a point, segment or rectangle (``shapely.box`` of a flat box is empty)."""
    return shapely.MultiPoint([box[:2], box[2:]]).envelope


def _group_bounds(
    xs: list[np.ndarray], boxes: list[tuple[float, float, float, float]]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Lower and upper bounds of the bbox fields ``xs`` of one row group as the reader
    takes them: a field it reads is its values, one it leaves unread the group's min/max."""
    from terrabit.corpus.boxes import bbox_leaves_needed as _bbox_leaves_needed

    mins = np.array([x.min() for x in xs])
    maxs = np.array([x.max() for x in xs])
    needed = _bbox_leaves_needed(mins, maxs, boxes)
    lo = [x if k in needed else np.full(len(x), mins[k]) for k, x in enumerate(xs)]
    hi = [x if k in needed else np.full(len(x), maxs[k]) for k, x in enumerate(xs)]
    return lo, hi


def _outward32(v: float, down: bool) -> float:
    f = np.float32(v)
    if down and float(f) > v:
        f = np.nextafter(f, np.float32(-np.inf))
    if not down and float(f) < v:
        f = np.nextafter(f, np.float32(np.inf))
    return float(f)


@settings(max_examples=200, deadline=None)
@given(
    pts=st.lists(
        st.tuples(st.floats(-10, 10, width=32), st.floats(-10, 10, width=32)),
        min_size=1,
        max_size=6,
    ),
    box=_box_strategy,
    kind=st.sampled_from(["point", "line", "polygon"]),
)
def test_spanned_rows_meet_the_box(
    pts: list[tuple[float, float]], box: tuple[float, float, float, float], kind: str
) -> None:
    """The shortcut that skips the geometry test: whenever it says a connected geometry
    meets the box, shapely agrees."""
    from terrabit.corpus.boxes import spanned as _spanned

    if kind == "point" or len(pts) < 2:
        geom = shapely.Point(pts[0])
    elif kind == "line":
        geom = shapely.LineString(pts)
    else:
        geom = shapely.MultiPoint(pts).convex_hull  # a Polygon, LineString or Point
    gx0, gy0, gx1, gy1 = geom.bounds
    xs = [
        np.array([_outward32(gx0, True)]),
        np.array([_outward32(gy0, True)]),
        np.array([_outward32(gx1, False)]),
        np.array([_outward32(gy1, False)]),
    ]
    if _spanned(xs, xs, [box])[0]:
        assert geom.intersects(_box_region(box))


def test_spanned_examples() -> None:
    from terrabit.corpus.boxes import spanned as _spanned

    xs = [np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0])]
    assert _spanned(xs, xs, [(-1.0, 0.5, 2.0, 3.0)]).tolist() == [True, True]  # across x
    assert _spanned(xs, xs, [(0.5, -1.0, 3.0, 2.0)]).tolist() == [True, True]  # across y
    assert _spanned(xs, xs, [(0.5, 0.5, 3.0, 3.0)]).tolist() == [False, False]  # a corner
    assert _spanned(xs, xs, [(-1.0, 1.0, 2.0, 3.0)]).tolist() == [False, False]  # edge only


def test_page_index_out_of_order_is_placed_by_the_footer(paged_dir: Path) -> None:
    """The OffsetIndex region is read as one struct per chunk in order; when a struct
    does not fit its chunk, the reader places them by the footer's locations instead."""
    from terrabit.corpus.shard import OffsetIndexes as _OffsetIndexes

    manifest = pq.read_table(paged_dir / fmt.MANIFEST_NAME).sort_by([("rows", "descending")])
    path = manifest.column("path")[0].as_py()
    b = pq.read_table(paged_dir / path, columns=["bbox"]).column("bbox")[9].as_py()
    box = (b["xmin"], b["ymin"], b["xmax"], b["ymax"])
    with open_corpus(paged_dir) as c:
        c._page_reads = False
        want = c.read_shard(path, box, columns=["id", "embedding"])
    with open_corpus(paged_dir) as c:
        md = c.footer(path)
        real = c._shard(path).page_locations()
        assert real is not None
        n = md.num_row_groups * md.num_columns
        shuffled = _OffsetIndexes(b"", md.num_row_groups, md.num_columns)
        shuffled.flat = [real.get(*divmod((k + 1) % n, md.num_columns)) for k in range(n)]
        c._shard(path).page_locs = shuffled  # every chunk gets its neighbour's index
        got = c.read_shard(path, box, columns=["id", "embedding"])
        assert c._shard(path).by_footer
    assert got.equals(want)


# ------------------------------------------------- bbox fields read only where needed


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(_box_strategy, min_size=1, max_size=12),
    boxes=st.lists(_box_strategy, min_size=1, max_size=2),
)
def test_unread_bbox_fields_never_change_which_rows_meet(
    rows: list[tuple[float, float, float, float]], boxes: list[tuple[float, float, float, float]]
) -> None:
    """A row group's fields left unread (their tests settled by its min/max statistics)
    replaced by the bound the reader substitutes: the rows meeting the boxes are exactly
    those a full read finds, and the certainty bounds enclose every row's bbox."""
    from terrabit.corpus.boxes import overlaps as _overlaps

    xs = [np.array([r[k] for r in rows], dtype=np.float32).astype(np.float64) for k in range(4)]
    lo, hi = _group_bounds(xs, boxes)
    expected = _overlaps(xs[0], xs[1], xs[2], xs[3], boxes)
    assert _overlaps(hi[0], hi[1], lo[2], lo[3], boxes).tolist() == expected.tolist()
    for k in range(4):
        assert (lo[k] <= xs[k]).all() and (xs[k] <= hi[k]).all()


@settings(max_examples=200, deadline=None)
@given(
    shapes=st.lists(
        st.lists(
            st.tuples(st.floats(-10, 10, width=32), st.floats(-10, 10, width=32)),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=4,
    ),
    box=_box_strategy,
)
def test_spanned_with_group_bounds_meets_the_box(
    shapes: list[list[tuple[float, float]]], box: tuple[float, float, float, float]
) -> None:
    """The geometry shortcut on bounds (stored fields, or the group's statistics for
    the fields not read): whenever it says a connected geometry meets the box, it does."""
    from terrabit.corpus.boxes import spanned as _spanned

    geoms = [
        shapely.MultiPoint(pts).convex_hull if len(pts) > 1 else shapely.Point(pts[0])
        for pts in shapes
    ]
    down = (True, True, False, False)
    xs = [np.array([_outward32(g.bounds[k], down[k]) for g in geoms]) for k in range(4)]
    lo, hi = _group_bounds(xs, [box])
    for geom, sure in zip(geoms, _spanned(lo, hi, [box]), strict=True):
        if sure:
            assert geom.intersects(_box_region(box))


def test_region_reads_fetch_only_the_bbox_fields_they_need(paged_dir: Path) -> None:
    """Reading ``id`` for a box fetches no more than reading ``id`` and ``bbox``, and
    less for most boxes: of the row groups a box cuts on one side, only the bbox field
    their statistics do not settle is read; groups inside it need none."""
    rng = np.random.default_rng(1)
    bbox = pq.read_table(next(paged_dir.glob("shards/*.parquet")), columns=["bbox"])
    less = 0
    for row in rng.choice(bbox.num_rows, 10, replace=False):
        b = bbox.column("bbox")[int(row)].as_py()
        cx, cy = (b["xmin"] + b["xmax"]) / 2, (b["ymin"] + b["ymax"]) / 2
        box = (max(-180.0, cx - 8), max(-90.0, cy - 4), min(180.0, cx + 8), min(90.0, cy + 4))
        fetched = []
        ids = []
        for columns in (["id"], ["id", "bbox"]):
            with open_corpus(paged_dir) as c:
                for path in c.select_shards(box).column("path").to_pylist():
                    c.footer(path)
                c.drop_caches(footers=False)
                before = c.bytes_read
                ids.append(sorted(c.read(box, columns=columns).column("id").to_pylist()))
                fetched.append(c.bytes_read - before)
        assert ids[0] == ids[1] and ids[0]
        assert fetched[0] <= fetched[1]
        less += fetched[0] < fetched[1]
    assert less >= 5  # equal where every group the box cuts is cut at a corner


def test_row_groups_without_bbox_statistics_are_read_whole(
    tmp_path: Path, input_file: Path
) -> None:
    """A shard whose row groups carry no bbox statistics (not what the writer does, but
    what a reader may meet): no field's test is settled, so all four are read, and a
    region read still finds exactly the rows inside."""
    original = fmt.shard_parquet_options

    def no_stats(schema: pa.Schema, *, keep: tuple[str, ...] = ()) -> dict[str, object]:
        opts = original(schema, keep=keep)
        opts["write_statistics"] = ["datetime"]
        return opts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fmt, "shard_parquet_options", no_stats)
        publish(input_file, tmp_path / "c", max_rows=400, row_group_rows=64, show_progress=False)
    path = next((tmp_path / "c").glob("shards/*.parquet"))
    assert not pq.read_metadata(path).row_group(0).column(2).is_stats_set
    ids, geoms, _ = _all_rows(tmp_path / "c")
    for box in [(0.0, 0.0, 60.0, 60.0), (-120.0, -40.0, -60.0, 10.0)]:
        expected = sorted(
            i for i, g in zip(ids, geoms, strict=True) if g.intersects(shapely.box(*box))
        )
        with open_corpus(tmp_path / "c") as c:
            assert sorted(c.read(box, columns=["id"]).column("id").to_pylist()) == expected
