"""Where a Parquet file's pages are: its footer, page index and page headers, without pyarrow.

The locating half of :mod:`terrabit.corpus.pages` (which decodes the pages these
find): a minimal Thrift **compact protocol** reader (:func:`read_struct`), the one
footer edit a writer needs (:func:`append_key_value`), a compiled walk of the footer
for the **page-index locations** (:func:`page_index_locations`), the **OffsetIndex**
(:func:`read_offset_index`), the **ColumnIndex** (:func:`read_column_index`) and
**page headers** (:func:`read_page_header`). Malformed bytes raise
:class:`PageFormatError`.

Examples
--------
>>> import io, pyarrow as pa, pyarrow.parquet as pq
>>> buf = io.BytesIO()
>>> pq.write_table(pa.table({"x": pa.array(range(10), pa.int64())}), buf, use_dictionary=False,
...                write_page_index=True, max_rows_per_page=4)
>>> data = buf.getvalue()
>>> footer = data[-8 - int.from_bytes(data[-8:-4], "little") : -8]
>>> loc = page_index_locations(footer)[0][0]
>>> [p.first_row_index for p in read_offset_index(
...     data[loc.offset_index_offset :][: loc.offset_index_length])]
[0, 4, 8]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ChunkIndexLocation",
    "ColumnIndex",
    "PageChecksumError",
    "PageFormatError",
    "PageHeader",
    "PageLocation",
    "PageUnsupported",
    "append_key_value",
    "page_index_locations",
    "read_column_index",
    "read_offset_index",
    "read_offset_index_at",
    "read_offset_indexes",
    "read_page_header",
    "read_struct",
    "read_varint",
]


class PageUnsupported(Exception):
    """A page or column this module does not decode: read the whole chunk instead."""


class PageFormatError(ValueError):
    """Bytes that are not the Thrift or page structure they should be."""


class PageChecksumError(PageFormatError):
    """A page whose CRC-32 differs from the one in its header (or has none)."""


# ------------------------------------------------------------------- thrift compact

_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(
    13
)


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    shift = 0
    out = 0
    while True:
        if pos >= len(data):
            raise PageFormatError("truncated Thrift varint")
        b = data[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if not b & 0x80:
            return out, pos
        shift += 7
        if shift > 70:
            raise PageFormatError("Thrift varint longer than 10 bytes")


def _zigzag(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    n, pos = read_varint(data, pos)
    return (n >> 1) ^ -(n & 1), pos


def _value(data: bytes | memoryview, pos: int, ttype: int) -> tuple[Any, int]:
    if ttype in (_I16, _I32, _I64):
        return _zigzag(data, pos)
    if ttype == _BINARY:
        n, pos = read_varint(data, pos)
        if pos + n > len(data):
            raise PageFormatError("truncated Thrift binary")
        return bytes(data[pos : pos + n]), pos + n
    if ttype == _STRUCT:
        return read_struct(data, pos)
    if ttype in (_LIST, _SET):
        head = data[pos] if pos < len(data) else _fail("truncated Thrift list")
        pos += 1
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size, pos = read_varint(data, pos)
        items = []
        for _ in range(size):
            if etype in (_TRUE, _FALSE):  # booleans in a list are one byte each
                if pos >= len(data):
                    raise PageFormatError("truncated Thrift list")
                items.append(data[pos] == 1)
                pos += 1
            else:
                item, pos = _value(data, pos, etype)
                items.append(item)
        return items, pos
    if ttype in (_TRUE, _FALSE):  # only as a list element: one byte
        return data[pos] == 1, pos + 1
    if ttype == _BYTE:
        return struct.unpack_from("b", data, pos)[0], pos + 1
    if ttype == _DOUBLE:
        if pos + 8 > len(data):
            raise PageFormatError("truncated Thrift double")
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if ttype == _MAP:
        size, pos = read_varint(data, pos)
        out: dict[Any, Any] = {}
        if size:
            kinds = data[pos]
            pos += 1
            for _ in range(size):
                k, pos = _value(data, pos, kinds >> 4)
                v, pos = _value(data, pos, kinds & 0x0F)
                out[k] = v
        return out, pos
    raise PageFormatError(f"unknown Thrift type {ttype}")


def _fail(message: str) -> int:
    raise PageFormatError(message)


def _fields(data: bytes | memoryview, pos: int) -> Any:
    """Yield ``(field_id, type, value_start)`` of a struct's fields; the caller must
    advance ``pos`` past each value (``send`` it the position after the value)."""
    last = 0
    while True:
        if pos >= len(data):
            raise PageFormatError("truncated Thrift struct")
        head = data[pos]
        pos += 1
        if head == _STOP:
            return pos
        ttype = head & 0x0F
        delta = head >> 4
        if delta:
            fid = last + delta
        else:
            fid, pos = _zigzag(data, pos)
        last = fid
        pos = yield fid, ttype, pos


def read_struct(data: bytes | memoryview, pos: int = 0) -> tuple[dict[int, Any], int]:
    """Decode one Thrift compact struct at ``pos``: ``({field_id: value}, end)``.

    Booleans are ``True``/``False``, integers ``int``, binary ``bytes``, lists ``list``
    and nested structs ``dict``; fields are kept by id whatever their meaning.

    Examples
    --------
    >>> read_struct(bytes([0x15, 0x04, 0x18, 0x02]) + b"hi" + bytes([0x00]))
    ({1: 2, 2: b'hi'}, 7)
    """
    out: dict[int, Any] = {}
    gen = _fields(data, pos)
    try:
        fid, ttype, at = next(gen)
        while True:
            if ttype == _TRUE:
                out[fid], end = True, at
            elif ttype == _FALSE:
                out[fid], end = False, at
            else:
                out[fid], end = _value(data, at, ttype)
            fid, ttype, at = gen.send(end)
    except StopIteration as stop:
        return out, int(stop.value)
    except (IndexError, struct.error) as exc:
        raise PageFormatError(f"truncated Thrift struct ({exc})") from exc


def _skip(data: bytes | memoryview, pos: int, ttype: int) -> int:
    if ttype in (_TRUE, _FALSE):
        return pos
    return _value(data, pos, ttype)[1]


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _list_header(size: int, etype: int) -> bytes:
    if size < 15:
        return bytes([(size << 4) | etype])
    return bytes([0xF0 | etype]) + _varint_bytes(size)


def _walk(footer: bytes | memoryview) -> tuple[Any, ...]:
    """:func:`~terrabit.corpus._footer_walk.walk_footer` of a footer (compiled: imported
    here, on first use), with its status turned into an error."""
    from terrabit.corpus._footer_walk import walk_footer

    out = walk_footer(np.frombuffer(footer, dtype=np.uint8))
    status = int(out[-1])
    if status:
        reason = {1: "truncated", 2: "holds an unsupported type", 3: "is nested too deeply"}
        raise PageFormatError(f"the Parquet footer {reason[status]}")
    return out


def append_key_value(footer: bytes, key: bytes, value: bytes) -> bytes:
    """The Thrift ``FileMetaData`` ``footer`` with one more key-value pair at the end of
    its ``key_value_metadata`` (which must exist); every other byte is kept.

    Examples
    --------
    >>> import io, pyarrow as pa, pyarrow.parquet as pq
    >>> buf = io.BytesIO()
    >>> with pq.ParquetWriter(buf, pa.schema([("x", pa.int64())]), store_schema=False) as w:
    ...     w.add_key_value_metadata({"a": "1"})
    >>> data = buf.getvalue(); n = int.from_bytes(data[-8:-4], "little")
    >>> new = append_key_value(data[-8 - n : -8], b"b", b"2")
    >>> out = data[: -8 - n] + new + len(new).to_bytes(4, "little") + b"PAR1"
    >>> sorted(pq.read_metadata(pa.BufferReader(out)).metadata.items())
    [(b'a', b'1'), (b'b', b'2')]
    """
    _, _, _, at, end, _ = _walk(footer)
    if at < 0 or end < 0:
        raise PageFormatError("the Parquet footer has no key-value metadata to extend")
    head = footer[at]
    size, etype, items = head >> 4, head & 0x0F, at + 1
    if size == 15:
        size, items = read_varint(footer, at + 1)
    entry = (
        bytes([0x18])
        + _varint_bytes(len(key))
        + key
        + bytes([0x18])
        + _varint_bytes(len(value))
        + value
        + bytes([_STOP])
    )
    return footer[:at] + _list_header(size + 1, etype) + footer[items:end] + entry + footer[end:]


# ------------------------------------------------------------------ parquet structs


@dataclass(frozen=True)
class ChunkIndexLocation:
    """Where a column chunk's page index lies in the file (``-1``/``0``: absent)."""

    offset_index_offset: int
    offset_index_length: int
    column_index_offset: int
    column_index_length: int


