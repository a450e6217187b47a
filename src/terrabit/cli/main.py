"""The ``terrabit`` click group: global options, error handling, command registry."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from terrabit import __version__
from terrabit._progress import set_quiet
from terrabit.cli.options import flags_for_params, quiet_option, verbose_option
from terrabit.errors import TerrabitError

__all__ = ["CommandGroup", "cli", "main"]

log = logging.getLogger("terrabit")


#: Every command, as ``name -> "module:attribute"``; modules are imported only when used,
#: so ``terrabit --help`` stays fast and one command's heavy imports never slow another.
COMMANDS: dict[str, str] = {
    "world": "terrabit.cli.world:world",
    "evaluate": "terrabit.cli.evaluate:evaluate",
    "publish": "terrabit.cli.publish:publish",
    "info": "terrabit.cli.info:info",
    "validate": "terrabit.cli.info:validate",
    "zonal": "terrabit.cli.zonal:zonal",
    "search": "terrabit.cli.search:search",
    "segment": "terrabit.cli.segment:segment",
    "serve": "terrabit.cli.web:serve",
    "site": "terrabit.cli.web:site",
}


#: ``ctx.meta`` keys (shared by every nested context): the command a group last resolved,
#: its path (``terrabit zonal stats``) and its arguments.
_INVOKED = "terrabit.invoked_command"
_INVOKED_PATH = "terrabit.invoked_path"
_INVOKED_ARGS = "terrabit.invoked_args"


class CommandGroup(click.Group):
    """A click group that notes the command it resolves, for :class:`TerrabitGroup`.

    Groups of subcommands (``terrabit zonal``, ``terrabit segment``) use it, so an error
    raised in ``terrabit zonal stats`` names ``stats``'s flags, not the group's.
    """

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            ctx.meta[_INVOKED] = command
            ctx.meta[_INVOKED_PATH] = f"{ctx.command_path} {name}"
            ctx.meta[_INVOKED_ARGS] = list(rest)
        return name, command, rest


class TerrabitGroup(CommandGroup):
    """A lazy group and the CLI's one error boundary: a TerrabitError, an operating-system
    error or an error of a library terrabit uses (pyarrow, numpy, scikit-learn, GDAL, ...;
    see :mod:`terrabit.cli.boundary`) becomes one line on stderr and exit 1 (the traceback
    under ``-vv``); Ctrl-C exits 130."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, _, attr = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def _in_flags(self, ctx: click.Context, exc: TerrabitError) -> str:
        """The message of ``exc`` with the parameters it names spelled as the flags of the
        command that ran (the innermost: ``stats`` of ``terrabit zonal stats``)."""
        message = str(exc)
        command = ctx.meta.get(_INVOKED)
        if not isinstance(command, click.Command) or not exc.params:
            return message
        return flags_for_params(message, exc.params, command)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TerrabitError as exc:
            if (ctx.obj or {}).get("verbose", 0) >= 2:
                raise
            click.echo(f"Error: {self._in_flags(ctx, exc)}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:
            # one line naming the option and the fix (click's default adds usage lines)
            where = exc.ctx.command_path if exc.ctx is not None else "terrabit"
            click.echo(f"Error: {exc.format_message()} (see `{where} --help`)", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing half-written was left behind.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a disk, network or library failure on the input
            from terrabit.cli.boundary import describe

            message = describe(
                exc, ctx.meta.get(_INVOKED_PATH, ctx.command_path), ctx.meta.get(_INVOKED_ARGS, [])
            )
            if message is None or (ctx.obj or {}).get("verbose", 0) >= 2:
                raise  # a bug of terrabit's own, or -vv: the traceback
            click.echo(f"Error: {message}", err=True)
            ctx.exit(1)


@click.group(cls=TerrabitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="terrabit")
@verbose_option
@quiet_option
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """terrabit: compress, evaluate, publish and search Earth embeddings."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    set_quiet(quiet)
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s"
    )
    log.setLevel(level)


def main() -> None:
    """The ``terrabit`` command (and ``python -m terrabit``): :data:`cli`, then the process
    ends at once with its exit status.

    Ending with ``os._exit`` after flushing skips the interpreter's teardown, where pyarrow
    26's thread pools abort about one process in six after a threaded read ("terminate
    called without an active exception", status 134, even after a command succeeded). By
    then every file a command writes is closed and renamed (context managers) and every
    local Dask cluster is closed, so skipping the teardown loses nothing.
    """
    import contextlib
    import os
    import traceback

    code = 0
    try:
        cli.main(prog_name="terrabit")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # the boundary of last resort: never a silent exit
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`terrabit … | head`)
            stream.flush()
    logging.shutdown()
    os._exit(code)
