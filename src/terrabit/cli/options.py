"""The one registry of click options shared by terrabit commands.

Each command takes its shared options from here so that names, help texts and
validation are the same everywhere.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from terrabit._validation import check_bbox
from terrabit.errors import RegionError

__all__ = [
    "BBOX",
    "bbox_option",
    "echo_json",
    "flags_for_params",
    "json_option",
    "overwrite_option",
    "print_summary",
    "quiet_option",
    "seed_option",
    "verbose_option",
]


class BBoxType(click.ParamType):
    """``minx,miny,maxx,maxy`` in lon/lat degrees; ``minx > maxx`` crosses the antimeridian."""

    name = "minx,miny,maxx,maxy"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[float, float, float, float]:
        if isinstance(value, tuple):
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
            return check_bbox(nums)
        except RegionError as exc:
            self.fail(str(exc), param, ctx)


BBOX = BBoxType()

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


def bbox_option(help_text: str = "Bounding box minx,miny,maxx,maxy in lon/lat degrees.") -> Any:
    """A ``--bbox`` option parsed and validated by :data:`BBOX`."""
    return click.option("--bbox", type=BBOX, default=None, help=help_text)


def flags_for_params(message: str, params: tuple[str, ...], command: click.Command) -> str:
    """Rewrite the Python parameter names in a library error message as ``command``'s flags.

    A library error names parameters as the API spells them (``max_shards``) and lists them
    in ``TerrabitError.params``; on the command line the user reads the flag instead:
    ``name`` and ``name=True`` become ``--name``, ``name=VALUE`` becomes ``--name VALUE``.
    A name ``command`` has no option for stays as it is.

    Examples
    --------
    >>> opts = [click.Option(["--max-shards"]), click.Option(["--global", "global_"], is_flag=True)]
    >>> cmd = click.Command("x", params=opts)
    >>> flags_for_params("max_shards=3 needs global_=True", ("max_shards", "global_"), cmd)
    '--max-shards 3 needs --global'
    """
    flags = {
        p.name: max(p.opts, key=len)
        for p in command.params
        if isinstance(p, click.Option) and p.name is not None
    }
    for name in params:
        flag = flags.get(name)
        if flag is None:
            continue
        word = rf"(?<![\w.-]){re.escape(name)}\b"
        message = re.sub(word + r"=True\b", flag, message)
        message = re.sub(word + "=", flag + " ", message)
        message = re.sub(word, flag, message)
    return message


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
