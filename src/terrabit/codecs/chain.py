"""Chains: reducers (``pca``, ``rp``, ``rot``, ``itq`` …) followed by one quantizer.

``pca:64+int8`` fits PCA on the training data, then int8 on the projected training data;
``encode`` projects then quantizes, ``decode`` dequantizes then maps back to the input
space. A chain of reducers only ends with an implicit ``float32``.

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse
>>> X = np.random.default_rng(0).normal(size=(64, 16)).astype(np.float32)
>>> codec = parse("pca:8+int4").fit(X)
>>> codec.spec, codec.code_size, codec.decode(codec.encode(X)).shape
('pca:8+int4', 4, (64, 16))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from terrabit.codecs.base import F32, U8, Codec, InvalidInputError, Quantizer, Reducer, Stage
from terrabit.codecs.base import check_matrix as _check_matrix
from terrabit.codecs.scalar import Float32
from terrabit.errors import NotFittedError, SpecError

__all__ = ["Chain"]


class Chain(Codec):
    """Reducers then one quantizer, fitted in order on the training data.

    Parameters
    ----------
    stages : sequence of Stage
        Zero or more :class:`Reducer` followed by at most one :class:`Quantizer`
        (``float32`` when omitted).
    """

    def __init__(self, stages: Sequence[Stage]) -> None:
        stages = list(stages)
        if not stages:
            raise SpecError("a chain needs at least one stage, e.g. 'pca:64+int8'")
        quantizers = [i for i, s in enumerate(stages) if isinstance(s, Quantizer)]
        if len(quantizers) > 1:
            names = " and ".join(stages[i].stage_spec for i in quantizers)
            raise SpecError(
                f"a chain takes one quantizer, got {names}; "
                "keep the last and put reducers (pca, svd, rp, select, rot, itq) before it"
            )
        if quantizers and quantizers[0] != len(stages) - 1:
            q = stages[quantizers[0]].stage_spec
            after = "+".join(s.stage_spec for s in stages[quantizers[0] + 1 :])
            raise SpecError(
                f"quantizer {q!r} must come last, but {after!r} follows it; "
                f"put reducers before the quantizer, e.g. '{after}+{q}'"
            )
        for s in stages:
            if not isinstance(s, Quantizer | Reducer):
                raise SpecError(f"{s!r} is neither a reducer nor a quantizer")
        self.reducers: list[Reducer] = [s for s in stages if isinstance(s, Reducer)]
        self.quantizer: Quantizer = stages[-1] if quantizers else Float32()  # type: ignore[assignment]

    @property
    def stages(self) -> list[Stage]:
        """Reducers then the quantizer."""
        return [*self.reducers, self.quantizer]

    @property
    def spec(self) -> str:
        parts = [r.stage_spec for r in self.reducers]
        if not (self.reducers and isinstance(self.quantizer, Float32)):
            parts.append(self.quantizer.stage_spec)
        return "+".join(parts)

    def __repr__(self) -> str:
        return f"Chain({self.spec!r})"

    @property
    def is_fitted(self) -> bool:
        return all(s.is_fitted for s in self.stages)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{self.spec} is not fitted; call .fit(X_train) before encoding or decoding"
            )

    @property
    def code_size(self) -> int:
        self._check_fitted()
        return self.quantizer.code_size

    @property
    def hamming(self) -> bool:
        return self.quantizer.hamming

    @property
    def d_in(self) -> int:
        self._check_fitted()
        return int(self.stages[0].d_in_)

    def fit(self, X: ArrayLike) -> Chain:
        Y = _check_matrix(X)
        for r in self.reducers:
            Y = r.fit(Y).transform(Y)
        self.quantizer.fit(Y)
        return self

    def transform(self, X: ArrayLike) -> F32:
        """Apply the reducers only (the float input of the quantizer)."""
        self._check_fitted()
        Y = _check_matrix(X, d=self.d_in)
        for r in self.reducers:
            Y = r.transform(Y)
        return Y

    def encode(self, X: ArrayLike) -> U8:
        return self.quantizer.encode(self.transform(X))

    def decode(self, codes: ArrayLike) -> F32:
        self._check_fitted()
        Y = self.quantizer.decode(codes)
        for r in reversed(self.reducers):
            Y = r.inverse_transform(Y)
        return np.ascontiguousarray(Y, dtype=np.float32)

    def _state(self) -> Any:
        return [s._get_state() for s in self.stages]

    def _load_state(self, state: Any) -> None:
        if not isinstance(state, list) or len(state) != len(self.stages):
            raise InvalidInputError(
                f"serialized chain {self.spec!r} has {len(state) if isinstance(state, list) else 0}"
                f" stage states, expected {len(self.stages)}; save it again with to_dict()"
            )
        for stage, st in zip(self.stages, state, strict=True):
            stage._set_state(st)
