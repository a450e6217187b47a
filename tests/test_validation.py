"""check_bbox: one validation of lon/lat bboxes for every module and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from terrabit._validation import check_bbox
from terrabit.errors import RegionError

lon = st.floats(-180, 180)
lat = st.floats(-90, 90)


def test_returns_floats_and_accepts_arrays() -> None:
    assert check_bbox(np.array([-10, 35, 30, 60])) == (-10.0, 35.0, 30.0, 60.0)
    assert check_bbox([170, -10, -170, 10]) == (170.0, -10.0, -170.0, 10.0)
    assert all(type(v) is float for v in check_bbox((np.int64(1), 2, 3, 4)))


@pytest.mark.parametrize(
    ("bbox", "kwargs", "message"),
    [
        ((1, 2, 3), {}, "bbox has 3 numbers; it must be four numbers (minx, miny, maxx, maxy)"),
        (("a", "b", "c", "d"), {}, "bbox must be four numbers"),
        ("1234", {}, "bbox must be four numbers"),
        (None, {}, "bbox must be four numbers"),
        ((0, 0, math.nan, 1), {}, "bbox holds a non-finite number"),
        ((0, 0, math.inf, 1), {}, "non-finite"),
        ((0, 0, 200, 5), {}, "longitudes must lie in [-180, 180]; got minx=0.0, maxx=200.0"),
        ((0, 0, 200, 5), {}, "to cross the antimeridian give minx > maxx"),
        ((0, 0, 200, 5), {"allow_antimeridian": False}, "crossing the antimeridian are not"),
        ((0, -95, 5, 5), {}, "latitudes must lie in [-90, 90]"),
        ((0, 10, 5, 5), {}, "miny (10.0) must be less than maxy (5.0)"),
        ((0, 5, 5, 5), {}, "need -90 <= miny < maxy <= 90"),
        ((0, 10, 5, 5), {"allow_degenerate": True}, "-90 <= miny <= maxy <= 90"),
        ((3, 0, 3, 5), {}, "bbox has no width: minx and maxx are both 3.0"),
        ((5, 0, 3, 5), {"allow_antimeridian": False}, "minx < maxx"),
        ((3, 0, 3, 5), {"allow_antimeridian": False}, "no width"),
    ],
)
def test_bad_bboxes_say_what_and_how(bbox: object, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RegionError) as info:
        check_bbox(bbox, **kwargs)
    assert message in str(info.value)


def test_name_is_used_in_messages() -> None:
    with pytest.raises(RegionError, match=r"^aef_bbox has 2 numbers"):
        check_bbox((0.0, 0.0), name="aef_bbox")


def test_degenerate_boxes_only_when_allowed() -> None:
    assert check_bbox((10, 10, 10, 10), allow_degenerate=True) == (10.0, 10.0, 10.0, 10.0)
    assert check_bbox((180, 0, -180, 10)) == (180.0, 0.0, -180.0, 10.0)  # antimeridian sliver
    with pytest.raises(RegionError, match="no width"):
        check_bbox((10, 10, 10, 11))


@given(lon, lat, lon, lat)
def test_agrees_with_the_rules(minx: float, y0: float, maxx: float, y1: float) -> None:
    """An independent statement of the rules: accepted iff they hold, values unchanged."""
    miny, maxy = min(y0, y1), max(y0, y1)
    for anti in (True, False):
        for degenerate in (True, False):
            ok = (miny < maxy or (degenerate and miny == maxy)) and (
                (minx < maxx) or (anti and minx > maxx) or (degenerate and minx == maxx)
            )
            kwargs = {"allow_antimeridian": anti, "allow_degenerate": degenerate}
            if ok:
                assert check_bbox((minx, miny, maxx, maxy), **kwargs) == (minx, miny, maxx, maxy)
            else:
                with pytest.raises(RegionError):
                    check_bbox((minx, miny, maxx, maxy), **kwargs)
