"""The corpus format v1 (``spec/corpus-v1.md``): names, schemas, metadata and checks.

Everything a writer and a reader must agree on lives here: file names, the shard and
manifest schemas (the summary columns come from :mod:`terrabit.corpus.summary`), the
``terrabit`` key-value metadata and its checks against the spec. The ``geo`` (GeoParquet
1.1) metadata and its checks live in :mod:`terrabit.geoparquet` and are re-exported here
(``BBOX_FIELDS``, ``GEO_KEY``, ``crs84_projjson``, ``geo_metadata``,
``validate_geo_metadata``).

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

import pyarrow as pa

from terrabit.corpus.summary import summary_fields
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
            *summary_fields(code_size),
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


def sha256_hex(data: bytes) -> str:
    """``"sha256:" + hexdigest`` of ``data``, the form of manifest checksums.

    Examples
    --------
    >>> sha256_hex(b"")[:15]
    'sha256:e3b0c442'
    """
    return f"{CHECKSUM_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"
