"""Exemplars resolved to codes: corpus ids (wherever they lie), points (the patch under
them) and raw float vectors (encoded with the corpus codec).

Ids found outside the region are remembered per open corpus, so trying exemplars again
costs no scan.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus import open as open_corpus, publish
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = publish(write_input(tmp / "in.parquet", rows=50, dims=16), tmp / "c")
>>> with open_corpus(tmp / "c") as corpus:
...     [e.id for e in resolve_exemplars(corpus, ["p000000003"], [])]
['p000000003']
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrabit._arrow import array, to_numpy
from terrabit.corpus.reader import Corpus, parse_time
from terrabit.errors import InvalidInputError
from terrabit.search.columns import fixed_codes
from terrabit.search.result import Exemplar
from terrabit.search.snap import nearest_row

__all__ = ["ExemplarKind", "exemplar_kind", "exemplar_values", "resolve_exemplars"]

ExemplarKind = Literal["id", "point", "vector"]


#: Per open corpus, exemplar rows found by id outside the region (one row each).
_ID_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], tuple[pa.Table, int]]] = (
    weakref.WeakKeyDictionary()
)


def _as_point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, tuple | list) and len(value) == 2:
        try:
            lon, lat = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
        return lon, lat
    return None


def exemplar_values(values: Any) -> list[Any]:
    """The exemplars of a ``positives`` or ``negatives`` argument: one id (``str``) or
    one 1-D array stands for itself, anything else is a sequence of exemplars.

    Examples
    --------
    >>> import numpy as np
    >>> len(exemplar_values("p1")), len(exemplar_values(np.zeros(4))), len(exemplar_values([]))
    (1, 1, 0)
    """
    if isinstance(values, str | bytes) or (isinstance(values, np.ndarray) and values.ndim == 1):
        return [values]
    return list(values)


def exemplar_kind(value: Any, dims: int) -> ExemplarKind:
    """What an exemplar is taken as: an ``id`` (``str``), a ``point`` (two numbers, unless
    the corpus embeds 2 dimensions) or a raw float ``vector``.

    Examples
    --------
    >>> exemplar_kind("p1", 64), exemplar_kind((10.0, 45.0), 64), exemplar_kind([0.5] * 64, 64)
    ('id', 'point', 'vector')
    """
    if isinstance(value, str):
        return "id"
    if _as_point(value) is not None and dims != 2:
        return "point"
    return "vector"


def _row_columns(corpus: Corpus, rerank: bool) -> list[str]:
    cols = ["id", "geometry", "bbox", "embedding"]
    if "datetime" in corpus.columns:
        cols.append("datetime")
    if rerank:
        cols.append("rerank")
    return cols


def _row_exemplar(
    corpus: Corpus, table: pa.Table, i: int, role: str, kind: str, key: str, rerank: bool
) -> Exemplar:
    code_size = int(corpus.metadata["code_size"])
    code = fixed_codes(table.column("embedding").slice(i, 1), code_size)[0].copy()
    rr = None
    if rerank:
        size = int(corpus.metadata["rerank_code_size"])
        rr = fixed_codes(table.column("rerank").slice(i, 1), size)[0].copy()
    return Exemplar(
        role=role,
        kind=kind,
        key=key,
        code=code,
        id=table.column("id")[i].as_py(),
        geometry=table.column("geometry")[i].as_py(),
        rerank_code=rr,
    )


def _in_time(table: pa.Table, time: tuple[Any, Any] | None) -> np.ndarray:
    """Which rows of ``table`` lie inside the time filter (all, without one)."""
    in_time = np.ones(table.num_rows, dtype=bool)
    if time is not None and "datetime" in table.column_names:
        lo, hi = time
        t = table.column("datetime")
        if lo is not None:
            in_time &= np.asarray(
                pc.fill_null(pc.greater_equal(t, pa.scalar(_ts(lo), t.type)), False)
            )
        if hi is not None:
            in_time &= np.asarray(pc.fill_null(pc.less(t, pa.scalar(_ts(hi), t.type)), False))
    return in_time


def _point_exemplar(
    corpus: Corpus,
    lon: float,
    lat: float,
    role: str,
    rerank: bool,
    time: tuple[Any, Any] | None,
    snap_m: float | None,
) -> Exemplar:
    key = f"{lon:g},{lat:g}"
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInputError(
            f"exemplar point {key} is out of range: give (lon, lat) with lon in [-180, 180] "
            "and lat in [-90, 90]"
        )
    cols = _row_columns(corpus, rerank)
    table = corpus.read((lon, lat, lon, lat), columns=cols)  # touch
    if table.num_rows == 0:  # the nearest row within the tolerance
        table, i, metres = nearest_row(
            corpus, lon, lat, snap_m=snap_m, columns=cols, in_time=lambda t: _in_time(t, time)
        )
        exemplar = _row_exemplar(corpus, table, i, role, "point", key, rerank)
        exemplar.snapped_m = round(metres, 1)
        return exemplar
    ids = table.column("id").to_pylist()
    in_time = _in_time(table, time)
    first = min(range(table.num_rows), key=lambda j: (not in_time[j], ids[j]))
    return _row_exemplar(corpus, table, first, role, "point", key, rerank)


def _ts(value: Any) -> Any:

    parsed = parse_time(value, "bound")
    return parsed.astype("datetime64[us]").astype(object) if parsed is not None else None


def _find_ids(corpus: Corpus, wanted: set[str], rerank: bool) -> dict[str, tuple[pa.Table, int]]:
    """Rows of ``wanted`` ids anywhere in the corpus: scan the ``id`` column shard by shard."""
    found: dict[str, tuple[pa.Table, int]] = {}
    if not wanted:
        return found
    try:
        known = _ID_CACHE.setdefault(corpus, {})
    except TypeError:
        known = {}
    for value in sorted(wanted):
        if (value, rerank) in known:
            found[value] = known[(value, rerank)]
            wanted.discard(value)
    for path in corpus.manifest.column("path").to_pylist() if wanted else []:
        ids = corpus.read_shard(path, columns=["id"])
        if ids.num_rows == 0:
            continue
        hit = pc.is_in(ids.column("id"), value_set=array(sorted(wanted), pa.string()))
        if not pc.any(hit).as_py():
            continue
        rows = corpus.read_shard(path, columns=_row_columns(corpus, rerank))
        wanted_ids = array(sorted(wanted), pa.string())
        rows = rows.filter(pc.is_in(rows.column("id"), value_set=wanted_ids))
        for i, value in enumerate(rows.column("id").to_pylist()):
            found[value] = known[(value, rerank)] = (rows.slice(i, 1), 0)
            wanted.discard(value)
        if not wanted:
            break
    return found


def resolve_exemplars(
    corpus: Corpus,
    positives: Sequence[Any],
    negatives: Sequence[Any],
    *,
    candidates: pa.Table | None = None,
    rerank: bool = False,
    time: tuple[Any, Any] | None = None,
    snap_m: float | None = None,
) -> list[Exemplar]:
    """Resolve ids, points and vectors to :class:`Exemplar` (codes in the corpus codec).

    A point takes the row whose footprint contains it (the one inside the ``time``
    filter first, then the smallest id); where none does, the nearest row within
    ``snap_m`` metres (default: 3 footprint sizes, 1 km for points;
    :mod:`~terrabit.search.snap`), recording the distance in ``Exemplar.snapped_m``.

    Raises
    ------
    InvalidInputError
        Unknown ids (listed, first 10), a point with no row within the tolerance, a
        vector of the wrong dimension or a value that is none of the three.
    """
    dims = int(corpus.metadata["dims"])
    out: list[Exemplar | None] = []
    pending: list[tuple[int, str, str]] = []  # (slot, role, id)
    cand_index: dict[str, int] = {}
    wanted_ids = [
        v for vals in (positives, negatives) for v in exemplar_values(vals) if isinstance(v, str)
    ]
    if candidates is not None and candidates.num_rows and wanted_ids:
        # hash the few wanted ids, scan the candidates once
        cand_ids = candidates.column("id")
        hit = pc.is_in(cand_ids, value_set=array(wanted_ids, pa.string()))
        rows = np.flatnonzero(np.asarray(to_numpy(hit), dtype=bool))
        cand_index = {cand_ids[int(i)].as_py(): int(i) for i in rows}
    n_vec = 0
    for role, values in (("positive", positives), ("negative", negatives)):
        for value in exemplar_values(values):
            kind = exemplar_kind(value, dims)
            if kind == "id":
                if value in cand_index and candidates is not None:
                    out.append(
                        _row_exemplar(
                            corpus, candidates, cand_index[value], role, "id", value, rerank
                        )
                    )
                else:
                    pending.append((len(out), role, value))
                    out.append(None)
                continue
            if kind == "point":
                point = _as_point(value)
                assert point is not None
                out.append(_point_exemplar(corpus, point[0], point[1], role, rerank, time, snap_m))
                continue
            try:
                vec = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"{role} exemplar {value!r:.60} is neither an id (str), a (lon, lat) "
                    f"point nor a float vector of {dims} numbers"
                ) from exc
            if vec.ndim != 1 or vec.shape[0] != dims:
                raise InvalidInputError(
                    f"{role} vector has shape {vec.shape}, but this corpus embeds {dims} "
                    f"dimensions; pass a 1-D vector of {dims} floats"
                )
            if not np.isfinite(vec).all():
                raise InvalidInputError(f"{role} vector holds NaN or infinite values")
            code = corpus.codec.encode(vec[None, :])[0]
            out.append(
                Exemplar(role=role, kind="vector", key=f"vector[{n_vec}]", code=code, vector=vec)
            )
            n_vec += 1
    if pending:
        found = _find_ids(corpus, {p[2] for p in pending}, rerank)
        missing = sorted({p[2] for p in pending} - set(found))
        if missing:
            raise InvalidInputError(
                f"unknown exemplar ids {missing[:10]}"
                + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                + ": no row of this corpus has them; check the ids (e.g. from a previous "
                "search) or pass a (lon, lat) point"
            )
        for slot, role, value in pending:
            table, i = found[value]
            out[slot] = _row_exemplar(corpus, table, i, role, "id", value, rerank)
    return [e for e in out if e is not None]
