"""``terrabit segment``: spatial-context metrics, receptive fields, training, tiled inference.

Thin tools over :mod:`terrabit.segment`; torch is imported only by the subcommands that
need it (``erf``, ``train``, ``predict``), never by ``metrics``.
"""

from __future__ import annotations

from pathlib import Path

import click

from terrabit.cli.main import CommandGroup
from terrabit.cli.options import (
    echo_json,
    json_option,
    output_option,
    overwrite_option,
    print_summary,
    seed_option,
)

__all__ = ["segment"]


@click.group("segment", cls=CommandGroup)
def segment() -> None:
    """Segmentation: spatial-context metrics, receptive fields, training, tiled inference."""


@segment.command("metrics")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--metric",
    type=click.Choice(["taxicab", "euclidean"]),
    default="taxicab",
    show_default=True,
    help="Distance from TC pixels to the nearest visible road (taxicab = L1, the reference).",
)
@click.option(
    "--bins", "n_bins", type=int, default=20, show_default=True, help="Log-spaced distance bins."
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the recall-vs-distance plot (PNG), one line per PRED_DIR.",
)
@json_option
@overwrite_option
def metrics_command(
    dirs: tuple[Path, ...],
    metric: str,
    n_bins: int,
    plot: Path | None,
    as_json: bool,
    overwrite: bool,
) -> None:
    """DWR, recall per class and recall by distance of PRED_DIR... against MASK_DIR.

    Usage: terrabit segment metrics PRED_DIR [PRED_DIR...] MASK_DIR. Files (.tif or .npy)
    are paired by name; masks are 0 background, 1 road, 2 tree canopy over road;
    predictions 1 road, 0 not. Each PRED_DIR is one model, named by its folder.

    Example: terrabit segment metrics preds/unet masks --plot recall.png --json
    """
    from terrabit.errors import InvalidInputError
    from terrabit.segment.run import run_metrics

    if len(dirs) < 2:
        raise InvalidInputError("give PRED_DIR and MASK_DIR (the masks folder comes last)")
    *pred_dirs, mask_dir = dirs
    summary = run_metrics(
        pred_dirs,
        mask_dir,
        metric=metric,  # type: ignore[arg-type]
        n_bins=n_bins,
        plot=plot,
        overwrite=overwrite,
    )
    if as_json:
        echo_json(summary)
        return
    rows = {}
    for name, r in summary["models"].items():
        rec = r["recall"]
        rows[name] = (
            f"DWR {_pct(r['dwr'])}  road {_pct(rec['road'])}  TC {_pct(rec['tc'])}  "
            f"background {_pct(rec['background'])}  patches {r['n_patches']} "
            f"({r['n_skipped']} without visible road)"
        )
    if summary["plot"]:
        rows["plot"] = summary["plot"]
    print_summary(rows, "terrabit segment metrics")


@segment.command("erf")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--arch",
    type=click.Choice(["deeplabv3-r50", "unet-r18", "fcn-tiny"]),
    default=None,
    help="Untrained model of this architecture instead of a CHECKPOINT (or the expected "
    "architecture of the CHECKPOINT).",
)
@click.option(
    "--class",
    "classes",
    type=int,
    multiple=True,
    help="Class whose logit is differentiated (repeat for per-class ERFs; default 1, road).",
)
@click.option("--size", type=int, default=512, show_default=True, help="Centre chip side (px).")
@click.option(
    "--point",
    "points",
    multiple=True,
    help="Output pixel ROW,COL in the chip (repeat; default: the chip centre).",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the ERF plot (PNG; one per class: NAME-classK.png with several classes).",
)
@seed_option
@json_option
@overwrite_option
def erf_command(
    inputs: tuple[Path, ...],
    arch: str | None,
    classes: tuple[int, ...],
    size: int,
    points: tuple[str, ...],
    plot: Path | None,
    seed: int,
    as_json: bool,
    overwrite: bool,
) -> None:
    """Effective receptive field of CHECKPOINT (or --arch) on IMAGES, and the theoretical one.

    Usage: terrabit segment erf CHECKPOINT IMAGES... or terrabit segment erf --arch
    unet-r18 IMAGES.... IMAGES are six-band rasters (normalized like training) or .npy
    model inputs; the centre --size chip of each is used.

    --seed seeds the weights of an untrained --arch model.

    Example: terrabit segment erf --arch unet-r18 scene.tif --size 256 --json
    """
    from terrabit.errors import InvalidInputError
    from terrabit.segment.run import run_erf

    items = list(inputs)
    checkpoint = None
    if items and items[0].suffix.lower() in (".pt", ".pth", ".ckpt"):
        checkpoint = items.pop(0)
    pixels: list[tuple[int, int]] | None = None
    if points:
        try:
            pixels = [(int(a), int(b)) for a, b in (p.split(",") for p in points)]
        except ValueError as exc:
            raise InvalidInputError(
                f"--point must be ROW,COL integers, e.g. --point 256,256; got {list(points)}"
            ) from exc
    result = run_erf(
        items,
        checkpoint=checkpoint,
        arch=arch,
        classes=classes or (1,),
        size=size,
        points=pixels,
        plot=plot,
        seed=seed,
        overwrite=overwrite,
    )
    if as_json:
        echo_json(result)
        return
    rows = {"arch": result["arch"], "theoretical RF (px)": f"{result['theoretical_rf']:g}"}
    for k, entry in result["classes"].items():
        d = ", ".join(f"{q} %: {v} px" for q, v in entry["diameters"].items())
        rows[f"class {k} ERF diameter"] = d
    print_summary(rows, "terrabit segment erf")


