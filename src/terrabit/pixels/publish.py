"""``publish_pixels``: embedding raster tiles -> patches of N x N pixels -> a static corpus.

Two steps, each resumable:

1. **pool** — each tile of the run (a tile index filtered by bbox and year, or raster
   files) is pooled by :func:`~terrabit.pixels.pool.write_pooled_tile` to a GeoParquet
   file of patches in a work folder (beside the output, or under ``work_dir`` for an
   object-store output), written window by window as the tile is read (memory bounded
   per tile, whatever its size), tiles in parallel threads or, with ``engine="dask"``,
   one Dask task per tile.
   A finished tile's file is kept under a name keyed by the tile and the pooling options,
   so an interrupted run pools only the tiles not yet done; a tile with no valid block
   (all nodata, or none reaching ``min_valid``) is skipped and counted.
2. **publish** — :func:`terrabit.corpus.publish` on those files, with ``tile``, ``year``
   and ``zone`` passed through and the ``datetime`` of each tile's year: every codec,
   ``auto``, ``rerank``, ``resume`` and the Dask engine work as for any GeoParquet input.

The work folder is removed once the corpus is written. The manifest's provenance names
the tiles (``sources``), not the patch files, and dates the corpus by the tiles' latest
modification time, so publishing the same tiles again writes the same bytes.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.world.aef import write_aef_tiles
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> info = write_aef_tiles(tmp / "aef", seed=0, bbox=(-66.004, 45.275, -65.998, 45.278),
...                        years=[2023, 2024], tile_px=128)
>>> result = publish_pixels(tmp / "pixels", index=info["index"], patch_px=16)
>>> result.tiles, result.publish.rows == result.patches, result.publish.codec
(4, True, 'binary')
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from terrabit._atomic import atomic_file
from terrabit._cluster import ENGINES, ClusterError, connect, gather
from terrabit._progress import progress_bar
from terrabit._validation import check_bbox, check_choice, check_int_range
from terrabit.corpus import PublishOptions, PublishResult, publish
from terrabit.corpus.sinks import default_work_root, open_sink
from terrabit.corpus.tiles import (
    TileReadError,
    check_tile_source,
    gdal_env,
    read_tile_index,
    read_with_retries,
    tiles_from_rasters,
)
from terrabit.errors import InvalidInputError
from terrabit.pixels.pool import check_pool_options, write_pooled_tile

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["PixelPublishResult", "TileJob", "pool_to_file", "publish_pixels"]

#: Columns of the patch files passed through to the corpus.
PASS_THROUGH = ("tile", "year", "zone")
_POOL_VERSION = 2  # bump when pooling changes: finished tiles of older runs are pooled again


@dataclass(frozen=True)
class TileJob:
    """One tile's pooling: where it is, its year, and the file its patches go to."""

    path: str
    year: int
    target: str
    patch_px: int
    min_valid: float
    raw: bool
    expect: tuple[int, str] | None


@dataclass(frozen=True)
class PixelPublishResult:
    """What :func:`publish_pixels` did (``terrabit publish --tiles … --json``)."""

    publish: PublishResult
    tiles: int
    tiles_resumed: int
    tiles_empty: int
    patches: int
    pixels: int
    valid_pixels: int
    raster_bytes: int
    pool_seconds: float
    patch_px: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the publish result's fields first)."""
        out = self.publish.to_dict()
        out.update({k: v for k, v in dataclasses.asdict(self).items() if k != "publish"})
        return out


def _key(job_path: str, year: int, patch_px: int, min_valid: float, raw: bool) -> str:
    text = json.dumps([_POOL_VERSION, job_path, year, patch_px, float(min_valid), raw])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def pool_to_file(job: TileJob, *, retries: int = 2) -> dict[str, Any]:
    """The map step: pool one tile into its patch file ``job.target`` as it is read
    (:func:`~terrabit.pixels.pool.write_pooled_tile`: renamed once complete), retrying an
    unreadable tile ``retries`` times (from its start).

    Returns the tile's counts (``patches``, ``blocks``, ``pixels``, ``valid_pixels``,
    ``raster_bytes``), also saved beside the file (``.json``) for a resumed run.

    Raises
    ------
    TileReadError
        The tile could not be read after ``retries`` extra attempts (the cause chained).
    """
    counts = read_with_retries(
        job.path,
        lambda: write_pooled_tile(
            job.path,
            job.target,
            patch_px=job.patch_px,
            min_valid=job.min_valid,
            raw=job.raw,
            year=job.year,
            expect=job.expect,
        ),
        retries=retries,
    )
    with atomic_file(Path(job.target).with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(counts))  # last: a tile is finished once its counts are saved
    return counts


