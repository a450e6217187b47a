"""Publishing pixel corpora: codes in the corpus against an independent recomputation, a
search and the change view over the annual layers, resume, the Python API and the CLI, and
one-line errors for bad tiles."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit._cluster import ClusterError
from terrabit.cli.main import cli
from terrabit.corpus import open as open_corpus
from terrabit.errors import InvalidInputError
from terrabit.pixels import publish as pixels_publish
from terrabit.pixels import publish_pixels
from terrabit.search import search

from ..conftest import digest_tree
from .conftest import aef_codes, write_raster
from .test_pool import oracle_tile


@pytest.fixture(scope="module")
def corpus(aef: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pixels-corpus") / "pixels"
    publish_pixels(out, index=aef["index"], patch_px=8, show_progress=False)
    return out


def test_the_corpus_holds_the_sign_bits_of_independently_pooled_vectors(
    aef: dict[str, Any], corpus: Path
) -> None:
    table = open_corpus(corpus).read(columns=["id", "embedding", "tile", "year", "zone"])
    codes = dict(zip(table["id"].to_pylist(), table["embedding"].to_pylist(), strict=True))
    index = pq.read_table(aef["index"]).to_pandas()
    rng = np.random.default_rng(0)
    checked, zones = 0, set()
    for rel, year, zone in zip(index["path"], index["year"], index["utm_zone"], strict=True):
        expected = oracle_tile(str(Path(aef["index"]).parent / rel), 8, 0.5)
        keys = sorted(expected)
        # every nodata block, and a seeded sample of the others
        sample = [k for k in keys if expected[k][2]]
        sample += [keys[i] for i in rng.choice(len(keys), min(20, len(keys)), replace=False)]
        for r, c in sample:
            west, north = _corner(expected, r, c, zone)
            row = [i for i in codes if i.startswith(f"{zone}_") and i.endswith(f"-{r}-{c}-{year}")]
            match = [i for i in row if i.split("-")[0] == f"{zone}_{west}_{north}"]
            assert len(match) == 1
            want = np.packbits(expected[(r, c)][0] > 0).tobytes()
            assert codes[match[0]] == want
            checked += 1
        zones.add(zone)
    assert zones == {"19N", "20N"} and checked > 100
    assert set(table["year"].to_pylist()) == {2023, 2024}


def _corner(expected: dict[Any, Any], r: int, c: int, zone: str) -> tuple[int, int]:
    """The tile's north-west corner (UTM metres, 1280 m tiles) from a block's footprint."""
    from pyproj import Transformer

    epsg = 32600 + int(zone[:-1])
    lon, lat = expected[(r, c)][1][3]  # the block's north-west corner
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return int(round((x - c * 80) / 1280) * 1280), int(round((y + r * 80) / 1280) * 1280)


def test_a_search_and_the_change_view_pair_the_annual_layers_of_each_block(
    corpus: Path,
) -> None:
    c = open_corpus(corpus)
    table = c.read(columns=["id", "embedding"])
    ids = table["id"].to_pylist()
    codes = np.frombuffer(b"".join(table["embedding"].to_pylist()), np.uint8).reshape(len(ids), 8)
    exemplar = sorted(i for i in ids if i.endswith("-2024"))[len(ids) // 4]
    found = search(c, None, positives=[exemplar], year=2024, k=5)
    # the Hamming distances to the exemplar, brute force over the 2024 rows
    bits = np.unpackbits(codes, axis=1)
    dist = (bits != bits[ids.index(exemplar)]).sum(axis=1)
    in_2024 = np.array([i.endswith("-2024") for i in ids])
    fifth = np.sort(dist[in_2024])[4]
    got = [dist[ids.index(i)] for i in found.table["id"].to_pylist()]
    assert len(got) >= 5 and max(got) <= fifth
    change = search(c, None, view="change", k=10_000)
    later = change.table["id"].to_pylist()
    earlier = change.table["earlier"].to_pylist()
    both = {i.rsplit("-", 1)[0] for i in ids if i.endswith("-2023")} & {
        i.rsplit("-", 1)[0] for i in ids if i.endswith("-2024")
    }
    assert len(later) == len(both)  # every block with both years is one place
    pairs = zip(earlier, later, strict=True)
    assert all(a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0] for a, b in pairs)


def test_an_interrupted_publish_resumes_the_pooled_tiles_and_writes_the_same_bytes(
    aef: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: Path
) -> None:
    out = tmp_path / "pixels"

    def stop(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(pixels_publish, "publish", stop)
        with pytest.raises(KeyboardInterrupt):
            publish_pixels(out, index=aef["index"], patch_px=8)
    result = publish_pixels(out, index=aef["index"], patch_px=8)
    assert result.tiles_resumed == result.tiles == len(pd.read_parquet(aef["index"]))
    assert not (tmp_path / ".pixels.pixels-work").exists()  # removed once written
    assert (out / "manifest.parquet").read_bytes() == (corpus / "manifest.parquet").read_bytes()


def test_the_provenance_names_the_tiles_not_the_patch_files(
    aef: dict[str, Any], corpus: Path
) -> None:
    meta = json.loads(pq.read_schema(corpus / "manifest.parquet").metadata[b"terrabit"])
    root = Path(aef["index"]).parent  # the folder of every tile: inputs are relative to its parent
    index = pq.read_table(aef["index"]).to_pandas()
    assert sorted(meta["provenance"]["inputs"]) == sorted(f"{root.name}/{p}" for p in index["path"])
    latest = max((root / p).stat().st_mtime for p in index["path"])
    created = datetime.fromisoformat(meta["provenance"]["created"].replace("Z", "+00:00"))
    assert created.timestamp() == pytest.approx(latest, abs=1e-3)


def test_the_dask_engine_writes_the_bytes_of_the_local_engine(
    aef: dict[str, Any], corpus: Path, dask_client: Any, tmp_path: Path
) -> None:
    out = tmp_path / "pixels"  # the same name: the id of collection.json
    result = publish_pixels(
        out, index=aef["index"], patch_px=8, engine="dask", scheduler=dask_client,
        show_progress=False,
    )  # fmt: skip
    assert (result.publish.engine, result.publish.dask_workers) == ("dask", 2)
    assert result.tiles == len(pd.read_parquet(aef["index"]))
    assert digest_tree(out) == digest_tree(corpus)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pixels"]  # no work folder left


def test_a_tile_failing_on_dask_stops_the_run_and_a_rerun_resumes(
    aef: dict[str, Any],
    corpus: Path,
    dask_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A task failing on the cluster is one ClusterError naming its tile (not the task's
    raw exception); the tiles already pooled stay for the rerun, whose corpus is the
    local engine's."""
    out = tmp_path / "pixels"
    broken = sorted(pd.read_parquet(aef["index"])["path"])[0]
    real = pixels_publish.write_pooled_tile

    def flaky(path: str, *args: Any, **kwargs: Any) -> Any:
        if path.endswith(broken):
            raise MemoryError("simulated out of memory")
        return real(path, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(pixels_publish, "write_pooled_tile", flaky)
        with pytest.raises(
            ClusterError,
            match=rf"tile '[^']*{broken}' failed on the Dask cluster \(MemoryError: simulated "
            r"out of memory\); .* rerun the same command to resume",
        ):
            publish_pixels(out, index=aef["index"], patch_px=8, engine="dask",
                           scheduler=dask_client, show_progress=False)  # fmt: skip
    result = publish_pixels(out, index=aef["index"], patch_px=8, engine="dask",
                            scheduler=dask_client, show_progress=False)  # fmt: skip
    assert result.tiles == len(pd.read_parquet(aef["index"]))
    assert digest_tree(out) == digest_tree(corpus)


def test_codec_auto_rerank_and_pass_through_reach_the_corpus(
    aef: dict[str, Any], tmp_path: Path
) -> None:
    result = publish_pixels(
        tmp_path / "c", index=aef["index"], patch_px=16, year=2024, codec="auto", rerank="int8"
    )
    assert result.publish.codec_choice is not None and result.publish.rerank == "int8"
    c = open_corpus(tmp_path / "c")
    assert {"tile", "year", "zone", "rerank", "datetime"} <= set(c.columns)


def test_an_all_nodata_tile_is_skipped_and_counted(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    good = write_raster(tmp_path / "a.tif", aef_codes(rng, 16, 16))
    empty = write_raster(
        tmp_path / "b.tif", np.full((64, 16, 16), -128, np.int8), origin=(600_000.0, 5e6)
    )
    result = publish_pixels(tmp_path / "c", rasters=[good, empty], patch_px=8, year=2024)
    assert (result.tiles, result.tiles_empty, result.patches) == (2, 1, 4)
    with pytest.raises(InvalidInputError, match="no patch to publish: none of the 1 tile"):
        publish_pixels(tmp_path / "d", rasters=[empty], patch_px=8)


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (np.zeros((32, 8, 8), np.int8), "has 32 bands of int8, but the run's first tile has 64"),
        (np.zeros((64, 8, 8), np.int16), "holds int16 values, not AEF's int8 codes"),
    ],
)
def test_tiles_of_another_band_count_or_data_type_are_refused(
    tmp_path: Path, second: np.ndarray, message: str
) -> None:
    first = write_raster(tmp_path / "a.tif", aef_codes(np.random.default_rng(5), 8, 8))
    other = write_raster(tmp_path / "b.tif", second, origin=(600_000.0, 5e6))
    with pytest.raises(InvalidInputError, match=message):
        publish_pixels(tmp_path / "c", rasters=[first, other], patch_px=4)


