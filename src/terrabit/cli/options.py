"""The one registry of click options shared by terrabit commands.

Each command takes its shared options from here so that names, help texts and
validation are the same everywhere.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

__all__ = [
    "BBOX",
    "bbox_option",
    "echo_json",
    "json_option",
    "overwrite_option",
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
            return value
        parts = str(value).replace(" ", "").split(",")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            self.fail(
                f"{value!r} is not four comma-separated numbers; "
                "write it as minx,miny,maxx,maxy, e.g. --bbox -10,35,30,60",
                param,
                ctx,
            )
        if len(nums) != 4:
            self.fail(
                f"{value!r} has {len(nums)} numbers; write it as minx,miny,maxx,maxy, "
                "e.g. --bbox -10,35,30,60",
                param,
                ctx,
            )
        minx, miny, maxx, maxy = nums
        if not all(math.isfinite(v) for v in nums):
            self.fail(f"{value!r} holds a non-finite number", param, ctx)
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
            self.fail(f"longitudes must lie in [-180, 180]; got {minx} and {maxx}", param, ctx)
        if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
            self.fail(f"latitudes must lie in [-90, 90]; got {miny} and {maxy}", param, ctx)
        if miny >= maxy:
            self.fail(f"miny ({miny}) must be less than maxy ({maxy})", param, ctx)
        if minx == maxx:
            self.fail(f"minx and maxx are equal ({minx}): the box has no width", param, ctx)
        return (minx, miny, maxx, maxy)


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


def echo_json(data: Any) -> None:
    """Write ``data`` as one JSON document to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
