"""``--engine dask``: identical to the local engine, faults retried, clear errors."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from terrabit import _cluster as cluster
from terrabit.cli.main import cli
from terrabit.corpus import tiles as tile_index
from terrabit.errors import InvalidInputError, MissingDependencyError
from terrabit.zonal import engine
from terrabit.zonal.engine import TileReadError, zonal_stats

from .conftest import REGION, YEAR

distributed = pytest.importorskip("distributed")

STATS = ["mean", "std", "min", "max"]


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    """Seeded boxes over the region (many cross tiles), one crossing the UTM zones at 66°W."""
    rng = np.random.default_rng(7)
    w, s, e, n = REGION
    x = w + rng.random(14) * (e - w - 0.004)
    y = s + rng.random(14) * (n - s - 0.003)
    boxes = [
        shapely.box(a, b, a + 0.001 + 0.003 * r, b + 0.002 * r + 0.0004)
        for a, b, r in zip(x, y, rng.random(14), strict=True)
    ]
    zone = shapely.Polygon([(-66.003, 45.255), (-65.996, 45.2555), (-65.997, 45.2585)])
    geoms = [*boxes, zone]
    return gpd.GeoDataFrame({"gid": np.arange(len(geoms))}, geometry=geoms, crs="EPSG:4326")


@pytest.fixture(scope="module")
def local_result(aef: dict[str, Any], polygons: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table, _ = zonal_stats(
        polygons, index=aef["index"], year=YEAR, stats=STATS, workers=2, show_progress=False
    )
    return table


def _frame(table: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(table.drop(columns="geometry"))


def test_identical_to_local_engine(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, dask_client: Any, local_result: Any
) -> None:
    table, summary = zonal_stats(
        polygons,
        index=aef["index"],
        year=YEAR,
        stats=STATS,
        engine="dask",
        scheduler=dask_client,
        show_progress=False,
    )
    assert summary["engine"] == "dask" and summary["dask_workers"] == 2
    assert summary["tiles"] >= 5 and summary["polygons_with_data"] > len(polygons) // 2
    # bit for bit: the same partial sums, merged in the same order
    pd.testing.assert_frame_equal(_frame(table), _frame(local_result), check_exact=True)
    assert table.geometry.geom_equals_exact(local_result.geometry, tolerance=0).all()
    # and by its address, as the CLI connects
    again, _ = zonal_stats(
        polygons.iloc[:5],
        index=aef["index"],
        year=YEAR,
        stats=STATS,
        engine="dask",
        scheduler=dask_client.scheduler.address,
        show_progress=False,
    )
    pd.testing.assert_frame_equal(_frame(again), _frame(local_result).iloc[:5], check_exact=True)


def test_failed_task_is_retried_by_dask(
    aef: dict[str, Any],
    polygons: gpd.GeoDataFrame,
    dask_client: Any,
    local_result: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = engine._tile_partials
    lock = threading.Lock()
    calls: dict[str, int] = {}

    def crashing(path: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[path] = calls.get(path, 0) + 1
            first = calls[path] == 1
        if first:  # every tile's first attempt dies (not a read error: Dask retries it)
            raise MemoryError("simulated worker failure")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "_tile_partials", crashing)
    table, summary = zonal_stats(
        polygons,
        index=aef["index"],
        year=YEAR,
        stats=STATS,
        engine="dask",
        scheduler=dask_client,
        show_progress=False,
    )
    assert len(calls) == summary["tiles"] and set(calls.values()) == {2}
    pd.testing.assert_frame_equal(_frame(table), _frame(local_result), check_exact=True)


def test_task_failing_every_retry_stops_the_run(
    aef: dict[str, Any],
    polygons: gpd.GeoDataFrame,
    dask_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def broken(path: str, *args: Any, **kwargs: Any) -> Any:
        raise MemoryError("simulated out of memory")

    monkeypatch.setattr(engine, "_tile_partials", broken)
    with pytest.raises(
        cluster.ClusterError,
        match=r"failed on the Dask cluster after 2 attempts \(MemoryError: simulated out of "
        r"memory\).*rerun the same command to resume",
    ):
        zonal_stats(
            polygons,
            index=aef["index"],
            year=YEAR,
            retries=1,
            engine="dask",
            scheduler=dask_client,
            work_dir=tmp_path / "work",
            show_progress=False,
        )


def test_unreadable_tile_reported_by_path(
    aef: dict[str, Any],
    polygons: gpd.GeoDataFrame,
    dask_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open = engine._open

    def flaky(path: str) -> Any:
        if path.endswith("0000000128-0000000128.tiff") and "19N" in path:
            raise OSError("simulated network failure")
        return real_open(path)

    monkeypatch.setattr(engine, "_open", flaky)
    monkeypatch.setattr(tile_index, "RETRY_SLEEP_S", 0.0)
    with pytest.raises(
        TileReadError,
        match=r"1 tile\(s\) could not be read after 3 attempts: .*19N.*0000000128-0000000128"
        r"\.tiff \(simulated network failure\)",
    ):
        zonal_stats(
            polygons,
            index=aef["index"],
            year=YEAR,
            engine="dask",
            scheduler=dask_client,
            show_progress=False,
        )


def test_resumes_local_work_on_dask(
    aef: dict[str, Any],
    polygons: gpd.GeoDataFrame,
    dask_client: Any,
    local_result: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    real = engine._tile_partials
    started: list[str] = []

    def interrupted(path: str, *args: Any, **kwargs: Any) -> Any:
        if started:
            raise KeyboardInterrupt
        started.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "_tile_partials", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zonal_stats(
            polygons,
            index=aef["index"],
            year=YEAR,
            stats=STATS,
            workers=1,
            work_dir=work,
            show_progress=False,
        )
    monkeypatch.setattr(engine, "_tile_partials", real)
    table, summary = zonal_stats(
        polygons,
        index=aef["index"],
        year=YEAR,
        stats=STATS,
        engine="dask",
        scheduler=dask_client,
        work_dir=work,
        show_progress=False,
    )
    assert summary["tiles_resumed"] == 1
    pd.testing.assert_frame_equal(_frame(table), _frame(local_result), check_exact=True)


class _KillOnce(distributed.WorkerPlugin):  # type: ignore[misc]
    """Kills its worker process when the first zonal task starts executing (once per run)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or "terrabit-zonal-" not in str(key):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        os._exit(1)


