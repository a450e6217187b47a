"""Seeded water/land scenes in two UTM zones and a tiny trained model, shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from terrabit.segment.synthetic import write_water_scenes

SCENE_PX = 64


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("water")
    info = write_water_scenes(root, seed=0, size_px=SCENE_PX)
    info["root"] = root
    return info


@pytest.fixture(scope="session")
def config_path(scenes: dict[str, Any]) -> Path:
    path = Path(scenes["root"]) / "train.toml"
    path.write_text(
        "\n".join(
            [
                'images = "images"',
                'masks = "masks"',
                'out = "run"',
                'arch = "fcn-tiny"',
                "chip_size = 32",
                "batch_size = 2",
                "epochs = 1",
                "samples_per_epoch = 4",
                "stats_chips = 4",
                "val_fraction = 0.5",
                "seed = 0",
            ]
        )
        + "\n"
    )
    return path


@pytest.fixture(scope="session")
def trained(config_path: Path) -> dict[str, Any]:
    """A tiny model trained for 2 steps (1 epoch of 4 chips, batch 2)."""
    from terrabit.segment.train import load_config, train

    return train(load_config(config_path), show_progress=False)
