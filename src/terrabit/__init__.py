"""terrabit: compress, evaluate, publish and search Earth embeddings.

Examples
--------
>>> import terrabit
>>> terrabit.__version__.count(".") >= 2
True
>>> terrabit.open.__module__
'terrabit.corpus.reader'
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("terrabit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "open"]


def __getattr__(name: str) -> Any:
    # ``terrabit.open`` is imported on first use so ``import terrabit`` stays light.
    if name == "open":
        from terrabit.corpus import open as open_corpus

        return open_corpus
    raise AttributeError(f"module 'terrabit' has no attribute {name!r}")
