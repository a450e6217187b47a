"""Train a water segmentation model from a config file (TorchGeo tutorial recipe).

The recipe: image and mask rasters (any CRSs, UTM zones) paired by TorchGeo in one CRS;
the area split by easting into a training (west) and a geographically separate
validation (east) region; normalization statistics from training chips only; random
geo-sampled ``chip_size`` chips for training and a grid of chips over the validation
region; Adam (``lr`` 1e-4, ``weight_decay`` 0.01); cross-entropy ignoring unlabelled
pixels (255); per epoch the validation accuracy and IoU (of class 1, water, and the mean
over classes); ``last.pt`` every epoch and ``best.pt`` at the best validation IoU, with
``history.json``. The output folder appears only when the run ends (atomic).

A config is a TOML (or JSON) file of flat keys; relative paths are relative to it::

    images = "data/images"        # folder(s) or file(s) of six-band rasters
    masks = "data/masks"          # folder(s) or file(s) of 0/1 masks (255: no label)
    out = "runs/water"            # output folder
    arch = "deeplabv3-r50"        # or "unet-r18", "fcn-tiny"
    chip_size = 512
    batch_size = 4
    epochs = 10
    samples_per_epoch = 256
    lr = 1e-4
    weight_decay = 0.01
    val_fraction = 0.2
    seed = 0
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from terrabit._atomic import atomic_dir, check_output
from terrabit._compat import lazy_import
from terrabit._progress import progress_bar
from terrabit._validation import check_choice, check_int_range
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_import("torch", "segment")

__all__ = ["TrainConfig", "evaluate_split", "load_config", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs (see the module docstring for the file format)."""

    images: list[str]
    masks: list[str]
    out: str
    arch: str = "deeplabv3-r50"
    crs: str | None = None
    res_m: float | None = None
    chip_size: int = 512
    batch_size: int = 4
    epochs: int = 10
    samples_per_epoch: int = 256
    val_fraction: float = 0.2
    val_stride: int | None = None
    stats_chips: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.01
    seed: int = 0
    num_classes: int = 2
    class_names: list[str] = field(default_factory=lambda: ["land", "water"])

    def __post_init__(self) -> None:
        from terrabit.segment.models import ARCHS

        check_choice("arch", self.arch, ARCHS)
        check_int_range("chip_size", self.chip_size, 8)
        check_int_range("batch_size", self.batch_size, 1)
        check_int_range("epochs", self.epochs, 1)
        check_int_range("samples_per_epoch", self.samples_per_epoch, 1)
        check_int_range("stats_chips", self.stats_chips, 1)
        check_int_range("num_classes", self.num_classes, 2)
        if not 0 < self.val_fraction < 1:
            raise InvalidInputError(f"val_fraction must lie in (0, 1); got {self.val_fraction}")
        if not (self.lr > 0 and math.isfinite(self.lr)) or self.weight_decay < 0:
            raise InvalidInputError(
                f"lr must be > 0 and weight_decay >= 0; got {self.lr} and {self.weight_decay}"
            )
        if len(self.class_names) != self.num_classes:
            raise InvalidInputError(
                f"class_names has {len(self.class_names)} names for {self.num_classes} classes"
            )


