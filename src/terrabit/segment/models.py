"""Segmentation models for multispectral input, built offline, and their checkpoints.

* ``deeplabv3-r50``: torchvision's DeepLabV3-ResNet50 (``weights=None``,
  ``weights_backbone=None``) with the first convolution rebuilt for ``in_channels``
  (the TorchGeo water tutorial's model); its forward returns the ``"out"`` logits.
* ``unet-r18``: segmentation-models-pytorch U-Net with a ResNet-18 encoder
  (``encoder_weights=None``) and the first convolution rebuilt for ``in_channels``.
* ``fcn-tiny``: three 3×3 convolutions (receptive field 7 px), fully convolutional;
  for tests and smoke runs.

No weights are ever downloaded. A checkpoint is a ``torch.save`` dictionary holding the
architecture, the channel count, the class names, the normalization statistics and the
``state_dict``; :func:`load_checkpoint` refuses a checkpoint of another architecture.

Examples
--------
>>> model = build_model("fcn-tiny", in_channels=9, num_classes=2)
>>> model(torch.zeros(1, 9, 16, 16)).shape
torch.Size([1, 2, 16, 16])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from terrabit._atomic import atomic_file
from terrabit._compat import lazy_import
from terrabit._validation import check_choice, check_int_range
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
    from torch import nn
else:
    torch = lazy_import("torch", "segment")
    nn = torch.nn

__all__ = [
    "ARCHS",
    "CHECKPOINT_FORMAT",
    "Arch",
    "build_model",
    "load_checkpoint",
    "rebuild_first_conv",
    "save_checkpoint",
]

Arch = Literal["deeplabv3-r50", "unet-r18", "fcn-tiny"]
ARCHS: tuple[Arch, ...] = ("deeplabv3-r50", "unet-r18", "fcn-tiny")
CHECKPOINT_FORMAT = "terrabit-segment/1"


def rebuild_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` taking ``in_channels`` inputs (same kernel, stride, padding).

    Examples
    --------
    >>> rebuild_first_conv(torch.nn.Conv2d(3, 8, 7, stride=2, padding=3), 9).weight.shape
    torch.Size([8, 9, 7, 7])
    """
    return nn.Conv2d(
        in_channels,
        conv.out_channels,
        kernel_size=conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        bias=conv.bias is not None,
    )


class _OutLogits(nn.Module):
    """Return the ``"out"`` entry of a torchvision segmentation model's dict."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)["out"]
        return out


def build_model(arch: str, *, in_channels: int = 9, num_classes: int = 2) -> nn.Module:
    """A randomly initialized segmentation model returning ``(N, num_classes, H, W)`` logits.

    Parameters
    ----------
    arch : {"deeplabv3-r50", "unet-r18", "fcn-tiny"}
    in_channels : int
        Input channels (9: six reflectances and NDWI, MNDWI, NDVI).
    num_classes : int
        Output classes (2: land, water).

    Examples
    --------
    >>> build_model("unet-r18", in_channels=9).encoder.conv1.weight.shape
    torch.Size([64, 9, 7, 7])
    """
    check_choice("arch", arch, ARCHS)
    check_int_range("in_channels", in_channels, 1, 1024)
    check_int_range("num_classes", num_classes, 2, 1024)
    if arch == "deeplabv3-r50":
        from torchvision.models.segmentation import deeplabv3_resnet50

        net = deeplabv3_resnet50(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False
        )
        net.backbone.conv1 = rebuild_first_conv(net.backbone.conv1, in_channels)
        return _OutLogits(net)
    if arch == "unet-r18":
        smp = lazy_import("segmentation_models_pytorch", "segment")
        net = smp.Unet(
            encoder_name="resnet18", encoder_weights=None, in_channels=3, classes=num_classes
        )
        net.encoder.conv1 = rebuild_first_conv(net.encoder.conv1, in_channels)
        model: nn.Module = net
        return model
    width = 16
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, num_classes, 3, padding=1),
    )


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    arch: str,
    in_channels: int,
    num_classes: int,
    class_names: list[str] | None = None,
    norm: dict[str, list[float]] | None = None,
    bands: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` and what is needed to use it again, atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> _ = save_checkpoint(path, build_model("fcn-tiny"), arch="fcn-tiny", in_channels=9,
    ...                     num_classes=2)
    >>> load_checkpoint(path)[1]["arch"]
    'fcn-tiny'
    """
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "in_channels": in_channels,
        "num_classes": num_classes,
        "class_names": class_names or [f"class{i}" for i in range(num_classes)],
        "norm": norm or {},
        "bands": bands or [],
        "extra": extra or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    target = Path(path)
    with atomic_file(target) as tmp:
        torch.save(payload, tmp)
    return target


def load_checkpoint(
    path: str | os.PathLike[str], *, arch: str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """The model (in eval mode) and the metadata of a checkpoint from :func:`save_checkpoint`.

    Parameters
    ----------
    path : path
        The checkpoint (``.pt``).
    arch : str, optional
        The architecture the caller expects; a checkpoint of another one is refused.

    Raises
    ------
    InvalidInputError
        Not a terrabit checkpoint, another architecture, or weights that do not fit it.
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"checkpoint {str(source)!r} does not exist")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InvalidInputError(
            f"{str(source)!r} is not a readable torch checkpoint ({exc.__class__.__name__}); "
            "pass a checkpoint written by `terrabit segment train`"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInputError(
            f"{str(source)!r} is not a terrabit segment checkpoint (no format "
            f"{CHECKPOINT_FORMAT!r}); pass a checkpoint written by `terrabit segment train`"
        )
    found = payload["arch"]
    if arch is not None and found != arch:
        raise InvalidInputError(
            f"checkpoint {str(source)!r} holds a {found!r} model, not {arch!r}; pass "
            f"arch={found!r} or a {arch} checkpoint",
            params=("arch",),
        )
    if found not in ARCHS:
        raise InvalidInputError(
            f"checkpoint {str(source)!r} holds an unknown architecture {found!r}; "
            f"known: {', '.join(ARCHS)}"
        )
    model = build_model(
        found, in_channels=payload["in_channels"], num_classes=payload["num_classes"]
    )
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    given = {k: tuple(v.shape) for k, v in payload["state_dict"].items()}
    problems = sorted(set(expected) ^ set(given)) + [
        k for k in sorted(set(expected) & set(given)) if expected[k] != given[k]
    ]
    if problems:
        shown = ", ".join(problems[:10]) + (
            f" (first 10 of {len(problems)})" if len(problems) > 10 else ""
        )
        raise InvalidInputError(
            f"checkpoint {str(source)!r} says {found!r} but its weights are of another "
            f"architecture (missing, unexpected or mis-shaped: {shown}); pass the checkpoint "
            "of that model or retrain it"
        )
    model.load_state_dict(payload["state_dict"])
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model, meta
