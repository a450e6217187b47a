"""The footer checksum placeholder is found exactly, whatever its length.

A Thrift string is preceded by its varint length; for values of 126 * 128 + k bytes the
varint's last byte is ``0x7e`` (``~``), the placeholder's own character, which once made
the writer fail on shards of 1008 column chunks (126 row groups of 8 leaf columns).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from terrabit.corpus import format as fmt
from terrabit.corpus.shards import write_parquet


@pytest.mark.parametrize("chunks", [1007, 1008, 1015, 1016])
def test_checksums_fill_for_any_chunk_count(chunks: int) -> None:
    table = pa.table({"a": pa.array(range(chunks), pa.int64())})
    data = write_parquet(
        table, {b"k": b"v"}, groups=[(i, i + 1) for i in range(chunks)], checksums=True
    )
    md = pq.read_metadata(pa.BufferReader(data))
    stored = fmt.read_chunk_checksums(md)
    ranges = fmt.chunk_ranges(md)
    assert stored is not None and len(stored) == len(ranges) == chunks
    assert stored == [fmt.chunk_checksum(data[o : o + n]) for o, n in ranges]
    assert pq.read_table(pa.BufferReader(data)).equals(table)
