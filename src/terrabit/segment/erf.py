"""Receptive fields of segmentation models: effective (by gradients) and theoretical.

**Effective receptive field** (ERF, Luo et al. 2016): for chosen output pixels, the
gradient of the pre-softmax logit of one class (road by default) with respect to the
input; its absolute value summed over channels and averaged over images and pixels,
centred on the output pixel, is the ERF map. The share of the gradient mass inside the
centred square window of side ``2r + 1`` grows with the radius ``r``; the **effective
diameter** at level ``q`` is the side ``2r + 1`` of the smallest window holding ``q`` of
the mass (50/90/99 % by default). Square windows are used because a receptive field is
square: for a CNN the 100 % diameter equals its theoretical receptive field.

**Theoretical receptive field** (TRF): ``1 + Σ (k - 1)·d·J`` over the layers of a chain,
``k`` the kernel, ``d`` the dilation and ``J`` the product of the strides before the
layer. For a module it is measured by running it once with forward hooks on every
convolution and pooling: ``J`` of each layer is the input size over the size of the
feature map it sees, so upsampling decoders (U-Net) and strided encoders count right; a
1×1 convolution (ResNet shortcut) adds nothing. An adaptive (global) pooling makes every
output depend on the whole input: the TRF is ``inf`` (DeepLabV3's ASPP image pooling).

Examples
--------
>>> net = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)])
>>> theoretical_receptive_field(net)
7.0
>>> erf = effective_receptive_field(net, torch.rand(2, 1, 21, 21), target_class=0)
>>> erf.support_diameter
7
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from terrabit._compat import lazy_import
from terrabit._progress import progress_bar
from terrabit._validation import check_int_range
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
    from torch import nn
else:
    torch = lazy_import("torch", "segment")
    nn = torch.nn

__all__ = [
    "EffectiveReceptiveField",
    "effective_receptive_field",
    "plot_erf",
    "read_chips",
    "theoretical_receptive_field",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_LEVELS = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class EffectiveReceptiveField:
    """The ERF of one class: mean |gradient| map, mass curve and effective diameters.

    ``gradient`` has shape ``(2H - 1, 2W - 1)`` with the output pixel at its centre;
    ``mass[r]`` is the share of the gradient mass within Chebyshev radius ``r``.
    """

    gradient: FloatArray
    mass: FloatArray
    diameters: dict[float, int]
    support_diameter: int
    target_class: int
    n_images: int
    n_points: int

    @property
    def radii(self) -> npt.NDArray[np.int64]:
        """Radius of each ``mass`` entry (0, 1, 2, ...)."""
        return np.arange(self.mass.size, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Summary (no maps) as plain values, JSON-safe."""
        return {
            "target_class": self.target_class,
            "n_images": self.n_images,
            "n_points": self.n_points,
            "diameters": {f"{round(100 * q, 3):g}": d for q, d in self.diameters.items()},
            "support_diameter": self.support_diameter,
        }


def _mass_curve(gradient: FloatArray) -> FloatArray:
    h, w = gradient.shape
    cy, cx = h // 2, w // 2
    ry = np.abs(np.arange(h) - cy)[:, None]
    rx = np.abs(np.arange(w) - cx)[None, :]
    radius = np.maximum(ry, rx)
    sums = np.bincount(radius.ravel(), weights=gradient.ravel(), minlength=max(cy, cx) + 1)
    total = sums.sum()
    if total <= 0:
        return np.zeros(sums.size)
    return np.asarray(np.cumsum(sums) / total, dtype=np.float64)


def _diameter(mass: FloatArray, level: float) -> int:
    r = int(np.searchsorted(mass, level - 1e-12, side="left"))
    return 2 * min(r, mass.size - 1) + 1


def _as_images(images: Any) -> torch.Tensor:
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] == 0:
        raise InvalidInputError(
            f"images must be (N, C, H, W) or (C, H, W) with N >= 1; got shape {tuple(x.shape)}"
        )
    return x.float()


