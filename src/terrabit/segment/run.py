"""The segmentation runs behind ``terrabit segment metrics`` and ``terrabit segment erf``.

Each is one call from files to a JSON-ready summary: :func:`run_metrics` compares the
predictions of several models with the same masks; :func:`run_erf` measures the
effective receptive field of a trained checkpoint or an untrained architecture on a few
images, beside the theoretical one. Outputs (plots) are checked before any input is
read and never replaced without ``overwrite``.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for sub in ("unet", "masks"):
...     (root / sub).mkdir()
>>> mask = np.zeros((8, 8), dtype=np.uint8); mask[3, :] = 1; mask[5, :4] = 2
>>> np.save(root / "masks" / "a.npy", mask)
>>> np.save(root / "unet" / "a.npy", (mask > 0).astype(np.uint8))
>>> summary = run_metrics([root / "unet"], root / "masks", n_bins=4)
>>> summary["models"]["unet"]["dwr"], summary["plot"]
(1.0, None)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from terrabit._atomic import check_output
from terrabit.errors import InvalidInputError
from terrabit.segment.metrics import (
    DistanceRecall,
    Metric,
    load_patch_pairs,
    plot_recall_by_distance,
    spatial_context_metrics,
)

__all__ = ["run_erf", "run_metrics"]


def run_metrics(
    pred_dirs: Sequence[str | os.PathLike[str]],
    mask_dir: str | os.PathLike[str],
    *,
    metric: Metric = "taxicab",
    n_bins: int = 20,
    plot: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """DWR, recall per class and recall by distance of each folder of predictions.

    Files (``.tif`` or ``.npy``) are paired by name with those of ``mask_dir``
    (:func:`~terrabit.segment.metrics.load_patch_pairs`). Every model is binned on the
    distance edges of the first, so their curves compare bin for bin.

    Parameters
    ----------
    pred_dirs : sequence of paths
        One folder per model, named by the folder (its full path where names repeat).
    mask_dir : path
        Masks: 0 background, 1 road, 2 tree canopy over road.
    metric : {"taxicab", "euclidean"}
        Distance from canopy pixels to the nearest visible road.
    n_bins : int
        Log-spaced distance bins.
    plot : path, optional
        Write the recall-vs-distance plot (PNG), one line per model.
    overwrite : bool
        Replace an existing ``plot``.

    Returns
    -------
    dict
        ``{"models": {name: SpatialContextMetrics.to_dict()}, "plot": path or None}``.
    """
    if not pred_dirs:
        raise InvalidInputError(
            "pred_dirs is empty; give at least one folder of predictions",
            params=("pred_dirs",),
        )
    if plot is not None:
        check_output(plot, overwrite=overwrite, option="plot")
    results: dict[str, Any] = {}
    curves: dict[str, DistanceRecall] = {}
    edges = None
    for pred_dir in map(Path, pred_dirs):
        names, preds, masks = load_patch_pairs(pred_dir, mask_dir)
        result = spatial_context_metrics(
            preds, masks, metric=metric, n_bins=n_bins, edges=edges, names=names
        )
        edges = result.by_distance.edges
        name = pred_dir.name if pred_dir.name not in results else str(pred_dir)
        results[name] = result.to_dict()
        curves[name] = result.by_distance
    written = None if plot is None else str(plot_recall_by_distance(curves, plot))
    return {"models": results, "plot": written}


def run_erf(
    images: Sequence[str | os.PathLike[str]],
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    arch: str | None = None,
    classes: Sequence[int] = (1,),
    size: int = 512,
    points: Sequence[tuple[int, int]] | None = None,
    plot: str | os.PathLike[str] | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Effective receptive field of a model on the centre chips of ``images``.

    Parameters
    ----------
    images : sequence of paths
        Six-band rasters (normalized as in training) or ``.npy`` model inputs
        (:func:`~terrabit.segment.erf.read_chips`).
    checkpoint : path, optional
        A trained model (:func:`~terrabit.segment.models.load_checkpoint`); its
        normalization is applied to raster images.
    arch : str, optional
        Without ``checkpoint``: an untrained model of this architecture, initialized with
        ``seed``. With it: the architecture the checkpoint must hold.
    classes : sequence of int
        Classes whose logit is differentiated, one ERF each.
    size : int
        Side of the centre chip (px).
    points : sequence of (row, col), optional
        Output pixels the gradient is taken at (default: the chip centre).
    plot : path, optional
        Write the ERF plot (PNG); with several classes one per class, ``NAME-classK.png``.
    seed : int
        Seed of an untrained model's weights.
    overwrite : bool
        Replace existing plots.

    Returns
    -------
    dict
        ``arch``, ``images``, ``size``, ``theoretical_rf`` and, per class,
        ``EffectiveReceptiveField.to_dict()`` (plus ``plot``).
    """
    if checkpoint is None and arch is None:
        raise InvalidInputError(
            "pass checkpoint (a trained model) or arch (an untrained one)", params=("arch",)
        )
    if not images:
        raise InvalidInputError("no images given; pass rasters (.tif) or arrays (.npy)")
    targets = list(classes) or [1]
    plots: list[Path] = []
    if plot is not None:
        base = Path(plot)
        plots = [
            base if len(targets) == 1 else base.with_name(f"{base.stem}-class{k}{base.suffix}")
            for k in targets
        ]
        for p in plots:
            check_output(p, overwrite=overwrite, option="plot")

    import torch

    from terrabit.segment.data import Normalization
    from terrabit.segment.erf import (
        effective_receptive_field,
        plot_erf,
        read_chips,
        theoretical_receptive_field,
    )
    from terrabit.segment.models import build_model, load_checkpoint

    norm = None
    if checkpoint is not None:
        model, meta = load_checkpoint(checkpoint, arch=arch)
        name = str(meta["arch"])
        if meta.get("norm"):
            norm = Normalization(**meta["norm"])
    else:
        assert arch is not None
        torch.manual_seed(seed)
        model, name = build_model(arch), arch
    chips = read_chips(list(images), size=size, norm=norm)
    result: dict[str, Any] = {
        "arch": name,
        "images": len(images),
        "size": size,
        "theoretical_rf": theoretical_receptive_field(model, input_size=max(64, size)),
        "classes": {},
    }
    pixels = None if points is None else [(int(r), int(c)) for r, c in points]
    for i, k in enumerate(targets):
        erf = effective_receptive_field(model, chips, target_class=k, points=pixels)
        entry = erf.to_dict()
        if plots:
            entry["plot"] = str(plot_erf(erf, plots[i]))
        result["classes"][str(k)] = entry
    return result
