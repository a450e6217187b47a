"""A pixel corpus published from AEF-style tiles read remotely (issue 19: tiles from
``http(s)`` or ``s3`` as ``zonal`` reads them): the world's tiles and index served by a real
nginx and a moto S3 server give the same shards as the same tiles on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from terrabit.pixels import publish_pixels
from terrabit.world.aef import write_aef_tiles

from .conftest import S3, Nginx

REGION = (-66.012, 45.25, -65.995, 45.26)  # ~1.3 x 1.1 km across the 19N/20N boundary


@pytest.fixture(scope="module")
def tiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pixels-remote") / "aef"
    write_aef_tiles(root, seed=0, bbox=REGION, years=[2024], tile_px=128, show_progress=False)
    return root


def _shards(corpus: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((corpus / "shards").glob("*.parquet"))}


def test_tiles_over_http_and_s3_pool_to_the_local_corpus(
    tiles: Path, nginx: Nginx, s3_env: S3, tmp_path: Path
) -> None:
    local = publish_pixels(tmp_path / "local", index=tiles / "index.parquet", patch_px=4)
    assert local.patches > 0
    expected = _shards(tmp_path / "local")
    shutil.copytree(tiles, nginx.root / "pixels-aef")
    s3_env.upload(tiles, "pixels-aef")
    for name, index in (
        ("http", f"{nginx.url}/pixels-aef/index.parquet"),
        ("s3", f"s3://{s3_env.bucket}/pixels-aef/index.parquet"),
    ):
        remote = publish_pixels(tmp_path / name, index=index, patch_px=4)
        assert remote.patches == local.patches, name
        assert _shards(tmp_path / name) == expected, name
    tile_gets = [r for r in nginx.requests() if r[0] == "GET" and r[1].endswith(".tiff")]
    assert tile_gets, "the tiles were read from nginx"
