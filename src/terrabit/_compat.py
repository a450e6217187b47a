"""Optional dependencies, imported lazily with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from terrabit.errors import MissingDependencyError

__all__ = ["lazy_import"]


def lazy_import(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``.

    Examples
    --------
    >>> lazy_import("json", "dev").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is needed for this; install it with `pip install 'terrabit[{extra}]'`"
        ) from exc