@pytest.mark.slow
def test_killed_worker_process_is_replaced_and_output_identical(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, local_result: Any, tmp_path: Path
) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as lc,
        distributed.Client(lc) as c,
    ):
        c.register_plugin(_KillOnce(str(marker)))
        table, summary = zonal_stats(
            polygons,
            index=aef["index"],
            year=YEAR,
            stats=STATS,
            engine="dask",
            scheduler=c,
            show_progress=False,
        )
    assert marker.exists()  # a worker really died mid-run
    assert summary["dask_workers"] >= 1
    pd.testing.assert_frame_equal(_frame(table), _frame(local_result), check_exact=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory, polygons: gpd.GeoDataFrame) -> Path:
    path = tmp_path_factory.mktemp("dask_blocks") / "blocks.parquet"
    polygons.to_parquet(path)
    return path


def _stats(*args: str) -> Any:
    return CliRunner().invoke(cli, ["zonal", "stats", *args])


def test_cli_dask_output_identical_to_local(
    aef: dict[str, Any], blocks: Path, dask_client: Any, tmp_path: Path
) -> None:
    common = [str(blocks), "--index", aef["index"], "--year", str(YEAR), "--json"]
    res = _stats(*common, "-o", str(tmp_path / "local.parquet"))
    assert res.exit_code == 0, res.output
    res = _stats(
        *common,
        "-o",
        str(tmp_path / "dask.parquet"),
        "--engine",
        "dask",
        "--scheduler",
        dask_client.scheduler.address,
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["engine"] == "dask" and summary["scheduler"] == dask_client.scheduler.address
    assert pq.read_table(tmp_path / "dask.parquet").equals(
        pq.read_table(tmp_path / "local.parquet")
    )


def test_cli_unreachable_scheduler_writes_nothing(
    aef: dict[str, Any], blocks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 0.5)
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "f.parquet"
    res = _stats(
        str(blocks),
        "--index",
        aef["index"],
        "-o",
        str(out),
        "--engine",
        "dask",
        "--scheduler",
        address,
    )
    assert res.exit_code == 1
    assert f"cannot reach the Dask scheduler at '{address}' within 0.5 s" in res.stderr
    assert "--scheduler local:N" in res.stderr
    assert list(tmp_path.iterdir()) == []  # no output, no work folder


def test_cli_scheduler_needs_dask_engine(aef: dict[str, Any], blocks: Path, tmp_path: Path) -> None:
    res = _stats(
        str(blocks),
        "--index",
        aef["index"],
        "-o",
        str(tmp_path / "f.parquet"),
        "--scheduler",
        "local:2",
    )
    assert res.exit_code == 1 and "--scheduler needs --engine dask" in res.stderr
    res = _stats(
        str(blocks),
        "--index",
        aef["index"],
        "-o",
        str(tmp_path / "f.parquet"),
        "--engine",
        "dask",
        "--scheduler",
        "local:zero",
    )
    assert res.exit_code == 1 and "--scheduler 'local:zero' is not understood" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_distributed_names_the_extra(
    aef: dict[str, Any], polygons: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'terrabit\[dask\]'"):
        zonal_stats(polygons, index=aef["index"], engine="dask", show_progress=False)


def test_bad_engine_and_scheduler_values(polygons: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidInputError, match="engine"):
        zonal_stats(polygons, rasters=["x.tif"], engine="spark", show_progress=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="pass engine='dask'"):
        zonal_stats(polygons, rasters=["x.tif"], scheduler="local:2", show_progress=False)
    with pytest.raises(InvalidInputError, match="N >= 1"):
        cluster.parse_scheduler("local:0")
    assert cluster.parse_scheduler("localhost:8786") == (None, "localhost:8786")
    with pytest.raises(InvalidInputError, match=r"distributed\.Client"), cluster.connect(42):
        pass
