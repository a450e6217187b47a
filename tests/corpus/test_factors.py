"""The ``rabitq`` factors column (format 1.4): what publish writes (numpy oracle on the
input), the float16/float32 width rule across engines and resume, validate, bad input."""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.codecs.rabitq import rabitq_quantizer
from terrabit.corpus import distributed as dist
from terrabit.corpus import format as fmt
from terrabit.corpus import mapreduce, publish, shards, validate_corpus
from terrabit.corpus import open as open_corpus
from terrabit.corpus._fixture import write_input
from terrabit.corpus.factors import factor_values, fits_float16
from terrabit.corpus.manifest import encode_manifest
from terrabit.errors import InvalidInputError

from ..conftest import digest_tree

DIMS = 32
OPTIONS: dict[str, Any] = {
    "max_rows": 60,
    "row_group_rows": 32,
    "name": "c",  # the id of collection.json, whatever the output folder's name
    "show_progress": False,
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("factors_in")
    return write_input(root / "in.parquet", rows=600, dims=DIMS, seed=5, row_group_rows=150)


def _inputs(path: Path) -> tuple[list[str], np.ndarray]:
    t = pq.read_table(path, columns=["id", "embedding"])
    X = np.array(t.column("embedding").combine_chunks().flatten(), dtype=np.float32)
    return t.column("id").to_pylist(), X.reshape(t.num_rows, -1)


def _shard_factors(root: Path) -> tuple[dict[str, np.ndarray], set[int]]:
    """``{id: factors}`` and the column widths, read with plain pyarrow and numpy."""
    out: dict[str, np.ndarray] = {}
    widths = set()
    for f in sorted(glob.glob(str(root / "shards" / "*.parquet"))):
        t = pq.read_table(f, columns=["id", "rabitq"])
        width = t.schema.field("rabitq").type.byte_width
        widths.add(width)
        dtype = {6: "<f2", 12: "<f4"}[width]
        values = zip(t.column("id").to_pylist(), t.column("rabitq").to_pylist(), strict=True)
        for ident, raw in values:
            out[ident] = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    return out, widths


def _numpy_factors(state: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """RaBitQ's three factors in float64, from the fitted rotation and centre alone."""
    Q, c = state["rotation_"].astype(np.float64), state["center_"].astype(np.float64)
    r = X.astype(np.float64) @ Q - c
    norm = np.linalg.norm(r, axis=1)
    ip_code = np.abs(r).sum(axis=1) / (np.sqrt(r.shape[1]) * norm)
    return np.column_stack([norm, ip_code, r @ c])


@pytest.mark.parametrize("spec", ["rabitq", "norm+rabitq"])
def test_factors_round_trip_through_publish_and_read(
    source: Path, tmp_path: Path, spec: str
) -> None:
    out = tmp_path / "c"
    publish(source, out, codec=spec, **OPTIONS)
    ids, X = _inputs(source)
    got, widths = _shard_factors(out)
    assert widths == {6} and set(got) == set(ids)
    with open_corpus(out) as c:
        assert c.columns[-1] == "rabitq" and c.metadata["format_version"] == "1.6"
        rq = rabitq_quantizer(c.codec)
        assert rq is not None
        state = {name: getattr(rq, name) for name in ("rotation_", "center_")}
        table = c.read(columns=["id", "embedding", "rabitq"])
        assert validate_corpus(c) == []
    Z = X if spec == "rabitq" else X / np.linalg.norm(X, axis=1, keepdims=True)
    oracle = _numpy_factors(state, Z)
    stored = np.stack([got[i] for i in ids])
    # within one float16 step of the numpy oracle, and exactly the codec's factors rounded
    np.testing.assert_allclose(stored, oracle.astype(np.float16), rtol=2e-3, atol=1e-4)
    np.testing.assert_array_equal(stored, rq.factors(Z).astype(np.float16))
    # the reader's float32 [n, 3] in row order, beside the codes (sign bits of r > 0)
    index = {v: k for k, v in enumerate(ids)}
    rows = [index[v] for v in table.column("id").to_pylist()]
    read = factor_values(table.column("rabitq"))
    assert read.dtype == np.float32 and read.shape == (len(ids), 3)
    np.testing.assert_array_equal(read, stored[rows])
    raw = b"".join(table.column("embedding").to_pylist())
    codes = np.frombuffer(raw, dtype=np.uint8).reshape(len(ids), -1)
    r = Z[rows].astype(np.float64) @ state["rotation_"] - state["center_"]
    assert (np.unpackbits(codes, axis=1)[:, :DIMS] == (r > 0)).mean() > 0.999


def _with_huge_row(source: Path, path: Path, row: int) -> Path:
    """``source`` with row ``row``'s embedding scaled to norm 1e5: its factors overflow
    float16, the others' (the centre moves by about 1e5 / 600) do not."""
    t = pq.read_table(source)
    _, X = _inputs(source)
    X[row] *= 1e5 / np.linalg.norm(X[row])
    at = t.schema.get_field_index("embedding")
    emb = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), X.shape[1])
    pq.write_table(t.set_column(at, "embedding", emb), path, row_group_size=150)
    return path


