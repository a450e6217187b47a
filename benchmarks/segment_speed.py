"""Segmentation timings on this machine (CPU): inference per chip, ERF per image, DWR.

Times, each the median of ``--repeats`` runs (interleaved where two things are compared):

* inference (forward, no grad, batch 1) of one ``--chip``² 9-channel chip for U-Net
  ResNet-18 and DeepLabV3-ResNet50 (random weights: speed does not depend on them), wall
  seconds and CPU seconds of the process (the machine is shared: compare the load average
  printed beside them);
* the effective receptive field of one ``--chip``² image (forward + one backward to the
  input) for U-Net ResNet-18;
* the exact L1 distance transform of one 512² road mask: terrabit's running-minimum
  passes against ``scipy.ndimage.distance_transform_cdt(metric="taxicab")``, interleaved,
  with their ratio, and the full spatial-context metrics per 512² patch;
* a stitched prediction of a ``--scene``² scene (U-Net, 512 tiles, stride 448).

Prints one JSON document. Run::

    .venv/bin/python benchmarks/segment_speed.py                 # all, ~1-2 min on 2 cores
    .venv/bin/python benchmarks/segment_speed.py --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _road_masks(n: int, size: int, seed: int) -> np.ndarray:
    """Masks with a few straight roads, partly under tree canopy (class 2)."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    for m in masks:
        for _ in range(3):
            r = rng.integers(0, size)
            m[max(0, r - 2) : r + 3, :] = 1
            c = rng.integers(0, size)
            m[:, max(0, c - 2) : c + 3] = 1
        cover = rng.random((size // 32, size // 32)) < 0.2
        canopy = np.kron(cover, np.ones((32, 32), dtype=bool))
        m[(m == 1) & canopy] = 2
    return masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", type=int, default=512)
    parser.add_argument("--scene", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from scipy.ndimage import distance_transform_cdt

    from terrabit.segment.erf import effective_receptive_field
    from terrabit.segment.metrics import distance_to_road, spatial_context_metrics
    from terrabit.segment.models import build_model
    from terrabit.segment.predict import predict_array, tile_starts

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "chip": args.chip,
        "repeats": args.repeats,
        "torch": torch.__version__,
    }
    x = torch.rand(1, 9, args.chip, args.chip)
    models = {arch: build_model(arch).eval() for arch in ("unet-r18", "deeplabv3-r50")}
    infer: dict[str, list[float]] = {arch: [] for arch in models}
    with torch.no_grad():  # warm-up (oneDNN primitive creation)
        for model in models.values():
            model(x)
    cpu: dict[str, list[float]] = {arch: [] for arch in models}
    for _ in range(args.repeats):  # interleaved
        for arch, model in models.items():
            with torch.no_grad():
                t0, c0 = time.perf_counter(), time.process_time()
                model(x)
                infer[arch].append(time.perf_counter() - t0)
                cpu[arch].append(time.process_time() - c0)
    out["inference_s_per_chip"] = {a: round(statistics.median(t), 4) for a, t in infer.items()}
    # CPU seconds of this process (all threads): less sensitive to other load on the machine
    out["inference_cpu_s_per_chip"] = {a: round(statistics.median(t), 4) for a, t in cpu.items()}
    out["load_average_1min"] = os.getloadavg()[0]

    unet = models["unet-r18"]
    out["erf_s_per_image_unet_r18"] = round(
        _median_time(
            lambda: effective_receptive_field(unet, x, show_progress=False),
            max(1, args.repeats // 2),
        ),
        4,
    )

    masks = _road_masks(8, 512, seed=0)
    ours, scipy_t = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for m in masks:
            distance_to_road(m)
        ours.append((time.perf_counter() - t0) / len(masks))
        t0 = time.perf_counter()
        for m in masks:
            distance_transform_cdt(m != 1, metric="taxicab")
        scipy_t.append((time.perf_counter() - t0) / len(masks))
    for m in masks:  # the same distances, as tested
        assert np.array_equal(
            distance_to_road(m), distance_transform_cdt(m != 1, metric="taxicab").astype(float)
        )
    out["l1_distance_transform_ms_per_512"] = {
        "terrabit": round(1000 * statistics.median(ours), 3),
        "scipy_cdt": round(1000 * statistics.median(scipy_t), 3),
        "ratio_scipy_over_terrabit": round(statistics.median(scipy_t) / statistics.median(ours), 3),
    }
    preds = (masks > 0) & (np.random.default_rng(1).random(masks.shape) < 0.7)
    per = _median_time(
        lambda: spatial_context_metrics(preds, masks, show_progress=False), args.repeats
    )
    out["spatial_context_metrics_ms_per_512_patch"] = round(1000 * per / len(masks), 3)

    scene = np.random.default_rng(2).normal(size=(9, args.scene, args.scene)).astype(np.float32)
    t0 = time.perf_counter()
    predict_array(unet, scene, size=512, stride=448, show_progress=False)
    out["predict_scene_s"] = {
        "scene_px": args.scene,
        "seconds": round(time.perf_counter() - t0, 2),
        "tiles": len(tile_starts(args.scene, 512, 448)) ** 2,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
