"""Float query vectors from a file: ``.npy`` (``[n, d]`` or ``[d]``) or a JSON array (of
numbers, or of arrays of numbers). Each row is one exemplar vector for
:func:`~terrabit.search.query.search` (``terrabit search --vector FILE``).

Files are read without pickles: an ``.npy`` holding Python objects is refused, never
loaded.

Examples
--------
>>> import json, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "q.json"
>>> _ = path.write_text(json.dumps([[0.5, -1.0, 2.0]]))
>>> read_vectors(path, dims=3).tolist()
[[0.5, -1.0, 2.0]]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terrabit.errors import InvalidInputError

__all__ = ["check_vectors", "read_vectors"]


def read_vectors(path: str | os.PathLike[str], *, dims: int | None = None) -> NDArray[np.float32]:
    """The float32 vectors ``[n, d]`` in ``path`` (``.npy`` or ``.json``), checked.

    Parameters
    ----------
    path : path
        An ``.npy`` file of shape ``[n, d]`` or ``[d]`` (float or int), or a ``.json``
        file holding one array of numbers or an array of such arrays.
    dims : int, optional
        The dimension every vector must have (the corpus's ``dims``).

    Raises
    ------
    InvalidInputError
        A missing or unreadable file, another format, no vectors, rows of unequal length,
        the wrong dimension, NaN or infinite values: one line naming the file and the fix.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "q.npy"
    >>> np.save(path, np.ones(4, np.float32))
    >>> read_vectors(path).shape
    (1, 4)
    """
    p = Path(path)
    where = f"vector file {str(p)!r}"
    if not p.is_file():
        raise InvalidInputError(
            f"{where} does not exist; pass a .npy file ([n, d] or [d]) or a JSON array",
            params=("path",),
        )
    suffix = p.suffix.lower()
    if suffix == ".npy":
        values = _read_npy(p, where)
    elif suffix == ".json":
        values = _read_json(p, where)
    else:
        raise InvalidInputError(
            f"{where} is neither .npy nor .json; save the vectors with numpy.save(…) as .npy "
            "or write them as a JSON array",
            params=("path",),
        )
    return _checked(values, where, dims)


def check_vectors(values: Any, *, name: str, dims: int | None = None) -> NDArray[np.float32]:
    """Float vectors passed in Python (``search(vectors=…)``) as float32 ``[n, d]``,
    checked as :func:`read_vectors` checks a file's.

    Parameters
    ----------
    values : array_like
        One vector ``[d]`` or several ``[n, d]`` (numpy array, or lists of numbers).
    name : str
        The argument's name, for messages.
    dims : int, optional
        The dimension every vector must have.

    Examples
    --------
    >>> check_vectors([1, 2, 3], name="vectors").shape
    (1, 3)
    >>> check_vectors([[1.0, float("nan")]], name="vectors")
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: vectors=: rows [0] hold NaN or infinite values; drop or \
fix them
    """
    where = f"{name}="
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged rows
        raise InvalidInputError(
            f"{where} holds rows of unequal lengths; every vector needs the same dimension",
            params=(name,),
        ) from exc
    return _checked(arr, where, dims, param=name)


def _read_npy(p: Path, where: str) -> NDArray[Any]:
    with p.open("rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise InvalidInputError(
            f"{where} is not a readable .npy file (no .npy header); save the vectors with "
            "numpy.save, or write them as a JSON array in a .json file",
            params=("path",),
        )
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickles: refused, never loaded
        raise InvalidInputError(
            f"{where} holds Python objects, not numbers; save a float array "
            "(numpy.save(path, vectors.astype('float32')))",
            params=("path",),
        ) from exc
    except (OSError, EOFError) as exc:
        raise InvalidInputError(
            f"{where} is not a readable .npy file ({exc}); save the vectors with numpy.save",
            params=("path",),
        ) from exc
    return loaded


def _read_json(p: Path, where: str) -> NDArray[Any]:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(
            f"{where} is not valid JSON ({exc}); write [v1, v2, …] or [[…], […]]",
            params=("path",),
        ) from exc
    if not isinstance(data, list) or not all(
        (isinstance(v, int | float) and not isinstance(v, bool))
        or (
            isinstance(v, list)
            and all(isinstance(u, int | float) and not isinstance(u, bool) for u in v)
        )
        for v in data
    ):
        raise InvalidInputError(
            f"{where} must hold an array of numbers or an array of arrays of numbers",
            params=("path",),
        )
    if data and isinstance(data[0], list):
        lengths = sorted({len(v) for v in data if isinstance(v, list)})
        if len(lengths) > 1 or not all(isinstance(v, list) for v in data):
            raise InvalidInputError(
                f"{where} holds rows of unequal lengths {lengths[:5]}; every vector needs "
                "the same dimension",
                params=("path",),
            )
    return np.asarray(data, dtype=np.float64)


def _checked(
    values: NDArray[Any], where: str, dims: int | None, *, param: str = "path"
) -> NDArray[np.float32]:
    if values.dtype.kind not in "fiu":
        raise InvalidInputError(
            f"{where} holds {values.dtype} values, not numbers; save a float array",
            params=(param,),
        )
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise InvalidInputError(
            f"{where} holds no vectors (shape {values.shape}); give [n, d] or [d] numbers",
            params=(param,),
        )
    if dims is not None and values.shape[1] != dims:
        raise InvalidInputError(
            f"{where} holds {values.shape[1]}-d vectors, but this corpus embeds {dims} "
            f"dimensions; pass vectors of {dims} numbers (from the same model)",
            params=(param,),
        )
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise InvalidInputError(
            f"{where}: rows {bad[:10].tolist()} hold NaN or infinite values; drop or fix them",
            params=(param,),
        )
    return np.ascontiguousarray(values, dtype=np.float32)
