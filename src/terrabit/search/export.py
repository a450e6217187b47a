"""``export``: write exactly what a search view shows as GeoParquet 1.1 — the labelled places
of a search, ready to train a model on.

Rows: the exemplars that are corpus rows (``role`` ``positive`` / ``negative``), then
the candidates the view shows (``role`` ``result``) in rank order. Columns:

=============== ======================== ==============================================
``id``          string                   corpus id
``geometry``    binary (ISO WKB, CRS84)  the patch footprint
``bbox``        struct<xmin,ymin,xmax,ymax> (float64) the GeoParquet 1.1 covering
``score``       float64                  what the view ranks by (null for exemplars)
``rank``        int64                    1 = best (null for exemplars)
``view``        string                   the view's name
``value``       float64                  what the view shows (null for exemplars)
``role``        string                   the label state: ``positive``, ``negative`` or
                                         ``result``
``probability`` float64                  ``score="classifier"``: the model's probability
``earlier``     string                   ``view="change"``: the earlier year's row id
``datetime``,   as in the corpus         with ``corpus=``: the row's time and every
pass-through                             pass-through column (``publish --keep``), as the
                                         result list shows them
``code``        fixed_size_binary        with ``with_codes``: the row's packed code in the
                                         corpus codec (``terrabit_query.codes`` names it)
``rerank_code`` fixed_size_binary        with ``with_codes``, when the corpus has a
                                         rerank column
``split``       string                   with ``with_codes``: ``train`` or ``validation``,
                                         whole blocks of a grid over the centres of the
                                         rows' ``bbox`` coverings, as ``evaluate``
                                         splits (:func:`terrabit.blocks.spatial_split`,
                                         20 % to validation, ``order="hash"``, seed 0)
=============== ======================== ==============================================

Raw-vector exemplars have no footprint; they are listed in the provenance only. The
Parquet key-value metadata holds ``geo`` (GeoParquet 1.1.0, CRS84 PROJJSON, covering)
and ``terrabit_query``: a JSON object with the query (region as GeoJSON, exemplars,
combine, invert, view, k, time, dedupe, global, rerank), the stats and view figures.
The file is written atomically and never replaces an existing file without
``overwrite``.

Examples
--------
>>> import tempfile, pathlib
>>> import pyarrow.parquet as pq
>>> from terrabit.corpus import open as open_corpus, publish
>>> from terrabit.corpus._fixture import write_input
>>> from terrabit.search.query import search
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=200, dims=16), tmp / "c", max_rows=100)
>>> with open_corpus(tmp / "c") as corpus:
...     result = search(corpus, positives=["p000000001"], k=4)
...     out = export(result, tmp / "hits.parquet", corpus=corpus, with_codes=True)
>>> table = pq.read_table(out)
>>> table.column("role").to_pylist()
['positive', 'result', 'result', 'result', 'result']
>>> table.column_names[-3:], table.schema.field("code").type
(['datetime', 'code', 'split'], FixedSizeBinaryType(fixed_size_binary[2]))
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from terrabit import __version__
from terrabit._arrow import array, to_numpy
from terrabit._atomic import atomic_file
from terrabit.blocks import spatial_split
from terrabit.corpus.reader import Corpus
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import GEO_KEY, bbox_column, geo_metadata
from terrabit.search.attributes import passthrough_columns, row_columns
from terrabit.search.result import SearchResult

__all__ = ["QUERY_METADATA_KEY", "VALIDATION_FRACTION", "export", "export_table"]

#: Parquet key-value metadata key of the query provenance.
QUERY_METADATA_KEY = b"terrabit_query"


#: Fraction of the exported rows :func:`export` puts on the ``validation`` side.
VALIDATION_FRACTION = 0.2

_SHOWN_EXTRAS = ("probability", "earlier")  # what a scoring mode or a view adds to the list


def export_table(
    result: SearchResult, corpus: Corpus | None = None, *, with_codes: bool = False
) -> pa.Table:
    """The rows and columns :func:`export` writes (without the file metadata)."""
    if with_codes and corpus is None:
        raise InvalidInputError(
            "with_codes=True reads the codes from the corpus; pass corpus= as well",
            params=("with_codes",),
        )
    ex = [e for e in result.exemplars if e.geometry is not None]
    shown = result.shown
    n_ex = len(ex)
    ids = [e.id for e in ex] + shown.column("id").to_pylist()
    wkb = [e.geometry for e in ex] + shown.column("geometry").to_pylist()
    nulls_f = [None] * n_ex
    role = [e.role for e in ex] + ["result"] * shown.num_rows
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.zeros(0, dtype=object)
    columns: dict[str, pa.Array] = {
        "id": array(ids, pa.string()),
        "geometry": array(wkb, pa.binary()),
        "bbox": bbox_column(
            shapely.bounds(geoms).reshape(-1, 4) if len(geoms) else np.zeros((0, 4))
        ),
        "score": array(nulls_f + shown.column("score").to_pylist(), pa.float64()),
        "rank": array(nulls_f + shown.column("rank").to_pylist(), pa.int64()),
        "view": array([result.view] * len(ids), pa.string()),
        "value": array(nulls_f + shown.column("value").to_pylist(), pa.float64()),
        "role": array(role, pa.string()),
    }
    for name in _SHOWN_EXTRAS:
        if name in shown.column_names:
            col = shown.column(name)
            columns[name] = pa.concat_arrays([pa.nulls(n_ex, col.type), *col.chunks])
    if corpus is not None:
        wanted = [c for c in ("datetime", *passthrough_columns(corpus)) if c in corpus.columns]
        if with_codes:
            wanted += [c for c in ("embedding", "rerank") if c in corpus.columns]
        keys = pa.table({"id": columns["id"], "geometry": columns["geometry"]})
        found = row_columns(corpus, keys, [*wanted, "bbox"] if with_codes else wanted)
        at = pc.index_in(columns["id"], value_set=found.column("id"))
        renamed = {"embedding": "code", "rerank": "rerank_code"}
        for name in wanted:
            columns[renamed.get(name, name)] = found.column(name).take(at).combine_chunks()
        if with_codes:
            columns["split"] = _split(found.column("bbox").take(at), columns["bbox"])
    return pa.table(columns)


def _split(covering: pa.ChunkedArray, exact: pa.Array) -> pa.Array:
    """``train`` / ``validation`` of each row by whole grid blocks of the centres of its
    corpus ``bbox`` covering (its footprint's bounds when the row was not found), blocks
    taken in :func:`~terrabit.blocks.spatial_split`'s ``hash`` order (the browser's)."""
    boxes = covering.combine_chunks()
    missing = to_numpy(boxes.is_null())
    bounds = {}
    for name in ("xmin", "ymin", "xmax", "ymax"):
        corpus_v = to_numpy(boxes.field(name)).astype(np.float64)
        exact_v = to_numpy(exact.field(name))
        bounds[name] = np.where(missing, exact_v, corpus_v)
    lon = (bounds["xmin"] + bounds["xmax"]) / 2
    lat = (bounds["ymin"] + bounds["ymax"]) / 2
    test = spatial_split(lon, lat, test_fraction=VALIDATION_FRACTION, order="hash")
    return array(np.where(test, "validation", "train").tolist(), pa.string())


def _provenance(result: SearchResult, corpus: Corpus | None, with_codes: bool) -> dict[str, Any]:
    codes = None
    if with_codes and corpus is not None:
        rerank = corpus.rerank_codec
        codes = {
            "code": corpus.codec.spec,
            "code_size": int(corpus.metadata["code_size"]),
            "rerank_code": None if rerank is None else rerank.spec,
            "decode": "terrabit.open(CORPUS).codec.decode(codes); or use the bits as +-1 features",
            "split": {
                "validation_fraction": VALIDATION_FRACTION,
                "seed": 0,
                "blocks_per_side": 16,
                "order": "hash",
                "points": "centres of the corpus bbox coverings",
            },
        }
    return {
        "codes": codes,
        "query": result.query,
        "exemplars": [e.to_dict() for e in result.exemplars],
        "stats": result.stats,
        "view_extra": result.extra,
        "reason": result.reason,
        "rows_shown": int(result.shown.num_rows),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "terrabit_version": __version__,
    }


def export(
    result: SearchResult,
    path: str | os.PathLike[str],
    *,
    corpus: Corpus | None = None,
    with_codes: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the exemplars and the shown candidates of ``result`` as GeoParquet 1.1.

    Parameters
    ----------
    result : SearchResult
        From :func:`terrabit.search.query.search`.
    path : path
        The ``.parquet`` file to write (atomically).
    corpus : Corpus, optional
        The corpus searched: adds each row's ``datetime`` and pass-through columns.
    with_codes : bool
        Also write each row's codes and a spatial ``split`` column (needs ``corpus``).
    overwrite : bool
        Replace an existing file (never done without it).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    InvalidInputError
        ``with_codes`` without ``corpus``.
    """
    table = export_table(result, corpus, with_codes=with_codes)
    geoms = shapely.from_wkb(to_numpy(table.column("geometry")))
    if table.num_rows:
        bbox = [float(v) for v in shapely.total_bounds(geoms)]
        types = sorted({g.geom_type for g in geoms})
    else:  # an empty view: no extent, any type
        bbox, types = [0.0, 0.0, 0.0, 0.0], []
    geo = geo_metadata(bbox, types)
    meta = {
        GEO_KEY: json.dumps(geo).encode(),
        QUERY_METADATA_KEY: json.dumps(
            _provenance(result, corpus, with_codes), default=str
        ).encode(),
    }
    table = table.replace_schema_metadata(meta)
    target = Path(path)
    with atomic_file(target, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return target
