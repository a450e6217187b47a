"""The one registry of click options shared by terrabit commands.

Each command takes its shared options from here so that names, help texts and
validation are the same everywhere.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from terrabit._cluster import ENGINES
from terrabit._validation import check_bbox
from terrabit.errors import RegionError

__all__ = [
    "BBOX",
    "BBOX_REGION",
    "bbox_option",
    "echo_json",
    "engine_options",
    "flags_for_params",
    "json_option",
    "output_option",
    "overwrite_option",
    "print_summary",
    "quiet_option",
    "seed_option",
    "verbose_option",
    "year_option",
]

F = TypeVar("F", bound=Callable[..., Any])


class BBoxType(click.ParamType):
    """``minx,miny,maxx,maxy`` in lon/lat degrees; ``minx > maxx`` crosses the antimeridian.

    Converts to the checked four floats, or (``as_region``) straight to a
    :class:`~terrabit.region.Region`, so a search's bbox is checked and converted once.
    """

    name = "minx,miny,maxx,maxy"

    def __init__(self, *, as_region: bool = False) -> None:
        self.as_region = as_region

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from terrabit.region import Region  # shapely: only when a bbox is given

        if isinstance(value, Region | tuple):
            nums: Any = value
        else:
            try:
                nums = [float(p) for p in str(value).replace(" ", "").split(",")]
            except ValueError:
                self.fail(
                    f"{value!r} is not four comma-separated numbers; "
                    "write it as minx,miny,maxx,maxy, e.g. --bbox -10,35,30,60",
                    param,
                    ctx,
                )
        try:
            if self.as_region:
                return nums if isinstance(nums, Region) else Region.from_bbox(nums)
            return check_bbox(nums)
        except RegionError as exc:
            self.fail(str(exc), param, ctx)


BBOX = BBoxType()
BBOX_REGION = BBoxType(as_region=True)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace the output if it exists (never done without it)."
)
seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same bytes)."
)
verbose_option = click.option(
    "-v", "--verbose", count=True, help="More log output on stderr (-vv: tracebacks)."
)
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bars or logs; only the result."
)


def bbox_option(
    help_text: str = "Bounding box minx,miny,maxx,maxy in lon/lat degrees.",
    *,
    as_region: bool = False,
) -> Any:
    """A ``--bbox`` option parsed and validated by :data:`BBOX` (by :data:`BBOX_REGION`,
    giving a :class:`~terrabit.region.Region`, with ``as_region``)."""
    return click.option(
        "--bbox", type=BBOX_REGION if as_region else BBOX, default=None, help=help_text
    )


def output_option(
    help_text: str, *, required: bool = False, dir_okay: bool = True, url: bool = False
) -> Callable[[F], F]:
    """``-o/--output``: where a command writes its result, never replaced without ``--overwrite``.

    The value is passed as ``out``, the name the library functions give their output
    parameter, so a library error naming ``out`` reads ``--output`` on the command line.
    ``url=True`` keeps the value a string (a folder or an ``s3://``-like URL); otherwise it
    is a :class:`~pathlib.Path` (``dir_okay=False``: an existing folder is refused).

    Examples
    --------
    >>> @click.command()
    ... @output_option("Output GeoParquet.", required=True)
    ... def cmd(out: Path) -> None: ...
    >>> [(p.opts, p.name, p.required) for p in cmd.params]
    [(['-o', '--output'], 'out', True)]
    """
    kind: click.ParamType = click.STRING if url else click.Path(path_type=Path, dir_okay=dir_okay)
    return click.option(
        "-o", "--output", "out", type=kind, required=required, default=None, help=help_text
    )


def year_option(help_text: str = "Use the rows of this year only.") -> Callable[[F], F]:
    """``--year``: restrict a command to the data of one year (default: all years)."""
    return click.option("--year", type=int, default=None, help=help_text)


def engine_options(engine_help: str, scheduler_default: str) -> Callable[[F], F]:
    """``--engine {local,dask}`` and ``--scheduler ADDRESS``, passed as ``engine``, ``scheduler``.

    The rule that ``--scheduler`` needs ``--engine dask`` is checked once, by the library
    function the command calls (its ``engine``/``scheduler`` parameters); its error names
    them and the CLI shows them as these flags.

    Examples
    --------
    >>> @click.command()
    ... @engine_options("Where the work runs.", "local:2")
    ... def cmd(engine: str, scheduler: str | None) -> None: ...
    >>> [p.name for p in cmd.params]
    ['engine', 'scheduler']
    """
    engine = click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="local",
        show_default=True,
        help=engine_help,
    )
    scheduler = click.option(
        "--scheduler",
        type=str,
        default=None,
        help="With --engine dask: scheduler address (tcp://host:8786) or local:N for N worker "
        f"processes here [default: {scheduler_default}].",
    )

    def decorate(f: F) -> F:
        return engine(scheduler(f))

    return decorate


#: A quoted value in a message (a repr such as ``'/tmp/out'``, or `code`): never rewritten.
#: A quote inside a word (``index's``) is an apostrophe, not a quote.
_QUOTED = r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)|`[^`\n]*`"
#: A capitalized word right before a name makes it prose (``the Dask scheduler``).
_PROPER_NOUN = re.compile(r"\b[A-Z][\w-]* $")


def flags_for_params(message: str, params: tuple[str, ...], command: click.Command) -> str:
    """Rewrite the Python parameter names in a library error message as ``command``'s flags.

    A library error names parameters as the API spells them (``max_shards``) and lists them
    in ``TerrabitError.params``; on the command line the user reads the flag instead:
    ``name`` and ``name=True`` become ``--name``, ``name=VALUE`` becomes ``--name VALUE``
    (a quoted word loses its quotes: ``engine='dask'`` becomes ``--engine dask``). A name
    ``command`` has no option for stays as it is, and so do text inside quotes (a path)
    and a name after a capitalized word (``Dask scheduler`` is prose, not the parameter).

    Examples
    --------
    >>> opts = [click.Option(["--max-shards"]), click.Option(["--global", "global_"], is_flag=True)]
    >>> cmd = click.Command("x", params=opts)
    >>> flags_for_params("max_shards=3 needs global_=True", ("max_shards", "global_"), cmd)
    '--max-shards 3 needs --global'
    >>> opts = [click.Option(["--engine"]), click.Option(["--scheduler"])]
    >>> cmd = click.Command("x", params=opts)
    >>> flags_for_params(
    ...     "scheduler needs engine='dask' ('/tmp/scheduler' kept)", ("scheduler", "engine"), cmd
    ... )
    "--scheduler needs --engine dask ('/tmp/scheduler' kept)"
    >>> flags_for_params("no Dask scheduler; pass scheduler='local:2'", ("scheduler",), cmd)
    'no Dask scheduler; pass --scheduler local:2'
    """
    flags = {
        p.name: max(p.opts, key=len)
        for p in command.params
        if isinstance(p, click.Option) and p.name is not None
    }
    names = [name for name in params if name in flags]
    if not names:
        return message
    pattern = re.compile(
        rf"(?P<quoted>{_QUOTED})"
        rf"|(?<![\w.-])(?P<name>{'|'.join(map(re.escape, names))})\b"
        r"(?:(?P<true>=True\b)|=(?P<q>['\"])(?P<word>[^'\"\s]*)(?P=q)|(?P<eq>=))?"
    )

    def flag(match: re.Match[str]) -> str:
        if match["quoted"] is not None or _PROPER_NOUN.search(message, 0, match.start()):
            return match[0]
        name = flags[match["name"]]
        if match["word"] is not None:
            return f"{name} {match['word']}"
        if match["eq"] is not None:
            return name + " "
        return name

    return pattern.sub(flag, message)


def echo_json(data: Any) -> None:
    """Write ``data`` as one JSON document to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_summary(summary: dict[str, Any], title: str) -> None:
    """Print a command's ``field | value`` summary as a rich table (floats to 4 digits)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:,.4g}"
        table.add_row(key, str(value))
    Console().print(table)
