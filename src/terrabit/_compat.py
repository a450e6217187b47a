"""Lazy imports: optional dependencies, with an error that names the extra to install, and
package attributes imported on first use."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from terrabit.errors import MissingDependencyError

__all__ = ["lazy_attributes", "lazy_import"]


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


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name in ``homes`` from
    its submodule (``homes[name]``) on first use and keeps it in the package's globals
    (PEP 562): a command that does not need a heavy module never loads it.

    Examples
    --------
    >>> getattr_ = lazy_attributes("email", {"Message": "message"})
    >>> import email.message
    >>> getattr_("Message") is email.message.Message
    True
    >>> getattr_("nothing")
    Traceback (most recent call last):
    ...
    AttributeError: module 'email' has no attribute 'nothing'
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
