"""Effective and theoretical receptive fields against networks of known receptive field."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from terrabit.errors import InvalidInputError
from terrabit.segment.erf import (
    effective_receptive_field,
    plot_erf,
    theoretical_receptive_field,
)
from terrabit.segment.models import build_model


def uniform_stack(n: int) -> torch.nn.Sequential:
    layers = []
    for _ in range(n):
        conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        torch.nn.init.constant_(conv.weight, 1 / 9)
        layers.append(conv)
    return torch.nn.Sequential(*layers)


def analytic_kernel(n: int) -> np.ndarray:
    """|d out / d in| of n uniform 3x3 convs: the n-fold convolution of the 3x3 box / 9^n."""
    p = np.array([1.0])
    for _ in range(n):
        p = np.convolve(p, [1.0, 1.0, 1.0])
    return np.outer(p, p) / 9.0**n


def analytic_diameter(kernel: np.ndarray, level: float) -> int:
    c = kernel.shape[0] // 2
    total = kernel.sum()
    for r in range(c + 1):
        if kernel[c - r : c + r + 1, c - r : c + r + 1].sum() / total >= level - 1e-12:
            return 2 * r + 1
    raise AssertionError("unreachable")


@pytest.mark.parametrize("n", [1, 3, 6])
def test_uniform_conv_stack_has_the_predicted_erf(n: int) -> None:
    size = 4 * n + 9
    images = torch.rand(3, 1, size, size)
    erf = effective_receptive_field(uniform_stack(n), images, target_class=0)
    trf = 2 * n + 1
    assert theoretical_receptive_field(uniform_stack(n)) == trf
    assert erf.support_diameter == trf
    kernel = analytic_kernel(n)
    c = size - 1  # centre of the (2H-1, 2W-1) canvas
    k = kernel.shape[0] // 2
    np.testing.assert_allclose(
        erf.gradient[c - k : c + k + 1, c - k : c + k + 1], kernel, rtol=1e-5
    )
    outside = erf.gradient.copy()
    outside[c - k : c + k + 1, c - k : c + k + 1] = 0
    assert outside.max() == 0
    for level, diameter in erf.diameters.items():
        assert diameter == analytic_diameter(kernel, level)
    assert erf.mass[-1] == pytest.approx(1.0)
    assert erf.diameters[0.99] <= trf


def test_erf_grows_like_sqrt_depth_while_trf_grows_linearly() -> None:
    d = {}
    for n in (4, 16):
        size = 4 * n + 9
        erf = effective_receptive_field(
            uniform_stack(n), torch.rand(1, 1, size, size), target_class=0
        )
        d[n] = erf.diameters[0.9]
    # TRF ratio is 33 / 9 ~ 3.7; the ERF (a Gaussian of std ~ sqrt(2n/3)) grows ~ sqrt(4) = 2
    assert 1.6 < d[16] / d[4] < 2.6


def test_points_off_centre_are_recentred() -> None:
    size = 15
    net = uniform_stack(2)
    centre = effective_receptive_field(net, torch.rand(1, 1, size, size), target_class=0)
    corner = effective_receptive_field(
        net, torch.rand(1, 1, size, size), target_class=0, points=[(3, 4), (10, 9)]
    )
    np.testing.assert_allclose(corner.gradient, centre.gradient, rtol=1e-6)
    assert corner.n_points == 2


def test_trf_from_hooks_matches_the_chain_formula() -> None:
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 7, stride=2, padding=3),
        torch.nn.MaxPool2d(3, stride=2, padding=1),
        torch.nn.Conv2d(4, 4, 3, padding=1),
        torch.nn.Conv2d(4, 4, 3, padding=2, dilation=2),
        torch.nn.Conv2d(4, 4, 1),
    )
    by_hand = theoretical_receptive_field([(7, 2), (3, 2), (3, 1), (3, 1, 2), (1, 1)])
    assert by_hand == 1 + 6 + 2 * 2 + 2 * 4 + 2 * 2 * 4
    assert theoretical_receptive_field(net, input_size=64) == by_hand


def test_trf_of_the_real_architectures() -> None:
    # ResNet-18 encoder 435 px, then the decoder's 3x3 convs at strides 16, 8, 4, 2, 1, 1
    assert theoretical_receptive_field(build_model("unet-r18")) == 435 + 64 + 32 + 16 + 8 + 4 + 2
    # ASPP's image pooling makes every output see the whole input
    assert math.isinf(theoretical_receptive_field(build_model("deeplabv3-r50"), input_size=64))


def test_erf_of_a_real_model_and_plot(tmp_path) -> None:
    model = build_model("unet-r18", in_channels=9)
    erf = effective_receptive_field(model, torch.rand(1, 9, 32, 32))
    assert erf.diameters[0.5] <= erf.diameters[0.9] <= erf.diameters[0.99] <= 63
    assert erf.to_dict()["diameters"].keys() == {"50", "90", "99"}
    png = plot_erf(erf, tmp_path / "erf.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_bad_input() -> None:
    net = uniform_stack(1)
    with pytest.raises(InvalidInputError, match=r"points must be \(row, col\) pixels inside"):
        effective_receptive_field(net, torch.rand(1, 1, 8, 8), target_class=0, points=[(8, 0)])
    with pytest.raises(InvalidInputError, match=r"target_class must be in 0\.\.0"):
        effective_receptive_field(net, torch.rand(1, 1, 8, 8), target_class=1)
    with pytest.raises(InvalidInputError, match=r"images must be \(N, C, H, W\)"):
        effective_receptive_field(net, torch.rand(8, 8))
    with pytest.raises(InvalidInputError, match="each layer must be"):
        theoretical_receptive_field([(3,)])
