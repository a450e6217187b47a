"""The corpus format v1 (``spec/corpus-v1.md``): names, schemas, metadata and checks.

Everything a writer and a reader must agree on lives here: file names, the shard and
manifest schemas, the ``terrabit`` key-value metadata, summary codes and the checks of the
metadata against the spec. The ``geo`` (GeoParquet 1.1) metadata and its checks live in
:mod:`terrabit.geoparquet` and are re-exported here (``BBOX_FIELDS``, ``GEO_KEY``,
``crs84_projjson``, ``geo_metadata``, ``validate_geo_metadata``).

Examples
--------
>>> from terrabit.corpus import format as fmt
>>> fmt.FORMAT_VERSION, fmt.MANIFEST_NAME
('1.0', 'manifest.parquet')
>>> fmt.shard_schema(128, time=True).names
['id', 'geometry', 'bbox', 'embedding', 'datetime']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from terrabit.errors import CorpusIntegrityError
from terrabit.geoparquet import (
    BBOX_FIELDS,
    GEO_KEY,
    bbox_type,
    crs84_projjson,
    geo_metadata,
    validate_geo_metadata,
)

__all__ = [
    "BBOX_FIELDS",
    "CHECKSUM_ALGORITHM",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_ROW_GROUP_ROWS",
    "FORMAT_VERSION",
    "GEO_KEY",
    "MANIFEST_NAME",
    "METADATA_KEY",
    "RESERVED_COLUMNS",
    "SHARDS_DIR",
    "SORT_KEY_PRECISION",
    "check_corpus_metadata",
    "crs84_projjson",
    "geo_metadata",
    "manifest_schema",
    "sha256_hex",
    "shard_path",
    "shard_schema",
    "summary_code",
    "validate_geo_metadata",
]

FORMAT_VERSION = "1.0"
"""The format version this package writes (``MAJOR.MINOR``)."""

MANIFEST_NAME = "manifest.parquet"
SHARDS_DIR = "shards"
METADATA_KEY = b"terrabit"
"""Manifest key-value metadata key holding the corpus metadata JSON."""
SORT_KEY_PRECISION = 12
"""Characters of the in-shard sort key (the geohash of a row's anchor point)."""
DEFAULT_MAX_ROWS = 100_000
DEFAULT_ROW_GROUP_ROWS = 512
CHECKSUM_ALGORITHM = "sha256"
RESERVED_COLUMNS = ("id", "geometry", "bbox", "embedding", "datetime", "rerank")
"""Shard columns with a meaning in the spec; ``--keep`` columns may not use these names."""

_REQUIRED_METADATA = (
    "format_version",
    "codec",
    "dims",
    "code_size",
    "rows",
    "shards",
    "bytes",
    "columns",
)


def shard_path(geohash: str) -> str:
    """The path of a cell's shard, relative to the corpus root.

    Examples
    --------
    >>> shard_path("9q8")
    'shards/9q8.parquet'
    """
    return f"{SHARDS_DIR}/{geohash}.parquet"


def shard_schema(
    code_size: int,
    *,
    time: bool = False,
    rerank_code_size: int | None = None,
    extra: Sequence[pa.Field] = (),
) -> pa.Schema:
    """The Arrow schema of a shard (without the ``geo`` metadata).

    Parameters
    ----------
    code_size : int
        Bytes per ``embedding`` code.
    time : bool, default False
        Whether the ``datetime`` column is present.
    rerank_code_size : int, optional
        Bytes per ``rerank`` code; no ``rerank`` column when ``None``.
    extra : sequence of pyarrow.Field
        Pass-through columns, appended in order.

    Examples
    --------
    >>> shard_schema(16, rerank_code_size=128).field("rerank").type
    FixedSizeBinaryType(fixed_size_binary[128])
    """
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("geometry", pa.binary(), nullable=False),
        pa.field("bbox", bbox_type(pa.float32(), nullable=False), nullable=False),
        pa.field("embedding", pa.binary(code_size), nullable=False),
    ]
    if time:
        fields.append(pa.field("datetime", pa.timestamp("us", tz="UTC")))
    if rerank_code_size is not None:
        fields.append(pa.field("rerank", pa.binary(rerank_code_size), nullable=False))
    fields.extend(extra)
    return pa.schema(fields)


