"""The STAC Collection beside a corpus's manifest (``collection.json``, since format 1.6).

A STAC 1.1 Collection describes a corpus to the catalogue tools of the field (STAC
Browser, pystac, STAC API servers): what it is, where and when its rows lie, how its
embeddings are coded, and where its index is. :func:`collection` makes it from the
manifest's ``terrabit`` metadata, :func:`write_collection` writes it (atomically) before
the manifest, and :func:`check_collection` is what ``terrabit validate`` checks of it. It
uses the core Collection fields only (no extension, so the schemas pystac ships validate
it offline):

* ``id`` and ``title``: the corpus's name (the output folder's or prefix's last part, or
  ``publish(name=...)``); ``license`` ``"other"`` (the inputs' licence is not known);
* ``extent``: the corpus ``bbox`` and its time range (open, ``[null, null]``, without
  a time column);
* ``summaries`` of what every row shares: ``terrabit:codec`` (the codec spec),
  ``terrabit:dims``, ``terrabit:code_size``, ``terrabit:rerank_codec`` (with a rerank
  column) and ``terrabit:model`` (when the inputs name their model); and the corpus's
  ``terrabit:format_version``, ``terrabit:rows``, ``terrabit:shards``, ``terrabit:bytes``;
* the asset ``manifest`` (``./manifest.parquet``, ``application/vnd.apache.parquet``,
  roles ``metadata`` and ``index``), whose rows name the shards;
* one link, ``root`` to ``./collection.json``. Links are relative, so the corpus can be
  moved or served from any host; STAC wants ``self`` absolute, so there is none.

Older corpora have no ``collection.json``; readers never need it.

Examples
--------
>>> meta = {"format_version": "1.6", "codec": {"spec": "binary"}, "rerank_codec": None,
...         "dims": 64, "code_size": 8, "rows": 10, "shards": 2, "bytes": 4096,
...         "bbox": [0.0, 1.0, 2.0, 3.0], "tmin": None, "tmax": None}
>>> doc = collection(meta, name="demo")
>>> doc["type"], doc["id"], doc["extent"]["spatial"]["bbox"], doc["summaries"]["terrabit:codec"]
('Collection', 'demo', [[0.0, 1.0, 2.0, 3.0]], ['binary'])
>>> check_collection(json.dumps(doc).encode(), meta)
[]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from terrabit.corpus import format as fmt

__all__ = [
    "COLLECTION_NAME",
    "PARQUET_MEDIA_TYPE",
    "SINCE",
    "WORLD_KEY",
    "check_collection",
    "collection",
    "input_model",
    "write_collection",
]

COLLECTION_NAME = "collection.json"
"""The file name of the STAC Collection, beside ``manifest.parquet``."""
SINCE = (1, 6)
"""The first format version whose corpora hold a ``collection.json``."""
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
"""The media type of Parquet files (IANA, 2024)."""
WORLD_KEY = b"terrabit_world"
"""The key of the synthetic world's marker in an input file's metadata (the key
``terrabit.world.patches.WORLD_KEY``; the corpus sits below the world, so it cannot
import it, and a test checks that the two agree)."""

_STAC_REQUIRED = ("type", "stac_version", "id", "description", "license", "extent", "links")


def input_model(metadata: Iterable[Mapping[bytes, bytes] | None]) -> str | None:
    """The embedding model the inputs' key-value ``metadata`` (one mapping per input
    file) name, when all of them name the same one; else None.

    The only model an input names today is the synthetic world of ``terrabit world``
    (its marker, :data:`WORLD_KEY`), so that a corpus published from it says that its
    embeddings are synthetic.

    Examples
    --------
    >>> marker = json.dumps({"generator": "terrabit world", "seed": 0, "dim": 64}).encode()
    >>> input_model([{WORLD_KEY: marker}, {WORLD_KEY: marker}])
    'terrabit world (synthetic embeddings, seed 0, 64 dims)'
    >>> input_model([{WORLD_KEY: marker}, {b"geo": b"{}"}]) is None
    True
    """
    names = set()
    for meta in metadata:
        raw = (meta or {}).get(WORLD_KEY)
        if raw is None:
            return None
        try:
            marker = json.loads(raw)
            names.add(
                f"{marker['generator']} (synthetic embeddings, seed {int(marker['seed'])}, "
                f"{int(marker['dim'])} dims)"
            )
        except (ValueError, TypeError, KeyError):
            return None
    return names.pop() if len(names) == 1 else None


def collection(meta: Mapping[str, Any], *, name: str, model: str | None = None) -> dict[str, Any]:
    """The STAC 1.1 Collection (a JSON-ready dict) of the corpus whose manifest holds the
    ``terrabit`` metadata ``meta``.

    Parameters
    ----------
    meta : mapping
        The manifest's ``terrabit`` metadata (``spec/corpus-v1.md`` §4.2).
    name : str
        The collection's ``id`` and ``title`` (non-empty).
    model : str, optional
        The embedding model, when the inputs name it (:func:`input_model`).

    Returns
    -------
    dict
        The Collection, as ``pystac.Collection.to_dict`` writes it.

    Examples
    --------
    >>> meta = {"format_version": "1.6", "codec": {"spec": "int8"}, "dims": 16,
    ...         "code_size": 16, "rows": 5, "shards": 1, "bytes": 900,
    ...         "bbox": [-1.0, -1.0, 1.0, 1.0], "tmin": "2024-01-01T00:00:00+00:00",
    ...         "tmax": "2024-12-31T00:00:00+00:00"}
    >>> collection(meta, name="c")["extent"]["temporal"]["interval"]
    [['2024-01-01T00:00:00Z', '2024-12-31T00:00:00Z']]
    """
    import pystac

    codec = meta["codec"].get("spec")
    rerank = (meta.get("rerank_codec") or {}).get("spec")
    summaries: dict[str, list[Any]] = {
        "terrabit:codec": [codec],
        "terrabit:dims": [int(meta["dims"])],
        "terrabit:code_size": [int(meta["code_size"])],
    }
    if rerank is not None:
        summaries["terrabit:rerank_codec"] = [rerank]
    if model is not None:
        summaries["terrabit:model"] = [model]
    extent = pystac.Extent(
        pystac.SpatialExtent([[float(v) for v in meta["bbox"]]]),
        pystac.TemporalExtent([[_time(meta.get("tmin")), _time(meta.get("tmax"))]]),
    )
    description = (
        f"A terrabit corpus: {int(meta['rows']):,} rows of {int(meta['dims'])}-dimensional "
        f"embeddings{f' from {model}' if model else ''}, stored as `{codec}` codes of "
        f"{int(meta['code_size'])} bytes"
        f"{f' (with `{rerank}` codes to re-rank a shortlist)' if rerank else ''}, in "
        f"{int(meta['shards']):,} GeoParquet shards indexed by manifest.parquet (terrabit "
        f"corpus format {meta['format_version']}). Search it with `terrabit search`, "
        "`terrabit.open` or the terrabit browser app."
    )
    coll = pystac.Collection(
        name,
        description,
        extent,
        title=name,
        license="other",
        keywords=["embeddings", "terrabit", "geoparquet"],
        summaries=pystac.Summaries(summaries),
        extra_fields={
            "terrabit:format_version": str(meta["format_version"]),
            "terrabit:rows": int(meta["rows"]),
            "terrabit:shards": int(meta["shards"]),
            "terrabit:bytes": int(meta["bytes"]),
        },
    )
    coll.add_asset(
        "manifest",
        pystac.Asset(
            f"./{fmt.MANIFEST_NAME}",
            title="Manifest",
            description=(
                "The corpus's index: one row per shard with its path (shards/<geohash>"
                ".parquet, a GeoParquet 1.1 file of id, geometry, bbox and the codes in "
                "embedding), extent, time range, row count, checksums and summary codes; "
                "its 'terrabit' metadata holds the codec's exact parameters."
            ),
            media_type=PARQUET_MEDIA_TYPE,
            roles=["metadata", "index"],
        ),
    )
    coll.add_link(pystac.Link("root", f"./{COLLECTION_NAME}", media_type="application/json"))
    return coll.to_dict(include_self_link=False, transform_hrefs=False)


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time of the metadata (``tmin``/``tmax``) as a datetime; None stays."""
    return None if value is None else datetime.fromisoformat(str(value))


