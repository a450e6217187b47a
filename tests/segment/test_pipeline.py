"""Water pipeline: pairing across CRSs, training, tiled prediction aligned with the scene."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch

from terrabit.errors import InvalidInputError
from terrabit.segment.data import (
    Normalization,
    compute_normalization,
    paired_dataset,
    spectral_indices,
    to_model_input,
)
from terrabit.segment.models import build_model, load_checkpoint, save_checkpoint
from terrabit.segment.predict import predict_array, predict_scene, tile_starts
from terrabit.segment.train import load_config


def test_indices_by_hand() -> None:
    b02, b03, b04, b08, b11, b12 = 0.05, 0.08, 0.06, 0.30, 0.20, 0.10
    r = torch.tensor([b02, b03, b04, b08, b11, b12]).reshape(1, 6, 1, 1)
    ndwi, mndwi, ndvi = spectral_indices(r).flatten().tolist()
    assert ndwi == pytest.approx((b03 - b08) / (b03 + b08))
    assert mndwi == pytest.approx((b03 - b11) / (b03 + b11))
    assert ndvi == pytest.approx((b08 - b04) / (b08 + b04))
    assert spectral_indices(torch.zeros(1, 6, 1, 1)).abs().sum() == 0


def test_model_input_scales_zscores_and_passes_indices_through() -> None:
    dn = torch.rand(2, 6, 5, 5) * 4000
    norm = compute_normalization([dn])
    x = to_model_input(dn, norm)
    assert x.shape == (2, 9, 5, 5)
    refl = dn / 10000
    np.testing.assert_allclose(x[:, :6].mean(dim=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x[:, :6].std(dim=(0, 2, 3), unbiased=False), 1, atol=1e-4)
    torch.testing.assert_close(x[:, 6:], spectral_indices(refl))
    with pytest.raises(InvalidInputError, match="needs 6 means and stds"):
        Normalization(mean=[0.0], std=[1.0])


def test_pairing_across_utm_zones(scenes: dict[str, Any]) -> None:
    with rasterio.open(scenes["images"][0]) as img, rasterio.open(scenes["masks"][0]) as msk:
        assert img.crs != msk.crs  # scene a: image in 31N, mask in 32N
    ds = paired_dataset(scenes["root"] / "images", scenes["root"] / "masks")
    assert ds.crs.to_epsg() == 32631
    with rasterio.open(scenes["images"][0]) as img:
        left, top = img.bounds.left, img.bounds.top
        image = img.read()
    # a chip of scene a, read through the pairing, matches its image and the water field
    q = (slice(left + 100, left + 420, 10.0), slice(top - 420, top - 100, 10.0), slice(None))
    sample = ds[q]
    assert sample["image"].shape == (6, 32, 32)
    np.testing.assert_allclose(sample["image"].numpy(), image[:, 10:42, 10:42], rtol=1e-6)
    water_like = (sample["image"][3] < 1500).long()  # low NIR = water
    labelled = sample["mask"] != 255
    agree = (water_like[labelled] == sample["mask"][labelled]).float().mean()
    assert agree > 0.97  # nearest-neighbour reprojection can shift a boundary pixel


def test_trained_model_writes_an_aligned_cog(
    scenes: dict[str, Any], trained: dict[str, Any], tmp_path: Path
) -> None:
    history = json.loads((Path(trained["out"]) / "history.json").read_text())
    assert len(history) == 1 and 0 <= history[0]["val_accuracy"] <= 1
    assert trained["val_region"][0] == trained["train_region"][2]  # separate regions
    scene = scenes["images"][1]
    out = tmp_path / "water.tif"
    summary = predict_scene(
        trained["best"], [scene], out, size=32, stride=24, blend="cosine", show_progress=False
    )
    assert summary["tiles"] == 9
    with rasterio.open(scene) as src, rasterio.open(out) as dst:
        assert dst.crs == src.crs
        assert dst.transform == src.transform
        assert (dst.width, dst.height) == (src.width, src.height)
        assert dst.count == 1 and dst.dtypes[0] == "float32" and dst.nodata is None
        assert dst.compression.name.lower() == "deflate"
        assert dst.block_shapes[0] == (256, 256) or dst.is_tiled
        assert dst.overviews(1) == [2, 4, 8, 16]
        probs = dst.read(1)
        image = src.read().astype(np.float32)
    assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()
    # the stitched output equals a whole-scene forward pass of the fully convolutional model
    model, meta = load_checkpoint(trained["best"])
    with torch.no_grad():
        x = to_model_input(torch.from_numpy(image)[None], Normalization(**meta["norm"]))
        full = torch.softmax(model(x), dim=1)[0, 1].numpy()
    np.testing.assert_allclose(probs, full, atol=0.02)
    center = tmp_path / "center.tif"
    predict_scene(trained["best"], [scene], center, size=32, stride=24, blend="center")
    with rasterio.open(center) as dst:
        np.testing.assert_allclose(dst.read(1), full, atol=1e-5)


@pytest.mark.parametrize("blend", ["center", "cosine"])
def test_stitching_equals_whole_scene_forward(blend: str) -> None:
    torch.manual_seed(0)
    net = build_model("fcn-tiny", in_channels=3)  # receptive field 7 px
    image = np.random.default_rng(1).normal(size=(3, 61, 50)).astype(np.float32)
    with torch.no_grad():
        full = torch.softmax(net(torch.from_numpy(image)[None]), dim=1)[0].numpy()
    got = predict_array(net, image, size=24, stride=16, blend=blend, batch_size=3)
    assert got.shape == full.shape
    np.testing.assert_allclose(got, full, atol=1e-5 if blend == "center" else 0.02)


def test_tiles_cover_every_pixel() -> None:
    for length, size, stride in [(100, 32, 24), (32, 32, 8), (1000, 512, 448), (33, 32, 32)]:
        starts = tile_starts(length, size, stride)
        covered = np.zeros(length, bool)
        for s in starts:
            covered[s : s + size] = True
        assert covered.all() and starts[-1] + size == length
        assert all(b - a <= stride for a, b in itertools.pairwise(starts))


def test_bad_predict_input(trained: dict[str, Any], scenes: dict[str, Any], tmp_path: Path) -> None:
    scene = scenes["images"][0]
    with pytest.raises(InvalidInputError, match="smaller than a 128 x 128 tile; pass size=64"):
        predict_scene(trained["best"], [scene], tmp_path / "a.tif", size=128, stride=100)
    with pytest.raises(InvalidInputError, match="stride=40 is larger than size=32"):
        predict_scene(trained["best"], [scene], tmp_path / "a.tif", size=32, stride=40)
    with pytest.raises(InvalidInputError, match="holds a 'fcn-tiny' model, not 'unet-r18'"):
        predict_scene(trained["best"], [scene], tmp_path / "a.tif", arch="unet-r18")
    no_crs = tmp_path / "nocrs.tif"
    with rasterio.open(scene) as src:
        data = src.read()
    with rasterio.open(
        no_crs, "w", driver="GTiff", width=64, height=64, count=6, dtype="uint16"
    ) as dst:
        dst.write(data)
    with pytest.raises(InvalidInputError, match="has no CRS; georeference it"):
        predict_scene(trained["best"], [no_crs], tmp_path / "b.tif", size=32, stride=24)
    with pytest.raises(InvalidInputError, match="the scene has 12 bands; the checkpoint needs 6"):
        predict_scene(trained["best"], [scene, scene], tmp_path / "c.tif", size=32, stride=24)
    assert not any(p.name.endswith(".tif") for p in tmp_path.iterdir() if p != no_crs)


def test_checkpoint_of_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_checkpoint(path, build_model("fcn-tiny"), arch="unet-r18", in_channels=9, num_classes=2)
    with pytest.raises(InvalidInputError, match="says 'unet-r18' but its weights are of another"):
        load_checkpoint(path)
    torch.save({"weights": 1}, tmp_path / "plain.pt")
    with pytest.raises(InvalidInputError, match="is not a terrabit segment checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


@pytest.mark.parametrize("arch", ["unet-r18", "deeplabv3-r50"])
def test_real_architectures_take_nine_channels(arch: str) -> None:
    model = build_model(arch, in_channels=9, num_classes=2).eval()
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 9
    with torch.no_grad():
        assert model(torch.rand(1, 9, 64, 64)).shape == (1, 2, 64, 64)


def test_bad_training_input(scenes: dict[str, Any], config_path: Path, tmp_path: Path) -> None:
    from terrabit.segment.train import train

    bad_masks = tmp_path / "masks"
    bad_masks.mkdir()
    with rasterio.open(scenes["masks"][1]) as src:
        profile, mask = src.profile, src.read(1)
    mask[0, :3] = 7
    with rasterio.open(bad_masks / "b.tif", "w", **profile) as dst:
        dst.write(mask, 1)
    cfg = load_config(config_path, masks=str(bad_masks), out=str(tmp_path / "run"))
    with pytest.raises(
        InvalidInputError, match=r"masks with unexpected class values: .*b.tif \[7\]"
    ):
        train(cfg)
    with pytest.raises(InvalidInputError, match="holds no 80 x 80 chip"):
        train(load_config(config_path, out=str(tmp_path / "r2"), chip_size=80))
    (tmp_path / "x.toml").write_text('images = "a"\nmasks = "b"\nout = "c"\nepochs2 = 1\n')
    with pytest.raises(InvalidInputError, match=r"unknown keys \['epochs2'\]"):
        load_config(tmp_path / "x.toml")
    no_crs = tmp_path / "images"
    no_crs.mkdir()
    with rasterio.open(scenes["images"][1]) as src:
        data = src.read()
    with rasterio.open(
        no_crs / "x.tif", "w", driver="GTiff", width=64, height=64, count=6, dtype="uint16"
    ) as dst:
        dst.write(data)
    cfg = load_config(config_path, images=str(no_crs), out=str(tmp_path / "run"))
    with pytest.raises(InvalidInputError, match=r"image rasters without a CRS: .*x.tif"):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_band_files_stacked_and_warped(
    trained: dict[str, Any], scenes: dict[str, Any], tmp_path: Path
) -> None:
    """Bands split over two files give the same map; 20 m SWIR bands are warped onto 10 m."""
    from rasterio.enums import Resampling

    scene = scenes["images"][1]
    with rasterio.open(scene) as src:
        profile, data = src.profile, src.read()
        half = src.read(indexes=[5, 6], out_shape=(2, 32, 32), resampling=Resampling.average)
        coarse = src.transform * src.transform.scale(2, 2)
    paths = {}
    for name, bands, prof in (
        ("vnir", data[:4], {**profile, "count": 4}),
        ("swir", data[4:], {**profile, "count": 2}),
        ("swir20", half, {**profile, "count": 2, "width": 32, "height": 32, "transform": coarse}),
    ):
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(paths[name], "w", **prof) as dst:
            dst.write(bands)
    kw: dict[str, Any] = {"size": 32, "stride": 24, "show_progress": False}
    predict_scene(trained["best"], [scene], tmp_path / "one.tif", **kw)
    predict_scene(trained["best"], [paths["vnir"], paths["swir"]], tmp_path / "two.tif", **kw)
    predict_scene(trained["best"], [paths["vnir"], paths["swir20"]], tmp_path / "w.tif", **kw)
    with (
        rasterio.open(tmp_path / "one.tif") as one,
        rasterio.open(tmp_path / "two.tif") as two,
        rasterio.open(tmp_path / "w.tif") as warped,
    ):
        np.testing.assert_array_equal(one.read(), two.read())
        assert (warped.transform, warped.shape) == (one.transform, one.shape)
        assert np.isfinite(warped.read()).all()
