"""The error hierarchy: every terrabit error is also the builtin a caller would catch."""

from __future__ import annotations

import pytest

from terrabit import errors
from terrabit._compat import lazy_import


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InvalidInputError, ValueError),
        (errors.SpecError, ValueError),
        (errors.RegionError, ValueError),
        (errors.NotFittedError, AttributeError),
        (errors.OutputExistsError, FileExistsError),
        (errors.OutputPathError, NotADirectoryError),
        (errors.MissingDependencyError, ImportError),
        (errors.CorpusNotFoundError, FileNotFoundError),
        (errors.CorpusIntegrityError, ValueError),
        (errors.ShardIOError, OSError),
        (errors.RangeNotSupportedError, OSError),
    ],
)
def test_each_error_is_a_terrabit_error_and_its_builtin(cls: type, builtin: type) -> None:
    exc = cls("boom")
    assert isinstance(exc, errors.TerrabitError)
    assert isinstance(exc, builtin)


def test_every_public_error_is_exported() -> None:
    public = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.TerrabitError)
    }
    assert public == set(errors.__all__)


def test_lazy_import_names_the_extra() -> None:
    with pytest.raises(errors.MissingDependencyError, match=r"pip install 'terrabit\[zonal\]'"):
        lazy_import("terrabit_no_such_module", "zonal")
