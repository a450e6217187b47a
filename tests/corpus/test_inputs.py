"""``publish`` inputs: lon/lat points, packed binary codes, row-group layout, id hashes."""

from __future__ import annotations

import functools
import http.server
import itertools
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from terrabit.cli.main import cli
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish, validate_corpus
from terrabit.corpus._inputs import prefetch, string_hashes
from terrabit.corpus.shards import row_groups
from terrabit.errors import InvalidInputError


def _points(path: Path, n: int = 300, *, packed: bool = False, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-170, 170, n)
    lat = rng.uniform(-80, 80, n)
    X = rng.normal(size=(n, 64)).astype(np.float32)
    emb: pa.Array
    if packed:
        codes = np.packbits(X > 0, axis=1)
        emb = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), n, [None, pa.py_buffer(codes)])
    else:
        emb = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 64)
    table = pa.table(
        {
            "id": pa.array([f"p{i:05d}" for i in range(n)]),
            "lon": pa.array(lon),
            "lat": pa.array(lat),
            "embedding": emb,
        }
    )
    pq.write_table(table, path)
    return path


def test_lon_lat_columns_give_point_footprints(tmp_path: Path) -> None:
    src = _points(tmp_path / "p.parquet")
    publish(src, tmp_path / "c", lon_col="lon", lat_col="lat", max_rows=50, show_progress=False)
    inp = pq.read_table(src)
    with open_corpus(tmp_path / "c") as c:
        assert validate_corpus(c) == []
        got = c.read(columns=["id", "geometry"])
        geoms = shapely.from_wkb(got.column("geometry").to_numpy(zero_copy_only=False))
        assert set(shapely.get_type_id(geoms).tolist()) == {0}  # points
        by_id = dict(zip(got.column("id").to_pylist(), geoms, strict=True))
        for i in (0, 7, 299):
            p = by_id[inp.column("id")[i].as_py()]
            assert (p.x, p.y) == (inp.column("lon")[i].as_py(), inp.column("lat")[i].as_py())


def test_lon_lat_bad_points_and_options(tmp_path: Path) -> None:
    src = _points(tmp_path / "p.parquet", n=20)
    t = pq.read_table(src)
    lat = t.column("lat").to_pylist()
    lat[3] = 95.0
    pq.write_table(t.set_column(2, "lat", pa.array(lat)), src)
    with pytest.raises(InvalidInputError, match=r"out-of-range geometry \(ids 'p00003'\)"):
        publish(src, tmp_path / "c", lon_col="lon", lat_col="lat", show_progress=False)
    r = publish(
        src, tmp_path / "c", lon_col="lon", lat_col="lat", drop_invalid=True, show_progress=False
    )
    assert (r.rows, r.dropped) == (19, 1)
    with pytest.raises(InvalidInputError, match="pass both lon_col and lat_col"):
        publish(src, tmp_path / "d", lon_col="lon", show_progress=False)
    with pytest.raises(InvalidInputError, match=r"no column 'x' \(lat_col\)"):
        publish(src, tmp_path / "d", lon_col="lon", lat_col="x", show_progress=False)


def test_packed_binary_codes_are_used_as_they_are(tmp_path: Path) -> None:
    floats = _points(tmp_path / "f.parquet", seed=4)
    packed = _points(tmp_path / "b.parquet", seed=4, packed=True)
    runner = CliRunner()
    for src, out in ((floats, "cf"), (packed, "cb")):
        res = runner.invoke(
            cli,
            [
                *("publish", str(src), "-o", str(tmp_path / out), "--lon-col", "lon"),
                *("--lat-col", "lat", "--codec", "binary", "--json"),
            ],
        )
        assert res.exit_code == 0, res.output
    with open_corpus(tmp_path / "cf") as a, open_corpus(tmp_path / "cb") as b:
        ta = a.read(columns=["id", "embedding"]).sort_by("id")
        tb = b.read(columns=["id", "embedding"]).sort_by("id")
        assert ta.equals(tb)  # the same sign bits, whether encoded here or packed before
        assert b.metadata["dims"] == 64 and b.metadata["code_size"] == 8
        assert validate_corpus(b) == []
    with pytest.raises(InvalidInputError, match=r"packed binary codes.*use codec='binary'"):
        publish(packed, tmp_path / "x", lon_col="lon", lat_col="lat", codec="srp+binary")


