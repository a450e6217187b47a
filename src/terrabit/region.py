"""``Region``: where to search, in lon/lat degrees (CRS84), antimeridian aware.

A region is built from a bbox tuple ``(minx, miny, maxx, maxy)`` (``minx > maxx`` crosses
the antimeridian), a GeoJSON ``Polygon``/``MultiPolygon``/``Feature``/
``FeatureCollection`` (a dict, a JSON string or a file), a shapely geometry, or a list of
any of those (their union). It offers:

* ``geometry`` — a shapely (Multi)Polygon inside ``[-180, 180] x [-90, 90]``, split at
  the antimeridian;
* ``boxes`` — non-crossing ``(minx, miny, maxx, maxy)`` boxes covering it, one per
  polygon part, for manifest and row-group pruning;
* ``contains_points(lon, lat)`` and ``intersects(geometries)``, vectorized.

This is the one region type of terrabit: the CLI, the corpus reader, the geohash cover and
search all build their regions here. Where touching is what is asked (the patch under a
point, the geohash cells a segment crosses), ``allow_degenerate=True`` accepts a bbox
without width or height: its geometry is then a point or a segment, and a row meets it
when its geometry touches it.

A GeoJSON ring crosses the antimeridian when two consecutive positions are more than
180 degrees of longitude apart (the shorter way round is meant, as every web map draws
it); such a polygon is unwrapped past 180 and split. Self-intersecting polygons are
repaired with :func:`shapely.make_valid`; the repair is stated (``repaired=True`` and a
warning log naming the reason), never silent.

Examples
--------
>>> r = Region.from_any((170, -10, -170, 10))
>>> r.boxes
[(-180.0, -10.0, -170.0, 10.0), (170.0, -10.0, 180.0, 10.0)]
>>> r.contains_points([175.0, 0.0], [0.0, 0.0]).tolist()
[True, False]
>>> bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
>>> Region.from_any(bow).repaired
True
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.affinity
import shapely.geometry

from terrabit._validation import check_bbox
from terrabit.errors import RegionError

__all__ = ["Box", "Region", "as_region"]

log = logging.getLogger(__name__)

#: ``(minx, miny, maxx, maxy)`` in lon/lat degrees.
Box = tuple[float, float, float, float]

_WORLD: Box = (-180.0, -90.0, 180.0, 90.0)
_POLYGONAL = ("Polygon", "MultiPolygon")


class Region:
    """A search region: a polygonal area in CRS84, split at the antimeridian.

    Build one with :meth:`from_any` (or :func:`as_region`); the constructor takes an
    already valid shapely geometry inside the world box.

    Attributes
    ----------
    geometry : shapely.Polygon or shapely.MultiPolygon
        The region, inside ``[-180, 180] x [-90, 90]``.
    repaired : bool
        True when an invalid (e.g. self-intersecting) polygon was repaired with
        :func:`shapely.make_valid`.
    is_world : bool
        True when the region is the whole Earth (readers may skip geometry tests).
    """

    def __init__(
        self, geometry: shapely.Geometry, *, repaired: bool = False, is_world: bool = False
    ) -> None:
        if geometry.is_empty:
            raise RegionError(
                "the region is empty (no area); pass a bbox with minx != maxx and "
                "miny < maxy, or a polygon with an area"
            )
        self.geometry = geometry
        self.repaired = repaired
        self.is_world = is_world
        shapely.prepare(self.geometry)

    # ------------------------------------------------------------------ building
    @classmethod
    def world(cls) -> Region:
        """The whole Earth.

        Examples
        --------
        >>> Region.world().boxes
        [(-180.0, -90.0, 180.0, 90.0)]
        """
        return cls(shapely.box(*_WORLD), is_world=True)

    @classmethod
    def from_bbox(cls, bbox: Sequence[Any], *, allow_degenerate: bool = False) -> Region:
        """A region from ``(minx, miny, maxx, maxy)``; ``minx > maxx`` crosses 180.

        With ``allow_degenerate``, a box without width or height is a point or a segment
        (a region to touch) instead of an error.

        Examples
        --------
        >>> Region.from_bbox((0, 0, 1, 1)).geometry.area
        1.0
        >>> Region.from_bbox((2, 1, 2, 1), allow_degenerate=True).geometry.wkt
        'POINT (2 1)'
        """
        minx, miny, maxx, maxy = check_bbox(bbox, allow_degenerate=allow_degenerate)
        width = maxx - minx if minx <= maxx else (180.0 - minx) + (maxx + 180.0)
        if width == 0 or miny == maxy:  # only with allow_degenerate
            return cls(_flat_box_geometry(minx, miny, maxx, maxy))
        if minx > maxx:
            # two disjoint boxes, kept exact (a union would snap nearly-touching edges);
            # a side of zero width (minx == 180 or maxx == -180) is only the seam
            parts = [
                shapely.box(x0, miny, x1, maxy)
                for x0, x1 in ((minx, 180.0), (-180.0, maxx))
                if x1 > x0
            ]
            geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        else:
            geom = shapely.box(minx, miny, maxx, maxy)
        whole = (minx, miny, maxx, maxy) == _WORLD
        return cls(geom, is_world=whole)

    @classmethod
    def from_geojson(cls, data: Any) -> Region:
        """A region from a GeoJSON dict or JSON string (Polygon, MultiPolygon, Feature,
        FeatureCollection).

        Raises
        ------
        RegionError
            Not JSON, an unsupported or missing ``type``, bad coordinates (the message
            names the ring and position).

        Examples
        --------
        >>> Region.from_geojson('{"type": "Point", "coordinates": [0, 0]}')
        Traceback (most recent call last):
        ...
        terrabit.errors.RegionError: GeoJSON type 'Point' is not a region; use a Polygon, \