@pytest.fixture(scope="module")
def huge(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _with_huge_row(source, tmp_path_factory.mktemp("factors_huge") / "in.parquet", 450)


@pytest.fixture(scope="module")
def wide_corpus(huge: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("factors_wide") / "c"
    publish(huge, out, codec="rabitq", **OPTIONS)
    return out


def test_one_factor_beyond_float16_makes_every_shard_float32(huge: Path, wide_corpus: Path) -> None:
    got, widths = _shard_factors(wide_corpus)
    assert widths == {12}  # every shard, though one row overflows float16
    ids, X = _inputs(huge)
    with open_corpus(wide_corpus) as c:
        rq = rabitq_quantizer(c.codec)
        assert rq is not None
        oracle = _numpy_factors({"rotation_": rq.rotation_, "center_": rq.center_}, X)
        assert validate_corpus(c) == []
        exact = rq.factors(X)
    stored = np.stack([got[i] for i in ids])
    assert np.abs(stored).max() > 65520 and np.isfinite(stored).all()
    np.testing.assert_allclose(stored, oracle, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(stored, exact)


def test_dask_engine_and_resume_write_the_same_wide_corpus(
    huge: Path,
    wide_corpus: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The huge row lies in one piece of four: the other pieces' tasks fit float16, the
    corpus is still float32 throughout, with either engine and after a resume."""
    monkeypatch.setattr(dist, "TASK_ROWS", 150)
    _, X = _inputs(huge)
    with open_corpus(wide_corpus) as c:
        rq = rabitq_quantizer(c.codec)
        assert rq is not None
        fac = rq.factors(X)
    assert [fits_float16(fac[a : a + 150]) for a in range(0, 600, 150)] == [1, 1, 1, 0]
    publish(huge, tmp_path / "d", codec="rabitq", engine="dask", scheduler=dask_client, **OPTIONS)
    assert digest_tree(tmp_path / "d") == digest_tree(wide_corpus)
    real = mapreduce.reduce_cell
    calls = {"n": 0}

    def crash(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(mapreduce, "reduce_cell", crash)
        with pytest.raises(KeyboardInterrupt):
            publish(huge, tmp_path / "r", codec="rabitq", **OPTIONS)
    publish(huge, tmp_path / "r", codec="rabitq", resume=True, **OPTIONS)
    assert digest_tree(tmp_path / "r") == digest_tree(wide_corpus)


def test_packed_input_with_rabitq_is_refused_in_one_line(tmp_path: Path) -> None:
    n = 50
    rng = np.random.default_rng(0)
    codes = np.packbits(rng.normal(size=(n, 64)) > 0, axis=1)
    table = pa.table(
        {
            "id": pa.array([f"p{i}" for i in range(n)]),
            "lon": pa.array(rng.uniform(-10, 10, n)),
            "lat": pa.array(rng.uniform(-10, 10, n)),
            "embedding": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(8), n, [None, pa.py_buffer(codes)]
            ),
        }
    )
    pq.write_table(table, tmp_path / "b.parquet")
    args = ["publish", str(tmp_path / "b.parquet"), "-o", str(tmp_path / "c")]
    args += ["--lon-col", "lon", "--lat-col", "lat", "--codec", "pca:16+rabitq"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and not (tmp_path / "c").exists()
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert "holds packed binary codes, but --codec 'pca:16+rabitq' stores per-row" in lines[0]
    assert "publish float embeddings, or use --codec binary" in lines[0]
    with pytest.raises(InvalidInputError, match="correction factors") as info:
        publish(tmp_path / "b.parquet", tmp_path / "c", lon_col="lon", lat_col="lat",
                codec="rabitq")  # fmt: skip
    assert info.value.params == ("embedding_col", "codec")


# --- validate ---------------------------------------------------------------------------


def _rewrite(root: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    """Apply ``change`` to every shard's table and write the shards back consistently
    (row groups, ``geo`` metadata, chunk checksums; manifest sizes, checksums, columns)."""
    manifest = pq.read_table(root / fmt.MANIFEST_NAME)
    meta = json.loads(manifest.schema.metadata[fmt.METADATA_KEY])
    rows = manifest.to_pylist()
    for row in rows:
        path = root / row["path"]
        md = pq.read_metadata(path)
        table = change(pq.read_table(path))
        groups, at = [], 0
        for g in range(md.num_row_groups):
            groups.append((at, at + md.row_group(g).num_rows))
            at += md.row_group(g).num_rows
        data = shards.write_parquet(
            table,
            {fmt.GEO_KEY: md.metadata[fmt.GEO_KEY]},
            groups=groups,
            checksums=True,
            **fmt.shard_parquet_options(table.schema),
        )
        path.write_bytes(data)
        footer = int.from_bytes(data[-8:-4], "little")
        row["bytes"] = len(data)
        row["checksum"] = fmt.sha256_hex(data)
        row["footer_checksum"] = fmt.sha256_hex(data[-8 - footer :])
        meta["columns"] = table.schema.names
    meta["bytes"] = sum(r["bytes"] for r in rows)
    new = pa.Table.from_pylist(rows, schema=manifest.schema)
    (root / fmt.MANIFEST_NAME).write_bytes(encode_manifest(new, meta))


def _nan_factors(t: pa.Table) -> pa.Table:
    raw = bytearray(b"".join(t.column("rabitq").to_pylist()))
    raw[0:2] = np.array([np.nan], "<f2").tobytes()
    col = pa.FixedSizeBinaryArray.from_buffers(pa.binary(6), t.num_rows, [None, pa.py_buffer(raw)])
    return t.set_column(t.schema.get_field_index("rabitq"), t.schema.field("rabitq"), col)


def _eight_bytes(t: pa.Table) -> pa.Table:
    raw = b"".join(v + b"\0\0" for v in t.column("rabitq").to_pylist())
    col = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), t.num_rows, [None, pa.py_buffer(raw)])
    field = pa.field("rabitq", pa.binary(8), nullable=False)
    return t.set_column(t.schema.get_field_index("rabitq"), field, col)


def _dropped(t: pa.Table) -> pa.Table:
    return t.drop_columns(["rabitq"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_nan_factors, "rows of column 'rabitq' hold NaN or infinite factors"),
        (_eight_bytes, "column 'rabitq' is fixed_size_binary[8], the spec says"),
        (_dropped, "manifest: no 'rabitq' column, but the codec 'rabitq' ends in rabitq"),
    ],
)
def test_validate_catches_a_damaged_or_missing_factors_column(
    source: Path, tmp_path: Path, change: Callable[[pa.Table], pa.Table], message: str
) -> None:
    out = tmp_path / "c"
    publish(source, out, codec="rabitq", **OPTIONS)
    _rewrite(out, lambda t: t)  # the rewrite alone leaves a valid corpus
    with open_corpus(out) as c:
        assert validate_corpus(c) == []
    _rewrite(out, change)
    with open_corpus(out) as c:
        problems = validate_corpus(c)
    assert problems and any(message in p for p in problems), problems


def test_validate_refuses_factors_beside_another_codec(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    publish(source, out, codec="rot+binary:threshold=mean", **OPTIONS)

    def add(t: pa.Table) -> pa.Table:
        col = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(6), t.num_rows, [None, pa.py_buffer(bytes(6 * t.num_rows))]
        )
        return t.append_column(pa.field("rabitq", pa.binary(6), nullable=False), col)

    _rewrite(out, add)
    with open_corpus(out) as c:
        problems = validate_corpus(c)
    assert any("a 'rabitq' column, but the codec" in p for p in problems), problems
