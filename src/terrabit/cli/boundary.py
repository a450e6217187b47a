"""The CLI's error boundary: what a command's failure looks like on the terminal.

A :class:`~terrabit.errors.TerrabitError` already says what was wrong and what to do.
What is left are the errors of the libraries terrabit stands on (pyarrow, numpy,
scikit-learn, GDAL through rasterio/pyogrio, PROJ, GEOS, ...) and of the operating system,
raised by an input they cannot use. :func:`describe` turns one into a single line that
names the file (or the files the command was given) and what to do; the traceback is
shown only under ``-vv``. An error raised by terrabit's own code that is not a
``TerrabitError`` is a bug: :func:`describe` returns ``None`` for it and its traceback
is shown, to be reported.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["LIBRARIES", "describe", "describe_os_error", "origin"]

#: Packages (top-level module names) whose errors are about the input they were handed,
#: and the name the message gives each.
LIBRARIES: dict[str, str] = {
    "pyarrow": "pyarrow",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "pandas": "pandas",
    "geopandas": "geopandas",
    "pyogrio": "GDAL (pyogrio)",
    "fiona": "GDAL (fiona)",
    "rasterio": "GDAL (rasterio)",
    "osgeo": "GDAL",
    "pyproj": "PROJ (pyproj)",
    "shapely": "GEOS (shapely)",
    "duckdb": "DuckDB",
    "obstore": "obstore",
    "exactextract": "exactextract",
    "PIL": "Pillow",
    "numba": "numba",
    "json": "the JSON reader",
    "zipfile": "the zip reader",
    "gzip": "the gzip reader",
    "tarfile": "the tar reader",
    "csv": "the CSV reader",
}

_MAX_DETAIL = 240
_MAX_FILES = 3


def origin(exc: BaseException) -> str | None:
    """The top-level package an exception comes from: where it was raised (the innermost
    frame of its traceback) or, for an exception type of a library, that library;
    ``None`` for the builtins raised by code outside every package (C code called from
    the caller's own frame).

    Examples
    --------
    >>> import json
    >>> try:
    ...     json.loads("{")
    ... except ValueError as exc:
    ...     origin(exc)
    'json'
    """
    top = type(exc).__module__.split(".", 1)[0]
    if top not in ("builtins", "__main__"):
        return top
    tb: TracebackType | None = exc.__traceback__
    name = None
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__")
        tb = tb.tb_next
    return name.split(".", 1)[0] if isinstance(name, str) else None


def _given_files(args: Sequence[str]) -> list[str]:
    """The arguments of a command line that name existing files or folders."""
    files = []
    for arg in args:
        if arg.startswith("-") or not arg or len(arg) > 4096:
            continue
        try:
            if os.path.exists(arg):
                files.append(arg)
        except (OSError, ValueError):  # a value no path can be (a NUL byte)
            continue
    return files


def _detail(exc: BaseException) -> str:
    """The exception's message on one line, shortened, never suggesting to load a pickle."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "pickle" in text.lower():
        return "the file holds pickled Python objects, which terrabit never loads"
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1].rstrip() + "…"
    return f"{type(exc).__name__}: {text}"


def _file_in_the_way(path: Path) -> Path | None:
    return next((p for p in (path, *path.parents) if p.is_file()), None)


def describe_os_error(exc: OSError) -> str:
    """One line for an operating-system error: the file and what to do.

    Examples
    --------
    >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "in.parquet"))
    "'in.parquet' does not exist (No such file or directory); check the path"
    >>> describe_os_error(OSError("connection reset"))
    'connection reset; check the paths and URLs given and try again'
    """
    name = exc.filename
    if name is None:
        return f"{' '.join(str(exc).split())}; check the paths and URLs given and try again"
    path = os.fsdecode(name) if isinstance(name, str | bytes) else str(name)
    why = exc.strerror or str(exc)
    code = exc.errno
    if code in (errno.EEXIST, errno.ENOTDIR):
        blocker = _file_in_the_way(Path(path))
        if blocker is not None:
            return (
                f"cannot write {path!r}: {str(blocker)!r} is a file, not a folder; choose an "
                "output path outside it, or move that file away"
            )
    if code == errno.ENOENT:
        return f"{path!r} does not exist ({why}); check the path"
    if code in (errno.EACCES, errno.EPERM):
        return f"{path!r}: permission denied; check its permissions, or choose another path"
    if code == errno.ENOSPC:
        return f"{path!r}: no space left on the device; free some space or write elsewhere"
    if code == errno.EISDIR:
        return f"{path!r} is a folder where a file was expected; pass a file"
    return f"{path!r}: {why}; check the path and try again"


def describe(exc: BaseException, command: str, args: Sequence[str] = ()) -> str | None:
    """One line for an error that escaped ``command`` (e.g. ``terrabit publish``) run with
    ``args``, or ``None`` when it is a bug of terrabit's own (show its traceback).

    Parameters
    ----------
    exc : BaseException
        What escaped the command (not a ``TerrabitError``: those speak for themselves).
    command : str
        The command path, for the help it points to.
    args : sequence of str
        The command's arguments; those naming existing files are listed, as the inputs
        to check.

    Examples
    --------
    >>> import json
    >>> try:
    ...     json.loads("{")
    ... except ValueError as exc:
    ...     print(describe(exc, "terrabit search", ["c", "--vector", "/"]))
    the JSON reader could not use the input of `terrabit search` (JSONDecodeError: \
Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); check the \
files given (/) and the options (`terrabit search --help`); -vv shows the traceback
    >>> describe(KeyError("x"), "terrabit search") is None  # a bug of our own
    True
    """
    if isinstance(exc, OSError) and exc.filename is not None:
        return describe_os_error(exc)
    source = origin(exc)
    if source not in LIBRARIES:  # a disk or network failure is never a bug: one line
        return describe_os_error(exc) if isinstance(exc, OSError) else None
    files = _given_files(args)
    shown = ", ".join(files[:_MAX_FILES]) + (" …" if len(files) > _MAX_FILES else "")
    check = f"the files given ({shown}) and " if files else ""
    return (
        f"{LIBRARIES[source]} could not use the input of `{command}` ({_detail(exc)}); "
        f"check {check}the options (`{command} --help`); -vv shows the traceback"
    )