@segment.command("train")
@click.argument("config", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Override `out`.")
@click.option("--epochs", type=int, default=None, help="Override `epochs`.")
@json_option
@overwrite_option
def train_command(
    config: Path, out: Path | None, epochs: int | None, as_json: bool, overwrite: bool
) -> None:
    """Train a water segmentation model from CONFIG (TOML or JSON).

    Writes best.pt, last.pt and history.json (validation accuracy and IoU on a
    geographically separate region) into the config's `out` folder.

    Example: terrabit segment train water.toml --epochs 10
    """
    from terrabit.segment.train import load_config, train

    cfg = load_config(config, out=str(out.resolve()) if out else None, epochs=epochs)
    summary = train(cfg, overwrite=overwrite)
    if as_json:
        echo_json(summary)
        return
    last = summary["val"]
    print_summary(
        {
            "out": summary["out"],
            "best": f"{summary['best']} (epoch {summary['best_epoch']})",
            "val accuracy": f"{last['val_accuracy']:.4f}",
            "val IoU": f"{last['val_iou']:.4f}",
            "seconds": f"{summary['seconds']:.1f}",
        },
        "terrabit segment train",
    )


@segment.command("predict")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("scenes", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option("Output COG (.tif) of class probabilities.", required=True)
@click.option("--size", type=int, default=512, show_default=True, help="Tile side (px).")
@click.option(
    "--stride", type=int, default=None, help="Tile step (px); default 7/8 of --size (448)."
)
@click.option(
    "--blend",
    type=click.Choice(["cosine", "center"]),
    default="cosine",
    show_default=True,
    help="How overlapping tiles' probabilities are combined.",
)
@click.option("--batch-size", type=int, default=4, show_default=True, help="Tiles per pass.")
@click.option(
    "--arch",
    type=click.Choice(["deeplabv3-r50", "unet-r18", "fcn-tiny"]),
    default=None,
    help="Refuse a CHECKPOINT of another architecture.",
)
@json_option
@overwrite_option
def predict_command(
    checkpoint: Path,
    scenes: tuple[Path, ...],
    out: Path,
    size: int,
    stride: int | None,
    blend: str,
    batch_size: int,
    arch: str | None,
    as_json: bool,
    overwrite: bool,
) -> None:
    """Predict SCENE (one six-band raster, or band rasters in order) with CHECKPOINT.

    Tiles cover the whole scene; soft outputs are blended and written as a tiled,
    deflate COG with overviews, pixel-aligned with the scene (same CRS, transform, shape).

    Example: terrabit segment predict runs/water/best.pt scene.tif -o water.tif
    """
    from terrabit.segment.predict import predict_scene

    summary = predict_scene(
        checkpoint,
        list(scenes),
        out,
        size=size,
        stride=stride,
        blend=blend,
        batch_size=batch_size,
        arch=arch,
        overwrite=overwrite,
    )
    if as_json:
        echo_json(summary)
        return
    print_summary(summary, "terrabit segment predict")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"
