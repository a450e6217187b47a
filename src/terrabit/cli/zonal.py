"""``terrabit zonal``: embedding rasters summarised over polygons (thin tools over the library).

Issue 7 writes the statistics run as ``terrabit zonal POLYGONS …`` next to the
``zonal render`` and ``zonal model`` subcommands; a click group cannot take a positional
argument and subcommands at once, so the run is ``terrabit zonal stats POLYGONS …``.
"""

from __future__ import annotations

from pathlib import Path

import click

from terrabit.cli.main import CommandGroup
from terrabit.cli.options import (
    bbox_option,
    echo_json,
    engine_options,
    json_option,
    output_option,
    overwrite_option,
    print_summary,
    seed_option,
    year_option,
)

__all__ = ["zonal"]


@click.group("zonal", cls=CommandGroup)
def zonal() -> None:
    """Per-polygon features from embedding rasters: stats, render, model."""


def _stats_list(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from terrabit.zonal.engine import STATS

    names = [s.strip() for s in value.split(",") if s.strip()]
    bad = [s for s in names if s not in STATS]
    if bad or not names:
        raise click.BadParameter(
            f"unknown statistic(s) {bad}; choose from {','.join(STATS)}, e.g. --stats mean,std",
            ctx=ctx,
            param=param,
        )
    return names


@zonal.command("stats")
@click.argument("polygons", type=str)
@click.option(
    "--index",
    "index",
    type=str,
    default=None,
    help="Tile index (GeoParquet, GeoPackage or CSV; path or URL).",
)
@click.option(
    "--raster",
    "rasters",
    type=str,
    multiple=True,
    help="A raster file (repeat); instead of --index.",
)
@year_option("Use the index's tiles of this year.")
@bbox_option("Only polygons meeting this box, minx,miny,maxx,maxy in lon/lat degrees.")
@click.option(
    "--stats",
    "stats",
    default="mean,std",
    show_default=True,
    callback=_stats_list,
    help="Comma-separated statistics: mean,std,min,max,count (pixel_count is always written).",
)
@click.option(
    "--max-area-km2",
    type=float,
    default=25.0,
    show_default=True,
    help="Drop polygons larger than this (0 keeps all).",
)
@click.option("--drop-water", is_flag=True, help="Drop all-water polygons (ALAND == 0).")
@click.option(
    "--polygons-crs",
    type=str,
    default=None,
    help="CRS of POLYGONS when the file declares none (e.g. EPSG:4326).",
)
@click.option("--raw", is_flag=True, help="Do not de-quantize AEF int8 codes (other products).")
@output_option("Output GeoParquet.", required=True)
@click.option(
    "--workers",
    type=int,
    default=4,
    show_default=True,
    help="Threads reading tiles (local engine); worker processes of --engine dask without "
    "--scheduler.",
)
@engine_options(
    "Where tiles are summarised: this process's threads, or a Dask cluster (one task "
    "per tile; identical results).",
    scheduler_default="local:WORKERS",
)
@json_option
@overwrite_option
def stats_command(
    polygons: str,
    index: str | None,
    rasters: tuple[str, ...],
    year: int | None,
    bbox: tuple[float, float, float, float] | None,
    stats: list[str],
    max_area_km2: float,
    drop_water: bool,
    polygons_crs: str | None,
    raw: bool,
    out: Path,
    workers: int,
    engine: str,
    scheduler: str | None,
    as_json: bool,
    overwrite: bool,
) -> None:
    """Exact coverage-weighted statistics of raster tiles over POLYGONS, to GeoParquet.

    POLYGONS is any vector file geopandas reads, in any CRS. AEF int8 codes are
    de-quantized before any statistic (nodata -128 masked). An interrupted run resumes:
    finished tiles are kept beside the output until it is written. INDEX and tiles may be
    local paths or http(s):// / s3:// URLs. --engine dask runs one task per tile on a Dask
    cluster (pip install 'terrabit[dask]').

    Example: terrabit zonal stats world/zones.parquet --index world/aef/index.parquet
    --year 2024 --drop-water -o features.parquet [--engine dask --scheduler local:4]
    """
    from terrabit.zonal.run import run_zonal

    summary = run_zonal(
        polygons,
        out,
        index=index,
        rasters=list(rasters),
        year=year,
        bbox=bbox,
        stats=stats,
        max_area_km2=max_area_km2 if max_area_km2 > 0 else None,
        drop_water=drop_water,
        polygons_crs=polygons_crs,
        raw=raw,
        workers=workers,
        engine="dask" if engine == "dask" else "local",
        scheduler=scheduler,
        overwrite=overwrite,
    )
    if as_json:
        echo_json(summary)
        return
    print_summary(summary, "terrabit zonal stats")


@zonal.command("render")
@click.argument("features", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@output_option("Output COG (.tif); the PNG preview is written beside it.", required=True)
@click.option(
    "--components", type=int, default=3, show_default=True, help="Principal components = bands."
)
@click.option(
    "--res",
    "res_m",
    type=float,
    default=10.0,
    show_default=True,
    help="Pixel size in metres (UTM).",
)
@json_option
@overwrite_option
def render_command(
    features: Path, out: Path, components: int, res_m: float, as_json: bool, overwrite: bool
) -> None:
    """PCA of the FEATURES columns as uint8 RGB, polygons rasterized to a COG + PNG preview.

    Example: terrabit zonal render features.parquet -o pca.tif --res 10
    """
    from terrabit.zonal.render import render_features

    summary = render_features(
        features, out, components=components, res_m=res_m, overwrite=overwrite
    )
    if as_json:
        echo_json(summary)
        return
    print_summary(summary, "terrabit zonal render")


@zonal.command("model")
@click.argument("features", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--target", required=True, help="Column to explain (e.g. UR, POP).")
@click.option(
    "--task",
    type=click.Choice(["regression", "classification"]),
    default=None,
    help="Default: regression for a numeric target with > 10 values, else classification.",
)
@click.option("--pca", type=int, default=10, show_default=True, help="Principal components kept.")
@click.option("--log", is_flag=True, help="Regress log1p(target) (counts such as POP).")
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    default=None,
    help="Write report.md and PNG plots into this folder.",
)
@seed_option
@json_option
@overwrite_option
def model_command(
    features: Path,
    target: str,
    task: str | None,
    pca: int,
    log: bool,
    report: Path | None,
    seed: int,
    as_json: bool,
    overwrite: bool,
) -> None:
    """Quick models of --target from the FEATURES: OLS R² (upper bound), CV logistic accuracy.

    --seed seeds the cross-validation folds.

    Example: terrabit zonal model features.parquet --target UR --report model-report
    """
    from terrabit._atomic import check_output
    from terrabit.zonal.features import read_features
    from terrabit.zonal.model import fit_models, write_report

    if report is not None:
        check_output(report, overwrite=overwrite, option="--report")
    frame = read_features(features)
    result = fit_models(frame, target=target, task=task, pca=pca, log=log, seed=seed)  # type: ignore[arg-type]
    if report is not None:
        write_report(result, frame, report, overwrite=overwrite)
        result["report"] = str(report / "report.md")
    if as_json:
        echo_json(result)
        return
    print_summary({k: v for k, v in result.items() if k != "correlations"}, "terrabit zonal model")