def effective_receptive_field(
    model: nn.Module,
    images: Any,
    *,
    target_class: int = 1,
    points: Sequence[tuple[int, int]] | None = None,
    levels: Sequence[float] = DEFAULT_LEVELS,
    batch_size: int = 4,
    show_progress: bool | None = None,
) -> EffectiveReceptiveField:
    """Effective receptive field of ``model`` for one class, from input gradients.

    Parameters
    ----------
    model : torch.nn.Module
        Returns ``(N, classes, H, W)`` pre-softmax logits on the input grid (eval mode is
        set here, so batch norm does not mix images).
    images : tensor or array, shape (N, C, H, W) or (C, H, W)
        Normalized model inputs.
    target_class : int
        Class whose logit is differentiated (1 = road).
    points : sequence of (row, col), optional
        Output pixels (default: the image centre).
    levels : sequence of float
        Mass levels of the effective diameters.
    batch_size : int
        Images per backward pass.
    show_progress : bool, optional
        Progress bar on stderr (default: only on a terminal).

    Returns
    -------
    EffectiveReceptiveField

    Examples
    --------
    >>> net = torch.nn.Conv2d(2, 3, 5, padding=2)
    >>> effective_receptive_field(net, torch.rand(2, 9, 9), target_class=2).support_diameter
    5
    """
    x = _as_images(images)
    n, _, h, w = x.shape
    check_int_range("batch_size", batch_size, 1)
    pts = [(h // 2, w // 2)] if points is None else [(int(r), int(c)) for r, c in points]
    bad = [p for p in pts if not (0 <= p[0] < h and 0 <= p[1] < w)]
    if bad or not pts:
        raise InvalidInputError(
            f"points must be (row, col) pixels inside the {h} x {w} images; got {bad[:10] or pts}"
        )
    qs = [float(q) for q in levels]
    if any(not 0 < q <= 1 for q in qs):
        raise InvalidInputError(f"levels must lie in (0, 1]; got {qs}")
    model.eval()
    canvas = torch.zeros(2 * h - 1, 2 * w - 1, dtype=torch.float64)
    steps = math.ceil(n / batch_size)
    with progress_bar("effective receptive field", total=steps, show=show_progress) as bar:
        for start in range(0, n, batch_size):
            batch = x[start : start + batch_size].clone().requires_grad_(True)
            out = model(batch)
            if out.ndim != 4 or out.shape[-2:] != batch.shape[-2:]:
                raise InvalidInputError(
                    f"the model returns shape {tuple(out.shape)}; the ERF needs "
                    f"(N, classes, {h}, {w}) logits on the input grid"
                )
            if not 0 <= target_class < out.shape[1]:
                raise InvalidInputError(
                    f"target_class must be in 0..{out.shape[1] - 1}; got {target_class}"
                )
            for i, (r, c) in enumerate(pts):
                (grad,) = torch.autograd.grad(
                    out[:, target_class, r, c].sum(), batch, retain_graph=i < len(pts) - 1
                )
                g = grad.detach().abs().sum(dim=(0, 1)).double()
                canvas[h - 1 - r : 2 * h - 1 - r, w - 1 - c : 2 * w - 1 - c] += g
            bar.advance()
    gradient = (canvas / (n * len(pts))).numpy()
    mass = _mass_curve(gradient)
    nonzero = np.nonzero(gradient > 0)
    if nonzero[0].size:
        extent = max(np.abs(nonzero[0] - (h - 1)).max(), np.abs(nonzero[1] - (w - 1)).max())
        support = 2 * int(extent) + 1
    else:
        support = 0
    return EffectiveReceptiveField(
        gradient=gradient,
        mass=mass,
        diameters={q: _diameter(mass, q) for q in qs},
        support_diameter=support,
        target_class=target_class,
        n_images=n,
        n_points=len(pts),
    )


_POOLS = ("MaxPool2d", "AvgPool2d")


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, tuple | list):
        return int(v[0]), int(v[-1])
    return int(v), int(v)


def theoretical_receptive_field(
    model: nn.Module | Sequence[Sequence[int]],
    *,
    input_size: int = 256,
    in_channels: int | None = None,
) -> float:
    """Theoretical receptive field (px) of a CNN from its layers; ``inf`` if global.

    Parameters
    ----------
    model : torch.nn.Module or sequence of (kernel, stride[, dilation])
        A module (measured with forward hooks on a ``input_size`` dummy input) or a chain
        of layers given by hand.
    input_size : int
        Side of the dummy input (a multiple of the model's total stride).
    in_channels : int, optional
        Channels of the dummy input (default: those of the first convolution).

    Examples
    --------
    >>> theoretical_receptive_field([(7, 2), (3, 2), (3, 1), (3, 1)])
    27.0
    >>> theoretical_receptive_field([(3, 1, 2), (3, 1, 4)])
    13.0
    """
    if not isinstance(model, nn.Module):
        rf, jump = 1.0, 1.0
        for layer in model:
            vals = [int(v) for v in layer]
            if len(vals) not in (2, 3) or min(vals) < 1:
                raise InvalidInputError(
                    f"each layer must be (kernel, stride) or (kernel, stride, dilation) of "
                    f"positive integers; got {tuple(layer)}"
                )
            k, s, d = vals[0], vals[1], vals[2] if len(vals) == 3 else 1
            rf += (k - 1) * d * jump
            jump *= s
        return rf
    check_int_range("input_size", input_size, 8)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise InvalidInputError("the model has no Conv2d layer; give its layers by hand instead")
    channels = in_channels or convs[0].in_channels
    total = [1.0]

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        size = inputs[0].shape[-1]
        name = type(module).__name__
        if name.startswith("Adaptive"):
            if output.shape[-1] < size or output.shape[-2] < inputs[0].shape[-2]:
                total[0] = math.inf
            return
        if isinstance(module, nn.Conv2d):
            k, d = _pair(module.kernel_size)[1], _pair(module.dilation)[1]
        else:
            k, d = _pair(module.kernel_size)[1], _pair(getattr(module, "dilation", 1))[1]
        total[0] += (k - 1) * d * input_size / size

    kinds = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, channels, input_size, input_size))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total[0]