def load_config(path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
    """Read a TOML or JSON training config; paths in it are relative to its folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.toml").write_text('images = "img"\\nmasks = "m"\\nout = "run"\\n')
    >>> cfg = load_config(root / "c.toml")
    >>> cfg.arch, cfg.images == [str(root / "img")]
    ('deeplabv3-r50', True)
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"config {str(source)!r} does not exist")
    text = source.read_text()
    try:
        if source.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import tomllib

            raw = tomllib.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"config {str(source)!r} does not parse: {exc}") from exc
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInputError(
            f"config {str(source)!r} has unknown keys {unknown}; known keys: {sorted(known)}"
        )
    missing = [k for k in ("images", "masks", "out") if k not in raw]
    if missing:
        raise InvalidInputError(f"config {str(source)!r} lacks {missing}; give them as paths")

    def resolve(value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else list(value)
        return [str((source.parent / str(v)).resolve()) for v in items]

    raw["images"], raw["masks"] = resolve(raw["images"]), resolve(raw["masks"])
    raw["out"] = resolve(raw["out"])[0]
    try:
        return TrainConfig(**raw)
    except TypeError as exc:
        raise InvalidInputError(f"config {str(source)!r}: {exc}") from exc


def _batches(dataset: Any, sampler: Any, batch_size: int) -> Any:
    from torch.utils.data import DataLoader
    from torchgeo.datasets import stack_samples

    return DataLoader(
        dataset, sampler=sampler, batch_size=batch_size, collate_fn=stack_samples, num_workers=0
    )


def evaluate_split(model: Any, loader: Any, norm: Any, *, num_classes: int = 2) -> dict[str, float]:
    """Accuracy, IoU of class 1 and mean IoU over labelled pixels of ``loader``'s chips."""
    from terrabit.segment.data import IGNORE_INDEX, to_model_input

    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    model.eval()
    with torch.no_grad():
        for batch in loader:
            pred = model(to_model_input(batch["image"], norm)).argmax(dim=1)
            truth = batch["mask"]
            keep = truth != IGNORE_INDEX
            idx = truth[keep] * num_classes + pred[keep]
            confusion += np.bincount(idx.numpy(), minlength=num_classes**2).reshape(
                num_classes, num_classes
            )
    total = confusion.sum()
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return {
        "accuracy": float(tp.sum() / total) if total else math.nan,
        "iou": float(iou[1]),
        "miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else math.nan,
        "pixels": int(total),
    }


def train(
    config: TrainConfig, *, overwrite: bool = False, show_progress: bool | None = None
) -> dict[str, Any]:
    """Train per ``config``; write ``best.pt``, ``last.pt`` and ``history.json`` to ``out``.

    Returns
    -------
    dict
        ``out``, ``best`` (checkpoint path), ``best_epoch``, the last epoch's ``val``
        metrics, ``history`` and ``seconds``.
    """
    from torchgeo.samplers import GridGeoSampler, RandomGeoSampler

    from terrabit.segment.data import (
        BANDS,
        IGNORE_INDEX,
        INDICES,
        compute_normalization,
        geographic_split,
        paired_dataset,
        to_model_input,
    )
    from terrabit.segment.models import build_model, save_checkpoint

    check_output(config.out, overwrite=overwrite, option="out (in the config)")
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    dataset = paired_dataset(
        config.images,
        config.masks,
        crs=config.crs,
        res_m=config.res_m,
        num_classes=config.num_classes,
    )
    train_roi, val_roi = geographic_split(dataset, val_fraction=config.val_fraction)
    size = config.chip_size
    stats_sampler = RandomGeoSampler(dataset, size=size, length=config.stats_chips, roi=train_roi)
    train_sampler = RandomGeoSampler(
        dataset, size=size, length=config.samples_per_epoch, roi=train_roi
    )
    val_sampler = GridGeoSampler(dataset, size=size, stride=config.val_stride or size, roi=val_roi)
    for name, empty in (
        ("training", not train_sampler.bounds),
        ("validation", not len(val_sampler)),
    ):
        if empty:
            raise InvalidInputError(
                f"the {name} region holds no {size} x {size} chip; pass a smaller chip_size "
                "or change val_fraction (the validation region is the east "
                f"{config.val_fraction:.0%} of the data)"
            )
    norm = compute_normalization(dataset[q]["image"][None] for q in stats_sampler)
    model = build_model(
        config.arch, in_channels=len(BANDS) + len(INDICES), num_classes=config.num_classes
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    history: list[dict[str, Any]] = []
    best_iou, best_epoch = -math.inf, 0
    meta: dict[str, Any] = {
        "arch": config.arch,
        "in_channels": len(BANDS) + len(INDICES),
        "num_classes": config.num_classes,
        "class_names": list(config.class_names),
        "norm": norm.to_dict(),
        "bands": [*BANDS, *INDICES],
    }
    cfg = asdict(config)
    steps = math.ceil(config.samples_per_epoch / config.batch_size)
    with atomic_dir(config.out, overwrite=overwrite) as tmp:
        for epoch in range(1, config.epochs + 1):
            model.train()
            losses = []
            with progress_bar(
                f"epoch {epoch}/{config.epochs}", total=steps, show=show_progress
            ) as bar:
                for batch in _batches(dataset, train_sampler, config.batch_size):
                    x = to_model_input(batch["image"], norm)
                    loss = loss_fn(model(x), batch["mask"])
                    if not torch.isfinite(loss):
                        continue  # a chip with no labelled pixel
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(float(loss.detach()))
                    bar.advance()
            val = evaluate_split(
                model,
                _batches(dataset, val_sampler, config.batch_size),
                norm,
                num_classes=config.num_classes,
            )
            record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else math.nan}
            record.update({f"val_{k}": v for k, v in val.items()})
            history.append(record)
            extra = {"config": cfg, "epoch": epoch, "val": val}
            save_checkpoint(tmp / "last.pt", model, extra=extra, **meta)
            score = val["iou"] if math.isfinite(val["iou"]) else val["accuracy"]
            if score > best_iou:
                best_iou, best_epoch = score, epoch
                save_checkpoint(tmp / "best.pt", model, extra=extra, **meta)
            (tmp / "history.json").write_text(json.dumps(history, indent=2))
    out = Path(config.out)
    return {
        "out": str(out),
        "best": str(out / "best.pt"),
        "best_epoch": best_epoch,
        "val": history[-1],
        "history": history,
        "train_region": list(train_roi.bounds),
        "val_region": list(val_roi.bounds),
        "crs": str(dataset.crs.to_string()),
        "seconds": round(time.perf_counter() - started, 3),
    }
