"""The codec protocol: parameters, spec strings, validation, fitting state and serialization.

Two kinds of stage build every codec:

* a **quantizer** (:class:`Quantizer`) turns float vectors into ``uint8`` codes of a fixed
  ``code_size`` and back (``int8``, ``binary``, ``pq`` …); it is a :class:`Codec` on its own;
* a **reducer** (:class:`Reducer`) maps float vectors to (usually fewer) float vectors
  and back (``pca``, ``rp``, ``rot`` …); it only becomes a codec in a chain that ends with
  a quantizer (``pca:64+int8``), see :mod:`terrabit.codecs.chain`.

Serialization (``to_dict``) is JSON: ``{"format": "terrabit.codec/1", "spec": …,
"fitted": bool, "state": …}``; every fitted array is stored exactly as
``{"dtype", "shape", "base64"}`` (little-endian raw bytes, base64-encoded), so
``from_dict(to_dict())`` rebuilds the same codec bit for bit.

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> X = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
>>> codec = parse("int8").fit(X)
>>> codec.encode(X).shape, codec.code_size, codec.spec
((50, 8), 8, 'int8')
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from terrabit._validation import format_rows
from terrabit.errors import InvalidInputError, NotFittedError, SpecError

__all__ = [
    "FORMAT",
    "Codec",
    "Param",
    "Quantizer",
    "Reducer",
    "Stage",
    "array_from_json",
    "array_to_json",
    "check_codes",
    "check_matrix",
]

FORMAT = "terrabit.codec/1"

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Param:
    """One parameter of a codec family, as written in a spec string (``name=value``)."""

    name: str
    kind: type
    default: Any
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    always: bool = False
    doc: str = ""

    def coerce(self, family: str, raw: Any) -> Any:
        """Convert ``raw`` (a spec-string token or a Python value) and check its range."""
        if raw is None:
            if self.default is None:
                return None
            raise SpecError(f"{family}: {self.name} must not be None")
        try:
            if self.kind is int:
                if isinstance(raw, bool):
                    raise ValueError(raw)
                if isinstance(raw, str):
                    value: Any = int(raw)
                else:
                    value = int(raw)
                    if value != raw:
                        raise ValueError(raw)
            elif self.kind is float:
                value = float(raw)
            else:
                value = str(raw)
        except (TypeError, ValueError) as exc:
            raise SpecError(
                f"{family}: {self.name} must be {self.kind.__name__}, got {raw!r}"
            ) from exc
        if self.choices is not None and value not in self.choices:
            valid = ", ".join(repr(c) for c in self.choices)
            raise SpecError(f"{family}: {self.name} must be one of {valid}; got {value!r}")
        if self.kind in (int, float):
            if not np.isfinite(value):
                raise SpecError(f"{family}: {self.name} must be finite, got {value!r}")
            if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high
            ):
                lo = "-inf" if self.low is None else f"{self.low:g}"
                hi = "inf" if self.high is None else f"{self.high:g}"
                raise SpecError(f"{family}: {self.name} must be in [{lo}, {hi}], got {value!r}")
        return value

    def format(self, value: Any) -> str:
        """Canonical text of ``value`` in a spec string."""
        if isinstance(value, float):
            return repr(value)
        return str(value)


def check_matrix(X: ArrayLike, *, name: str = "X", d: int | None = None) -> F32:
    """Return ``X`` as a C-contiguous float32 ``[n, d]`` array, or raise naming the problem.

    Examples
    --------
    >>> check_matrix([[1, 2], [3, 4]]).dtype
    dtype('float32')
    >>> check_matrix([[1.0, float("nan")], [0.0, 1.0]])
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: X has NaN or inf in rows 0; drop or impute those rows first
    """
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a numeric 2-D array [n, d]: {exc}") from exc
    if arr.ndim != 2:
        hint = "; for one vector use x.reshape(1, -1)" if arr.ndim == 1 else ""
        raise InvalidInputError(
            f"{name} must be a 2-D array [n, d], got {arr.ndim}-D array of shape {arr.shape}{hint}"
        )
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"{name} must have at least one row and column, got {arr.shape}")
    if d is not None and arr.shape[1] != d:
        raise InvalidInputError(
            f"{name} has {arr.shape[1]} dims but the codec was fitted on {d}; "
            "encode vectors of the same model/dimension as the training data"
        )
    out = np.ascontiguousarray(arr, dtype=np.float32)
    finite: NDArray[np.bool_] = np.asarray(np.isfinite(out).all(axis=1))
    if not finite.all():
        raise InvalidInputError(
            f"{name} has NaN or inf in rows {format_rows(~finite)}; drop or impute those rows first"
        )
    return out


def check_codes(codes: ArrayLike, *, code_size: int, name: str = "codes") -> U8:
    """Return ``codes`` as a C-contiguous ``uint8 [n, code_size]`` array, or raise."""
    arr = np.asarray(codes)
    if arr.ndim != 2 or arr.shape[1] != code_size:
        raise InvalidInputError(
            f"{name} must be a uint8 array [n, {code_size}] (this codec's code_size), "
            f"got shape {arr.shape}"
        )
    if arr.dtype != np.uint8:
        raise InvalidInputError(f"{name} must have dtype uint8, got {arr.dtype}")
    return np.ascontiguousarray(arr)


def array_to_json(value: np.ndarray) -> dict[str, Any]:
    """An array as JSON, exactly: ``{"dtype", "shape", "base64"}`` of its little-endian bytes.

    Examples
    --------
    >>> array_to_json(np.array([1.0, -2.0], np.float32))
    {'dtype': 'f4', 'shape': [2], 'base64': 'AACAPwAAAMA='}
    >>> array_from_json(array_to_json(np.eye(2, dtype=np.float32))).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    le = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
    return {
        "dtype": value.dtype.str.lstrip("<>|="),
        "shape": list(value.shape),
        "base64": base64.b64encode(le.tobytes()).decode("ascii"),
    }


