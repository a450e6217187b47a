"""The options of :func:`~terrabit.corpus.publish`, validated before any input is read.

:class:`PublishOptions` is a frozen dataclass: building one checks everything that can
be checked without opening an input (the codec and rerank spec strings parse, the
integers are in range, the engine is known and a scheduler comes only with the Dask
engine, the column names are names and the passed-through columns do not clash with the
corpus's own), so a bad option fails at once, naming the parameter (``max_rows``), not
after minutes of sampling. Its :meth:`~PublishOptions.canonical` form, the options that
decide the corpus's bytes, is what a resumed publish must match.

Examples
--------
>>> opts = PublishOptions(codec="binary", max_rows=100, keep=["label"])
>>> opts.keep, opts.canonical()["max_rows"]
(('label',), 100)
>>> PublishOptions(max_rows=0)
Traceback (most recent call last):
...
terrabit.errors.InvalidInputError: max_rows must be at least 1, got 0
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from terrabit._cluster import ENGINES, Engine
from terrabit._validation import check_choice, check_int_range
from terrabit.codecs import parse
from terrabit.corpus import format as fmt
from terrabit.errors import InvalidInputError, SpecError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["AUTO", "PublishOptions"]

AUTO = "auto"
"""``codec``/``rerank`` value chosen by measurement on the seeded sample
(:func:`terrabit.codecs.auto.choose`); ``rerank="auto:max-bytes=N"`` sets a byte budget."""

#: The options that decide the bytes of a corpus (its resume key), in their order.
_CANONICAL = (
    "codec",
    "rerank",
    "max_rows",
    "row_group_rows",
    "id_col",
    "geometry_col",
    "embedding_col",
    "time_col",
    "lon_col",
    "lat_col",
    "keep",
    "drop_invalid",
    "sample_rows",
    "seed",
    "name",
    "sources",
)


@dataclass(frozen=True)
class PublishOptions:
    """How :func:`~terrabit.corpus.publish` writes a corpus; checked when built.

    Parameters
    ----------
    codec, rerank : str
        Codec spec of the ``embedding`` column, and optionally of a ``rerank`` column
        (:func:`terrabit.codecs.parse`); both are fitted once on the same seeded sample
        of ``sample_rows`` rows. ``"auto"`` (and ``rerank="auto:max-bytes=N"``) chooses
        them by recall@10 measured on that sample (:func:`terrabit.codecs.auto.choose`;
        the code: the best mean of exemplar-row and float-vector-query recall); the
        choice is stored in the manifest metadata (``codec_choice``).
    max_rows : int
        A geohash cell with more rows is split into its 32 children (at least 1).
    row_group_rows : int
        Rows per Parquet row group inside a shard (16 to 2**20).
    id_col, geometry_col, embedding_col, time_col : str
        Input column names (``time_col=None``: ``datetime`` if present, else no time).
    lon_col, lat_col : str, optional
        Point footprints from these CRS84 degree columns instead of ``geometry_col``;
        both or neither.
    keep : sequence of str
        Input columns passed through to the shards (stored as a tuple).
    drop_invalid : bool
        Drop (and count) rows with a NaN/inf/null embedding or a bad geometry instead of
        failing.
    sample_rows : int
        Rows of the seeded sample the codecs are fitted on (at least 1).
    seed : int
        Seed of the codec sample (same seed, same bytes; at least 0).
    name : str, optional
        The corpus's name: the ``id`` of its STAC Collection (``collection.json``;
        :mod:`terrabit.corpus.stac`). Default: the last part of the output's path or URL.
    overwrite : bool
        Replace an existing corpus at the output.
    resume : bool
        Continue the unfinished publish of the output from its journal
        (:mod:`terrabit.corpus.staging`); the same inputs and :meth:`canonical` options
        are required. With nothing to resume, publish from the start.
    work_dir : path, optional
        Object-store outputs only: the local folder the corpus is staged in before the
        upload (default ``$TERRABIT_WORK_DIR`` or ``~/.cache/terrabit``).
    buffer_bytes : int
        Memory for per-cell buffers of encoded rows before they spill to part files (per
        task with ``engine="dask"``; at least 0).
    show_progress : bool, optional
        Progress bars on stderr (None: only on a terminal).
    engine : {"local", "dask"}
        ``"dask"`` runs the count, the map and the reduce on a Dask cluster
        (:mod:`terrabit.corpus.distributed`); both engines write the same bytes.
    scheduler : str or distributed.Client, optional
        With ``engine="dask"`` only: a scheduler address (``tcp://host:8786``),
        ``local:N`` (N worker processes here; the default is ``local:2``) or a
        ``Client``.

    Raises
    ------
    InvalidInputError
        An option out of range or inconsistent with another; ``params`` names them.
    SpecError
        ``codec`` or ``rerank`` does not parse.

    Examples
    --------
    >>> PublishOptions(rerank="int8", engine="dask").rerank
    'int8'
    >>> PublishOptions(scheduler="local:2")
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: scheduler needs engine=dask; add engine=dask, or drop \
scheduler
    """

    codec: str = "binary"
    rerank: str | None = None
    max_rows: int = fmt.DEFAULT_MAX_ROWS
    row_group_rows: int = fmt.DEFAULT_ROW_GROUP_ROWS
    id_col: str = "id"
    geometry_col: str = "geometry"
    embedding_col: str = "embedding"
    time_col: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    keep: Sequence[str] = ()
    drop_invalid: bool = False
    sample_rows: int = 32768
    seed: int = 0
    name: str | None = None
    sources: Sequence[str] = ()
    overwrite: bool = False
    resume: bool = False
    work_dir: str | os.PathLike[str] | None = None
    buffer_bytes: int = 256 << 20
    show_progress: bool | None = None
    engine: Engine = "local"
    scheduler: str | Client | None = None

    def __post_init__(self) -> None:
        check_int_range("max_rows", self.max_rows, 1)
        check_int_range("row_group_rows", self.row_group_rows, 16, 1 << 20)
        check_int_range("sample_rows", self.sample_rows, 1)
        check_int_range("seed", self.seed, 0)
        check_int_range("buffer_bytes", self.buffer_bytes, 0)
        check_choice("engine", self.engine, ENGINES)
        if self.engine == "local" and self.scheduler is not None:
            raise InvalidInputError(
                "scheduler needs engine=dask; add engine=dask, or drop scheduler",
                params=("scheduler", "engine"),
            )
        if self.codec != AUTO:
            _spec("codec", self.codec)
        if self.rerank is not None and not self.rerank.startswith(AUTO):
            _spec("rerank", self.rerank)
        self.rerank_budget()  # checks an auto rerank spec
        if isinstance(self.keep, str):  # a lone name, not a sequence of names
            object.__setattr__(self, "keep", (self.keep,))
        object.__setattr__(self, "keep", tuple(self.keep))
        if isinstance(self.sources, str | os.PathLike):  # one path, not a sequence of them
            object.__setattr__(self, "sources", (self.sources,))
        object.__setattr__(self, "sources", tuple(os.fspath(p) for p in self.sources))
        for name in ("id_col", "geometry_col", "embedding_col", "time_col", "lon_col", "lat_col"):
            _column(name, getattr(self, name), optional=name in ("time_col", "lon_col", "lat_col"))
        for name in self.keep:
            _column("keep", name, optional=False)
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise InvalidInputError(
                f"name must be a non-empty string (the corpus's STAC Collection id), got "
                f"{self.name!r}; pass a name like 'sentinel2-2024', or none to use the output's",
                params=("name",),
            )
        if (self.lon_col is None) != (self.lat_col is None):
            raise InvalidInputError(
                "pass both lon_col and lat_col (point footprints) or neither (WKB geometry)",
                params=("lon_col", "lat_col"),
            )
        clash = [name for name in self.keep if name in fmt.RESERVED_COLUMNS]
        if clash:
            raise InvalidInputError(
                f"keep={clash} would clash with corpus columns {list(fmt.RESERVED_COLUMNS)}; "
                "rename those input columns first",
                params=("keep",),
            )

    def canonical(self) -> dict[str, object]:
        """The options that decide the corpus's bytes, as JSON-ready values: what a
        resumed publish must match (``keep`` as a list).

        Examples
        --------
        >>> sorted(PublishOptions().canonical())[:3]
        ['codec', 'drop_invalid', 'embedding_col']
        """
        out: dict[str, object] = {name: getattr(self, name) for name in _CANONICAL}
        out["keep"] = list(self.keep)
        out["sources"] = list(self.sources)
        return out

    def is_auto(self) -> bool:
        """Whether ``codec`` or ``rerank`` is chosen by measurement (``"auto"``; see
        :func:`terrabit.codecs.auto.choose`).

        Examples
        --------
        >>> PublishOptions(codec="auto").is_auto(), PublishOptions(rerank="int8").is_auto()
        (True, False)
        """
        return self.codec == AUTO or (self.rerank is not None and self.rerank.startswith(AUTO))

    def rerank_budget(self) -> int | None:
        """The byte budget of ``rerank="auto:max-bytes=N"`` (N), else None.

        Examples
        --------
        >>> PublishOptions(rerank="auto:max-bytes=64").rerank_budget()
        64
        >>> PublishOptions(rerank="auto:max-bytes=0")
        Traceback (most recent call last):
        ...
        terrabit.errors.InvalidInputError: rerank='auto:max-bytes=0': max-bytes must be a \
positive integer (bytes per row of the rerank code); use e.g. auto:max-bytes=64, or auto
        """
        if self.rerank is None or not self.rerank.startswith(AUTO) or self.rerank == AUTO:
            return None
        m = re.fullmatch(r"auto:max-bytes=(\d+)", self.rerank)
        if m is None or int(m.group(1)) < 1:
            what = "max-bytes must be a positive integer (bytes per row of the rerank code)"
            if m is None:
                what = "expected auto or auto:max-bytes=N with N a positive integer"
            raise InvalidInputError(
                f"rerank={self.rerank!r}: {what}; use e.g. auto:max-bytes=64, or auto",
                params=("rerank",),
            )
        return int(m.group(1))

    def is_plain_binary(self) -> bool:
        """Whether ``codec`` is plain ``binary`` (with no rerank): the only codec that
        publishes already-packed binary codes as they are.

        Examples
        --------
        >>> PublishOptions().is_plain_binary(), PublishOptions(codec="srp+binary").is_plain_binary()
        (True, False)
        """
        if self.rerank is not None or self.codec == AUTO:
            return False
        return parse(self.codec).to_dict() == parse("binary").to_dict()

    @classmethod
    def build(cls, options: PublishOptions | None = None, **overrides: object) -> PublishOptions:
        """``options`` (default: all defaults) with ``overrides`` replacing its fields,
        checked again; an unknown name raises ``TypeError`` listing the valid ones.

        Examples
        --------
        >>> PublishOptions.build(PublishOptions(max_rows=10), seed=3).seed
        3
        >>> try:
        ...     PublishOptions.build(codecs="int8")
        ... except TypeError as exc:
        ...     str(exc).split(";")[0]
        "unknown publish option 'codecs'"
        """
        base = PublishOptions() if options is None else options
        if not overrides:
            return base
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in overrides if k not in names]
        if unknown:
            raise TypeError(f"unknown publish option {unknown[0]!r}; valid: {', '.join(names)}")
        return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def _spec(name: str, spec: str) -> None:
    """Parse the codec spec of parameter ``name``; a spec that does not parse raises a
    :class:`~terrabit.errors.SpecError` naming it."""
    try:
        parse(spec)
    except SpecError as exc:
        prefix = "" if name == "codec" else f"{name}: "
        raise SpecError(f"{prefix}{exc}", params=(name,)) from exc


def _column(param: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise InvalidInputError(
            f"{param} must name an input column (a non-empty string), got {value!r}",
            params=(param,),
        )
