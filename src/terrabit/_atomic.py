"""Atomic outputs: write under a temporary name beside the target, then rename.

A crash or Ctrl-C at any moment leaves either the old output or nothing at the target
path, never a half-written file or folder that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from terrabit.errors import OutputExistsError, OutputPathError

__all__ = ["atomic_dir", "atomic_file", "check_output", "check_parents", "make_dirs", "replace_dir"]


def check_output(path: str | os.PathLike[str], *, overwrite: bool, option: str = "OUT") -> Path:
    """Refuse an existing ``path`` unless ``overwrite``; return it as a :class:`Path`.

    ``option`` is what the message calls the path: a parameter's name (``out``; the error
    lists it in ``params``, so the CLI shows the flag) or a description (``OUTDIR``).

    Examples
    --------
    >>> check_output("/nonexistent/terrabit-out", overwrite=False).name
    'terrabit-out'
    >>> import tempfile
    >>> try:
    ...     check_output(tempfile.gettempdir(), overwrite=False, option="out")
    ... except FileExistsError as exc:
    ...     exc.params
    ('out',)
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{option} {str(target)!r} already exists; pass --overwrite to replace it "
            "or choose another path",
            params=(option,) if option.isidentifier() and option.islower() else (),
        )
    return target


def check_parents(path: str | os.PathLike[str], *, option: str = "OUT") -> Path:
    """Refuse an output ``path`` below a regular file (a parent that cannot be a folder).

    ``option`` names the path as :func:`check_output` does (``out`` reads ``--output`` on
    the command line).

    Raises
    ------
    OutputPathError
        A parent of ``path`` is a file; the message names it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "f.txt"
    >>> _ = f.write_text("x")
    >>> check_parents(f / "sub" / "x.parquet", option="out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.OutputPathError: cannot write out='.../f.txt/sub/x.parquet': \
'.../f.txt' is a file, not a folder; choose an output path outside it, or move that file away
    """
    target = Path(path)
    blocker = next((p for p in target.parents if p.is_file()), None)
    if blocker is not None:
        raise _below_file(target, blocker, option)
    return target


def _below_file(target: Path, blocker: Path, option: str) -> OutputPathError:
    named = f"{option}={str(target)!r}" if option.isidentifier() else repr(str(target))
    return OutputPathError(
        f"cannot write {named}: {str(blocker)!r} is a file, not a folder; choose an output "
        "path outside it, or move that file away",
        params=(option,) if option.isidentifier() and option.islower() else (),
    )


def make_dirs(
    path: str | os.PathLike[str], *, output: str | os.PathLike[str] | None = None
) -> Path:
    """Create the folder ``path`` and its parents (existing ones are kept); return it.

    A parent that is a regular file is refused with one clear error naming it and the
    ``output`` being written (default: ``path``), instead of the bare ``[Errno 17] File
    exists`` or ``[Errno 20] Not a directory`` of :meth:`pathlib.Path.mkdir`.

    Raises
    ------
    OutputPathError
        ``path`` or one of its parents is a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> make_dirs(root / "a" / "b").is_dir()
    True
    >>> _ = (root / "f.txt").write_text("x")
    >>> make_dirs(root / "f.txt" / "sub")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.OutputPathError: cannot write '.../f.txt/sub': '.../f.txt' is a file, \
not a folder; choose an output path outside it, or move that file away
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        if blocker is None:
            raise
        raise _below_file(Path(output or folder), blocker, "") from exc
    return folder


@contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``.

    On any exception (including ``KeyboardInterrupt``) the temporary folder is removed and
    ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (root / "out" / "a.txt").read_text()
    'hi'
    """
    target = check_output(path, overwrite=overwrite)
    make_dirs(target.parent, output=target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, target)


def replace_dir(source: Path, target: Path) -> None:
    """Rename the finished folder ``source`` onto ``target``, replacing what is there: the
    old target is first renamed aside, then removed, so ``target`` always holds the old
    or the new folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "new").mkdir(); (root / "out").mkdir()
    >>> replace_dir(root / "new", root / "out")
    >>> sorted(p.name for p in root.iterdir())
    ['out']
    """
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(source, target)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; on success it is renamed to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_file(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = check_output(path, overwrite=overwrite)
    make_dirs(target.parent, output=target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
