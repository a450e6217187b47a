"""``terrabit world``: write the seeded synthetic Earth (a thin tool over ``generate_world``)."""

from __future__ import annotations

from pathlib import Path

import click

from terrabit.cli.options import (
    bbox_option,
    echo_json,
    json_option,
    overwrite_option,
    seed_option,
)

__all__ = ["world"]


@click.command("world")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=True, file_okay=True))
@click.option(
    "--n",
    "n",
    type=int,
    default=200_000,
    show_default=True,
    help="Total patch rows: n/2 places x 2 years (even; at least 100 so that the labelled "
    "split and the intrinsic-dimension estimate have enough samples).",
)
@click.option(
    "--dim", type=int, default=1024, show_default=True, help="Embedding dimension, 64 to 1024."
)
@seed_option
@bbox_option(
    "Sample places only in this box, minx,miny,maxx,maxy in lon/lat degrees "
    "(minx > maxx crosses the antimeridian); it must hold n/2 land cells."
)
@click.option(
    "--aef/--no-aef",
    default=True,
    show_default=True,
    help="Also write the AEF-like int8 COG tiles (OUT/aef/) and zones (OUT/zones.parquet).",
)
@json_option
@overwrite_option
def world(
    out: Path,
    n: int,
    dim: int,
    seed: int,
    bbox: tuple[float, float, float, float] | None,
    aef: bool,
    as_json: bool,
    overwrite: bool,
) -> None:
    """Write a seeded synthetic Earth into OUT, atomically.

    OUT/patches/ (GeoParquet 1.1: id, geometry, datetime, embedding, label, year),
    OUT/labelled.npz (x_train, y_train, x_test, y_test, classes; split by region) and,
    unless --no-aef, OUT/aef/ (int8 COG tiles + index.parquet) and OUT/zones.parquet.
    The same --seed gives byte-identical files. Both the patches and labelled.npz carry a
    'terrabit_world' marker, so `terrabit evaluate` can say its figures are the world's.

    Example: terrabit world demo-world --n 20000 --dim 256 --no-aef
    """
    from terrabit.world.generate import generate_world

    summary = generate_world(
        out, n=n, dim=dim, seed=seed, bbox=bbox, overwrite=overwrite, aef=aef, progress=None
    )
    if as_json:
        echo_json(summary.to_dict())
        return
    _print_summary(summary)


def _print_summary(summary: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from terrabit.world.generate import WorldSummary

    assert isinstance(summary, WorldSummary)
    console = Console()
    table = Table(title="terrabit world", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row(
        "patches", f"{summary.patches:,} rows ({summary.patches // 2:,} places x 2 years)"
    )
    table.add_row("dim", str(summary.dim))
    table.add_row("seed", str(summary.seed))
    table.add_row("bbox", "globe" if summary.bbox is None else ",".join(map(str, summary.bbox)))
    table.add_row(
        "intrinsic dim", ", ".join(f"{k} {v:.1f}" for k, v in summary.intrinsic_dim.items())
    )
    if summary.pca_variance:
        table.add_row(
            "PCA variance kept",
            ", ".join(f"{k} comp. {v:.2f}" for k, v in summary.pca_variance.items()),
        )
    if summary.binary_recall_at_10 is not None:
        table.add_row("sign bits recall@10", f"{summary.binary_recall_at_10:.3f} (vs float32)")
    table.add_row("changes (places)", ", ".join(f"{k} {v:,}" for k, v in summary.changes.items()))
    for name, path in summary.paths.items():
        table.add_row(f"path: {name}", path)
    if summary.aef:
        table.add_row(
            "AEF tiles", f"{summary.aef.get('tiles', '?')} over {summary.aef.get('bbox')}"
        )
    if summary.zones:
        table.add_row("zones", str(summary.zones.get("zones", "?")))
    table.add_row("seconds", f"{summary.seconds:.1f}")
    console.print(table)
    classes = Table(title="land cover (rows, both years)")
    classes.add_column("class")
    classes.add_column("rows", justify="right")
    classes.add_column("share", justify="right")
    total = max(1, summary.patches)
    for name, count in summary.classes.items():
        classes.add_row(name, f"{count:,}", f"{100 * count / total:.2f} %")
    console.print(classes)
