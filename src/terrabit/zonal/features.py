"""The feature matrix of a zonal statistics table (``A00_mean`` … ``A63_std`` columns).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"GEOID": ["a", "b", "c"], "A00_mean": [0.1, float("nan"), 0.2],
...                       "A00_std": [0.2, 0.3, 0.1], "pixel_count": [4.0, 0.0, 2.0]})
>>> names, x, rows = feature_matrix(frame)
>>> names, x.shape, rows.tolist()
(['A00_mean', 'A00_std'], (2, 2), [0, 2])
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import numpy.typing as npt

from terrabit.errors import InvalidInputError

__all__ = ["FEATURE_PATTERN", "feature_matrix", "read_features"]

#: Statistic columns written by ``terrabit zonal stats``.
FEATURE_PATTERN = re.compile(r"^.+_(mean|std|min|max)$")


def read_features(path: str | os.PathLike[str]) -> Any:
    """Read a features GeoParquet written by ``terrabit zonal stats`` as a GeoDataFrame."""
    import geopandas as gpd

    name = os.fspath(path)
    try:
        return gpd.read_parquet(name)
    except Exception as exc:  # pyarrow / geopandas raise many types
        raise InvalidInputError(
            f"cannot read features {name!r} ({exc}); pass the GeoParquet written by "
            "`terrabit zonal stats`"
        ) from exc


def feature_matrix(frame: Any) -> tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Feature column names, the ``(rows, features)`` matrix of complete rows, and their rows.

    Rows with a missing value (polygons without valid pixels) are left out.
    """
    names = [c for c in frame.columns if FEATURE_PATTERN.match(str(c))]
    if not names:
        raise InvalidInputError(
            "the table has no feature columns (named like A00_mean or A00_std); pass the "
            "output of `terrabit zonal stats`"
        )
    x = frame[names].to_numpy(dtype=np.float64)
    rows = np.flatnonzero(np.isfinite(x).all(axis=1))
    if rows.size < 2:
        raise InvalidInputError(
            f"only {rows.size} polygon(s) have complete features; at least 2 are needed "
            "(polygons without valid pixels have NaN features)"
        )
    return names, x[rows], rows