@dataclass(frozen=True)
class PageLocation:
    """One entry of an OffsetIndex: a data page's file offset, its size (header
    included) and the index of its first row within the row group."""

    offset: int
    compressed_page_size: int
    first_row_index: int


@dataclass(frozen=True)
class ColumnIndex:
    """A ColumnIndex: per page, whether it holds only nulls, its min and max (plain
    encoded bytes) and its null count (``None`` when not written)."""

    null_pages: list[bool]
    min_values: list[bytes]
    max_values: list[bytes]
    boundary_order: int
    null_counts: list[int] | None


@dataclass(frozen=True)
class PageHeader:
    """The fields of a Parquet ``PageHeader`` this module uses.

    ``type``: 0 data page, 1 index page, 2 dictionary page, 3 data page v2.
    ``header_size`` is the size of the Thrift header itself; the page body follows it
    and spans ``compressed_size`` bytes. ``crc`` is ``None`` when absent. For v1 pages
    ``num_rows`` equals ``num_values`` (flat columns) and the level lengths are 0.
    """

    type: int
    uncompressed_size: int
    compressed_size: int
    crc: int | None
    num_values: int
    num_rows: int
    num_nulls: int | None
    encoding: int
    def_levels_byte_length: int
    rep_levels_byte_length: int
    is_compressed: bool
    header_size: int


