"""Every GeoParquet file terrabit writes passes an independent validator
(``geoparquet-validator``: the OGC abstract tests and the 1.0/1.1 community
specifications), every class: the world's patches, a corpus's shards and manifest (a
GeoParquet file since format 1.6) and a search export."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.search.export import export
from terrabit.search.query import search

validator = pytest.importorskip("geoparquet_validator")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from terrabit.world.generate import generate_world

    root = tmp_path_factory.mktemp("gpq-world")
    generate_world(root / "w", n=2000, dim=64, seed=0, aef=False, progress=False)
    return root / "w"


def _failed(path: Path) -> list[str]:
    return list(validator.failed(validator.check(str(path))))


def test_world_patches_pass_every_class(world: Path) -> None:
    files = sorted((world / "patches").glob("*.parquet"))
    assert files
    for f in files:
        assert _failed(f) == [], f


def test_shards_manifest_and_an_export_pass_every_class(world: Path, tmp_path: Path) -> None:
    publish(world / "patches", tmp_path / "c", keep=["label"], max_rows=600, show_progress=False)
    shards = sorted((tmp_path / "c" / "shards").glob("*.parquet"))
    for f in shards[:6]:
        assert _failed(f) == [], f
    assert _failed(tmp_path / "c" / "manifest.parquet") == []
    with open_corpus(tmp_path / "c") as c:
        first = c.read(None, columns=["id"]).column("id")[0].as_py()
        result = search(c, None, positives=[first], k=20, global_=True)
        out = export(result, tmp_path / "e.parquet", corpus=c, with_codes=True)
    assert _failed(out) == []
