"""``terrabit.corpus.pages``: Thrift, page index and page decoders against pyarrow."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrabit.corpus import pages

TYPES = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "int16": pa.int16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "string": pa.string(),
    "binary": pa.binary(),
    "fsb": pa.binary(5),
    "ts": pa.timestamp("us", tz="UTC"),
}


def _values(kind: str, rng: np.random.Generator, n: int) -> list[object]:
    if kind in ("int32", "int64", "int16", "ts"):
        hi = {"int16": 2**15, "int32": 2**31, "int64": 2**62, "ts": 2**50}[kind]
        return [int(v) for v in rng.integers(-hi, hi, n)]
    if kind in ("float32", "float64"):
        return [float(v) for v in rng.normal(0, 100, n)]
    if kind == "string":
        alphabet = ["a", "é", "z", "日", "0"]
        return ["".join(rng.choice(alphabet, rng.integers(0, 9))) for _ in range(n)]
    width = 5 if kind == "fsb" else None
    return [rng.bytes(width if width else int(rng.integers(0, 30))) for _ in range(n)]


def _write(table: pa.Table, **options: object) -> bytes:
    buf = io.BytesIO()
    pq.write_table(
        table,
        buf,
        store_schema=False,
        write_page_index=True,
        write_page_checksum=True,
        use_dictionary=False,
        **options,  # type: ignore[arg-type]
    )
    return buf.getvalue()


def _footer(data: bytes) -> bytes:
    n = int.from_bytes(data[-8:-4], "little")
    return data[-8 - n : -8]


def _decode_all(data: bytes) -> dict[str, list[pa.Array]]:
    """Every page of every chunk, decoded with this module, per column (by row group)."""
    md = pq.read_metadata(pa.BufferReader(data))
    locs = pages.page_index_locations(_footer(data))
    out: dict[str, list[pa.Array]] = {}
    for g in range(md.num_row_groups):
        for j in range(md.num_columns):
            leaf = pages.Leaf.from_metadata(md, g, j)
            loc = locs[g][j]
            index = pages.read_offset_index(
                data[loc.offset_index_offset : loc.offset_index_offset + loc.offset_index_length]
            )
            assert index[0].offset == md.row_group(g).column(j).data_page_offset
            arrays = []
            # decode page by page (as a region read does) and in one run
            for p in index:
                arr = pages.decode_pages(data[p.offset : p.offset + p.compressed_page_size], leaf)
                arrays.append(arr)
            first, last = index[0], index[-1]
            run = pages.decode_pages(
                data[first.offset : last.offset + last.compressed_page_size], leaf
            )
            assert run.equals(pa.concat_arrays(arrays))
            sizes = [len(a) for a in arrays]
            rows = [p.first_row_index for p in index]
            assert rows == list(np.cumsum([0, *sizes[:-1]]))
            out.setdefault(leaf.name, []).append(run)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(sorted(TYPES)), min_size=1, max_size=4, unique=True),
    rows=st.integers(1, 300),
    nullable=st.booleans(),
    null_rate=st.sampled_from([0.0, 0.3, 1.0]),
    page_rows=st.integers(1, 64),
    page_version=st.sampled_from(["1.0", "2.0"]),
    compression=st.sampled_from(["none", "zstd", "snappy", "gzip"]),
    split=st.booleans(),
    group_rows=st.integers(1, 200),
    seed=st.integers(0, 2**16),
)
def test_pages_decode_as_pyarrow_reads(
    kinds: list[str],
    rows: int,
    nullable: bool,
    null_rate: float,
    page_rows: int,
    page_version: str,
    compression: str,
    split: bool,
    group_rows: int,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    arrays, fields = [], []
    for kind in kinds:
        values = _values(kind, rng, rows)
        if nullable:
            mask = rng.random(rows) < null_rate
            values = [None if m else v for v, m in zip(values, mask, strict=True)]
        arrays.append(pa.array(values, type=TYPES[kind]))
        fields.append(pa.field(kind, TYPES[kind], nullable=nullable))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    encoding = {
        k: "BYTE_STREAM_SPLIT" for k in kinds if split and k in ("float32", "float64", "int64")
    }
    data = _write(
        table,
        data_page_version=page_version,
        compression=compression,
        max_rows_per_page=page_rows,
        write_batch_size=page_rows,
        row_group_size=group_rows,
        column_encoding=encoding or None,
    )
    oracle = pq.read_table(pa.BufferReader(data))
    decoded = _decode_all(data)
    for kind in kinds:
        want = oracle.column(kind).combine_chunks()
        got = pa.concat_arrays(decoded[kind])
        assert got.type == want.type
        assert got.equals(want), kind


def test_flipped_page_byte_fails_the_crc() -> None:
    table = pa.table({"x": pa.array(np.arange(100), pa.int64())})
    data = bytearray(_write(table, compression="zstd", max_rows_per_page=10))
    md = pq.read_metadata(pa.BufferReader(bytes(data)))
    leaf = pages.Leaf.from_metadata(md, 0, 0)
    loc = pages.page_index_locations(_footer(bytes(data)))[0][0]
    first = pages.read_offset_index(
        bytes(data[loc.offset_index_offset : loc.offset_index_offset + loc.offset_index_length])
    )[1]
    page = bytearray(data[first.offset : first.offset + first.compressed_page_size])
    page[-3] ^= 0x10
    with pytest.raises(pages.PageChecksumError, match="differs from its CRC"):
        pages.decode_pages(bytes(page), leaf, where="shard x")


def test_page_without_crc_is_refused() -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2]}), buf, write_page_index=True, use_dictionary=False)
    data = buf.getvalue()
    md = pq.read_metadata(pa.BufferReader(data))
    col = md.row_group(0).column(0)
    chunk = data[col.data_page_offset : col.data_page_offset + col.total_compressed_size]
    with pytest.raises(pages.PageChecksumError, match="no CRC"):
        pages.decode_pages(chunk, pages.Leaf.from_metadata(md, 0, 0))


def test_crc_is_zlib_crc32_of_the_body() -> None:
    data = _write(pa.table({"x": pa.array([1.5, 2.5], pa.float64())}), compression="none")
    md = pq.read_metadata(pa.BufferReader(data))
    off = md.row_group(0).column(0).data_page_offset
    head = pages.read_page_header(data, off)
    body = data[off + head.header_size : off + head.header_size + head.compressed_size]
    assert head.crc == zlib.crc32(body)
    assert (head.type, head.num_values, head.encoding) == (0, 2, 0)


def test_unsupported_columns_say_so() -> None:
    table = pa.table(
        {
            "d": pa.array(["a", "b"] * 10).dictionary_encode(),
            "l": pa.array([[1], [2]] * 10),
            "s": pa.array([{"a": 1.0}] * 20),
            "b": pa.array([True, False] * 10),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, write_page_index=True, use_dictionary=["d"])
    md = pq.read_metadata(pa.BufferReader(buf.getvalue()))
    for j, reason in enumerate(["dictionary", "nested", "nested", "BOOLEAN"]):
        with pytest.raises(pages.PageUnsupported, match=reason):
            pages.Leaf.from_metadata(md, 0, j)


def test_column_index_matches_page_minmax() -> None:
    x = np.arange(100, dtype=np.int64)
    data = _write(pa.table({"x": x}), max_rows_per_page=30, write_statistics=True)
    loc = pages.page_index_locations(_footer(data))[0][0]
    ci = pages.read_column_index(
        data[loc.column_index_offset : loc.column_index_offset + loc.column_index_length]
    )
    mins = [int.from_bytes(v, "little", signed=True) for v in ci.min_values]
    maxs = [int.from_bytes(v, "little", signed=True) for v in ci.max_values]
    assert (mins, maxs) == ([0, 30, 60, 90], [29, 59, 89, 99])
    assert ci.null_counts == [0, 0, 0, 0]


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(
        st.binary(min_size=1, max_size=20), st.binary(max_size=300), min_size=1, max_size=20
    ),
    st.binary(min_size=1, max_size=30),
    st.binary(max_size=2000),
)
def test_append_key_value_keeps_the_footer_valid(
    meta: dict[bytes, bytes], key: bytes, value: bytes
) -> None:
    if key in meta:
        return
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, pa.schema([("x", pa.int64())]), store_schema=False) as w:
        w.write_table(pa.table({"x": [1, 2, 3]}))
        w.add_key_value_metadata(meta)
    data = buf.getvalue()
    footer = _footer(data)
    new = pages.append_key_value(footer, key, value)
    out = data[: len(data) - 8 - len(footer)] + new + len(new).to_bytes(4, "little") + b"PAR1"
    got = pq.read_metadata(pa.BufferReader(out)).metadata
    assert got == {**meta, key: value}
    assert pq.read_table(pa.BufferReader(out)).column("x").to_pylist() == [1, 2, 3]


def test_thrift_reader_rejects_truncated_input() -> None:
    with pytest.raises(pages.PageFormatError):
        pages.read_struct(bytes([0x15]))
    with pytest.raises(pages.PageFormatError):
        pages.read_struct(bytes([0x18, 0x05, 0x61]))


def _locations_by_read_struct(footer: bytes) -> list[list[pages.ChunkIndexLocation]]:
    """The oracle: the footer decoded whole by the Python Thrift reader."""
    meta, _ = pages.read_struct(footer, 0)
    return [
        [
            pages.ChunkIndexLocation(
                int(cc.get(4, -1)), int(cc.get(5, 0)), int(cc.get(6, -1)), int(cc.get(7, 0))
            )
            for cc in rg.get(1, [])
        ]
        for rg in meta.get(4, [])
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(sorted(TYPES)), min_size=1, max_size=4, unique=True),
    nested=st.booleans(),
    rows=st.integers(1, 300),
    group=st.integers(1, 120),
    index=st.booleans(),
    stats=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_compiled_footer_walk_matches_the_thrift_reader(
    kinds: list[str],
    nested: bool,
    rows: int,
    group: int,
    index: bool,
    stats: bool,
    seed: int,
) -> None:
    """Page-index locations from the compiled footer walk equal those of the full Python
    decode, for flat and nested schemas, with and without page index or statistics."""
    rng = np.random.default_rng(seed)
    cols = {k: pa.array(_values(k, rng, rows), type=TYPES[k]) for k in kinds}
    if nested:
        cols["s"] = pa.StructArray.from_arrays(
            [pa.array(rng.normal(size=rows)), pa.array(rng.integers(0, 9, rows))], ["a", "b"]
        )
        cols["l"] = pa.array([[int(v)] * int(v % 3) for v in rng.integers(0, 9, rows)])
    buf = io.BytesIO()
    pq.write_table(
        pa.table(cols),
        buf,
        row_group_size=group,
        write_page_index=index,
        write_statistics=stats,
        data_page_size=256,
    )
    footer = _footer(buf.getvalue())
    assert pages.page_index_locations(footer) == _locations_by_read_struct(footer)


def test_compiled_footer_walk_rejects_damaged_footers() -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(50))}), buf, write_page_index=True)
    footer = _footer(buf.getvalue())
    for cut in (1, len(footer) // 3, len(footer) // 2, len(footer) - 1):
        with pytest.raises(pages.PageFormatError, match="footer"):
            pages.page_index_locations(footer[:cut])
    with pytest.raises(pages.PageFormatError, match="unsupported type"):
        pages.page_index_locations(bytes([0x1B, 0x00, 0x00]))  # a map field
    with pytest.raises(pages.PageFormatError, match="no key-value metadata"):
        pages.append_key_value(bytes([0x15, 0x02, 0x00]), b"k", b"v")