def page_index_locations(footer: bytes | memoryview) -> list[list[ChunkIndexLocation]]:
    """The page-index locations of every column chunk, ``[row_group][leaf]``, from the
    Thrift ``FileMetaData`` bytes (the footer without its length and ``PAR1``).

    Examples
    --------
    >>> import io, pyarrow as pa, pyarrow.parquet as pq
    >>> buf = io.BytesIO()
    >>> pq.write_table(pa.table({"x": [1, 2]}), buf, write_page_index=True)
    >>> data = buf.getvalue()
    >>> loc = page_index_locations(data[-8 - int.from_bytes(data[-8:-4], "little") : -8])
    >>> len(loc), len(loc[0]), loc[0][0].offset_index_length > 0
    (1, 1, True)
    """
    locs, rg_of, n_rg, _, _, _ = _walk(footer)
    out: list[list[ChunkIndexLocation]] = [[] for _ in range(int(n_rg))]
    for (oi_at, oi_len, ci_at, ci_len), g in zip(locs.tolist(), rg_of.tolist(), strict=True):
        out[g].append(ChunkIndexLocation(oi_at, max(oi_len, 0), ci_at, max(ci_len, 0)))
    return out


def read_offset_index(data: bytes | memoryview) -> list[PageLocation]:
    """Decode one OffsetIndex (the page locations of a column chunk).

    Raises
    ------
    PageFormatError
        Malformed bytes, or locations that do not increase.
    """
    return read_offset_indexes(data, 1)[0]


def read_offset_indexes(data: bytes | memoryview, count: int) -> list[list[PageLocation]]:
    """Decode ``count`` OffsetIndex structs lying back to back from the start of
    ``data`` (how writers lay out a file's page index: row group by row group, column
    by column) — a fast path for the one struct a page read needs.

    Examples
    --------
    >>> import io, pyarrow as pa, pyarrow.parquet as pq
    >>> buf = io.BytesIO()
    >>> pq.write_table(pa.table({"x": [1, 2, 3], "y": [4, 5, 6]}), buf,
    ...                write_page_index=True, max_rows_per_page=2)
    >>> data = buf.getvalue()
    >>> loc = page_index_locations(data[-8 - int.from_bytes(data[-8:-4], "little") : -8])
    >>> start = loc[0][0].offset_index_offset
    >>> [[p.first_row_index for p in oi] for oi in read_offset_indexes(data[start:], 2)]
    [[0, 2], [0, 2]]
    """
    out = []
    pos = 0
    for _ in range(count):
        pages, pos = read_offset_index_at(data, pos)
        out.append(pages)
    return out


def read_offset_index_at(data: bytes | memoryview, pos: int) -> tuple[list[PageLocation], int]:
    """The OffsetIndex at ``pos`` and the position after it (a fast path for the usual
    layout: field 1, a list of structs of integers; anything else is parsed the
    generic way).

    Raises
    ------
    PageFormatError
        Malformed bytes, or locations that do not increase.
    """
    try:
        head = data[pos]
        if head != 0x19:  # field 1, list: anything else goes the slow way
            raw, end = read_struct(data, pos)
            items = [(p.get(1, -1), p.get(2, -1), p.get(3, -1)) for p in raw.get(1, [])]
        else:
            pos += 1
            lh = data[pos]
            pos += 1
            size = lh >> 4
            if size == 15:
                size, pos = read_varint(data, pos)
            if lh & 0x0F != _STRUCT:
                raise PageFormatError("OffsetIndex page locations are not structs")
            items = []
            for _ in range(size):
                vals = [-1, -1, -1]
                last = 0
                while True:
                    fh = data[pos]
                    pos += 1
                    if fh == 0:
                        break
                    delta = fh >> 4
                    ftype = fh & 0x0F
                    if delta:
                        fid = last + delta
                    else:
                        fid, pos = _zigzag(data, pos)
                    last = fid
                    if ftype in (_I32, _I64):
                        # inline zigzag varint
                        shift = n = 0
                        while True:
                            b = data[pos]
                            pos += 1
                            n |= (b & 0x7F) << shift
                            if not b & 0x80:
                                break
                            shift += 7
                        if 1 <= fid <= 3:
                            vals[fid - 1] = (n >> 1) ^ -(n & 1)
                    else:
                        pos = _skip(data, pos, ftype)
                items.append((vals[0], vals[1], vals[2]))
            # the rest of the OffsetIndex (e.g. unencoded byte-array sizes)
            last = 1
            while True:
                fh = data[pos]
                pos += 1
                if fh == 0:
                    break
                delta = fh >> 4
                if delta:
                    last += delta
                else:
                    last, pos = _zigzag(data, pos)
                pos = _skip(data, pos, fh & 0x0F)
            end = pos
    except IndexError as exc:
        raise PageFormatError("truncated OffsetIndex") from exc
    pages = [PageLocation(int(a), int(b), int(c)) for a, b, c in items]
    prev = -1
    for p in pages:
        if p.offset < 0 or p.compressed_page_size <= 0 or p.first_row_index <= prev:
            raise PageFormatError(f"OffsetIndex entry {p} is not a valid page location")
        prev = p.first_row_index
    if pages and pages[0].first_row_index != 0:
        raise PageFormatError("OffsetIndex does not start at row 0")
    return pages, end


def read_column_index(data: bytes | memoryview) -> ColumnIndex:
    """Decode one ColumnIndex (per-page null flags, min/max and null counts).

    Examples
    --------
    >>> import io, pyarrow as pa, pyarrow.parquet as pq
    >>> buf = io.BytesIO()
    >>> pq.write_table(pa.table({"x": pa.array([1, 2, 3], pa.int64())}), buf,
    ...                write_page_index=True, max_rows_per_page=2)
    >>> data = buf.getvalue()
    >>> loc = page_index_locations(data[-8 - int.from_bytes(data[-8:-4], "little") : -8])[0][0]
    >>> ci = read_column_index(data[loc.column_index_offset :][: loc.column_index_length])
    >>> [int.from_bytes(v, "little") for v in ci.max_values], ci.null_pages
    ([2, 3], [False, False])
    """
    raw, _ = read_struct(data, 0)
    nulls = raw.get(5)
    index = ColumnIndex(
        [bool(v) for v in raw.get(1, [])],
        list(raw.get(2, [])),
        list(raw.get(3, [])),
        int(raw.get(4, 0)),
        None if nulls is None else [int(v) for v in nulls],
    )
    n = len(index.null_pages)
    if len(index.min_values) != n or len(index.max_values) != n:
        raise PageFormatError("ColumnIndex lists differ in length")
    return index


def read_page_header(data: bytes | memoryview, pos: int = 0) -> PageHeader:
    """Decode the Thrift ``PageHeader`` at ``pos``."""
    raw, end = read_struct(data, pos)
    ptype = int(raw.get(1, -1))
    crc = raw.get(4)
    common: dict[str, Any] = {
        "type": ptype,
        "uncompressed_size": int(raw.get(2, -1)),
        "compressed_size": int(raw.get(3, -1)),
        "crc": None if crc is None else int(crc) & 0xFFFFFFFF,
        "header_size": end - pos,
    }
    if ptype == 0 and 5 in raw:
        h = raw[5]
        n = int(h.get(1, -1))
        return PageHeader(
            **common,
            num_values=n,
            num_rows=n,
            num_nulls=None,
            encoding=int(h.get(2, -1)),
            def_levels_byte_length=0,
            rep_levels_byte_length=0,
            is_compressed=True,
        )
    if ptype == 3 and 8 in raw:
        h = raw[8]
        return PageHeader(
            **common,
            num_values=int(h.get(1, -1)),
            num_rows=int(h.get(3, -1)),
            num_nulls=int(h.get(2, 0)),
            encoding=int(h.get(4, -1)),
            def_levels_byte_length=int(h.get(5, 0)),
            rep_levels_byte_length=int(h.get(6, 0)),
            is_compressed=bool(h.get(7, True)),
        )
    if ptype in (0, 3):
        raise PageFormatError(f"data page header of type {ptype} lacks its sub-header")
    return PageHeader(
        **common,
        num_values=0,
        num_rows=0,
        num_nulls=None,
        encoding=-1,
        def_levels_byte_length=0,
        rep_levels_byte_length=0,
        is_compressed=True,
    )
