"""``terrabit publish``: GeoParquet embeddings -> a static corpus (a thin tool over
:func:`terrabit.corpus.publish`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from terrabit.cli.options import (
    echo_json,
    engine_options,
    json_option,
    output_option,
    overwrite_option,
    seed_option,
)
from terrabit.corpus import format as fmt

if TYPE_CHECKING:
    from terrabit._cluster import Engine

__all__ = ["publish"]


@click.command("publish")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
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

    --engine dask runs the heavy passes on a Dask cluster (--scheduler ADDRESS or
    local:N); the codec is fitted and the manifest written here, and the corpus is
    byte-identical to --engine local's.
    """
    from terrabit.corpus import PublishOptions
    from terrabit.corpus import publish as run

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