def test_an_index_without_the_expected_columns_is_refused(tmp_path: Path) -> None:
    index = tmp_path / "index.csv"
    pd.DataFrame({"file": ["a.tif"], "crs": ["EPSG:32619"]}).to_csv(index, index=False)
    with pytest.raises(InvalidInputError, match=r"lacks the column 'path'"):
        publish_pixels(tmp_path / "c", index=index)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_px": 0}, "patch_px"),
        ({"min_valid": 2.0}, "min_valid must be a fraction in"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_options_are_refused_before_any_tile_is_read(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        publish_pixels(tmp_path / "c", index=tmp_path / "missing.parquet", **kwargs)


def test_the_cli_publishes_tiles_and_prints_json(aef: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "c"
    args = ["publish", "--tiles", aef["index"], "--patch-px", "16", "--year", "2023"]
    run = CliRunner().invoke(cli, [*args, "-o", str(out), "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["rows"] == data["patches"] > 0 and data["patch_px"] == 16
    assert data["tiles"] == len(pd.read_parquet(aef["index"]).query("year == 2023"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["in.parquet", "--tiles", "i.parquet"], "one of the three"),
        ([], "one of the three"),
        (["in.parquet", "--patch-px", "4"], "--patch-px applies only to --tiles or --raster"),
        (["--tiles", "i.parquet", "--keep", "x"], "--keep applies only to GeoParquet INPUT"),
    ],
)
def test_the_cli_refuses_mixed_inputs_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    run = CliRunner().invoke(cli, ["publish", *args, "-o", str(tmp_path / "c")])
    assert run.exit_code == 2 and message in run.output
