"""``terrabit publish``: GeoParquet embeddings -> a static corpus (a thin tool over
:func:`terrabit.corpus.publish`); embedding rasters (``--tiles INDEX`` or ``--raster FILE``)
pooled to N x N pixel patches first (over :func:`terrabit.pixels.publish_pixels`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from terrabit.cli.options import (
    bbox_option,
    echo_json,
    engine_options,
    json_option,
    output_option,
    overwrite_option,
    seed_option,
    year_option,
)
from terrabit.corpus import format as fmt

if TYPE_CHECKING:
    from terrabit._cluster import Engine

__all__ = ["publish"]


#: Options that only GeoParquet inputs take, and those only rasters take.
_COLUMN_OPTIONS = ("id_col", "geometry_col", "embedding_col", "time_col", "lon_col", "lat_col",
                   "keep", "drop_invalid")  # fmt: skip
_RASTER_OPTIONS = ("patch_px", "min_valid", "raw", "year", "bbox", "workers")


@click.command("publish")
@click.argument("inputs", metavar="[INPUT]...", nargs=-1)
@click.option(
    "--tiles",
    "tiles",
    default=None,
    help="Embedding rasters instead of INPUT: a tile index (GeoParquet, GeoPackage or CSV; "
    "path or URL; AEF's columns), each tile pooled to --patch-px patches.",
)
@click.option(
    "--raster",
    "rasters",
    multiple=True,
    help="An embedding raster (repeat), pooled to --patch-px patches; instead of INPUT.",
)
@click.option(
    "--patch-px",
    type=int,
    default=8,
    show_default=True,
    help="Rasters: a patch is an N x N block of pixels (8 = 80 m at 10 m).",
)
@click.option(
    "--min-valid",
    type=float,
    default=0.5,
    show_default=True,
    help="Rasters: keep a block when at least this fraction of its pixels is valid.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Rasters: pool stored float/int8 values (other products), no AEF de-quantization.",
)
@year_option("Rasters: the index's tiles of this year; with --raster, the rasters' year.")
@bbox_option("Rasters: only the index's tiles meeting this lon/lat box minx,miny,maxx,maxy.")
@click.option(
    "--workers",
    type=int,
    default=4,
    show_default=True,
    help="Rasters: tiles pooled at once (threads).",
)
@output_option(
    "Corpus to write (manifest.parquet + shards/): a folder, or s3://, gs://, az://.",
    required=True,
    url=True,
)
@click.option(
    "--codec",
    default="binary",
    show_default=True,
    help="Codec spec of the codes; auto: the 1-bit code (binary, median/rotated sign bits, "
    "rabitq) with the best mean recall@10 on held-out sample rows, queried as encoded rows "
    "(Hamming) and as float vectors (its asymmetric estimator); ties to binary.",
)
@click.option(
    "--rerank",
    default=None,
    help="Codec spec of an extra re-ranking code, e.g. int8; auto (smallest reaching "
    "recall@10 0.95 on the sample) or auto:max-bytes=N (best within N bytes per row).",
)
@click.option(
    "--max-rows",
    type=int,
    default=fmt.DEFAULT_MAX_ROWS,
    show_default=True,
    help="Split a geohash cell into its 32 children while it holds more rows.",
)
@click.option(
    "--row-group-rows",
    type=int,
    default=fmt.DEFAULT_ROW_GROUP_ROWS,
    show_default=True,
    help="Rows per Parquet row group inside a shard.",
)
@click.option("--id-col", default="id", show_default=True, help="Input id column.")
@click.option("--geometry-col", default="geometry", show_default=True, help="WKB column.")
@click.option(
    "--embedding-col",
    default="embedding",
    show_default=True,
    help="Float vectors, or packed binary codes (used as is with --codec binary).",
)
@click.option("--time-col", default=None, help="Timestamp column [default: datetime if present].")
@click.option("--lon-col", default=None, help="Longitude column (point footprints, no WKB).")
@click.option("--lat-col", default=None, help="Latitude column (with --lon-col).")
@click.option(
    "--keep",
    multiple=True,
    help="Input columns to pass through: repeat it or separate names with commas.",
)
@click.option(
    "--drop-invalid",
    is_flag=True,
    help="Drop (and count) rows with NaN/inf/null embeddings or bad geometries instead of "
    "failing; self-intersecting footprints are dropped too (without it they are repaired "
    "with make_valid, and a warning names them).",
)
@click.option(
    "--sample-rows",
    type=int,
    default=32768,
    show_default=True,
    help="Rows of the seeded sample the codec is fitted on (once).",
)
@engine_options(
    "Where rows are encoded and shards written: this process, or a Dask cluster (one task "
    "per input file, then per cell; the same bytes). Dask workers must see the inputs and "
    "the output folder.",
    scheduler_default="local:2",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the unfinished publish of --output (failed, interrupted or killed) without "
    "redoing its finished work; the same inputs and options are required.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Object-store outputs: local folder to stage the corpus in before the upload "
    "[default: $TERRABIT_WORK_DIR or ~/.cache/terrabit].",
)
@click.option(
    "--name",
    default=None,
    help="The corpus's name: the id of the STAC Collection written beside the manifest "
    "(collection.json) [default: the last part of --output].",
)
@seed_option
@overwrite_option
@json_option
def publish(
    inputs: tuple[str, ...],
    tiles: str | None,
    rasters: tuple[str, ...],
    patch_px: int,
    min_valid: float,
    raw: bool,
    year: int | None,
    bbox: tuple[float, float, float, float] | None,
    workers: int,
    out: str,
    codec: str,
    rerank: str | None,
    max_rows: int,
    row_group_rows: int,
    id_col: str,
    geometry_col: str,
    embedding_col: str,
    time_col: str | None,
    lon_col: str | None,
    lat_col: str | None,
    keep: tuple[str, ...],
    drop_invalid: bool,
    sample_rows: int,
    engine: Engine,
    scheduler: str | None,
    resume: bool,
    work_dir: Path | None,
    seed: int,
    name: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Publish GeoParquet embeddings INPUT... (files, folders, globs) as a corpus.

    Or embedding rasters: --tiles INDEX (or --raster FILE...) pools every N x N block of
    pixels (--patch-px) to one patch, the mean of its valid pixels' de-quantized AEF
    vectors, renormalized; ids are TILE-ROW-COL-YEAR, footprints the blocks in CRS84.

    --engine dask runs the heavy passes on a Dask cluster (--scheduler ADDRESS or
    local:N); the codec is fitted and the manifest written here, and the corpus is
    byte-identical to --engine local's.

    Example: terrabit publish --tiles world/aef/index.parquet --patch-px 8 -o pixels
    """
    from terrabit.corpus import PublishOptions
    from terrabit.corpus import publish as run

    ctx = click.get_current_context()
    given = {n for n in ctx.params if ctx.get_parameter_source(n) != ParameterSource.DEFAULT}
    pixels = tiles is not None or bool(rasters)
    if sum((bool(inputs), tiles is not None, bool(rasters))) != 1:
        raise click.UsageError(
            "pass the embeddings to publish: GeoParquet INPUT..., or rasters with --tiles INDEX "
            "or --raster FILE (one of the three)"
        )
    wrong = [n for n in (_COLUMN_OPTIONS if pixels else _RASTER_OPTIONS) if n in given]
    if wrong:
        flag = "--" + wrong[0].replace("_", "-")
        raise click.UsageError(
            f"{flag} applies only to "
            + ("GeoParquet INPUT..., not to rasters" if pixels else "--tiles or --raster")
        )

    options = PublishOptions(
        codec=codec,
        rerank=rerank,
        max_rows=max_rows,
        row_group_rows=row_group_rows,
        id_col=id_col,
        geometry_col=geometry_col,
        embedding_col=embedding_col,
        time_col=time_col,
        lon_col=lon_col,
        lat_col=lat_col,
        keep=tuple(name for value in keep for name in value.split(",") if name),
        drop_invalid=drop_invalid,
        sample_rows=sample_rows,
        seed=seed,
        name=name,
        overwrite=overwrite,
        engine=engine,
        scheduler=scheduler,
        resume=resume,
        work_dir=work_dir,
    )
    if pixels:
        _publish_pixels(
            out, options, index=tiles, rasters=list(rasters), patch_px=patch_px,
            min_valid=min_valid, raw=raw, year=year, bbox=bbox, workers=workers,
            as_json=as_json,
        )  # fmt: skip
        return
    result = run(list(inputs), out, options)
    if as_json:
        data = result.to_dict()
        keys = ["rows", "shards", "bytes", "bytes_per_row", "seconds", "dropped", "engine"]
        keys.extend(["resumed", "codec", "rerank"])
        if result.codec_choice is not None:
            keys.append("codec_choice")
        if result.engine == "dask":
            keys.extend(["dask_workers", "task_failures"])
        echo_json({k: data[k] for k in keys})
        return
    click.echo(
        f"published {result.rows:,} rows in {result.shards} shards to {result.path} "
        f"({result.bytes:,} bytes, {result.bytes_per_row:.1f} B/row, {result.seconds:.1f} s"
        + (f", {result.dropped:,} invalid rows dropped" if result.dropped else "")
        + (f", on {result.dask_workers} Dask workers" if result.engine == "dask" else "")
        + (f", {len(result.task_failures)} task attempts retried" if result.task_failures else "")
        + (", resumed" if result.resumed else "")
        + ")"
    )
    if result.codec_choice is not None:
        from terrabit.codecs.auto import summary

        click.echo(f"auto chose: {summary(result.codec_choice)}")


def _publish_pixels(out: str, options: object, *, as_json: bool, **kwargs: object) -> None:
    """``--tiles`` / ``--raster``: pool, then publish; print the result."""
    from terrabit.corpus import PublishOptions
    from terrabit.pixels import publish_pixels

    assert isinstance(options, PublishOptions)
    result = publish_pixels(out, options=options, **kwargs)  # type: ignore[arg-type]
    if as_json:
        echo_json(result.to_dict())
        return
    pub = result.publish
    click.echo(
        f"pooled {result.tiles} tile(s) ({result.pixels:,} pixels, {result.raster_bytes:,} "
        f"bytes) to {result.patches:,} patches of {result.patch_px}x{result.patch_px} px in "
        f"{result.pool_seconds:.1f} s"
        + (f", {result.tiles_resumed} resumed" if result.tiles_resumed else "")
        + (f", {result.tiles_empty} skipped (no valid block)" if result.tiles_empty else "")
    )
    click.echo(
        f"published {pub.rows:,} rows in {pub.shards} shards to {pub.path} ({pub.bytes:,} "
        f"bytes, {pub.bytes_per_row:.1f} B/row, codec {pub.codec}, {pub.seconds:.1f} s)"
    )
