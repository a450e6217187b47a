"""terrabit: compress, evaluate, publish and search Earth embeddings.

Examples
--------
>>> import terrabit
>>> terrabit.__version__.count(".") >= 2
True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("terrabit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
