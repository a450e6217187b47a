"""What a search returns: :class:`SearchResult` (a ranked Arrow table, stats, provenance)
and the :class:`Exemplar` records it was asked with.

Examples
--------
>>> empty_table().column_names
['id', 'geometry', 'score', 'rank', 'value', 'shown']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from terrabit._arrow import array, to_numpy
from terrabit._compat import lazy_import
from terrabit.search.views import ViewResult

__all__ = ["Exemplar", "SearchResult", "empty_table", "json_extra", "result_table"]


@dataclass
class Exemplar:
    """One resolved exemplar.

    Attributes
    ----------
    role : {"positive", "negative"}
    kind : {"id", "point", "vector"}
        How it was given.
    key : str
        As given: the id, ``"lon,lat"`` or ``"vector[i]"``.
    code : uint8 array ``[code_size]``
        Its code in the corpus codec.
    id, geometry : str and WKB bytes, or None
        The corpus row (None for a raw vector).
    vector : float32 array or None
        The raw float vector (vectors only).
    rerank_code : uint8 array or None
        The row's ``rerank`` code, when the corpus has one.
    snapped_m : float or None
        For a point no footprint contains: how far (metres) the row taken lies from it
        (:mod:`~terrabit.search.snap`); None otherwise.
    """

    role: str
    kind: str
    key: str
    code: np.ndarray
    id: str | None = None
    geometry: bytes | None = None
    vector: np.ndarray | None = None
    rerank_code: np.ndarray | None = None
    snapped_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able provenance (no code bytes; ``snapped_m`` when the point snapped)."""
        out: dict[str, Any] = {"role": self.role, "kind": self.kind, "key": self.key, "id": self.id}
        if self.snapped_m is not None:
            out["snapped_m"] = self.snapped_m
        return out


@dataclass
class SearchResult:
    """What :func:`search` returns.

    Attributes
    ----------
    table : pyarrow.Table
        The candidates, sorted by ``rank`` (for ``topk``: only the rows scoring at most
        the k-th best score — the shown rows plus ties at the cut; ranks are global;
        every other view: every candidate): ``id``, ``geometry`` (WKB, CRS84),
        ``score`` (what the view ranks by, ascending), ``rank`` (1 = best, unique, ties
        by id), ``value`` (what the view shows), ``shown`` (displayed by the view), and
        ``hamming`` (the Hamming score) when re-ranked.
    view : str
    exemplars : list of Exemplar
    stats : dict
        ``shards_read``, ``bytes_read``, ``candidates``, ``seconds`` (plus
        ``shards_total``/``shards_scanned`` for a global search, ``reranked``).
    reason : str or None
        Why the result is empty, when it is.
    extra : dict
        View figures (threshold ``t`` and histogram, heatmap ``min``/``max`` …).
    query : dict
        The query's provenance (what :func:`~terrabit.search.export.export` stores).
    """

    table: pa.Table
    view: str
    exemplars: list[Exemplar]
    stats: dict[str, Any]
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> pa.Table:
        """The rows the view shows, by rank."""
        return self.table.filter(self.table.column("shown"))

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def to_json(self) -> dict[str, Any]:
        """``{"results": [{"id", "score", "rank"}…], "stats": {…}}`` of the shown rows."""
        shown = self.shown
        rows = [
            {"id": i, "score": float(s), "rank": int(r)}
            for i, s, r in zip(
                shown.column("id").to_pylist(),
                shown.column("score").to_pylist(),
                shown.column("rank").to_pylist(),
                strict=True,
            )
        ]
        out: dict[str, Any] = {"results": rows, "stats": dict(self.stats)}
        if self.reason:
            out["reason"] = self.reason
        return out

    def to_geodataframe(self, *, shown_only: bool = True) -> Any:
        """The (shown) rows as a geopandas GeoDataFrame in ``OGC:CRS84``."""
        gpd = lazy_import("geopandas", "geo")
        table = self.shown if shown_only else self.table
        frame = table.drop_columns(["geometry"]).to_pandas()
        geoms = shapely.from_wkb(to_numpy(table.column("geometry")))
        return gpd.GeoDataFrame(frame, geometry=geoms, crs="OGC:CRS84")


def result_table(
    table: pa.Table, vr: ViewResult, columns: dict[str, pa.Array | np.ndarray] | None = None
) -> pa.Table:
    """The rows of ``table`` with a view's scores, ranks, values and ``shown`` flags,
    sorted by rank, then ``columns`` (one value per row of ``table``: ``hamming``, the
    Hamming scores of a re-ranked search; ``probability``, the classifier's; ``earlier``,
    the earlier year's ids of a ``change`` view)."""
    order = np.argsort(vr.rank, kind="stable")
    idx = array(order)
    cols: dict[str, Any] = {
        "id": table.column("id").take(idx),
        "geometry": table.column("geometry").take(idx),
        "score": array(vr.scores[order], pa.float64()),
        "rank": array(vr.rank[order], pa.int64()),
        "value": array(vr.value[order], pa.float64()),
        "shown": array(vr.shown[order], pa.bool_()),
    }
    for name, values in (columns or {}).items():
        if isinstance(values, np.ndarray):
            cols[name] = array(values[order], pa.float64())
        else:
            cols[name] = values.take(idx)
    return pa.table(cols)


def json_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """A view's extra figures as JSON-able values (arrays only it uses internally dropped).

    Examples
    --------
    >>> json_extra({"t": np.float64(2.0), "neighbours": np.zeros(3)})
    {'t': 2.0}
    """
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key in ("neighbours", "reference_rows"):
            continue
        if key == "histogram":
            counts, edges = value
            out[key] = {"counts": np.asarray(counts).tolist(), "edges": np.asarray(edges).tolist()}
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def empty_table(reranked: bool = False) -> pa.Table:
    """The (empty) result schema, with ``hamming`` when ``reranked``.

    Examples
    --------
    >>> empty_table(reranked=True).column_names[-1]
    'hamming'
    """
    fields = [
        pa.field("id", pa.string()),
        pa.field("geometry", pa.binary()),
        pa.field("score", pa.float64()),
        pa.field("rank", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("shown", pa.bool_()),
    ]
    if reranked:
        fields.append(pa.field("hamming", pa.float64()))
    return pa.schema(fields).empty_table()
