"""``terrabit zonal stats`` as one library call: read, filter, summarise, write.

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, shapely
>>> from terrabit.world.aef import write_aef_tiles
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> info = write_aef_tiles(root, seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
...                        years=[2024], tile_px=128)
>>> gpd.GeoDataFrame({"GEOID": ["1"]}, geometry=[shapely.box(-66.002, 45.276, -65.999, 45.277)],
...                  crs="EPSG:4326").to_parquet(root / "blocks.parquet")
>>> summary = run_zonal(root / "blocks.parquet", root / "features.parquet", index=info["index"],
...                     year=2024, show_progress=False)
>>> summary["polygons"], summary["polygons_with_data"], summary["columns"]
(1, 1, 131)
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from terrabit._atomic import check_output
from terrabit.geoparquet import write_geoparquet
from terrabit.zonal.engine import Engine, check_options, zonal_stats
from terrabit.zonal.polygons import prepare_polygons, read_polygons

__all__ = ["run_zonal", "work_dir_for"]


def work_dir_for(out: str | os.PathLike[str]) -> Path:
    """The folder beside ``out`` holding finished tiles' partial sums until ``out`` is written.

    Examples
    --------
    >>> work_dir_for("/data/features.parquet").name
    '.features.parquet.zonal-work'
    """
    target = Path(out)
    return target.with_name(f".{target.name}.zonal-work")


def run_zonal(
    polygons: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] | None = None,
    rasters: Sequence[str | os.PathLike[str]] | None = None,
    year: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    stats: Sequence[str] = ("mean", "std"),
    max_area_km2: float | None = 25.0,
    drop_water: bool = False,
    polygons_crs: str | None = None,
    raw: bool = False,
    workers: int = 4,
    engine: Engine = "local",
    scheduler: Any = None,
    overwrite: bool = False,
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Summarise raster tiles over the polygons of a vector file into GeoParquet ``out``.

    Polygons are read (any format and CRS), repaired (``make_valid``) and filtered
    (all-water with ``drop_water``, larger than ``max_area_km2``); the statistics of
    :func:`terrabit.zonal.engine.zonal_stats` are written atomically with the polygons'
    attributes and CRS84 geometry. Finished tiles are kept in :func:`work_dir_for` until
    the output is written, so rerunning an interrupted command resumes it. ``engine`` and
    ``scheduler`` choose where tiles are summarised (a thread pool, or a Dask cluster with
    identical results; see :func:`terrabit.zonal.engine.zonal_stats`).

    Returns
    -------
    dict
        The summary: filter counts (``input``, ``repaired``, ``dropped_water``,
        ``dropped_oversized``), ``polygons``, ``polygons_with_data``, ``tiles``,
        ``tiles_resumed``, ``bands``, ``columns``, ``seconds``, ``polygon_bands_per_s``
        and ``output``.
    """
    check_options(
        index=index, rasters=rasters, stats=stats, workers=workers, engine=engine,
        scheduler=scheduler,
    )  # fmt: skip
    target = check_output(out, overwrite=overwrite, option="out")
    started = time.perf_counter()
    frame = read_polygons(polygons, polygons_crs=polygons_crs)
    kept, counts = prepare_polygons(frame, drop_water=drop_water, max_area_km2=max_area_km2)
    work = work_dir_for(target)
    table, summary = zonal_stats(
        kept,
        index=index,
        rasters=rasters,
        year=year,
        bbox=bbox,
        stats=stats,
        raw=raw,
        workers=workers,
        engine=engine,
        scheduler=scheduler,
        work_dir=work,
        show_progress=show_progress,
    )
    attrs = table.drop(columns=table.geometry.name)
    data = pa.Table.from_pandas(attrs, preserve_index=False)
    write_geoparquet(data, target, geometry=table.geometry.values, overwrite=overwrite)
    shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    summary.update(counts)
    summary.update(
        {
            "columns": len(attrs.columns),
            "seconds": round(seconds, 3),
            "polygon_bands_per_s": round(summary["band_values"] / seconds, 1),
            "output": os.fspath(target),
        }
    )
    return summary
