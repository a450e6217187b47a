"""Validation helpers shared by every public function (one place, one wording)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from terrabit.errors import InvalidInputError

__all__ = ["check_choice", "check_int_range"]

T = TypeVar("T", bound=str)


def check_choice(name: str, value: str, choices: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``choices``; else raise, listing the valid values.

    Examples
    --------
    >>> check_choice("threshold", "mean", ("zero", "mean", "median"))
    'mean'
    >>> check_choice("threshold", "avg", ("zero", "mean"))
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: threshold must be one of 'zero', 'mean'; got 'avg'
    """
    options = tuple(choices)
    if value not in options:
        valid = ", ".join(repr(c) for c in options)
        raise InvalidInputError(f"{name} must be one of {valid}; got {value!r}")
    return value


def check_int_range(name: str, value: int, low: int, high: int | None = None) -> int:
    """Return ``value`` if ``low <= value <= high`` (``high=None``: no upper bound).

    Examples
    --------
    >>> check_int_range("--dim", 128, 64, 1024)
    128
    >>> check_int_range("--dim", 8, 64, 1024)
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: --dim must be between 64 and 1024, got 8
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInputError(f"{name} must be {bound}, got {value}")
    return value
