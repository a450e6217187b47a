"""Generate a whole synthetic world into a folder, atomically.

``generate_world(out)`` writes::

    out/patches/part-00000.parquet ...   GeoParquet 1.1, one row per place and year
    out/labelled.npz                     x_train, y_train, x_test, y_test, classes (split by region)
                                         and terrabit_world (the world marker, as in the patches)
    out/aef/ + out/aef/index.parquet     AEF-like int8 COG tiles (``aef=True``)
    out/zones.parquet                    census-block-like polygons over the AEF region

into a temporary folder beside ``out`` that is renamed at the very end, so an interrupted
run leaves nothing that looks complete. Patches stream to disk one row group
(:data:`CHUNK_PLACES` places, two rows each) at a time, so memory stays bounded whatever
``n`` is. The same seed gives byte-identical files.

Examples
--------
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "world"
>>> s = generate_world(out, n=200, dim=64, seed=0, aef=False, progress=False)
>>> s.patches, s.dim, sorted(s.paths)
(200, 64, ['labelled', 'patches'])
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit._atomic import atomic_dir, check_output
from terrabit._progress import progress_bar
from terrabit._validation import check_bbox, check_int_range
from terrabit.errors import InvalidInputError
from terrabit.world.embedding import EmbeddingModel, estimate_intrinsic_dim
from terrabit.world.hardness import binary_recall_at_10, pca_variance
from terrabit.world.labelled import LabelledSampler, block_deg_for, write_npz
from terrabit.world.landcover import CHANGES, CLASSES, YEARS, change_kinds, classify_years
from terrabit.world.patches import (
    WORLD_KEY,
    cell_centres,
    extent,
    geo_metadata,
    patch_schema,
    patch_table,
    sample_cells,
    world_marker,
)

__all__ = ["CHUNK_PLACES", "MIN_ROWS", "PLACES_PER_FILE", "WorldSummary", "generate_world"]

#: Places per row group (two rows each: one per year).
CHUNK_PLACES = 25_000
#: Places per part file (each part file holds at most twice as many rows).
PLACES_PER_FILE = 250_000
#: Fewest rows a world may have: below it the labelled split and the intrinsic-dimension
#: estimate (20 neighbours) have too few samples to mean anything.
MIN_ROWS = 100


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`generate_world` wrote.

    Attributes
    ----------
    patches : int
        Rows in ``patches/`` (places x 2 years).
    dim : int
        Embedding dimension.
    seed : int
        World seed.
    bbox : tuple or None
        The region asked for (``None``: the globe).
    intrinsic_dim : dict
        Estimator name (``mle``, ``twonn``) -> intrinsic dimension of a sample.
    pca_variance : dict
        Components (``"10"``, ``"64"``, ``"128"``) -> share of the variance they keep.
    binary_recall_at_10 : float
        Recall@10 of sign bits against float32 cosine neighbours (held-out queries).
    classes : dict
        Class name -> rows (both years), in :data:`~terrabit.world.landcover.CLASSES` order.
    paths : dict
        Name -> path of each output.
    seconds : float
        Wall time of the run.
    changes : dict
        Change kind (``new_solar``, ``deforestation``, ``urban_growth``) -> places whose
        class changed that way from the first year to the second.
    aef, zones : dict
        What the AEF tile writer and the zones writer reported (empty without ``aef``).
    """

    patches: int
    dim: int
    seed: int
    bbox: tuple[float, float, float, float] | None
    intrinsic_dim: dict[str, float]
    classes: dict[str, int]
    paths: dict[str, str]
    seconds: float
    changes: dict[str, int] = field(default_factory=dict)
    pca_variance: dict[str, float] = field(default_factory=dict)
    binary_recall_at_10: float | None = None
    aef: dict[str, Any] = field(default_factory=dict)
    zones: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``terrabit world --json`` prints).

        Examples
        --------
        >>> s = WorldSummary(2, 64, 0, None, {"mle": 12.0}, {"forest": 2}, {}, 0.1)
        >>> s.to_dict()["patches"]
        2
        """
        out = asdict(self)
        out["bbox"] = list(self.bbox) if self.bbox is not None else None
        return out


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidInputError(f"n must be an integer, got {n!r}", params=("n",))
    if n < MIN_ROWS:
        raise InvalidInputError(
            f"n must be at least {MIN_ROWS}, got {n} (fewer rows leave the labelled "
            "train/test split and the intrinsic-dimension estimate too few samples)",
            params=("n",),
        )
    if n % 2:
        raise InvalidInputError(
            f"n must be even (each place appears once per year, {YEARS[0]} and {YEARS[1]}); "
            f"got {n}, use {n - 1} or {n + 1}",
            params=("n",),
        )
    return n


def generate_world(
    out: str | os.PathLike[str],
    *,
    n: int = 200_000,
    dim: int = 1024,
    seed: int = 0,
    bbox: tuple[float, float, float, float] | None = None,
    overwrite: bool = False,
    aef: bool = True,
    progress: bool | None = None,
) -> WorldSummary:
    """Write a seeded synthetic world into ``out`` (atomically) and summarise it.

    Parameters
    ----------
    out : path
        Output folder; must not exist unless ``overwrite``.
    n : int
        Total patch rows (even, at least :data:`MIN_ROWS`): ``n / 2`` places x 2 years.
    dim : int
        Embedding dimension, 64 to 1024.
    seed : int
        World seed: same seed, same bytes.
    bbox : (minx, miny, maxx, maxy), optional
        Sample places only where the cell centre lies in this box (lon/lat; ``minx >
        maxx`` crosses the antimeridian). It must hold at least ``n / 2`` land cells.
    overwrite : bool
        Replace ``out`` if it exists.
    aef : bool
        Also write the AEF-like tiles (``aef/``) and the zones (``zones.parquet``).
    progress : bool, optional
        Progress bars on stderr (default: only on a terminal).

    Raises
    ------
    InvalidInputError
        Bad ``n`` or ``dim``.
    RegionError
        A bad ``bbox``, or one with too little land.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    t0 = time.perf_counter()
    n = _check_n(n)
    dim = check_int_range("dim", dim, 64, 1024)
    region = None if bbox is None else check_bbox(bbox)
    target = check_output(out, overwrite=overwrite)
    n_places = n // 2
    cells = sample_cells(n_places, seed=seed, bbox=region)
    model = EmbeddingModel(dim, seed=seed)
    sampler = LabelledSampler(n, seed=seed, block_deg=block_deg_for(region))
    counts = np.zeros(len(CLASSES), dtype=np.int64)
    changed = np.zeros(len(CHANGES), dtype=np.int64)
    aef_paths: dict[str, str] = {}
    aef_info: dict[str, Any] = {}
    zones_info: dict[str, Any] = {}
    marker = world_marker(seed=seed, patches=2 * n_places, dim=dim, bbox=region)
    with atomic_dir(target, overwrite=overwrite) as tmp:
        _write_patches(
            tmp / "patches", cells, model, seed, sampler, (counts, changed), progress, marker
        )
        labelled = sampler.finish()
        write_npz(tmp / "labelled.npz", {**labelled, WORLD_KEY: np.array(marker)})
        sample = np.concatenate([labelled["x_train"], labelled["x_test"]])
        intrinsic = estimate_intrinsic_dim(sample, seed=seed)
        pca = pca_variance(sample)
        recall = binary_recall_at_10(sample, queries=min(500, sample.shape[0] // 4), seed=seed)
        if aef:
            aef_paths, aef_info, zones_info = _write_aef(tmp, target, seed, progress)
    paths = {
        "patches": os.fspath(target / "patches"),
        "labelled": os.fspath(target / "labelled.npz"),
    }
    paths.update(aef_paths)
    return WorldSummary(
        patches=2 * n_places,
        dim=dim,
        seed=seed,
        bbox=region,
        intrinsic_dim=intrinsic,
        classes={name: int(c) for name, c in zip(CLASSES, counts, strict=True)},
        paths=paths,
        seconds=round(time.perf_counter() - t0, 3),
        changes={name: int(c) for name, c in zip(CHANGES[1:], changed[1:], strict=True)},
        pca_variance=pca,
        binary_recall_at_10=recall,
        aef=aef_info,
        zones=zones_info,
    )


def _write_patches(
    folder: Path,
    cells: np.ndarray,
    model: EmbeddingModel,
    seed: int,
    sampler: LabelledSampler,
    counts: tuple[np.ndarray, np.ndarray],
    progress: bool | None,
    marker: str,
) -> None:
    """Stream the patch rows into part files, one row group per chunk of places.

    Each file's schema metadata holds the GeoParquet ``geo`` key and the world ``marker``.

    The next chunk is computed while a background thread compresses and writes the
    previous one (pyarrow releases the GIL), so the two cores both work; at most two
    chunks are in memory.
    """
    folder.mkdir()
    labels = np.array(CLASSES)
    n_chunks = -(-cells.size // CHUNK_PLACES)
    chunk_index = 0
    with progress_bar("patches", total=n_chunks, show=progress) as bar:
        for part, first in enumerate(range(0, cells.size, PLACES_PER_FILE)):
            part_cells = cells[first : first + PLACES_PER_FILE]
            schema = patch_schema(model.dim, geo=geo_metadata(extent(part_cells)), world=marker)
            path = folder / f"part-{part:05d}.parquet"
            with (
                pq.ParquetWriter(
                    path,
                    schema,
                    compression="zstd",
                    use_dictionary=["label"],
                    # statistics name leaf columns: the covering's four, not "bbox"
                    write_statistics=[
                        "id",
                        "datetime",
                        "year",
                        "label",
                        "bbox.xmin",
                        "bbox.ymin",
                        "bbox.xmax",
                        "bbox.ymax",
                    ],
                ) as writer,
                ThreadPoolExecutor(max_workers=1) as pool,
            ):
                pending: Future[None] | None = None
                for start in range(0, part_cells.size, CHUNK_PLACES):
                    chunk = part_cells[start : start + CHUNK_PLACES]
                    table = _chunk_table(
                        chunk, chunk_index, model, seed, sampler, counts, labels, schema
                    )
                    chunk_index += 1
                    if pending is not None:
                        pending.result()
                        bar.advance()
                    pending = pool.submit(writer.write_table, table, table.num_rows)
                if pending is not None:
                    pending.result()
                    bar.advance()


def _chunk_table(
    chunk: np.ndarray,
    chunk_index: int,
    model: EmbeddingModel,
    seed: int,
    sampler: LabelledSampler,
    counts: tuple[np.ndarray, np.ndarray],
    labels: np.ndarray,
    schema: pa.Schema,
) -> pa.Table:
    lon, lat = cell_centres(chunk)
    y1, y2 = classify_years(lon, lat, seed=seed)
    # rows ordered by (cell, year): both years of a place are neighbours in the file
    cells2 = np.repeat(chunk, 2)
    lon2, lat2 = np.repeat(lon, 2), np.repeat(lat, 2)
    years2 = np.tile(np.array(YEARS, dtype=np.int16), chunk.size)
    classes2 = np.column_stack([y1, y2]).reshape(-1)
    x = model.embed(classes2, lon2, lat2, noise_seed=chunk_index)
    counts[0][:] += np.bincount(classes2, minlength=len(CLASSES))
    counts[1][:] += np.bincount(change_kinds(y1, y2), minlength=len(CHANGES))
    sampler.offer(cells2, years2, classes2, lon2, lat2, x)
    return patch_table(cells2, years2, labels[classes2], x, seed=seed, schema=schema)


def _write_aef(
    tmp: Path, target: Path, seed: int, progress: bool | None
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """Write the AEF-like tiles and the zones (another module's work) into ``tmp``."""
    from terrabit.world.aef import write_aef_tiles
    from terrabit.world.zones import write_zones

    info = dict(write_aef_tiles(tmp / "aef", seed=seed, show_progress=progress))
    west, south, east, north = (float(v) for v in info["bbox"])
    aef_bbox = (west, south, east, north)
    zones = dict(write_zones(tmp / "zones.parquet", seed=seed, aef_bbox=aef_bbox))

    def final(path: Any) -> str:
        p = Path(path)
        try:
            return os.fspath(target / p.relative_to(tmp))
        except ValueError:
            return os.fspath(p)

    def scalars(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if isinstance(v, int | float | str | list | tuple)}

    paths = {
        "aef": os.fspath(target / "aef"),
        "aef_index": final(info.get("index", tmp / "aef" / "index.parquet")),
        "zones": os.fspath(target / "zones.parquet"),
    }
    aef_info = scalars({k: v for k, v in info.items() if k != "index"})
    zones_info = scalars({k: v for k, v in zones.items() if k != "path"})
    return paths, aef_info, zones_info