def _first_tile(path: str) -> tuple[int, str]:
    """The band count and data type of the run's first tile (its header only)."""
    import rasterio

    try:
        with gdal_env(path), rasterio.open(path) as src:
            return int(src.count), str(src.dtypes[0])
    except rasterio.errors.RasterioIOError as exc:
        raise TileReadError(f"cannot open tile {path!r}: {exc}") from exc


def _work_dir(out: str, work_dir: str | os.PathLike[str] | None) -> Path:
    """Where the patch files go: beside a local output, under ``work_dir`` (default
    ``$TERRABIT_WORK_DIR`` or ``~/.cache/terrabit``) for an object-store one."""
    if "://" in out:
        root = Path(work_dir) if work_dir is not None else default_work_root()
        return root / f"pixels-{hashlib.sha256(out.encode()).hexdigest()[:16]}"
    target = Path(out)
    return target.with_name(f".{target.name}.pixels-work")


def _tiles(
    index: str | os.PathLike[str] | None,
    rasters: Sequence[str | os.PathLike[str]] | None,
    *,
    year: int | None,
    bbox: tuple[float, float, float, float] | None,
) -> pd.DataFrame:
    if index is not None:
        return read_tile_index(index, bbox=bbox, year=year)
    tiles = tiles_from_rasters([os.fspath(r) for r in rasters or ()])
    if year is not None:
        tiles["year"] = int(year)
    return tiles


def _run_local(
    jobs: list[TileJob], workers: int, done: Callable[[TileJob, dict[str, Any]], None]
) -> None:
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(pool_to_file, job): job for job in jobs}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    except BaseException:
        # Ctrl-C or an error: start no further tile; finished ones are kept
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(
    client: Client, jobs: list[TileJob], done: Callable[[TileJob, dict[str, Any]], None]
) -> None:
    """Pool ``jobs`` as Dask tasks (:func:`terrabit._cluster.gather`): a tile that fails
    stops the run, the tiles already pooled staying in the work folder for a rerun."""
    run = uuid.uuid4().hex[:8]  # a rerun's keys never meet a cancelled task of this run
    futures = {
        client.submit(pool_to_file, job, key=f"terrabit-pixels-{Path(job.target).stem}-{run}"): job
        for job in jobs
    }

    def failed(job: TileJob, exc: BaseException) -> ClusterError:
        return ClusterError(
            f"tile {job.path!r} failed on the Dask cluster ({type(exc).__name__}: {exc}); "
            "the tiles already pooled are kept in the work folder, so rerun the same "
            "command to resume"
        )

    gather(client, futures, done=done, failed=failed)


