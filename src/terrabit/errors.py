"""The terrabit exception hierarchy.

Every error terrabit raises on purpose derives from :class:`TerrabitError` and also from
the builtin a caller would naturally catch (``ValueError`` for bad input, ``OSError`` for
I/O), so ``except ValueError`` keeps working for code that does not know terrabit.

Messages say what was wrong, what was expected and how to fix it.

Examples
--------
>>> from terrabit.errors import InvalidInputError, TerrabitError
>>> try:
...     raise InvalidInputError("--dim must be between 64 and 1024, got 7")
... except ValueError as exc:
...     isinstance(exc, TerrabitError)
True
"""

from __future__ import annotations

__all__ = [
    "CorpusError",
    "CorpusIntegrityError",
    "CorpusNotFoundError",
    "InvalidInputError",
    "MissingDependencyError",
    "NotFittedError",
    "OutputExistsError",
    "RangeNotSupportedError",
    "RegionError",
    "ShardIOError",
    "SpecError",
    "TerrabitError",
]


class TerrabitError(Exception):
    """Root of every error terrabit raises on purpose."""


class InvalidInputError(TerrabitError, ValueError):
    """Input (arrays, files, options) that terrabit cannot use as given."""


class SpecError(InvalidInputError):
    """A codec, task or option spec string that does not parse."""


class RegionError(InvalidInputError):
    """A bbox, GeoJSON geometry or region file that is not a valid region."""


class NotFittedError(TerrabitError, AttributeError, ValueError):
    """A codec or model used before ``fit`` was called."""


class OutputExistsError(TerrabitError, FileExistsError):
    """An output path exists and ``overwrite`` was not given."""


class MissingDependencyError(TerrabitError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class CorpusError(TerrabitError):
    """Base for problems with a published corpus."""


class CorpusNotFoundError(CorpusError, FileNotFoundError):
    """The path or URL holds no corpus (no ``manifest.parquet``)."""


class CorpusIntegrityError(CorpusError, ValueError):
    """Manifest and shards disagree (rows, checksum, schema): the corpus is not trustworthy."""


class ShardIOError(CorpusError, OSError):
    """A shard or manifest could not be read or written."""


class RangeNotSupportedError(ShardIOError):
    """An HTTP server answered a Range request with the whole file (no ``206``)."""