def test_infinite_and_huge_embeddings(tmp_path: Path) -> None:
    src = _points(tmp_path / "p.parquet", n=10)
    t = pq.read_table(src)
    X = np.asarray(t.column("embedding").combine_chunks().flatten()).reshape(10, 64).copy()
    X[2, 5] = np.inf
    X[4, :] = 3e38  # finite, but a float32 row sum overflows: must not be flagged
    emb = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 64)
    pq.write_table(t.set_column(3, "embedding", emb), src)
    with pytest.raises(InvalidInputError, match=r"1 rows have a null, NaN or infinite .*'p00002'"):
        publish(src, tmp_path / "c", lon_col="lon", lat_col="lat", show_progress=False)


@given(st.lists(st.text(max_size=12), max_size=40))
def test_string_hashes_equal_strings_equal_hashes(values: list[str]) -> None:
    h = string_hashes(pa.array(values, pa.string()))
    assert len(h) == len(values)
    first: dict[str, int] = {}
    for v, x in zip(values, h.tolist(), strict=True):
        assert first.setdefault(v, x) == x
    assert len(set(h.tolist())) == len(set(values))  # no collision in small sets


def test_string_hashes_of_a_slice() -> None:
    arr = pa.array(["x", "abc", "abd", "abc"])
    assert string_hashes(arr.slice(1)).tolist() == string_hashes(arr).tolist()[1:]


@given(
    st.lists(st.integers(0, (1 << 60) - 1), min_size=1, max_size=300),
    st.integers(2, 64),
)
def test_row_groups_tile_the_rows_within_bounds(keys: list[int], size: int) -> None:
    k = np.sort(np.array(keys, dtype=np.uint64))
    groups = row_groups(k, size)
    assert groups[0][0] == 0 and groups[-1][1] == len(k)
    for (a, b), (c, _) in itertools.pairwise(groups):
        assert b == c
        assert size // 2 <= b - a <= size
    assert groups[-1][1] - groups[-1][0] <= size


def test_row_groups_cut_at_the_biggest_cell_boundary() -> None:
    keys = np.array([0, 1, 2, 3, 4, 1 << 50, (1 << 50) + 1, (1 << 50) + 2], dtype=np.uint64)
    assert row_groups(keys, 6) == [(0, 5), (5, 8)]


def test_prefetch_keeps_order_and_raises() -> None:
    def items():  # type: ignore[no-untyped-def]
        yield from range(3)
        raise ValueError("boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [0, 1, 2]
    gen = prefetch(iter(range(1000)), depth=1)
    assert next(gen) == 0
    gen.close()  # stops the producer thread


class _Range(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = (int(v) for v in self.headers["Range"].removeprefix("bytes=").split("-"))
        chunk = data[start : end + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        self.wfile.write(chunk)


def test_url_inputs_read_with_range_requests(tmp_path: Path) -> None:
    src = _points(tmp_path / "p.parquet")
    handler = functools.partial(_Range, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        kw = {"lon_col": "lon", "lat_col": "lat", "show_progress": False}
        remote = publish(f"{url}/p.parquet", tmp_path / "r", **kw)  # type: ignore[arg-type]
        local = publish(src, tmp_path / "l", **kw)  # type: ignore[arg-type]
        assert remote.rows == local.rows == 300
        for shard in (tmp_path / "l" / "shards").iterdir():
            assert (tmp_path / "r" / "shards" / shard.name).read_bytes() == shard.read_bytes()
        with open_corpus(tmp_path / "r") as c:
            assert c.metadata["provenance"]["inputs"] == [f"{url}/p.parquet"]
        with pytest.raises(InvalidInputError, match=r"input '.*/nope.parquet' does not exist"):
            publish(f"{url}/nope.parquet", tmp_path / "x", **kw)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match=r"not http\(s\) \(which cannot list files\)"):
            publish(f"{url}/*.parquet", tmp_path / "x", **kw)  # type: ignore[arg-type]
    finally:
        server.shutdown()