MultiPolygon, Feature or FeatureCollection of polygons
        """
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise RegionError(f"the region is not valid JSON: {exc}") from exc
        polygons = _geojson_polygons(data, "the GeoJSON")
        return cls._from_polygons(polygons)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Region:
        """A region from a GeoJSON file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise RegionError(f"region file {str(p)!r} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise RegionError(f"region file {str(p)!r} cannot be read: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RegionError(f"region file {str(p)!r} is not valid JSON: {exc}") from exc
        return cls._from_polygons(_geojson_polygons(data, f"region file {str(p)!r}"))

    @classmethod
    def from_geometry(cls, geometry: shapely.Geometry) -> Region:
        """A region from a shapely (Multi)Polygon (or a collection of polygons).

        Longitudes beyond ±180 are wrapped back into the world; invalid polygons are
        repaired (stated).
        """
        parts = [g for g in shapely.get_parts(geometry) if not g.is_empty]
        polys: list[shapely.Geometry] = []
        for part in parts:
            if part.geom_type not in _POLYGONAL:
                if part.geom_type == "GeometryCollection":
                    polys.extend(g for g in shapely.get_parts(part) if g.geom_type in _POLYGONAL)
                    continue
                raise RegionError(
                    f"a {part.geom_type} is not a region: region geometry must be a Polygon "
                    f"or MultiPolygon; got {part.geom_type} (a point or a line has no area — "
                    "buffer it first, e.g. point.buffer(0.1), or pass a zero-area bbox where "
                    "touching is meant)"
                )
            polys.append(part)
        if polys:
            _check_lon_lat(shapely.bounds(shapely.union_all(polys)).tolist())
        return cls._from_polygons(polys)

    @classmethod
    def from_any(cls, value: Any, *, allow_degenerate: bool = False) -> Region:
        """A region from any accepted form (see the module notes); ``None`` is the world.

        ``allow_degenerate`` accepts bboxes without width or height (see
        :meth:`from_bbox`).

        Examples
        --------
        >>> Region.from_any([(0, 0, 1, 1), (2, 0, 3, 1)]).boxes
        [(0.0, 0.0, 1.0, 1.0), (2.0, 0.0, 3.0, 1.0)]
        """
        if isinstance(value, Region):
            return value
        if value is None:
            return cls.world()
        if isinstance(value, shapely.Geometry):
            return cls.from_geometry(value)
        if isinstance(value, dict):
            return cls.from_geojson(value)
        if hasattr(value, "__geo_interface__"):
            return cls.from_geojson(dict(value.__geo_interface__))
        if isinstance(value, os.PathLike):
            return cls.from_file(value)
        if isinstance(value, str):
            if value.lstrip().startswith("{"):
                return cls.from_geojson(value)
            return cls.from_file(value)
        if isinstance(value, (Sequence, np.ndarray)):
            items = list(value)
            if items and all(_is_number(v) for v in items):  # a bbox (check_bbox says
                return cls.from_bbox(items, allow_degenerate=allow_degenerate)  # if not 4)
            if not items:
                raise RegionError("an empty list is not a region; pass at least one region")
            regions = [cls.from_any(v, allow_degenerate=allow_degenerate) for v in items]
            geom = shapely.union_all([r.geometry for r in regions])
            return cls(
                geom,
                repaired=any(r.repaired for r in regions),
                is_world=any(r.is_world for r in regions),
            )
        raise RegionError(
            f"unsupported region {value!r}: pass a bbox (minx, miny, maxx, maxy), a GeoJSON "
            "dict, string or file, a shapely polygon, or a list of those (lon/lat degrees)"
        )

    @classmethod
    def _from_polygons(cls, polygons: list[shapely.Geometry]) -> Region:
        if not polygons:
            raise RegionError(
                "the region is empty (it holds no polygon); pass at least one polygon"
            )
        repaired = False
        fixed: list[shapely.Geometry] = []
        for i, poly in enumerate(polygons):
            if not shapely.is_valid(poly):
                reason = shapely.is_valid_reason(poly)
                poly = _polygonal(shapely.make_valid(poly))
                repaired = True
                log.warning(
                    "region polygon %d is invalid (%s); repaired with shapely.make_valid "
                    "(area now %.6g square degrees)",
                    i,
                    reason,
                    poly.area,
                )
            fixed.append(poly)
        geom = _split_antimeridian(shapely.union_all(fixed))
        if geom.is_empty:
            raise RegionError(
                "the region has no area (degenerate polygons); draw polygons with an area"
            )
        return cls(geom, repaired=repaired)

    # ------------------------------------------------------------------ queries
    @property
    def boxes(self) -> list[Box]:
        """Non-crossing boxes, one per polygon part, sorted (for pruning)."""
        parts = shapely.get_parts(self.geometry)
        return sorted(tuple(float(v) for v in shapely.bounds(p)) for p in parts)  # type: ignore[misc]

    @property
    def inner_boxes(self) -> list[Box]:
        """The boxes that lie wholly inside the region (its rectangular parts).

        A row whose bbox lies in one of them surely meets the region, so readers can skip
        the exact geometry test for it.

        Examples
        --------
        >>> Region.from_bbox((170, 0, -170, 1)).inner_boxes
        [(-180.0, 0.0, -170.0, 1.0), (170.0, 0.0, 180.0, 1.0)]
        >>> Region.from_any(shapely.Polygon([(0, 0), (1, 0), (0, 1)])).inner_boxes
        []
        """
        out: list[Box] = []
        for part in shapely.get_parts(self.geometry):
            x0, y0, x1, y1 = (float(v) for v in shapely.bounds(part))
            if abs(part.area - (x1 - x0) * (y1 - y0)) <= 1e-12 * max(part.area, 1.0):
                out.append((x0, y0, x1, y1))
        return sorted(out)

    @property
    def bounds(self) -> Box:
        """The bounds of ``geometry`` (a crossing region spans -180 … 180)."""
        return tuple(float(v) for v in self.geometry.bounds)  # type: ignore[return-value]

    def contains_points(self, lon: Any, lat: Any) -> np.ndarray:
        """Whether each point lies in the region (its boundary included).

        The meridians -180 and 180 are one line: a point on either is inside when the
        region reaches either.

        Examples
        --------
        >>> Region.from_bbox((0, 0, 1, 1)).contains_points([0.5, 1.0, 2.0], [0.5, 1.0, 0]).tolist()
        [True, True, False]
        >>> east = Region.from_bbox((170, 0, -180, 1))
        >>> east.contains_points([-180.0, 180.0], [0.5, 0.5]).tolist()
        [True, True]
        """
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        inside = np.asarray(shapely.intersects_xy(self.geometry, x, y), dtype=bool)
        seam = np.abs(x) == 180.0
        if seam.any():
            x_other = np.where(seam, -x, x)
            inside |= seam & np.asarray(
                shapely.intersects_xy(self.geometry, x_other, y), dtype=bool
            )
        return inside

    def intersects(self, geometries: Any) -> np.ndarray:
        """Whether each geometry (shapely objects or WKB bytes) meets the region.

        Examples
        --------
        >>> import shapely
        >>> Region.from_bbox((0, 0, 1, 1)).intersects([shapely.box(0.5, 0.5, 2, 2)]).tolist()
        [True]
        """
        arr = np.asarray(geometries, dtype=object)
        if arr.size and isinstance(arr.flat[0], bytes | bytearray | memoryview):
            arr = shapely.from_wkb(arr)
        return np.asarray(shapely.intersects(arr, self.geometry), dtype=bool)

    def to_geojson(self) -> dict[str, Any]:
        """The region as a GeoJSON geometry dict."""
        mapped: dict[str, Any] = json.loads(shapely.to_geojson(self.geometry))
        return mapped

    def __repr__(self) -> str:
        fixed = ", repaired" if self.repaired else ""
        return f"<Region {len(self.boxes)} part(s), bounds {self.bounds}{fixed}>"


def as_region(value: Any) -> Region:
    """:meth:`Region.from_any` as a function (``None`` is the whole Earth).

    Examples
    --------
    >>> as_region(None).is_world
    True
    """
    return Region.from_any(value)


# --------------------------------------------------------------------------- helpers


def _flat_box_geometry(minx: float, miny: float, maxx: float, maxy: float) -> shapely.Geometry:
    """A box without width or height: a point or a segment, split at the antimeridian."""
    if minx > maxx:  # crosses the antimeridian (the meridian 180 is -180)
        if minx == 180.0:
            minx = -180.0
        elif maxx == -180.0:
            maxx = 180.0
        else:
            return shapely.union_all(
                [
                    _flat_box_geometry(minx, miny, 180.0, maxy),
                    _flat_box_geometry(-180.0, miny, maxx, maxy),
                ]
            )
    if minx == maxx and miny == maxy:
        return shapely.Point(minx, miny)
    if minx == maxx or miny == maxy:
        return shapely.LineString([(minx, miny), (maxx, maxy)])
    return shapely.box(minx, miny, maxx, maxy)


def _check_lon_lat(bounds: list[float]) -> None:
    """Refuse a geometry outside lon [-360, 360] (past 180 only to cross the antimeridian)
    or lat [-90, 90]: most likely projected coordinates or swapped axes."""
    minx, miny, maxx, maxy = bounds
    if not (miny >= -90 and maxy <= 90):
        raise RegionError(
            f"region latitudes must be in [-90, 90]; got {miny} to {maxy} (coordinates are "
            "(lon, lat) in degrees; reproject projected coordinates to EPSG:4326 first)"
        )
    if not (minx >= -360 and maxx <= 360):
        raise RegionError(
            f"region longitudes must be in [-360, 360]; got {minx} to {maxx} (use lons past "
            "180, e.g. 170 to 190, only to cross the antimeridian; reproject projected "
            "coordinates to EPSG:4326 first)"
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``make_valid`` output (lines and points dropped)."""
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys)


def _split_antimeridian(geom: shapely.Geometry) -> shapely.Geometry:
    """Cut ``geom`` (longitudes in [-540, 540]) into the world box, wrapping by 360."""
    world = shapely.box(*_WORLD)
    parts = [shapely.intersection(geom, world)]
    for shift in (360.0, -360.0):
        window = shapely.box(-180.0 + shift, -90.0, 180.0 + shift, 90.0)
        if geom.intersects(window):
            moved = shapely.affinity.translate(geom.intersection(window), xoff=-shift)
            parts.append(moved)
    return _polygonal(shapely.union_all([p for p in parts if not p.is_empty]))


def _ring(coords: Any, where: str) -> np.ndarray:
    if not isinstance(coords, list | tuple):
        raise RegionError(f"{where} must be a list of [lon, lat] positions, got {coords!r:.60}")
    try:
        arr = np.array([[float(p[0]), float(p[1])] for p in coords], dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise RegionError(
            f"{where} holds a position that is not [lon, lat] numbers: {exc}"
        ) from exc
    if arr.shape[0] < 4:
        raise RegionError(
            f"{where} has {arr.shape[0]} positions; a linear ring needs at least 4 "
            "(the first repeated last)"
        )
    if not np.isfinite(arr).all():
        raise RegionError(f"{where} holds a non-finite coordinate")
    if not (arr[0] == arr[-1]).all():
        raise RegionError(
            f"{where} is not closed: its first position {arr[0].tolist()} differs from its "
            f"last {arr[-1].tolist()}; repeat the first position at the end"
        )
    bad = np.flatnonzero((np.abs(arr[:, 0]) > 360) | (np.abs(arr[:, 1]) > 90))
    if bad.size:
        raise RegionError(
            f"{where} positions {bad[:10].tolist()} are out of range: GeoJSON is [lon, lat] "
            "with lon in [-180, 180] (or past 180, up to 360, to cross the antimeridian) "
            "and lat in [-90, 90] (check the axis order)"
        )
    return arr


def _polygon(coords: Any, where: str) -> shapely.Geometry:
    if not isinstance(coords, list | tuple) or not coords:
        raise RegionError(f"{where} coordinates must be a non-empty list of rings")
    rings = [_ring(r, f"{where} ring {i}") for i, r in enumerate(coords)]
    # a jump of more than 180 degrees between consecutive positions: the ring crosses
    # the antimeridian; unwrap its negative longitudes past 180 (all rings alike)
    if any((np.abs(np.diff(r[:, 0])) > 180).any() for r in rings):
        rings = [
            np.column_stack([np.where(r[:, 0] < 0, r[:, 0] + 360, r[:, 0]), r[:, 1]]) for r in rings
        ]
    return shapely.Polygon(rings[0], rings[1:])


def _geojson_polygons(data: Any, where: str) -> list[shapely.Geometry]:
    if not isinstance(data, dict):
        raise RegionError(f"{where} must be a JSON object with a 'type', got {type(data).__name__}")
    kind = data.get("type")
    if kind is None:
        raise RegionError(
            f"{where} has no 'type'; expected Polygon, MultiPolygon, Feature or FeatureCollection"
        )
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or not features:
            raise RegionError(f"{where}: a FeatureCollection needs a non-empty 'features' list")
        out: list[shapely.Geometry] = []
        for i, feat in enumerate(features):
            out.extend(_geojson_polygons(feat, f"{where} feature {i}"))
        return out
    if kind == "Feature":
        geom = data.get("geometry")
        if geom is None:
            raise RegionError(f"{where}: the Feature has no geometry")
        return _geojson_polygons(geom, where)
    if kind == "Polygon":
        return [_polygon(data.get("coordinates"), f"{where} Polygon")]
    if kind == "MultiPolygon":
        coords = data.get("coordinates")
        if not isinstance(coords, list) or not coords:
            raise RegionError(f"{where}: MultiPolygon coordinates must be a non-empty list")
        return [_polygon(c, f"{where} MultiPolygon part {i}") for i, c in enumerate(coords)]
    if kind == "GeometryCollection":
        geoms = data.get("geometries")
        if not isinstance(geoms, list) or not geoms:
            raise RegionError(f"{where}: a GeometryCollection needs a 'geometries' list")
        out = []
        for i, g in enumerate(geoms):
            out.extend(_geojson_polygons(g, f"{where} geometry {i}"))
        return out
    raise RegionError(
        f"GeoJSON type {kind!r} is not a region; use a Polygon, MultiPolygon, Feature or "
        "FeatureCollection of polygons"
    )
