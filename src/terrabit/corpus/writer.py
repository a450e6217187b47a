"""``publish``: float embeddings (GeoParquet) -> a static corpus (``spec/corpus-v1.md``).

Publishing streams with bounded memory, in three steps:

1. **sample and count** — the codec (and the rerank codec) is fitted once on a seeded
   sample of rows drawn from randomly chosen row groups; then a pass over the geometry
   column alone counts rows per precision-5 geohash cell (a dense 2^25 counter) and
   hashes the ids to find duplicates. The adaptive cells are chosen from the counts.
2. **map** — a second pass reads batches of every column, validates them, encodes the
   embeddings and appends each batch's rows to per-cell Arrow part files (buffered up to
   ``buffer_bytes``).
3. **reduce** — each cell's parts are sorted by the 12-character geohash of the row's
   anchor point (then id) and split further while above ``max_rows``; each shard's rows
   are written in (Hilbert key of the anchor, id) order (:mod:`terrabit.hilbert`) as one
   GeoParquet shard; the manifest comes last.

Everything is written inside a temporary sibling folder that replaces the output only on
success, so an interrupted publish leaves the old corpus (or nothing), never a manifest
that lies; the same inputs, options and seed give the same bytes.

Examples
--------
>>> import tempfile, pathlib
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_input(tmp / "in.parquet", rows=300, dims=32, seed=0)
>>> result = publish([tmp / "in.parquet"], tmp / "corpus", max_rows=100)
>>> result.rows, result.shards > 1
(300, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrabit import __version__
from terrabit._progress import progress_bar
from terrabit.codecs import Codec, parse
from terrabit.codecs.auto import CodecChoice, choose
from terrabit.corpus import factors, falsecolour, mapreduce, stac
from terrabit.corpus import format as fmt
from terrabit.corpus._inputs import InputSet, prefetch, string_hashes
from terrabit.corpus.input_files import STREAM_BUFFER, InputPath, URLInput, open_input
from terrabit.corpus.manifest import encode_manifest
from terrabit.corpus.options import AUTO, PublishOptions
from terrabit.corpus.sinks import Sink, open_sink
from terrabit.corpus.staging import Staging
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import bbox_column

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["PublishOptions", "PublishResult", "publish"]

log = logging.getLogger(__name__)

#: Input rows per piece: what one Dask task, or one step of the local map, encodes (a
#: resumed publish re-encodes at most the pieces since the last flush of part files).
PIECE_ROWS = 1 << 17
#: The local map flushes its buffer (and journals the pieces) at least this often.
_FLUSH_SECONDS = 20.0
_WRITE_THREADS = 2


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` wrote (the ``--json`` output of ``terrabit publish``)."""

    rows: int
    shards: int
    bytes: int
    bytes_per_row: float
    seconds: float
    dropped: int
    path: str
    engine: str = "local"
    dask_workers: int = 0  # workers of the Dask cluster when the engine is dask
    resumed: bool = False  # continued an unfinished publish (``resume=True``)
    task_failures: list[str] = dataclasses.field(default_factory=list)  # Dask attempts
    codec: str = ""  # the codec spec written (what ``auto`` chose, when it was asked)
    rerank: str | None = None  # the rerank codec spec written, if any
    codec_choice: dict[str, Any] | None = None  # the measurements behind ``auto``

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- helpers


def _local(path: InputPath | str) -> Path | None:
    """A local file as an absolute path; None for a URL (``URLInput`` or ``scheme://…``)."""
    if isinstance(path, URLInput) or (isinstance(path, str) and "://" in path):
        return None
    return Path(path).absolute()


def _display(paths: Sequence[InputPath | str]) -> list[str]:
    """The inputs as the manifest records them, independent of the working directory and
    of where the inputs lie: local files relative to the parent of their common folder
    (``in.parquet``; ``patches/part-0.parquet`` for a folder's files), URLs as they are. The
    same inputs give the same manifest bytes from any folder."""
    local = [p for p in map(_local, paths) if p is not None]
    base = Path(os.path.commonpath([p.as_posix() for p in local])).parent if local else None
    out = []
    for path in paths:
        where = _local(path)
        if where is None:
            out.append(str(path))
        else:
            assert base is not None
            out.append(where.relative_to(base).as_posix())
    return out


