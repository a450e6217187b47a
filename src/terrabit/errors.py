"""The terrabit exception hierarchy.

Every error terrabit raises on purpose derives from :class:`TerrabitError` and also from
the builtin a caller would naturally catch (``ValueError`` for bad input, ``OSError`` for
I/O), so ``except ValueError`` keeps working for code that does not know terrabit.

Messages say what was wrong, what was expected and how to fix it. An error about
parameters names them as the Python API spells them (``max_shards``) and lists them in
``params``; the command line rewrites those names to its flags (``--max-shards``), so the
library never speaks the CLI's language.

Examples
--------
>>> from terrabit.errors import InvalidInputError, TerrabitError
>>> try:
...     raise InvalidInputError("dim must be between 64 and 1024, got 7", params=("dim",))
... except ValueError as exc:
...     isinstance(exc, TerrabitError), exc.params
(True, ('dim',))
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
    "OutputPathError",
    "RangeNotSupportedError",
    "RegionError",
    "ShardIOError",
    "SpecError",
    "TerrabitError",
]


class TerrabitError(Exception):
    """Root of every error terrabit raises on purpose.

    Parameters
    ----------
    *args
        The message (and, for the ``OSError`` subclasses, what ``OSError`` takes).
    params : tuple of str, optional
        The parameters the message names, spelled as in the Python API; the CLI
        replaces each with its flag.
    """

    def __init__(self, *args: object, params: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.params = params


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


class OutputPathError(TerrabitError, NotADirectoryError):
    """An output path lies below a file: a parent that should be a folder is a file."""


class MissingDependencyError(TerrabitError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class CorpusError(TerrabitError):
    """Base for problems with a published corpus."""


class CorpusNotFoundError(CorpusError, FileNotFoundError):
    """The path or URL holds no corpus (no ``manifest.parquet``)."""


class CorpusIntegrityError(CorpusError, ValueError):
    """Manifest and shards disagree (rows, checksum, schema): the corpus is not trustworthy.

    Parameters
    ----------
    problem : str
        What is wrong, naming the file (kept as :attr:`problem`, so a list of problems,
        as ``terrabit validate`` prints, gives its advice once, not once per problem).
    fix : str, optional
        What to do about it (kept as :attr:`fix`); the message is ``"{problem}; {fix}"``.
    params : tuple of str, optional
        As :class:`TerrabitError`.

    Examples
    --------
    >>> exc = CorpusIntegrityError("shard a.parquet is missing", fix="restore it")
    >>> str(exc), exc.problem
    ('shard a.parquet is missing; restore it', 'shard a.parquet is missing')
    """

    def __init__(self, problem: str, *, fix: str = "", params: tuple[str, ...] = ()) -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem, params=params)
        self.problem = problem
        self.fix = fix


class ShardIOError(CorpusError, OSError):
    """A shard or manifest could not be read or written."""


class RangeNotSupportedError(ShardIOError):
    """An HTTP server answered a Range request with the whole file (no ``206``)."""