def write_collection(
    root: Path, meta: Mapping[str, Any], *, name: str, model: str | None = None
) -> None:
    """Write ``collection.json`` (:func:`collection`) into the corpus folder ``root``,
    under a temporary name then renamed; publish calls it just before the manifest.

    The bytes depend only on ``meta``, ``name`` and ``model`` (two-space indented JSON,
    fields in pystac's order), so publishing stays byte-identical.

    Examples
    --------
    >>> import tempfile
    >>> meta = {"format_version": "1.6", "codec": {"spec": "binary"}, "dims": 8,
    ...         "code_size": 1, "rows": 1, "shards": 1, "bytes": 1, "bbox": [0, 0, 1, 1]}
    >>> root = Path(tempfile.mkdtemp())
    >>> write_collection(root, meta, name="tiny")
    >>> json.loads((root / COLLECTION_NAME).read_text())["id"]
    'tiny'
    """
    text = json.dumps(collection(meta, name=name, model=model), indent=2, ensure_ascii=False)
    tmp = root / f".{COLLECTION_NAME}.tmp"
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, root / COLLECTION_NAME)


def check_collection(raw: bytes, meta: Mapping[str, Any]) -> list[str]:
    """The problems of a ``collection.json`` (its bytes ``raw``) against the manifest's
    ``terrabit`` metadata ``meta``; ``[]`` when it agrees.

    It must be JSON, a STAC Collection pystac reads (the fields STAC requires present),
    and say what the manifest says: the extent, the codec summaries, the counts, the
    format version and the manifest asset. Fields it does not know are ignored.

    Examples
    --------
    >>> meta = {"format_version": "1.6", "codec": {"spec": "binary"}, "dims": 8,
    ...         "code_size": 1, "rows": 1, "shards": 1, "bytes": 1, "bbox": [0, 0, 1, 1]}
    >>> doc = collection(meta, name="c")
    >>> doc["extent"]["spatial"]["bbox"] = [[0, 0, 2, 2]]
    >>> for problem in check_collection(json.dumps(doc).encode(), meta):
    ...     print(problem)
    collection.json: extent.spatial.bbox is [[0, 0, 2, 2]], the manifest says [[0.0, 0.0, 1.0, 1.0]]
    """
    import pystac

    try:
        doc = json.loads(raw)
    except ValueError as exc:
        return [f"{COLLECTION_NAME}: not JSON ({exc})"]
    if not isinstance(doc, dict):
        return [f"{COLLECTION_NAME}: not a JSON object, got {type(doc).__name__}"]
    missing = [k for k in _STAC_REQUIRED if k not in doc]
    if missing:
        return [f"{COLLECTION_NAME}: lacks the STAC Collection fields {missing}"]
    try:
        pystac.Collection.from_dict(doc, migrate=False)
    except (pystac.STACError, pystac.STACTypeError, KeyError, TypeError, ValueError) as exc:
        return [f"{COLLECTION_NAME}: not a STAC Collection pystac reads ({exc})"]
    name = doc["id"] if isinstance(doc["id"], str) and doc["id"] else "corpus"
    want = collection(meta, name=name)
    problems = []
    for key in (
        "type",
        "stac_version",
        "extent.spatial.bbox",
        "extent.temporal.interval",
        "summaries.terrabit:codec",
        "summaries.terrabit:dims",
        "summaries.terrabit:code_size",
        "summaries.terrabit:rerank_codec",
        "terrabit:format_version",
        "terrabit:rows",
        "terrabit:shards",
        "terrabit:bytes",
        "assets.manifest.href",
        "assets.manifest.type",
    ):
        got, expected = _at(doc, key), _at(want, key)
        if got != expected:
            problems.append(f"{COLLECTION_NAME}: {key} is {got!r}, the manifest says {expected!r}")
    if not isinstance(doc["id"], str) or not doc["id"]:
        problems.append(f"{COLLECTION_NAME}: id is {doc['id']!r}, expected a non-empty string")
    return problems


def _at(doc: Any, key: str) -> Any:
    """The value at the dotted ``key`` of ``doc`` (None where it is missing)."""
    for part in key.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc
