"""Parquet pages without pyarrow: the page index, page headers and flat data pages.

pyarrow writes the Parquet page index (``ColumnIndex``/``OffsetIndex``) and page CRCs
but does not read pages one by one, so a region read that needs a few rows of a row
group would fetch whole column chunks. This module reads just enough of the format to
fetch and decode single pages (format 1.2, ``spec/corpus-v1.md`` §3 and §5):

* a minimal Thrift **compact protocol** reader (:func:`read_struct`: structs, lists,
  varints, binary; unknown fields skipped) and the one edit a writer needs
  (:func:`append_key_value`: add a key-value pair to a footer);
* the **footer's page-index locations** (:func:`page_index_locations`), the
  **OffsetIndex** (:func:`read_offset_index`), the **ColumnIndex**
  (:func:`read_column_index`) and **page headers** (:func:`read_page_header`);
* decoders of **data pages** (v1 and v2) of flat required/optional columns in the
  encodings the corpus writer uses — PLAIN ``FIXED_LEN_BYTE_ARRAY``, PLAIN
  ``BYTE_ARRAY``, PLAIN or ``BYTE_STREAM_SPLIT`` ``INT32``/``INT64``/``FLOAT``/
  ``DOUBLE``, definition levels in the RLE/bit-packed hybrid — each page's CRC-32
  checked first (:func:`decode_pages`).

Whatever else it meets (dictionary pages, nested or repeated columns, other encodings
or codecs) raises :class:`PageUnsupported`, and the caller reads the whole column chunk
with pyarrow instead. Malformed bytes raise :class:`PageFormatError`; a CRC mismatch
raises :class:`PageChecksumError` (the caller turns both into a
:class:`~terrabit.errors.CorpusIntegrityError` naming the shard).

Examples
--------
>>> import io, pyarrow as pa, pyarrow.parquet as pq
>>> buf = io.BytesIO()
>>> pq.write_table(pa.table({"x": pa.array(range(10), pa.int64())}), buf, use_dictionary=False,
...                write_page_index=True, write_page_checksum=True, max_rows_per_page=4)
>>> data = buf.getvalue()
>>> footer = data[-8 - int.from_bytes(data[-8:-4], "little") : -8]
>>> loc = page_index_locations(footer)[0][0]
>>> pages = read_offset_index(data[loc.offset_index_offset :][: loc.offset_index_length])
>>> [p.first_row_index for p in pages]
[0, 4, 8]
>>> leaf = Leaf.from_metadata(pq.read_metadata(pa.BufferReader(data)), 0, 0)
>>> p = pages[1]
>>> decode_pages(data[p.offset : p.offset + p.compressed_page_size], leaf).to_pylist()
[4, 5, 6, 7]
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

__all__ = [
    "ChunkIndexLocation",
    "ColumnIndex",
    "Leaf",
    "PageChecksumError",
    "PageFormatError",
    "PageHeader",
    "PageLocation",
    "PageUnsupported",
    "append_key_value",
    "decode_pages",
    "page_index_locations",
    "read_column_index",
    "read_offset_index",
    "read_offset_index_at",
    "read_offset_indexes",
    "read_page_header",
    "read_struct",
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


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
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
    n, pos = _varint(data, pos)
    return (n >> 1) ^ -(n & 1), pos


def _value(data: bytes | memoryview, pos: int, ttype: int) -> tuple[Any, int]:
    if ttype in (_I16, _I32, _I64):
        return _zigzag(data, pos)
    if ttype == _BINARY:
        n, pos = _varint(data, pos)
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
            size, pos = _varint(data, pos)
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
        size, pos = _varint(data, pos)
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


# Roles of the containers the footer walk tracks (FileMetaData field 4: row groups;
# RowGroup field 1: column chunks; FileMetaData field 5: key-value metadata).
_ROOT, _RG_LIST, _RG, _CC_LIST, _CC, _KV_LIST, _OTHER = range(7)


@njit(cache=True, nogil=True)
def _uvarint(buf: npt.NDArray[np.uint8], pos: int) -> tuple[int, int]:  # pragma: no cover
    """An unsigned Thrift varint at ``pos``: ``(value, next position)``, or ``(0, -1)``
    when it is truncated or longer than 64 bits (numba)."""
    v = 0
    shift = 0
    while pos < len(buf) and shift <= 63:
        b = int(buf[pos])
        pos += 1
        v |= (b & 127) << shift
        if not b & 128:
            return v, pos
        shift += 7
    return 0, -1


@njit(cache=True, nogil=True)
def _walk_footer(buf: npt.NDArray[np.uint8]) -> tuple[Any, ...]:  # pragma: no cover - numba
    """One pass over a Thrift compact ``FileMetaData`` without decoding it: per column
    chunk, fields 4-7 (offset/column index offset and length, ``-1`` when absent) and
    its row group; the number of row groups; the span of the key-value list (``-1``
    when absent); and a status (0 ok, 1 truncated, 2 unsupported type, 3 too deeply
    nested). Compiled: the footer of a shard of 100K rows takes about a millisecond,
    against a tenth of a second for :func:`read_struct`."""
    n = len(buf)
    cap = n // 8 + 16
    locs = np.full((cap, 4), -1, dtype=np.int64)
    rg_of = np.zeros(cap, dtype=np.int64)
    kind = np.zeros(64, dtype=np.int64)  # 0 struct, 1 list
    remain = np.zeros(64, dtype=np.int64)
    etype = np.zeros(64, dtype=np.int64)
    last = np.zeros(64, dtype=np.int64)
    role = np.zeros(64, dtype=np.int64)
    sp = 1
    role[0] = _ROOT
    pos = 0
    n_cc = 0
    n_rg = 0
    kv_at = -1
    kv_end = -1
    while sp > 0:
        top = sp - 1
        if kind[top] == 0:  # a struct: the next field header
            if pos >= n:
                return locs[:0], rg_of[:0], 0, -1, -1, 1
            head = int(buf[pos])
            pos += 1
            if head == 0:
                sp -= 1
                continue
            ttype = head & 15
            delta = head >> 4
            if delta:
                fid = last[top] + delta
            else:
                v, pos = _uvarint(buf, pos)
                if pos < 0:
                    return locs[:0], rg_of[:0], 0, -1, -1, 1
                fid = (v >> 1) ^ -(v & 1)
            last[top] = fid
            child = _OTHER
            if role[top] == _ROOT and fid == 4:
                child = _RG_LIST
            elif role[top] == _ROOT and fid == 5:
                child = _KV_LIST
                kv_at = pos
            elif role[top] == _RG and fid == 1:
                child = _CC_LIST
        else:  # a list: the next element
            if remain[top] == 0:
                if role[top] == _KV_LIST:
                    kv_end = pos
                sp -= 1
                continue
            remain[top] -= 1
            ttype = etype[top]
            fid = 0
            child = _OTHER
            if role[top] == _RG_LIST:
                child = _RG
                n_rg += 1
            elif role[top] == _CC_LIST:
                child = _CC
                if n_cc >= cap:
                    return locs[:0], rg_of[:0], 0, -1, -1, 1
                rg_of[n_cc] = n_rg - 1
                n_cc += 1
            if ttype == 1 or ttype == 2:  # a boolean element is one byte
                pos += 1
                continue
        if ttype == 1 or ttype == 2:  # a boolean field: its value is in the type
            continue
        if ttype == 3:
            pos += 1
        elif ttype == 4 or ttype == 5 or ttype == 6 or ttype == 8:  # ints, binary
            v, pos = _uvarint(buf, pos)
            if pos < 0:
                return locs[:0], rg_of[:0], 0, -1, -1, 1
            if ttype == 8:
                pos += v
            elif kind[top] == 0 and role[top] == _CC and 4 <= fid <= 7:
                locs[n_cc - 1, fid - 4] = (v >> 1) ^ -(v & 1)
        elif ttype == 7:
            pos += 8
        elif ttype == 9 or ttype == 10:
            if pos >= n:
                return locs[:0], rg_of[:0], 0, -1, -1, 1
            head = int(buf[pos])
            pos += 1
            size = head >> 4
            if size == 15:
                size, pos = _uvarint(buf, pos)
                if pos < 0:
                    return locs[:0], rg_of[:0], 0, -1, -1, 1
            if sp >= 64:
                return locs[:0], rg_of[:0], 0, -1, -1, 3
            kind[sp], remain[sp], etype[sp], role[sp] = 1, size, head & 15, child
            sp += 1
        elif ttype == 12:
            if sp >= 64:
                return locs[:0], rg_of[:0], 0, -1, -1, 3
            kind[sp], last[sp], role[sp] = 0, 0, child
            sp += 1
        else:  # maps and unknown types do not occur in Parquet footers
            return locs[:0], rg_of[:0], 0, -1, -1, 2
        if pos > n:
            return locs[:0], rg_of[:0], 0, -1, -1, 1
    return locs[:n_cc], rg_of[:n_cc], n_rg, kv_at, kv_end, 0


def _walk(footer: bytes | memoryview) -> tuple[Any, ...]:
    """:func:`_walk_footer` of a footer, with its status turned into an error."""
    out = _walk_footer(np.frombuffer(footer, dtype=np.uint8))
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
        size, items = _varint(footer, at + 1)
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
                size, pos = _varint(data, pos)
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


# ------------------------------------------------------------------------ leaves

_PLAIN, _RLE, _BIT_PACKED, _BSS = 0, 3, 4, 9
_ENCODING_NAMES = {
    "PLAIN": _PLAIN,
    "RLE": _RLE,
    "BIT_PACKED": _BIT_PACKED,
    "BYTE_STREAM_SPLIT": _BSS,
}
_CODECS = {"UNCOMPRESSED": None, "ZSTD": "zstd", "SNAPPY": "snappy", "GZIP": "gzip"}
_NUMERIC = {"INT32": "<i4", "INT64": "<i8", "FLOAT": "<f4", "DOUBLE": "<f8"}
_STORAGE = {"INT32": pa.int32(), "INT64": pa.int64(), "FLOAT": pa.float32(), "DOUBLE": pa.float64()}


@dataclass(frozen=True)
class Leaf:
    """What decoding a flat column chunk needs: its Parquet physical type and width,
    maximum definition level, codec, the encodings its footer lists and the Arrow type
    pyarrow reads it as. Build it with :meth:`from_metadata`, which raises
    :class:`PageUnsupported` for anything this module does not decode."""

    name: str
    physical_type: str
    type_length: int
    max_def: int
    codec: str | None
    encodings: frozenset[int]
    arrow_type: pa.DataType

    @classmethod
    def from_metadata(
        cls,
        md: pq.FileMetaData,
        group: int,
        leaf: int,
        *,
        arrow_schema: pa.Schema | None = None,
    ) -> Leaf:
        """The leaf ``leaf`` of row group ``group`` of a footer (``arrow_schema``: the
        footer's ``schema.to_arrow_schema()``, if already at hand).

        Raises
        ------
        PageUnsupported
            A nested or repeated column, a dictionary-encoded chunk, or an encoding,
            codec, physical or Arrow type this module does not decode.
        """
        col = md.schema.column(leaf)
        chunk = md.row_group(group).column(leaf)
        name = col.path
        if "." in name or col.max_repetition_level != 0 or col.max_definition_level > 1:
            raise PageUnsupported(f"{name}: nested or repeated column")
        if chunk.has_dictionary_page:
            raise PageUnsupported(f"{name}: dictionary-encoded chunk")
        if chunk.compression not in _CODECS:
            raise PageUnsupported(f"{name}: codec {chunk.compression}")
        encodings = set()
        for e in chunk.encodings:
            if e not in _ENCODING_NAMES:
                raise PageUnsupported(f"{name}: encoding {e}")
            encodings.add(_ENCODING_NAMES[e])
        ptype = col.physical_type
        if arrow_schema is None:
            arrow_schema = md.schema.to_arrow_schema()
        arrow_type = arrow_schema.field(name).type
        ok = (
            (ptype in _NUMERIC and _numeric_target(arrow_type, ptype))
            or (
                ptype == "BYTE_ARRAY"
                and arrow_type in (pa.string(), pa.binary(), pa.large_string(), pa.large_binary())
            )
            or (
                ptype == "FIXED_LEN_BYTE_ARRAY"
                and pa.types.is_fixed_size_binary(arrow_type)
                and arrow_type.byte_width == col.length
            )
        )
        if not ok:
            raise PageUnsupported(f"{name}: {ptype} read as {arrow_type}")
        return cls(
            name,
            ptype,
            int(col.length or 0),
            int(col.max_definition_level),
            _CODECS[chunk.compression],
            frozenset(encodings),
            arrow_type,
        )


def _numeric_target(arrow_type: pa.DataType, ptype: str) -> bool:
    if ptype in ("FLOAT", "DOUBLE"):
        return bool(arrow_type == _STORAGE[ptype])
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date32(arrow_type):
        return bool(arrow_type.bit_width == _STORAGE[ptype].bit_width)
    return bool(pa.types.is_integer(arrow_type))


# ----------------------------------------------------------------------- decoding


def _hybrid(data: bytes | memoryview, bit_width: int, count: int) -> npt.NDArray[np.int32]:
    """``count`` values of the RLE/bit-packed hybrid encoding."""
    out = np.empty(count, dtype=np.int32)
    got = 0
    pos = 0
    width_bytes = (bit_width + 7) // 8
    while got < count:
        header, pos = _varint(data, pos)
        if header & 1:  # bit-packed: (header >> 1) groups of 8 values
            n = (header >> 1) * 8
            nbytes = (header >> 1) * bit_width
            chunk = np.frombuffer(bytes(data[pos : pos + nbytes]), dtype=np.uint8)
            if len(chunk) != nbytes:
                raise PageFormatError("truncated bit-packed levels")
            pos += nbytes
            bits = np.unpackbits(chunk, bitorder="little").reshape(-1, bit_width)
            values = (bits.astype(np.int32) << np.arange(bit_width, dtype=np.int32)).sum(axis=1)
            take = min(n, count - got)
            out[got : got + take] = values[:take]
            got += take
        else:  # run: (header >> 1) copies of one value
            n = header >> 1
            if n == 0 or pos + width_bytes > len(data):
                raise PageFormatError("malformed RLE run in levels")
            value = int.from_bytes(bytes(data[pos : pos + width_bytes]), "little")
            pos += width_bytes
            take = min(n, count - got)
            out[got : got + take] = value
            got += take
    return out


def _decompress(body: bytes | memoryview, codec: str | None, size: int) -> bytes:
    if codec is None:
        return bytes(body)
    try:
        return bytes(pa.decompress(body, decompressed_size=size, codec=codec, asbytes=True))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise PageFormatError(f"page does not decompress with {codec} ({exc})") from exc


def _values(
    data: bytes, leaf: Leaf, encoding: int, n: int
) -> tuple[list[pa.Buffer], npt.NDArray[np.int32] | None]:
    """Buffers of ``n`` non-null values: ``[values]`` or ``[offsets, data]``."""
    if leaf.physical_type in _NUMERIC:
        width = int(_NUMERIC[leaf.physical_type][2])
        need = n * width
        if len(data) < need:
            raise PageFormatError(f"page holds {len(data)} bytes of values, {need} expected")
        raw = np.frombuffer(data, dtype=np.uint8, count=need)
        if encoding == _BSS:
            raw = np.ascontiguousarray(raw.reshape(width, n).T).reshape(-1)
        elif encoding != _PLAIN:
            raise PageUnsupported(f"{leaf.name}: encoding {encoding}")
        return [pa.py_buffer(raw.tobytes())], None
    if encoding != _PLAIN:
        raise PageUnsupported(f"{leaf.name}: encoding {encoding}")
    if leaf.physical_type == "FIXED_LEN_BYTE_ARRAY":
        need = n * leaf.type_length
        if len(data) < need:
            raise PageFormatError(f"page holds {len(data)} bytes of values, {need} expected")
        return [pa.py_buffer(data[:need])], None
    # BYTE_ARRAY: (uint32 length, bytes) per value
    lengths = np.empty(n, dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    pos = 0
    size = len(data)
    for i in range(n):
        if pos + 4 > size:
            raise PageFormatError("truncated BYTE_ARRAY value")
        k = int.from_bytes(data[pos : pos + 4], "little")
        starts[i] = pos + 4
        lengths[i] = k
        pos += 4 + k
    if pos > size:
        raise PageFormatError("truncated BYTE_ARRAY value")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # gather the bytes without the 4-byte prefixes
    raw = np.frombuffer(data, dtype=np.uint8)
    total = int(offsets[-1])
    index = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
    return [pa.py_buffer(offsets.tobytes()), pa.py_buffer(raw[index].tobytes())], None


def _page(data: memoryview, leaf: Leaf, where: str) -> tuple[pa.Array, int]:
    """Decode the data page at the start of ``data``; return it and its total size."""
    head = read_page_header(data, 0)
    if head.type == 2:
        raise PageUnsupported(f"{leaf.name}: dictionary page")
    if head.type not in (0, 3):
        raise PageUnsupported(f"{leaf.name}: page type {head.type}")
    start = head.header_size
    end = start + head.compressed_size
    if head.compressed_size < 0 or end > len(data):
        raise PageFormatError(f"{where}: page body overruns the fetched bytes")
    body = data[start:end]
    if head.crc is None:
        raise PageChecksumError(f"{where}: a data page has no CRC")
    if zlib.crc32(body) & 0xFFFFFFFF != head.crc:
        raise PageChecksumError(f"{where}: a data page differs from its CRC")
    if head.encoding not in leaf.encodings:
        raise PageFormatError(
            f"{where}: page encoding {head.encoding} is not one the footer lists for the chunk"
        )
    n = head.num_rows
    if n < 0 or head.num_values != n:
        raise PageUnsupported(f"{leaf.name}: {head.num_values} values for {n} rows")
    defined: npt.NDArray[np.bool_] | None = None
    if head.type == 0:
        plain = _decompress(body, leaf.codec, head.uncompressed_size)
        pos = 0
        if leaf.max_def:
            if len(plain) < 4:
                raise PageFormatError(f"{where}: truncated definition levels")
            k = int.from_bytes(plain[:4], "little")
            defined = _hybrid(memoryview(plain)[4 : 4 + k], 1, n) == 1
            pos = 4 + k
        values = plain[pos:]
    else:
        if head.rep_levels_byte_length:
            raise PageUnsupported(f"{leaf.name}: repetition levels")
        k = head.def_levels_byte_length
        if leaf.max_def:
            defined = _hybrid(body[:k], 1, n) == 1
        rest = body[k:]
        size = head.uncompressed_size - k
        values = _decompress(rest, leaf.codec, size) if head.is_compressed else bytes(rest)
    count = n if defined is None else int(defined.sum())
    buffers, _ = _values(values, leaf, head.encoding, count)
    return _assemble(leaf, n, defined, buffers), end


def _assemble(
    leaf: Leaf, n: int, defined: npt.NDArray[np.bool_] | None, buffers: list[pa.Buffer]
) -> pa.Array:
    """An Arrow array of ``n`` rows from the values of its defined rows."""
    validity = None
    nulls = 0
    if defined is not None and not defined.all():
        nulls = int(n - defined.sum())
        validity = pa.py_buffer(np.packbits(defined, bitorder="little").tobytes())
    if leaf.physical_type in _NUMERIC:
        storage = _STORAGE[leaf.physical_type]
        vals = np.frombuffer(buffers[0], dtype=_NUMERIC[leaf.physical_type])
        if defined is not None and nulls:
            full = np.zeros(n, dtype=vals.dtype)
            full[defined] = vals
            vals = full
        arr = pa.Array.from_buffers(storage, n, [validity, pa.py_buffer(vals.tobytes())], nulls)
        target = leaf.arrow_type
        if target == storage:
            return arr
        if pa.types.is_timestamp(target) or pa.types.is_date32(target):
            return arr.view(target)
        return arr.cast(target)
    if leaf.physical_type == "FIXED_LEN_BYTE_ARRAY":
        data = buffers[0]
        if defined is not None and nulls:
            w = leaf.type_length
            full = np.zeros((n, w), dtype=np.uint8)
            full[defined] = np.frombuffer(data, dtype=np.uint8).reshape(-1, w)
            data = pa.py_buffer(full.tobytes())
        return pa.Array.from_buffers(leaf.arrow_type, n, [validity, data], nulls)
    offsets = np.frombuffer(buffers[0], dtype=np.int64)
    if defined is not None and nulls:
        full = np.zeros(n + 1, dtype=np.int64)
        full[1:][defined] = np.diff(offsets)
        offsets = np.cumsum(full)
    large = leaf.arrow_type in (pa.large_string(), pa.large_binary())
    if not large:
        if offsets[-1] > np.iinfo(np.int32).max:
            raise PageUnsupported(f"{leaf.name}: page too large for 32-bit offsets")
        offsets = offsets.astype(np.int32)
    arr = pa.Array.from_buffers(
        leaf.arrow_type, n, [validity, pa.py_buffer(offsets.tobytes()), buffers[1]], nulls
    )
    if pa.types.is_string(leaf.arrow_type) or pa.types.is_large_string(leaf.arrow_type):
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid as exc:
            raise PageFormatError(f"{leaf.name}: a value is not valid UTF-8") from exc
    return arr


def decode_pages(data: bytes | memoryview, leaf: Leaf, *, where: str = "page") -> pa.Array:
    """Decode consecutive data pages (headers included) of one flat column chunk.

    Each page's CRC-32 is checked before it is decoded.

    Parameters
    ----------
    data : bytes
        The pages, back to back, as they lie in the file.
    leaf : Leaf
        The column (:meth:`Leaf.from_metadata`).
    where : str
        Prefix of error messages (e.g. the shard and column).

    Returns
    -------
    pyarrow.Array
        The rows of the pages, in order, typed as pyarrow reads the column.

    Raises
    ------
    PageChecksumError
        A page without a CRC, or whose body differs from it.
    PageFormatError
        Malformed headers or values.
    PageUnsupported
        A page this module does not decode (dictionary, other encodings).
    """
    view = memoryview(data)
    parts = []
    pos = 0
    while pos < len(view):
        arr, used = _page(view[pos:], leaf, where)
        parts.append(arr)
        pos += used
    if not parts:
        return pa.array([], type=leaf.arrow_type)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