def manifest_schema(code_size: int) -> pa.Schema:
    """The Arrow schema of ``manifest.parquet``.

    Examples
    --------
    >>> manifest_schema(128).names[:4]
    ['path', 'geohash', 'rows', 'bytes']
    """
    return pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("geohash", pa.string(), nullable=False),
            pa.field("rows", pa.int64(), nullable=False),
            pa.field("bytes", pa.int64(), nullable=False),
            *(pa.field(name, pa.float64(), nullable=False) for name in BBOX_FIELDS),
            pa.field("tmin", pa.timestamp("us", tz="UTC")),
            pa.field("tmax", pa.timestamp("us", tz="UTC")),
            pa.field("checksum", pa.string(), nullable=False),
            pa.field("footer_checksum", pa.string(), nullable=False),
            pa.field("summary_code", pa.binary(code_size)),
            pa.field("summary_radius_bits", pa.int32()),
        ]
    )


def check_corpus_metadata(meta: Any, *, where: str = "manifest.parquet") -> dict[str, Any]:
    """Check the ``terrabit`` manifest metadata (keys present, a version this code reads).

    Examples
    --------
    >>> meta = {"format_version": "1.3", "codec": {}, "dims": 8, "code_size": 1,
    ...         "rows": 0, "shards": 0, "bytes": 0, "columns": []}
    >>> check_corpus_metadata(meta)["format_version"]
    '1.3'
    >>> check_corpus_metadata({**meta, "format_version": "2.0"})
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusIntegrityError: manifest.parquet: format version '2.0' is newer \
than this terrabit reads (1.x); upgrade terrabit
    """
    if not isinstance(meta, Mapping):
        raise CorpusIntegrityError(f"{where}: the 'terrabit' metadata is not a JSON object")
    missing = [k for k in _REQUIRED_METADATA if k not in meta]
    if missing:
        raise CorpusIntegrityError(
            f"{where}: the 'terrabit' metadata lacks {missing}; republish the corpus with "
            "`terrabit publish`"
        )
    version = str(meta["format_version"])
    major = version.split(".", 1)[0]
    if major != FORMAT_VERSION.split(".", 1)[0]:
        raise CorpusIntegrityError(
            f"{where}: format version {version!r} is newer than this terrabit reads "
            f"({FORMAT_VERSION.split('.')[0]}.x); upgrade terrabit"
            if major.isdigit() and int(major) > 1
            else f"{where}: unknown format version {version!r}; this terrabit reads 1.x"
        )
    return dict(meta)


def summary_code(codes: npt.NDArray[np.uint8]) -> tuple[bytes, int]:
    """Bitwise majority-vote centroid of packed binary codes, and its Hamming radius.

    Bit ``j`` is set iff more than half of the codes have it set (a tie gives 0); the
    radius is the largest Hamming distance from the centroid to any code.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0b1100_0000], [0b1010_0000], [0b1000_0001]], dtype=np.uint8)
    >>> summary_code(codes)
    (b'\\x80', 1)
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError("summary_code needs a non-empty [n, code_size] uint8 array")
    n = codes.shape[0]
    counts = np.zeros(codes.shape[1] * 8, dtype=np.int64)
    for start in range(0, n, 65536):
        counts += np.unpackbits(codes[start : start + 65536], axis=1).sum(axis=0, dtype=np.int64)
    centre = np.packbits(counts * 2 > n)
    radius = 0
    for start in range(0, n, 65536):
        xor = np.bitwise_xor(codes[start : start + 65536], centre)
        radius = max(radius, int(np.unpackbits(xor, axis=1).sum(axis=1).max()))
    return centre.tobytes(), radius


def sha256_hex(data: bytes) -> str:
    """``"sha256:" + hexdigest`` of ``data``, the form of manifest checksums.

    Examples
    --------
    >>> sha256_hex(b"")[:15]
    'sha256:e3b0c442'
    """
    return f"{CHECKSUM_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"