def publish_pixels(
    out: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] | None = None,
    rasters: Sequence[str | os.PathLike[str]] | None = None,
    patch_px: int = 8,
    min_valid: float = 0.5,
    raw: bool = False,
    year: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    workers: int = 4,
    options: PublishOptions | None = None,
    **overrides: Any,
) -> PixelPublishResult:
    """Publish embedding raster tiles as a corpus of ``patch_px`` x ``patch_px`` pixel patches.

    Parameters
    ----------
    out : path or URL
        The corpus to write (as :func:`terrabit.corpus.publish`).
    index : path or URL, optional
        A tile index (:func:`terrabit.corpus.tiles.read_tile_index`); or give ``rasters``.
    rasters : sequence of paths or URLs, optional
        Raster files, used instead of an index.
    patch_px : int
        Block side N in pixels (default 8: 80 m at AEF's 10 m).
    min_valid : float
        Keep a block when at least this fraction of its N x N pixels is valid.
    raw : bool
        Pool other products' stored values (float or int8, nodata from the raster)
        instead of de-quantizing AEF codes.
    year : int, optional
        With ``index``: the tiles of this year only. With ``rasters``: their year (ids and
        ``datetime``); without it, patches have no time.
    bbox : (minx, miny, maxx, maxy), optional
        With ``index``: only tiles meeting this lon/lat box.
    workers : int
        Tiles pooled at once (threads; with ``engine="dask"`` the cluster's workers).
    options : PublishOptions, optional
        Codec, rerank, resume, engine and the other publish settings; ``overrides`` replace
        its fields (``codec="auto"``). The column options are set here (``keep`` adds to
        the pass-through of ``tile``, ``year``, ``zone``).

    Returns
    -------
    PixelPublishResult

    Raises
    ------
    InvalidInputError
        Bad options (before any tile is read), an index without the expected columns,
        tiles of different band counts or data types, a tile without a CRS or with 1-3
        bands, or no patch at all.
    """
    started = time.perf_counter()
    opts = _check(index, rasters, patch_px, min_valid, workers, bbox, options, overrides)
    out_text = os.fspath(out)
    open_sink(out_text, work_dir=opts.work_dir).check(overwrite=opts.overwrite)
    tiles = _tiles(index, rasters, year=year, bbox=bbox)
    work = _work_dir(out_text, opts.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    expect = _first_tile(str(tiles["path"].iloc[0]))
    jobs = []
    for path, tile_year in zip(tiles["path"], tiles["year"], strict=True):
        key = _key(str(path), int(tile_year), patch_px, min_valid, raw)
        stem = Path(str(path).split("?")[0]).stem
        target = work / f"{stem}-{int(tile_year)}-{key}.parquet"
        jobs.append(TileJob(str(path), int(tile_year), str(target), patch_px, min_valid, raw,
                            expect))  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for job in jobs:
        meta = Path(job.target).with_suffix(".json")
        if meta.is_file():
            results[job.target] = json.loads(meta.read_text())
        else:
            todo.append(job)
    resumed = len(results)
    with contextlib.ExitStack() as stack:
        client = None
        if opts.engine == "dask":
            address = opts.scheduler if opts.scheduler is not None else f"local:{workers}"
            client = stack.enter_context(connect(address))
        bar = stack.enter_context(
            progress_bar("pixels: pooling tiles", len(jobs), show=opts.show_progress)
        )
        bar.advance(resumed)

        def done(job: TileJob, counts: dict[str, Any]) -> None:
            results[job.target] = counts
            bar.advance()

        if client is None:
            _run_local(todo, workers, done)
        else:
            _run_dask(client, todo, done)
        pooled_s = time.perf_counter() - started
        files = [job.target for job in jobs if results[job.target]["patches"]]
        if not files:
            raise InvalidInputError(
                f"no patch to publish: none of the {len(jobs)} tile(s) has a block with at "
                f"least min_valid={min_valid} of its pixels valid (all nodata?); check the "
                "tiles, or lower min_valid",
                params=("min_valid",),
            )
        timed = (tiles["year"] >= 0).all()
        pub = dataclasses.replace(
            opts,
            id_col="id",
            geometry_col="geometry",
            embedding_col="embedding",
            time_col="datetime" if timed else None,
            lon_col=None,
            lat_col=None,
            keep=tuple(dict.fromkeys((*PASS_THROUGH, *opts.keep))),
            sources=tuple(str(p) for p in tiles["path"]),
            scheduler=client if client is not None else None,
        )
        result = publish(files, out_text, pub)
    shutil.rmtree(work, ignore_errors=True)
    total = {k: sum(r[k] for r in results.values()) for k in ("patches", "pixels",
             "valid_pixels", "raster_bytes")}  # fmt: skip
    return PixelPublishResult(
        publish=result,
        tiles=len(jobs),
        tiles_resumed=resumed,
        tiles_empty=sum(1 for r in results.values() if not r["patches"]),
        patches=total["patches"],
        pixels=total["pixels"],
        valid_pixels=total["valid_pixels"],
        raster_bytes=total["raster_bytes"],
        pool_seconds=round(pooled_s, 3),
        patch_px=patch_px,
    )


def _check(
    index: Any,
    rasters: Any,
    patch_px: int,
    min_valid: float,
    workers: int,
    bbox: Any,
    options: PublishOptions | None,
    overrides: dict[str, Any],
) -> PublishOptions:
    """Every option of :func:`publish_pixels`, checked before any tile is read."""
    check_tile_source(index, rasters)
    if bbox is not None:
        if index is None:
            raise InvalidInputError(
                "bbox selects tiles of an index; with rasters, pass only the rasters wanted",
                params=("bbox", "rasters"),
            )
        check_bbox(bbox, allow_antimeridian=False)
    check_pool_options(patch_px=patch_px, min_valid=min_valid)
    check_int_range("workers", workers, 1)
    opts = PublishOptions.build(options, **overrides)
    check_choice("engine", opts.engine, ENGINES)
    return opts
