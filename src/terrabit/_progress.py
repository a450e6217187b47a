"""Progress bars on stderr (rich), silent under ``--quiet`` or when stderr is not a TTY."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ProgressBar", "progress_bar", "set_quiet"]

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) every progress bar in this process; the CLI's ``-q`` sets it."""
    global _QUIET
    _QUIET = quiet


def _enabled(show: bool | None) -> bool:
    if show is not None:
        return show and not _QUIET
    return not _QUIET and sys.stderr.isatty()


class ProgressBar:
    """One task on a rich progress display (or a no-op when progress is disabled)."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        """Move the bar forward by ``amount`` units."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def update(self, *, description: str | None = None, total: float | None = None) -> None:
        """Change the bar's label or total."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description, total=total)


@contextmanager
def progress_bar(
    description: str, total: float | None, *, show: bool | None = None
) -> Iterator[ProgressBar]:
    """Show a progress bar on stderr while the block runs.

    ``show=None`` shows it only on an interactive terminal and never under ``--quiet``.

    Examples
    --------
    >>> with progress_bar("counting", total=3, show=False) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    """
    if not _enabled(show):
        yield ProgressBar(None, None)
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield ProgressBar(progress, task)
