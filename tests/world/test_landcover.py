"""Land cover: classes, plausibility, clusters and the known year-2 changes."""

from __future__ import annotations

import numpy as np
import pytest
from global_land_mask import globe
from hypothesis import given, settings
from hypothesis import strategies as st

from terrabit.errors import InvalidInputError
from terrabit.world.landcover import (
    CHANGES,
    CLASSES,
    NEEDLES,
    YEARS,
    change_kinds,
    changes,
    class_ids,
    classify,
    classify_years,
    is_land,
)

REQUIRED = ("water", "forest", "cropland", "grassland", "shrub", "snow_ice", "urban", "wetland")


def _land_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    keep = globe.is_land(lat, lon)
    return lon[keep], lat[keep]


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lon, lat = _land_points(150_000, 7)
    y1, y2 = classify_years(lon, lat, seed=0)
    return lon, lat, y1, y2, changes(lon, lat, seed=0)


def test_class_names() -> None:
    assert CLASSES[: len(REQUIRED)] == REQUIRED
    assert {"solar_farm", "centre_pivot", "greenhouse", "open_pit_mine"} == NEEDLES
    assert set(CLASSES) >= NEEDLES
    assert len(YEARS) == 2 and YEARS[0] < YEARS[1]


def test_is_land_matches_the_package_oracle() -> None:
    lon, lat = np.array([-40.0, 20.0, 2.35, 179.9]), np.array([30.0, 10.0, 48.85, -16.5])
    expected = globe.is_land(lat, lon)  # note the package's (lat, lon) order
    assert is_land(lon, lat).tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("lon", "lat", "name"),
    [
        (2.35, 48.85, "urban"),  # Paris
        (139.69, 35.69, "urban"),  # Tokyo
        (0.0, -80.0, "snow_ice"),  # Antarctica
        (-40.0, 75.0, "snow_ice"),  # Greenland interior
        (-60.0, -5.0, "forest"),  # Amazon
        (10.0, 23.0, "shrub"),  # Sahara
        (25.0, 62.0, "forest"),  # Finland
    ],
)
def test_known_places(lon: float, lat: float, name: str) -> None:
    for year in YEARS:
        got = classify(np.array([lon]), np.array([lat]), year=year, seed=0)
        assert CLASSES[got[0]] == name


def test_deterministic_and_seeded(sample: tuple[np.ndarray, ...]) -> None:
    lon, lat, y1, _, _ = sample
    again = classify(lon[:5000], lat[:5000], year=YEARS[0], seed=0)
    assert np.array_equal(again, y1[:5000])
    other = classify(lon[:5000], lat[:5000], year=YEARS[0], seed=1)
    assert not np.array_equal(other, y1[:5000])
    assert again.dtype == np.int16


def test_class_shares_are_plausible(sample: tuple[np.ndarray, ...]) -> None:
    _, _, y1, _, _ = sample
    share = np.bincount(y1, minlength=len(CLASSES)) / y1.size
    for name in REQUIRED:
        assert share[CLASSES.index(name)] > 0.001, name
    for name in ("forest", "shrub", "grassland", "cropland", "snow_ice"):
        assert share[CLASSES.index(name)] > 0.03, name
    for name in NEEDLES:
        assert 0 < share[CLASSES.index(name)] < 0.01, name


def test_needles_are_clustered(sample: tuple[np.ndarray, ...]) -> None:
    lon, lat, y1, _, _ = sample
    for name in sorted(NEEDLES):
        cid = CLASSES.index(name)
        idx = np.flatnonzero(y1 == cid)[:200]
        base = np.mean(y1 == cid)
        # the 8 points 2 km around each needle patch
        ang = np.arange(8) * np.pi / 4
        nlon = lon[idx, None] + 2 * np.cos(ang) / (111.32 * np.cos(np.radians(lat[idx, None])))
        nlat = lat[idx, None] + 2 * np.sin(ang) / 111.32
        around = classify(nlon.ravel(), nlat.ravel(), year=YEARS[0], seed=0)
        assert np.mean(around == cid) > 30 * base, name


def test_needles_where_plausible(sample: tuple[np.ndarray, ...]) -> None:
    _lon, lat, y1, _, _ = sample
    alat = np.abs(lat)
    solar = y1 == CLASSES.index("solar_farm")
    assert np.mean((alat > 10) & (alat < 45)) < np.mean((alat[solar] > 10) & (alat[solar] < 45))
    assert np.all(alat[y1 == CLASSES.index("greenhouse")] > 25)
    assert np.all(alat[y1 == CLASSES.index("greenhouse")] < 50)
    pivot = alat[y1 == CLASSES.index("centre_pivot")]
    assert np.all((pivot > 20) & (pivot < 55))
    assert not np.any(y1[alat > 75] == CLASSES.index("forest"))


def test_changes_are_the_known_kinds(sample: tuple[np.ndarray, ...]) -> None:
    _, _, y1, y2, reason = sample
    assert np.array_equal(reason == 0, y1 == y2)
    kinds = {name: reason == CHANGES.index(name) for name in CHANGES[1:]}
    for name, mask in kinds.items():
        assert mask.sum() > 10, name
        assert mask.mean() < 0.01, name
    ns, df, ug = kinds["new_solar"], kinds["deforestation"], kinds["urban_growth"]
    assert np.all(y2[ns] == CLASSES.index("solar_farm"))
    assert np.all(y1[ns] != CLASSES.index("solar_farm"))
    assert np.all(y1[df] == CLASSES.index("forest"))
    assert np.all(np.isin(y2[df], class_ids(["cropland", "grassland"])))
    assert np.all(y2[ug] == CLASSES.index("urban"))
    assert np.all(y1[ug] != CLASSES.index("urban"))
    assert np.array_equal(change_kinds(y1, y2), reason)
    # urban never shrinks
    assert not np.any((y1 == CLASSES.index("urban")) & (y2 != CLASSES.index("urban")))


def test_classify_years_matches_classify(sample: tuple[np.ndarray, ...]) -> None:
    lon, lat, _y1, y2, _ = sample
    assert np.array_equal(classify(lon[:3000], lat[:3000], year=YEARS[1], seed=0), y2[:3000])


@settings(max_examples=8, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1, max_size=20, unique=True
    )
)
def test_classify_is_pointwise(points: list[tuple[float, float]]) -> None:
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    whole = classify(lon, lat, year=YEARS[1], seed=3)
    k = min(3, lon.size)
    single = [classify(lon[i : i + 1], lat[i : i + 1], year=YEARS[1], seed=3)[0] for i in range(k)]
    assert whole[: len(single)].tolist() == single
    assert ((whole >= 0) & (whole < len(CLASSES))).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lon": [0.0], "lat": [0.0], "year": 2020}, "year must be one of 2023, 2024"),
        ({"lon": [0.0, 1.0], "lat": [0.0], "year": 2023}, "same length"),
        ({"lon": [0.0], "lat": [95.0], "year": 2023}, r"bad rows \[0\]"),
        ({"lon": [np.nan], "lat": [0.0], "year": 2023}, r"bad rows \[0\]"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        classify(kwargs["lon"], kwargs["lat"], year=kwargs["year"], seed=0)  # type: ignore[arg-type]


def test_class_ids_rejects_unknown_names() -> None:
    with pytest.raises(InvalidInputError, match="unknown land-cover classes"):
        class_ids(["forest", "jungle"])