def _created(paths: Sequence[InputPath | str]) -> str:
    """``SOURCE_DATE_EPOCH``, else the latest local input's mtime (URL inputs have none:
    the epoch 0 when every input is a URL), so re-publishing gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    local = [p.stat().st_mtime for p in map(_local, paths) if p is not None]
    stamp = float(epoch) if epoch else max(local, default=0.0)
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------ step 1: sample


def _sample(inputs: InputSet, n_sample: int, seed: int) -> npt.NDArray[np.float32]:
    """A seeded sample of valid embedding rows from randomly chosen row groups.

    Row groups are visited in a seeded random order and the first ``quota`` rows of each
    (``n_sample`` spread over the row groups, at least 1024) are read with a buffered
    stream, which decodes only the pages it needs; a seeded random ``n_sample`` of the
    rows read is kept. Reading costs about the sample's size, not whole row groups.
    """
    rng = np.random.default_rng(seed)
    groups = [(i, g) for i, f in enumerate(inputs.files) for g in range(f.num_row_groups)]
    order = rng.permutation(len(groups))
    quota = max(1024, -(-n_sample // max(len(groups), 1)))
    parts: list[npt.NDArray[np.float32]] = []
    have = 0
    for k in order:
        if have >= n_sample:
            break
        i, g = groups[int(k)]
        reader = pq.ParquetFile(
            open_input(inputs.paths[i]),
            pre_buffer=False,
            buffer_size=STREAM_BUFFER,
            metadata=inputs.files[i].metadata,
        )
        batches = reader.iter_batches(
            batch_size=min(quota, n_sample - have) if have else quota,
            row_groups=[g],
            columns=[inputs.embedding_col, inputs.id_col],
            use_threads=False,
        )
        rb = next(iter(batches), None)
        if rb is None or rb.num_rows == 0:
            continue
        X, invalid, _ = inputs._embedding(inputs.paths[i], rb.column(0), rb.column(1))
        if inputs.packed:  # packed sign bits -> +-1 vectors, which encode back to them
            X = np.unpackbits(np.asarray(X, dtype=np.uint8), axis=1).astype(np.float32) * 2 - 1
        parts.append(X[~invalid])
        have += int((~invalid).sum())
    if not have:
        raise InvalidInputError(
            "no valid embedding to fit the codec on: every sampled row has a null, NaN or "
            "infinite embedding; fix the input"
        )
    X = np.concatenate(parts)
    if len(X) > n_sample:
        X = X[np.sort(rng.choice(len(X), n_sample, replace=False))]
    return X


# ------------------------------------------------------------------------- step 1: count


def _count(
    inputs: InputSet, pieces: Sequence[InputSet], show: bool | None, cache: Path
) -> tuple[npt.NDArray[np.uint32], int]:
    """Rows per precision-5 cell over ``pieces`` (which record their bounds caches) and
    the valid row count; checks the ids of ``inputs`` for duplicates."""
    counts = np.zeros(32**mapreduce.COUNT_PRECISION, dtype=np.uint32)
    id_hashes: list[npt.NDArray[np.uint64]] = []
    total = 0
    with progress_bar("publish: counting", inputs.rows, show=show) as bar:
        for piece in pieces:
            for batch in piece.iter_batches(embeddings=False, extra=False, cache=cache):
                uniq, n = mapreduce.count_batch(batch)
                counts[uniq] += n.astype(np.uint32)
                id_hashes.append(string_hashes(batch.ids))
                total += len(batch.ids)
                bar.advance(len(batch.ids) + batch.dropped)
    hashes = np.concatenate(id_hashes) if id_hashes else np.zeros(0, np.uint64)
    mapreduce.check_duplicates(inputs, hashes)
    return counts, total


# ------------------------------------------------------------------------------ publish


def publish(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    options: PublishOptions | None = None,
    **overrides: Any,
) -> PublishResult:
    """Publish GeoParquet embeddings as a static corpus (``spec/corpus-v1.md``).

    Parameters
    ----------
    inputs : path, glob or folder, or a sequence of them
        GeoParquet files with an id, a WKB geometry (any CRS; reprojected to CRS84) or
        lon/lat columns, and a float embedding (list or fixed-size list) column or
        already-packed binary codes (``fixed_size_binary``/``binary``, MSB first; used as
        they are with ``codec="binary"``).
    out : path or URL
        The corpus to write: a local folder, or an object-store prefix (``s3://``,
        ``gs://``, ``az://``; staged locally, then uploaded with the manifest last). An
        existing corpus is replaced only with ``overwrite``; an existing non-empty folder
        (or prefix) that is not a corpus is refused.
    options : PublishOptions, optional
        The codec, cell, column and engine settings (default: all defaults), checked
        before any input is read.
    **overrides
        Fields of :class:`~terrabit.corpus.options.PublishOptions` replacing those of
        ``options``: ``publish(inputs, out, codec="int8", keep=["label"])``. With
        ``engine="dask"`` the count, the map (one task per input piece) and the reduce
        (one task per cell) run on a Dask cluster (:mod:`terrabit.corpus.distributed`);
        the codec is fitted and the manifest written here. Both engines write the same
        bytes. ``resume=True`` continues the unfinished publish of ``out`` (one that
        failed, was interrupted or killed) from its journal, skipping the count, the
        encoded inputs and the finished cells (:mod:`terrabit.corpus.staging`).

    Returns
    -------
    PublishResult

    Raises
    ------
    InvalidInputError
        Bad or inconsistent options (``params`` names them) or input (the message names
        the rows, columns or files).
    OutputExistsError
        ``out`` exists and ``overwrite`` was not given, or it is not a corpus.
    terrabit._cluster.SchedulerError
        The Dask scheduler cannot be reached (nothing is written).
    terrabit._cluster.ClusterError
        A Dask task failed after its retries (no corpus is written; the finished work
        is kept for ``resume``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from terrabit.corpus._fixture import write_input
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_input(tmp / "in.parquet", rows=50, dims=16, seed=1)
    >>> publish(tmp / "in.parquet", tmp / "c").to_dict()["rows"]
    50
    >>> publish(tmp / "in.parquet", tmp / "c8", PublishOptions(codec="int8")).rows
    50
    """
    started = time.perf_counter()
    opts = PublishOptions.build(options, **overrides)
    sink = open_sink(out, work_dir=opts.work_dir)
    sink.check(overwrite=opts.overwrite)
    with contextlib.ExitStack() as stack:
        client = None
        workers = 0
        if opts.engine == "dask":  # connect first: an unreachable scheduler writes nothing
            from terrabit.corpus import distributed as dist

            stack.enter_context(dist.quiet_logs())
            client = stack.enter_context(dist.connect(opts.scheduler or "local:2"))
            workers = int(dist.describe(client)["dask_workers"])
        result = _publish(inputs, sink, opts, client=client, started=started)
        return dataclasses.replace(result, engine=opts.engine, dask_workers=workers)
    raise AssertionError("unreachable")  # pragma: no cover


def _input_key(source: InputSet) -> list[dict[str, Any]]:
    """What identifies the inputs for a resume: names, row counts and footer sizes, and
    the size and modification time of local files."""
    out = []
    names = _display(source.paths)
    for path, name, pfile in zip(source.paths, names, source.files, strict=True):
        meta = pfile.metadata
        entry: dict[str, Any] = {
            "path": name,
            "rows": meta.num_rows,
            "row_groups": meta.num_row_groups,
            "footer_bytes": meta.serialized_size,
        }
        if isinstance(path, Path):
            stat = path.stat()
            entry["size"] = stat.st_size
            entry["mtime_ns"] = stat.st_mtime_ns
        out.append(entry)
    return out


def _open_inputs(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], options: PublishOptions
) -> InputSet:
    """The inputs, opened and checked against the options (packed codes take no codec of
    their own and nothing to measure; an empty input is refused)."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    source = InputSet(
        items,
        id_col=options.id_col,
        geometry_col=options.geometry_col,
        embedding_col=options.embedding_col,
        time_col=options.time_col,
        keep=options.keep,
        drop_invalid=options.drop_invalid,
        lon_col=options.lon_col,
        lat_col=options.lat_col,
    )
    if source.packed and options.is_auto():
        raise InvalidInputError(
            f"embedding_col={options.embedding_col!r} holds packed binary codes: there are no "
            "float embeddings to measure codecs on, so codec/rerank 'auto' cannot choose; "
            "use codec='binary' and no rerank, or publish float embeddings",
            params=("embedding_col", "codec", "rerank"),
        )
    if source.packed and options.codec != AUTO and factors.has_factors(parse(options.codec)):
        raise InvalidInputError(
            f"embedding_col={options.embedding_col!r} holds packed binary codes, but codec "
            f"{options.codec!r} stores per-row correction factors computed from the float "
            "vectors (the rabitq column); publish float embeddings, or use codec='binary'",
            params=("embedding_col", "codec"),
        )
    if source.packed and not options.is_plain_binary():
        raise InvalidInputError(
            f"embedding_col={options.embedding_col!r} holds packed binary codes, which are "
            f"published as they are: use codec='binary' (not {options.codec!r}) and no rerank, or "
            "publish float embeddings",
            params=("embedding_col", "codec", "rerank"),
        )
    if source.rows == 0:
        raise InvalidInputError(
            f"the input is empty: {len(source.paths)} file(s) with 0 rows; nothing to publish"
        )
    return source


@dataclass(frozen=True)
class _Fitted:
    """What publish fits on the seeded sample, once, before reading the input."""

    codec: Codec
    rerank: Codec | None
    choice: CodecChoice | None  # the measurements behind ``auto``, when it was asked
    false_colour: falsecolour.FalseColour | None  # for a Hamming codec (format 1.5), else None


def _fit_codecs(source: InputSet, options: PublishOptions) -> _Fitted:
    """The codec and rerank codec fitted on the seeded sample, ``auto`` ones chosen on it
    first (:func:`~terrabit.codecs.auto.choose`), the choice when there was one, and for
    a Hamming codec the false colour fitted on the sample's codes
    (:func:`~terrabit.corpus.falsecolour.fit_false_colour`)."""
    codec, rerank = options.codec, options.rerank
    sample = _sample(source, options.sample_rows, options.seed)
    choice = None
    if options.is_auto():
        choice = choose(
            sample,
            rerank=rerank is not None and rerank.startswith(AUTO),
            max_rerank_bytes=options.rerank_budget(),
            seed=options.seed,
            codec=None if codec == AUTO else codec,
        )
        codec = choice.codec
        if rerank is not None and rerank.startswith(AUTO):
            rerank = choice.rerank
        log.info("auto: chose codec %s, rerank %s", codec, rerank)
    fitted = parse(codec).fit(sample)
    fitted_rerank = parse(rerank).fit(sample) if rerank else None
    colour = None
    if fitted.hamming:
        colour = falsecolour.fit_false_colour(fitted.encode(sample), seed=options.seed)
    return _Fitted(fitted, fitted_rerank, choice, colour)


def _publish(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    sink: Sink,
    options: PublishOptions,
    *,
    client: Client | None,
    started: float,
) -> PublishResult:
    """:func:`publish` once its engine is up (``client`` is a ``distributed.Client`` for
    the Dask engine, else None)."""
    source = _open_inputs(inputs, options)
    fits = _fit_codecs(source, options)
    fitted, fitted_rerank, choice = fits.codec, fits.rerank, fits.choice
    shard = fmt.shard_schema(
        fitted.code_size,
        time=source.time_col is not None,
        rerank_code_size=None if fitted_rerank is None else fitted_rerank.code_size,
        rabitq_width=factors.WIDE if factors.has_factors(fitted) else None,
        extra=source.keep_fields,
    )
    job = mapreduce.PublishJob(
        source=source,
        codec=fitted,
        rerank=fitted_rerank,
        part_schema=mapreduce.part_schema(shard),
        max_rows=options.max_rows,
        row_group_rows=options.row_group_rows,
        buffer_bytes=options.buffer_bytes,
        show_progress=options.show_progress,
    )
    key = {
        "format_version": fmt.FORMAT_VERSION,
        "terrabit_version": __version__,
        "output": sink.display,
        "inputs": _input_key(source),
        "options": options.canonical(),
    }
    with Staging.begin(sink.staging_dir(), key, resume=options.resume) as staging:
        job.staging = staging
        try:
            if staging.load_json("plan") is None and staging.resumed:
                staging.clear()  # stopped while counting: nothing to keep
                staging.save_json("key", key)
            (staging.root / fmt.SHARDS_DIR).mkdir(exist_ok=True)
            if client is None:
                rows_out, dropped = _run_local(job)
            else:
                from terrabit.corpus import distributed as dist

                rows_out, dropped = dist.run_publish(client, job)
            _write_manifest(
                staging.root,
                rows_out,
                source,
                codec=fitted,
                rerank=fitted_rerank,
                columns=shard.names,
                max_rows=options.max_rows,
                row_group_rows=options.row_group_rows,
                seed=options.seed,
                sample_rows=options.sample_rows,
                dropped=dropped,
                codec_choice=None if choice is None else choice.report,
                false_colour=fits.false_colour,
                name=options.name or sink.name,
                sources=options.sources,
            )
            sink.finish(staging, rows_out, show=options.show_progress)
        except BaseException as exc:
            plan = staging.load_json("plan")
            if plan is None or isinstance(exc, InvalidInputError):  # nothing to resume
                staging.remove()
            else:
                done = len(staging.names("cell-"))
                log.warning(
                    "publish of %s stopped with %d of %d cells finished; the work is kept in "
                    "%s: rerun the same command with --resume to continue",
                    sink.display,
                    done,
                    len(plan["cells"]),
                    staging.root,
                )
            raise
    total_rows = sum(r["rows"] for r in rows_out)
    total_bytes = sum(r["bytes"] for r in rows_out)
    seconds = time.perf_counter() - started
    return PublishResult(
        rows=total_rows,
        shards=len(rows_out),
        bytes=total_bytes,
        bytes_per_row=round(total_bytes / max(total_rows, 1), 2),
        seconds=round(seconds, 3),
        dropped=dropped,
        path=sink.display,
        resumed=staging.resumed,
        task_failures=list(job.retried),
        codec=fitted.spec,
        rerank=None if fitted_rerank is None else fitted_rerank.spec,
        codec_choice=None if choice is None else choice.report,
    )


def _run_local(job: mapreduce.PublishJob) -> tuple[list[dict[str, Any]], int]:
    """Count, map and reduce in this process, skipping what a resumed run finished; the
    manifest rows (in cell order) and the number of dropped rows.

    The map reads the input piece by piece (as the Dask engine's tasks do) into one
    buffer, flushed to part files only between pieces — when it holds ``buffer_bytes``,
    or :data:`_FLUSH_SECONDS` after the last flush; each flush records its pieces in the
    journal (``map-<piece>``, the files under the group's last piece), so a resumed run
    encodes only the pieces no flush recorded (at most about that long of work).
    """
    source, work = job.source, job.work
    pieces = [piece for _, piece in source.pieces(PIECE_ROWS)]

    def count() -> list[tuple[str, int, int]]:
        counts, counted = _count(source, pieces, job.show_progress, work)
        if counted == 0:
            raise InvalidInputError("every input row was dropped as invalid; nothing to publish")
        return mapreduce.choose_cells(counts, job.max_rows)

    cells = job.cells(count)
    starts = np.array([c[1] for c in cells], dtype=np.int64)
    files, dropped, todo = job.mapped(len(pieces))
    with progress_bar("publish: encoding", source.rows, show=job.show_progress) as bar:
        skipped = source.rows - sum(pieces[i].rows for i in todo)
        if skipped:
            bar.advance(skipped)

        def batches() -> Any:
            for i in todo:
                read = pieces[i].iter_batches(embeddings=True, extra=True, cache=work)
                yield from ((i, b) for b in read)
                yield i, None  # the end of piece i

        group: list[tuple[int, int, bool]] = []  # (piece, dropped, factors fit float16)
        flushed = time.monotonic()
        parts: mapreduce.PartFiles | None = None
        lost, fits = 0, True
        for i, batch in prefetch(batches(), depth=2):
            if parts is None:  # a new group of pieces: a clean folder of its own
                parts = mapreduce.PartFiles(
                    work / f"local-{i:06d}", job.part_schema, 0, auto_flush=False
                )
                shutil.rmtree(parts.root, ignore_errors=True)
                parts.root.mkdir()
            if batch is not None:
                lost += batch.dropped
                bar.advance(len(batch.ids) + batch.dropped)
                if len(batch.ids):
                    fits &= mapreduce.route(batch, parts, starts, codec=job.codec,
                                            rerank=job.rerank, packed=source.packed)  # fmt: skip
                continue
            group.append((i, lost, fits))
            dropped, lost, fits = dropped + lost, 0, True
            stale = time.monotonic() - flushed >= _FLUSH_SECONDS
            if parts.buffered >= job.buffer_bytes or stale or i == todo[-1]:
                written = parts.flush()
                for k, (piece, gone, f16) in enumerate(group):
                    last = k == len(group) - 1
                    job.record_map(piece, written if last else {}, gone, factors_f16=f16)
                for cell, paths in written.items():
                    files.setdefault(cell, []).extend(paths)
                group, parts, flushed = [], None, time.monotonic()

    written_cells, todo_cells = job.skip_finished(range(len(cells)), files)
    rabitq_width = job.rabitq_width(len(pieces))

    def reduce(i: int) -> list[dict[str, Any]]:
        rows = mapreduce.reduce_cell(
            mapreduce.read_parts(files.get(i, []), job.part_schema),
            cells[i][0],
            job.root,
            codec=job.codec,
            max_rows=job.max_rows,
            row_group_rows=job.row_group_rows,
            keep=source.keep,
            rabitq_width=rabitq_width,
        )
        job.finish_cell(i, rows)
        mapreduce.remove_parts(files.get(i, []))
        return rows

    # two cells at a time: Parquet encoding and ZSTD release the GIL
    with (
        progress_bar("publish: writing shards", len(cells), show=job.show_progress) as bar,
        ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool,
    ):
        if written_cells:
            bar.advance(len(written_cells))
        for i, rows in zip(todo_cells, pool.map(reduce, todo_cells), strict=True):
            written_cells[i] = rows
            bar.advance()
    return [row for i in sorted(written_cells) for row in written_cells[i]], dropped


def _write_manifest(
    tmp: Path,
    rows_out: list[dict[str, Any]],
    source: InputSet,
    *,
    codec: Codec,
    rerank: Codec | None,
    columns: list[str],
    max_rows: int,
    row_group_rows: int,
    seed: int,
    sample_rows: int,
    dropped: int,
    codec_choice: dict[str, Any] | None = None,
    false_colour: falsecolour.FalseColour | None = None,
    name: str,
    sources: Sequence[str] = (),
) -> None:
    """Write ``collection.json`` (:mod:`terrabit.corpus.stac`, its id ``name``), then
    ``manifest.parquet`` (under a temporary name, then renamed): the last file. Its
    provenance names ``sources`` when given (what the inputs were made from), else the
    inputs."""
    origins: Sequence[InputPath | str] = sources or source.paths
    total_rows = sum(r["rows"] for r in rows_out)
    total_bytes = sum(r["bytes"] for r in rows_out)
    manifest = _with_footprints(
        pa.Table.from_pylist(rows_out, schema=fmt.manifest_schema()).sort_by("geohash")
    )
    tmins = [r["tmin"] for r in rows_out if r["tmin"] is not None]
    tmaxs = [r["tmax"] for r in rows_out if r["tmax"] is not None]
    meta = {
        "format_version": fmt.FORMAT_VERSION,
        "codec": codec.to_dict(),
        "rerank_codec": None if rerank is None else rerank.to_dict(),
        "dims": int(codec.d_in),
        "code_size": int(codec.code_size),
        "rerank_code_size": None if rerank is None else rerank.code_size,
        "rows": total_rows,
        "shards": len(rows_out),
        "bytes": total_bytes,
        "bbox": [
            min(r["xmin"] for r in rows_out),
            min(r["ymin"] for r in rows_out),
            max(r["xmax"] for r in rows_out),
            max(r["ymax"] for r in rows_out),
        ],
        "tmin": min(tmins).isoformat() if tmins else None,
        "tmax": max(tmaxs).isoformat() if tmaxs else None,
        "columns": columns,
        "max_rows": max_rows,
        "row_group_rows": row_group_rows,
        "checksum_algorithm": fmt.CHECKSUM_ALGORITHM,
        "provenance": {
            "inputs": _display(origins),
            "created": _created(origins),
            "terrabit_version": __version__,
            "seed": seed,
            "sample_rows": sample_rows,
            "dropped_rows": dropped,
        },
    }
    if codec_choice is not None:  # only for codec/rerank "auto": other corpora unchanged
        meta["codec_choice"] = codec_choice
    if false_colour is not None:  # Hamming codecs (format 1.5)
        meta[falsecolour.KEY] = false_colour.to_dict()
    model = stac.input_model(f.schema_arrow.metadata for f in source.files)
    stac.write_collection(tmp, meta, name=name, model=model)
    mtmp = tmp / f".{fmt.MANIFEST_NAME}.tmp"
    mtmp.write_bytes(encode_manifest(manifest, meta))  # sealed with its own digest (1.6)
    os.replace(mtmp, tmp / fmt.MANIFEST_NAME)


def _with_footprints(manifest: pa.Table) -> pa.Table:
    """The manifest with each shard's extent as a WKB polygon (``geometry``) and its
    ``bbox`` covering (format 1.6: the manifest is GeoParquet, its coverage a map layer)."""
    box = np.column_stack(
        [manifest.column(k).to_numpy().astype(np.float64) for k in fmt.BBOX_FIELDS]
    ).reshape(-1, 4)
    polygons = shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3], ccw=True)
    manifest = manifest.set_column(
        manifest.schema.get_field_index("geometry"),
        manifest.schema.field("geometry"),
        pa.array(shapely.to_wkb(polygons), pa.binary()),
    )
    return manifest.set_column(
        manifest.schema.get_field_index("bbox"),
        manifest.schema.field("bbox"),
        bbox_column(box),
    )