def array_from_json(value: dict[str, Any]) -> np.ndarray:
    """The array :func:`array_to_json` wrote (native byte order, a fresh copy)."""
    dtype = np.dtype(value["dtype"]).newbyteorder("<")
    raw = base64.b64decode(value["base64"])
    arr = np.frombuffer(raw, dtype=dtype).reshape(value["shape"])
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _encode_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return array_to_json(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "base64"}:
        return array_from_json(value)
    return value


class Stage:
    """Parameters, spec string and fitted state shared by quantizers and reducers."""

    d_in_: int

    family: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    POSITIONAL: ClassVar[str | None] = None
    FITTED: ClassVar[tuple[str, ...]] = ("d_in_",)

    def _set_params(self, **values: Any) -> None:
        known = {p.name: p for p in self.PARAMS}
        for key in values:
            if key not in known:
                valid = ", ".join(known) or "none"
                raise SpecError(f"{self.family} has no parameter {key!r}; valid: {valid}")
        for p in self.PARAMS:
            setattr(self, p.name, p.coerce(self.family, values.get(p.name, p.default)))

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, by name."""
        return {p.name: getattr(self, p.name) for p in self.PARAMS}

    @property
    def stage_spec(self) -> str:
        """Canonical spec of this stage alone (non-default parameters only)."""
        parts: list[str] = []
        for p in self.PARAMS:
            value = getattr(self, p.name)
            shown = p.always or value != p.default
            if p.name == self.POSITIONAL and value is not None and shown:
                parts.insert(0, p.format(value))
            elif shown and value is not None:
                parts.append(f"{p.name}={p.format(value)}")
        return self.family + (":" + ",".join(parts) if parts else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :func:`from_dict` of a fitted codec) has run."""
        return hasattr(self, "d_in_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{self.stage_spec} is not fitted; call .fit(X_train) before encoding or decoding"
            )

    def _get_state(self) -> dict[str, Any]:
        return {name: _encode_value(getattr(self, name)) for name in self.FITTED}

    def _set_state(self, state: dict[str, Any]) -> None:
        missing = [name for name in self.FITTED if name not in state]
        if missing:
            raise InvalidInputError(
                f"serialized {self.stage_spec} lacks fitted attributes {missing}; "
                "re-fit the codec and save it again with to_dict()"
            )
        for name in self.FITTED:
            setattr(self, name, _decode_value(state[name]))

    def _require_rows(self, X: F32, need: int, what: str) -> None:
        n = X.shape[0]
        if n < need:
            raise InvalidInputError(
                f"{self.stage_spec} needs at least {need} training rows for {what}, got {n}; "
                "fit on more rows or lower the parameter"
            )


