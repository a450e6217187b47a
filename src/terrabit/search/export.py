"""``export``: write exactly what a search view shows as GeoParquet 1.1.

Rows: the exemplars that are corpus rows (``role`` ``positive`` / ``negative``), then
the candidates the view shows (``role`` ``result``) in rank order. Columns:

=========== ======================== ==================================================
``id``      string                   corpus id
``geometry`` binary (ISO WKB, CRS84) the patch footprint
``bbox``    struct<xmin,ymin,xmax,ymax> (float64) the GeoParquet 1.1 covering
``score``   float64                  what the view ranks by (null for exemplars)
``rank``    int64                    1 = best (null for exemplars)
``view``    string                   the view's name
``value``   float64                  what the view shows (null for exemplars)
``role``    string                   ``positive``, ``negative`` or ``result``
=========== ======================== ==================================================

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
>>> out = export(result, tmp / "hits.parquet")
>>> pq.read_table(out).column("role").to_pylist()
['positive', 'result', 'result', 'result', 'result']
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit import __version__
from terrabit._atomic import atomic_file
from terrabit.geoparquet import GEO_KEY, bbox_column, geo_metadata
from terrabit.search.result import SearchResult

__all__ = ["QUERY_METADATA_KEY", "export"]

#: Parquet key-value metadata key of the query provenance.
QUERY_METADATA_KEY = b"terrabit_query"


def export_table(result: SearchResult) -> pa.Table:
    """The rows and columns :func:`export` writes (without the file metadata)."""
    ex = [e for e in result.exemplars if e.geometry is not None]
    shown = result.shown
    n_ex = len(ex)
    ids = [e.id for e in ex] + shown.column("id").to_pylist()
    wkb = [e.geometry for e in ex] + shown.column("geometry").to_pylist()
    nulls_f = [None] * n_ex
    score = nulls_f + shown.column("score").to_pylist()
    rank = nulls_f + shown.column("rank").to_pylist()
    value = nulls_f + shown.column("value").to_pylist()
    role = [e.role for e in ex] + ["result"] * shown.num_rows
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.zeros(0, dtype=object)
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "geometry": pa.array(wkb, pa.binary()),
            "bbox": bbox_column(
                shapely.bounds(geoms).reshape(-1, 4) if len(geoms) else np.zeros((0, 4))
            ),
            "score": pa.array(score, pa.float64()),
            "rank": pa.array(rank, pa.int64()),
            "view": pa.array([result.view] * len(ids), pa.string()),
            "value": pa.array(value, pa.float64()),
            "role": pa.array(role, pa.string()),
        }
    )


def _provenance(result: SearchResult) -> dict[str, Any]:
    return {
        "query": result.query,
        "exemplars": [e.to_dict() for e in result.exemplars],
        "stats": result.stats,
        "view_extra": result.extra,
        "reason": result.reason,
        "rows_shown": int(result.shown.num_rows),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "terrabit_version": __version__,
    }


def export(result: SearchResult, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the exemplars and the shown candidates of ``result`` as GeoParquet 1.1.

    Parameters
    ----------
    result : SearchResult
        From :func:`terrabit.search.query.search`.
    path : path
        The ``.parquet`` file to write (atomically).
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
    """
    table = export_table(result)
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    if table.num_rows:
        bbox = [float(v) for v in shapely.total_bounds(geoms)]
        types = sorted({g.geom_type for g in geoms})
    else:  # an empty view: no extent, any type
        bbox, types = [0.0, 0.0, 0.0, 0.0], []
    geo = geo_metadata(bbox, types)
    meta = {
        GEO_KEY: json.dumps(geo).encode(),
        QUERY_METADATA_KEY: json.dumps(_provenance(result), default=str).encode(),
    }
    table = table.replace_schema_metadata(meta)
    target = Path(path)
    with atomic_file(target, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return target