def plot_erf(erf: EffectiveReceptiveField, path: str | os.PathLike[str]) -> Path:
    """Two panels to a PNG: the mass curve with its diameters, and the mean gradient map.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> net = torch.nn.Conv2d(1, 2, 3, padding=1)
    >>> erf = effective_receptive_field(net, torch.rand(1, 9, 9))
    >>> plot_erf(erf, pathlib.Path(tempfile.mkdtemp()) / "erf.png").exists()
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from terrabit._atomic import atomic_file

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    diam = 2 * erf.radii + 1
    left.plot(diam, 100 * erf.mass)
    for q, d in erf.diameters.items():
        left.axvline(d, ls="--", alpha=0.5, label=f"{100 * q:g} %: {d} px")
    left.set_xlabel("window side (px)")
    left.set_ylabel("gradient mass (%)")
    left.set_xscale("log")
    left.legend()
    left.grid(True, alpha=0.3)
    g = erf.gradient
    positive = g[g > 0]
    floor = positive.min() if positive.size else 1.0
    cy, cx = g.shape[0] // 2, g.shape[1] // 2
    half = max(erf.support_diameter // 2, 1)
    crop = g[max(cy - half, 0) : cy + half + 1, max(cx - half, 0) : cx + half + 1]
    image = right.imshow(
        np.log10(np.maximum(crop, floor)),
        cmap="magma",
        extent=(-half - 0.5, half + 0.5, half + 0.5, -half - 0.5),
    )
    right.set_xlabel("column offset (px)")
    right.set_ylabel("row offset (px)")
    right.set_title(f"log10 mean |gradient|, class {erf.target_class}")
    fig.colorbar(image, ax=right)
    fig.tight_layout()
    target = Path(path)
    with atomic_file(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return target


def read_chips(
    paths: Sequence[str | os.PathLike[str]],
    *,
    size: int = 512,
    norm: Any = None,
) -> torch.Tensor:
    """Centre chips of ``size`` px of rasters (``.tif``) or arrays (``.npy``, (C, H, W)).

    Six-band rasters of digital numbers become the 9-channel model input with ``norm``
    (a :class:`~terrabit.segment.data.Normalization`; ``None``: computed from these
    chips). ``.npy`` arrays are taken as model inputs as they are. Images smaller than
    ``size`` are refused.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(path, np.zeros((9, 40, 30), dtype=np.float32))
    >>> read_chips([path], size=16).shape
    torch.Size([1, 9, 16, 16])
    """
    from terrabit.segment.data import BANDS, compute_normalization, to_model_input

    check_int_range("size", size, 8)
    if not paths:
        raise InvalidInputError("no images given; pass rasters (.tif) or arrays (.npy)")
    raw: list[npt.NDArray[np.float32]] = []
    kinds = set()
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InvalidInputError(f"image {str(p)!r} does not exist")
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False).astype(np.float32)
            kinds.add("npy")
        else:
            import rasterio

            with rasterio.open(p) as src:
                arr = src.read().astype(np.float32)
            kinds.add("raster")
        if arr.ndim != 3:
            raise InvalidInputError(f"image {str(p)!r} must be (C, H, W); got shape {arr.shape}")
        h, w = arr.shape[1:]
        if h < size or w < size:
            raise InvalidInputError(
                f"image {str(p)!r} is {h} x {w} px, smaller than size={size}; pass "
                f"size={min(h, w)} or less",
                params=("size",),
            )
        r, c = (h - size) // 2, (w - size) // 2
        raw.append(arr[:, r : r + size, c : c + size])
    if len(kinds) > 1 or len({a.shape[0] for a in raw}) > 1:
        raise InvalidInputError("images mix kinds or band counts; give all .tif or all .npy")
    x = torch.from_numpy(np.stack(raw))
    if kinds == {"npy"}:
        return x
    if x.shape[1] != len(BANDS):
        raise InvalidInputError(
            f"rasters must have {len(BANDS)} bands ({', '.join(BANDS)}); got {x.shape[1]}"
        )
    return to_model_input(x, norm if norm is not None else compute_normalization([x]))
