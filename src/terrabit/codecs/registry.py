"""One registry of codec families; spec strings (``pca:64+int8``) and serialized codecs.

Grammar: ``stage("+"stage)*``; ``stage = family[":" arg(","arg)*]``; ``arg`` is
``name=value`` or, first, a bare value for the family's main parameter
(``pca:64`` = ``pca:n=64``). Families and their parameters are listed by
:func:`describe`.

Examples
--------
>>> from terrabit.codecs import parse
>>> parse("binary:threshold=median").spec
'binary:threshold=median'
>>> parse("pca:n=64+int8").spec
'pca:64+int8'
>>> parse("int7")
Traceback (most recent call last):
...
terrabit.errors.SpecError: unknown codec 'int7' in 'int7' (did you mean 'int8'?); valid codecs: ...
"""

from __future__ import annotations

import difflib
from typing import Any

from terrabit.codecs.base import FORMAT, Codec, Quantizer, Stage
from terrabit.codecs.binary import Binary
from terrabit.codecs.chain import Chain
from terrabit.codecs.itq import ITQ
from terrabit.codecs.pq import PQ
from terrabit.codecs.rabitq import RaBitQ
from terrabit.codecs.reduce import (
    PCA,
    SVD,
    Normalize,
    RandomProjection,
    Select,
    SignRandomProjection,
)
from terrabit.codecs.rotation import Rotation, Turbo
from terrabit.codecs.scalar import Float16, Float32, Int2, Int4, Int8, Ternary
from terrabit.codecs.thermo import Gray, Thermo
from terrabit.errors import InvalidInputError, SpecError

__all__ = ["REGISTRY", "available", "describe", "from_dict", "parse", "parse_stage"]

REGISTRY: dict[str, type[Stage]] = {
    cls.family: cls
    for cls in (
        Float32,
        Float16,
        Int8,
        Int4,
        Int2,
        Ternary,
        Binary,
        Thermo,
        Gray,
        PQ,
        Turbo,
        RaBitQ,
        Normalize,
        Rotation,
        ITQ,
        PCA,
        SVD,
        RandomProjection,
        SignRandomProjection,
        Select,
    )
}


def available() -> list[str]:
    """Codec family names, quantizers first, for error messages and docs.

    Examples
    --------
    >>> "int8" in available() and "pca" in available()
    True
    """
    return list(REGISTRY)


def describe() -> list[dict[str, Any]]:
    """One dict per family: name, kind (quantizer/reducer), hamming, parameters and defaults."""
    out = []
    for name, cls in REGISTRY.items():
        out.append(
            {
                "family": name,
                "kind": "quantizer" if issubclass(cls, Quantizer) else "reducer",
                "hamming": bool(getattr(cls, "HAMMING", False)),
                "params": {p.name: p.default for p in cls.PARAMS},
                "doc": (cls.__doc__ or "").strip().splitlines()[0],
            }
        )
    return out


def _unknown(name: str, spec: str) -> SpecError:
    close = difflib.get_close_matches(name, list(REGISTRY), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SpecError(
        f"unknown codec {name!r} in {spec!r}{hint}; valid codecs: {', '.join(REGISTRY)}"
    )


def parse_stage(token: str, *, spec: str | None = None) -> Stage:
    """Build one unfitted stage from ``family[:args]``."""
    spec = token if spec is None else spec
    name, _, argtext = token.strip().partition(":")
    name = name.strip().lower()
    if not name:
        raise SpecError(f"empty stage in codec spec {spec!r}; write e.g. 'pca:64+int8'")
    cls = REGISTRY.get(name)
    if cls is None:
        raise _unknown(name, spec)
    kwargs: dict[str, Any] = {}
    if argtext.strip():
        for i, arg in enumerate(a.strip() for a in argtext.split(",")):
            key, eq, value = arg.partition("=")
            if not eq:
                if i != 0 or cls.POSITIONAL is None:
                    valid = ", ".join(p.name for p in cls.PARAMS) or "none"
                    raise SpecError(
                        f"{name}: argument {arg!r} in {spec!r} needs the form name=value "
                        f"(parameters: {valid})"
                    )
                key, value = cls.POSITIONAL, arg
            key = key.strip()
            if key in kwargs:
                raise SpecError(f"{name}: parameter {key!r} given twice in {spec!r}")
            kwargs[key] = value.strip()
    known = [p.name for p in cls.PARAMS]
    for key in kwargs:
        if key not in known:
            raise SpecError(
                f"{name} has no parameter {key!r}; valid: {', '.join(known) or 'none'} "
                f"(in codec spec {spec!r})"
            )
    try:
        stage: Stage = cls(**kwargs)
    except SpecError as exc:
        raise SpecError(f"{exc} (in codec spec {spec!r})") from exc
    return stage


def parse(spec: str) -> Codec:
    """Build an unfitted codec from a spec string.

    Parameters
    ----------
    spec : str
        ``stage("+"stage)*``, reducers before one quantizer: ``int8``, ``int4:clip=99.9``,
        ``binary:threshold=median``, ``pq:m=128,bits=8``, ``turbo:bits=2``, ``rabitq``,
        ``rot+int4``, ``pca:64+int8``, ``itq+binary``, ``srp+binary``, ``pca:64+thermo:levels=17``.

    Returns
    -------
    Codec
        A :class:`~terrabit.codecs.base.Quantizer` for a single quantizer, else a
        :class:`~terrabit.codecs.chain.Chain`.

    Examples
    --------
    >>> parse("rot+int4").spec
    'rot+int4'
    >>> parse("int8+pca:64")
    Traceback (most recent call last):
    ...
    terrabit.errors.SpecError: quantizer 'int8' must come last, ... e.g. 'pca:64+int8' ...
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(
            f"a codec spec must be a non-empty string like 'int8' or 'pca:64+int8', got {spec!r}; "
            f"valid codecs: {', '.join(REGISTRY)}"
        )
    stages = [parse_stage(tok, spec=spec) for tok in spec.split("+")]
    if len(stages) == 1 and isinstance(stages[0], Quantizer):
        return stages[0]
    try:
        return Chain(stages)
    except SpecError as exc:
        raise SpecError(f"{exc} (in codec spec {spec!r})") from exc


def from_dict(data: dict[str, Any]) -> Codec:
    """Rebuild a codec written by ``Codec.to_dict()`` (exactly: same codes).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    >>> c = parse("rot+binary").fit(X)
    >>> bool((from_dict(c.to_dict()).encode(X) == c.encode(X)).all())
    True
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT or "spec" not in data:
        raise InvalidInputError(
            f"not a serialized terrabit codec (expected a dict with format {FORMAT!r} and "
            "'spec', as written by Codec.to_dict())"
        )
    codec = parse(data["spec"])
    if data.get("fitted"):
        codec._load_state(data["state"])
    return codec