class Codec(ABC):
    """A fitted map from float32 vectors ``[n, d]`` to ``uint8`` codes ``[n, code_size]``."""

    @property
    @abstractmethod
    def spec(self) -> str:
        """Canonical spec string; ``parse(codec.spec)`` builds the same (unfitted) codec."""

    @property
    @abstractmethod
    def code_size(self) -> int:
        """Exact bytes per encoded vector (needs the codec fitted)."""

    @property
    @abstractmethod
    def hamming(self) -> bool:
        """True iff codes are compared by plain Hamming distance (popcount of XOR)."""

    @property
    @abstractmethod
    def d_in(self) -> int:
        """Input dimension the codec was fitted on."""

    @abstractmethod
    def fit(self, X: ArrayLike) -> Codec:
        """Fit on training vectors ``X`` (float32 ``[n, d]``) once; returns ``self``."""

    @abstractmethod
    def encode(self, X: ArrayLike) -> U8:
        """Encode float vectors ``[n, d_in]`` to ``uint8 [n, code_size]``."""

    @abstractmethod
    def decode(self, codes: ArrayLike) -> F32:
        """Decode ``uint8 [n, code_size]`` codes to float32 vectors ``[n, d_in]``."""

    @abstractmethod
    def _state(self) -> Any: ...

    @abstractmethod
    def _load_state(self, state: Any) -> None: ...

    @property
    @abstractmethod
    def is_fitted(self) -> bool:
        """True once fitted."""

    def fit_encode(self, X: ArrayLike) -> U8:
        """``fit(X)`` then ``encode(X)``."""
        return self.fit(X).encode(X)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (spec + exact fitted arrays, base64)."""
        return {
            "format": FORMAT,
            "spec": self.spec,
            "fitted": self.is_fitted,
            "state": self._state() if self.is_fitted else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Codec:
        """Rebuild a codec written by :meth:`to_dict` (see :func:`terrabit.codecs.from_dict`)."""
        from terrabit.codecs.registry import from_dict

        return from_dict(data)


class Quantizer(Stage, Codec):
    """A stage that writes codes; a complete codec on its own."""

    HAMMING: ClassVar[bool] = False

    @property
    def spec(self) -> str:
        return self.stage_spec

    @property
    def hamming(self) -> bool:
        return self.HAMMING

    @property
    def d_in(self) -> int:
        self._check_fitted()
        return int(self.d_in_)

    @property
    def code_size(self) -> int:
        self._check_fitted()
        return self._code_size()

    @abstractmethod
    def _code_size(self) -> int: ...

    @abstractmethod
    def _fit(self, X: F32) -> None: ...

    @abstractmethod
    def _encode(self, X: F32) -> U8: ...

    @abstractmethod
    def _decode(self, codes: U8) -> F32: ...

    def fit(self, X: ArrayLike) -> Quantizer:
        X = check_matrix(X)
        self._fit(X)
        self.d_in_ = int(X.shape[1])
        return self

    def encode(self, X: ArrayLike) -> U8:
        self._check_fitted()
        return self._encode(check_matrix(X, d=int(self.d_in_)))

    def decode(self, codes: ArrayLike) -> F32:
        self._check_fitted()
        out = self._decode(check_codes(codes, code_size=self._code_size()))
        return np.ascontiguousarray(out, dtype=np.float32)

    def _state(self) -> Any:
        return self._get_state()

    def _load_state(self, state: Any) -> None:
        self._set_state(state)


class Reducer(Stage):
    """A float-to-float stage (projection, rotation) placed before a quantizer in a chain."""

    def fit(self, X: ArrayLike) -> Reducer:
        """Fit on training vectors; returns ``self``."""
        X = check_matrix(X)
        self._fit(X)
        self.d_in_ = int(X.shape[1])
        return self

    @property
    def d_out(self) -> int:
        """Output dimension (needs the reducer fitted)."""
        self._check_fitted()
        return self._d_out()

    def transform(self, X: ArrayLike) -> F32:
        """Map ``[n, d_in]`` to ``[n, d_out]``."""
        self._check_fitted()
        out = self._transform(check_matrix(X, d=int(self.d_in_)))
        return np.ascontiguousarray(out, dtype=np.float32)

    def inverse_transform(self, Y: ArrayLike) -> F32:
        """Map ``[n, d_out]`` back to ``[n, d_in]`` (a projection back for reducers)."""
        self._check_fitted()
        Y = check_matrix(Y, name="Y", d=self._d_out())
        return np.ascontiguousarray(self._inverse(Y), dtype=np.float32)

    @abstractmethod
    def _d_out(self) -> int: ...

    @abstractmethod
    def _fit(self, X: F32) -> None: ...

    @abstractmethod
    def _transform(self, X: F32) -> F32: ...

    @abstractmethod
    def _inverse(self, Y: F32) -> F32: ...
