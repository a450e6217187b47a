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

The locating half (Thrift, footer, page index, page headers) is
:mod:`terrabit.corpus.page_index`, re-exported here; this module decodes the pages.

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

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit._arrow import array
from terrabit.corpus.page_index import (
    ChunkIndexLocation,
    ColumnIndex,
    PageChecksumError,
    PageFormatError,
    PageHeader,
    PageLocation,
    PageUnsupported,
    append_key_value,
    page_index_locations,
    read_column_index,
    read_offset_index,
    read_offset_index_at,
    read_offset_indexes,
    read_page_header,
    read_struct,
    read_varint,
)

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
        header, pos = read_varint(data, pos)
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
        return array([], type=leaf.arrow_type)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
