"""Embedding false colour (format 1.5, ``spec/corpus-v1.md`` §4.3): three principal
directions of a corpus's codes, fitted once at publish and stored in the manifest
metadata (``false_colour``), so that a row gets the same colour in Python, in the CLI and
in the browser app (``web/src/lib/corpus/falsecolour.ts``).

* **Features**: the +-1 bits of a code (:func:`terrabit.kernels.bit_features`: ``+1``
  where bit ``j`` is set, MSB first). The Hamming distance of two codes is a quarter of
  the squared distance of their features, so the directions picture what a Hamming
  search compares: similar colours, similar codes.
* **Fit** (:func:`fit_false_colour`, at publish, on the codes of the codec's seeded
  sample): at most :data:`FIT_ROWS` of them (a seeded subset), the features' mean, their
  top :data:`DIRECTIONS` principal axes (:func:`terrabit.codecs.reduce.top_axes`: the
  largest-magnitude loading of each positive) as red, green and blue, and per direction
  the :data:`PERCENTILES` of the rows' projections as the ends of the colour scale.
* **Colour** (:func:`false_colour`): a code's projection ``p_k = c_k . (x - m)``,
  computed through a per-byte lookup table in a fixed order of float64 operations, and
  ``clip(floor(256 (p_k - lo_k) / (hi_k - lo_k)), 0, 255)``: the same bytes in every
  language.

Examples
--------
>>> import numpy as np
>>> codes = np.random.default_rng(0).integers(0, 256, size=(500, 4), dtype=np.uint8)
>>> params = fit_false_colour(codes, seed=0)
>>> rgb = false_colour(params, codes)
>>> rgb.shape, rgb.dtype
((500, 3), dtype('uint8'))
>>> np.array_equal(false_colour(FalseColour.from_dict(params.to_dict(), code_size=4), codes), rgb)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from terrabit.codecs.base import array_from_json, array_to_json
from terrabit.codecs.reduce import top_axes
from terrabit.errors import CorpusIntegrityError, InvalidInputError
from terrabit.kernels import as_codes, bit_features

__all__ = [
    "DIRECTIONS",
    "FIT_ROWS",
    "KEY",
    "PERCENTILES",
    "FalseColour",
    "check_false_colour",
    "false_colour",
    "fit_false_colour",
]

#: The manifest metadata key (format 1.5).
KEY = "false_colour"
#: Principal directions, one per colour channel: red, green, blue.
DIRECTIONS = 3
#: At most this many sample codes are fitted on (a seeded subset of the publish sample):
#: three directions are settled long before, and the features of 8192 1024-bit codes
#: take 64 MB of float64.
FIT_ROWS = 8192
#: The projections at these percentiles of the fitted rows map to channel values 0 and
#: 255 (a few rows beyond them saturate rather than squeeze everyone else's colours).
PERCENTILES = (2.0, 98.0)

#: A direction whose variance is at most this fraction of the total is left zero.
_FLAT = 1e-9

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

# _SIGNS[v, i]: +1 where bit 7 - i of byte value v is set (MSB first), else -1
_SIGNS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64) * 2 - 1


@dataclass(frozen=True, eq=False)
class FalseColour:
    """Fitted false-colour parameters (the manifest's ``false_colour`` value).

    Attributes
    ----------
    components : float32 array ``[3, bits]``
        The directions (red, green, blue) over the ``bits = 8 * code_size`` features.
    mean : float32 array ``[bits]``
        The features' mean over the fitted rows.
    lo, hi : tuple of 3 floats
        Per direction, the projections shown as channel value 0 and 255 (``lo < hi``).
    rows : int
        How many sample codes were fitted on.
    """

    components: npt.NDArray[np.float32]
    mean: npt.NDArray[np.float32]
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    rows: int

    @property
    def code_size(self) -> int:
        """Bytes per code the parameters colour."""
        return int(self.mean.shape[0]) // 8

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored under :data:`KEY` (arrays exact, base64 little-endian)."""
        return {
            "components": array_to_json(self.components),
            "mean": array_to_json(self.mean),
            "lo": [float(v) for v in self.lo],
            "hi": [float(v) for v in self.hi],
            "rows": int(self.rows),
        }

    @classmethod
    def from_dict(cls, data: Any, *, code_size: int) -> FalseColour:
        """Parameters read back from :meth:`to_dict`'s object, checked for codes of
        ``code_size`` bytes (:func:`check_false_colour`).

        Raises
        ------
        CorpusIntegrityError
            The object is not what the spec describes (each problem named).
        """
        problems = check_false_colour(data, code_size=code_size)
        if problems:
            raise CorpusIntegrityError(
                f"manifest metadata {KEY!r} is malformed: {'; '.join(problems)}; republish the "
                "corpus with `terrabit publish`"
            )
        return cls(
            components=array_from_json(data["components"]).astype(np.float32),
            mean=array_from_json(data["mean"]).astype(np.float32),
            lo=_triple(data["lo"]),
            hi=_triple(data["hi"]),
            rows=int(data["rows"]),
        )

    def tables(self) -> F64:
        """The lookup tables ``T[k, b, v]`` (``float64 [3, code_size, 256]``): direction
        ``k``'s share of the projection from byte ``b`` holding the value ``v``.

        ``T[k, b, v] = t_0 + t_1 + ... + t_7`` (left to right), ``t_i = c[k, 8b + i] *
        (s_i(v) - m[8b + i])``, ``s_i(v) = +1`` if bit ``7 - i`` of ``v`` is set else ``-1``;
        every operation in float64 on the float32 values widened (spec §4.3).
        """
        c = self.components.astype(np.float64).reshape(DIRECTIONS, self.code_size, 1, 8)
        diff = _SIGNS[None, :, :] - self.mean.astype(np.float64).reshape(self.code_size, 1, 8)
        terms = c * diff[None]  # [3, code_size, 256, 8]
        out = terms[..., 0].copy()
        for i in range(1, 8):  # in order: numpy's sum would pair the terms differently
            out += terms[..., i]
        return out

    def project(self, codes: Any) -> F64:
        """The projections ``p = (x - mean) @ components.T`` of packed codes (``float64
        [n, 3]``), summed byte by byte in order through :meth:`tables` (spec §4.3).

        Examples
        --------
        >>> import numpy as np
        >>> params = FalseColour(np.eye(3, 8, dtype=np.float32), np.zeros(8, np.float32),
        ...                      (-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), 0)
        >>> params.project(np.array([[0b1010_0000]], np.uint8)).tolist()
        [[1.0, -1.0, 1.0]]
        """
        codes = self._codes(codes)
        table = self.tables()
        acc = np.zeros((DIRECTIONS, len(codes)), np.float64)
        for b in range(self.code_size):
            acc += table[:, b, codes[:, b]]
        out: F64 = acc.T.copy()
        return out

    def colour(self, codes: Any) -> U8:
        """RGB of packed codes (``uint8 [n, 3]``); see :func:`false_colour`."""
        p = self.project(codes)
        lo = np.asarray(self.lo, np.float64)
        hi = np.asarray(self.hi, np.float64)
        scaled = np.floor((p - lo) / (hi - lo) * 256.0)
        out: U8 = np.clip(scaled, 0, 255).astype(np.uint8)
        return out

    def _codes(self, codes: Any) -> U8:
        arr = as_codes("codes", codes, allow_1d=True)
        if arr.shape[1] != self.code_size:
            raise InvalidInputError(
                f"codes have {arr.shape[1]} bytes but the false colour was fitted on codes of "
                f"{self.code_size} bytes; pass this corpus's codes (its embedding column)"
            )
        return arr


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def false_colour(params: FalseColour, codes: Any) -> U8:
    """The embedding false colour of packed codes: ``uint8 [n, 3]`` (red, green, blue).

    Channel ``k`` is ``clip(floor(256 (p_k - lo_k) / (hi_k - lo_k)), 0, 255)`` where
    ``p_k`` is the code's projection on direction ``k`` (:meth:`FalseColour.project`):
    256 equal bins from ``lo_k`` to ``hi_k``, saturated beyond them. Rows with similar
    codes get similar colours.

    Parameters
    ----------
    params : FalseColour
        The corpus's parameters (:attr:`terrabit.corpus.Corpus.false_colour_params`).
    codes : uint8 array ``[n, code_size]`` (or one code ``[code_size]``)
        Packed codes of the corpus (its ``embedding`` column).

    Examples
    --------
    >>> import numpy as np
    >>> params = FalseColour(np.eye(3, 8, dtype=np.float32), np.zeros(8, np.float32),
    ...                      (-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), 0)
    >>> false_colour(params, np.array([[0b1010_0000], [0b0100_0000]], np.uint8)).tolist()
    [[255, 0, 255], [0, 255, 0]]
    """
    return params.colour(codes)


def fit_false_colour(codes: Any, *, seed: int = 0) -> FalseColour:
    """Fit the false colour on sample codes (what publish does with the codec's sample).

    At most :data:`FIT_ROWS` rows are used (``numpy.random.default_rng(seed).choice(n,
    FIT_ROWS, replace=False)``, kept in row order); the features are centred on their
    mean and the top :data:`DIRECTIONS` principal axes taken (a direction whose variance
    is at most ``1e-9`` of the total, or missing for want of rows, is zero); ``lo, hi`` are
    the :data:`PERCENTILES` of the rows' projections (linear interpolation), widened by 1
    on both sides where they are equal (a direction the sample does not vary along: its
    rows show the middle value 128).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0b1111_0000], [0b0000_1111], [0b1100_1100]], np.uint8)
    >>> params = fit_false_colour(codes)
    >>> params.components.shape, params.rows
    ((3, 8), 3)
    """
    arr = as_codes("codes", codes, allow_1d=False)
    if len(arr) == 0:
        raise InvalidInputError("cannot fit the false colour on 0 codes; pass sample codes")
    if len(arr) > FIT_ROWS:
        pick = np.random.default_rng(seed).choice(len(arr), FIT_ROWS, replace=False)
        arr = arr[np.sort(pick)]
    X = bit_features(arr)
    mean = X.mean(axis=0)
    centred = X - mean
    axes, variance = top_axes(centred, min(DIRECTIONS, len(arr)))
    total = float((centred**2).sum()) / max(len(arr) - 1, 1)
    components = np.zeros((DIRECTIONS, X.shape[1]), np.float32)
    for k in range(len(axes)):  # a direction without variance would colour rounding noise
        if variance[k] > _FLAT * total:
            components[k] = axes[k]
    unscaled = FalseColour(components, mean.astype(np.float32), (0.0,) * 3, (1.0,) * 3, len(arr))
    lo, hi = np.percentile(unscaled.project(arr), PERCENTILES, axis=0)
    flat = ~(hi > lo)
    lo[flat] -= 1.0
    hi[flat] += 1.0
    return FalseColour(components, unscaled.mean, _triple(lo), _triple(hi), len(arr))


def check_false_colour(data: Any, *, code_size: int) -> list[str]:
    """The problems of a ``false_colour`` metadata value for codes of ``code_size`` bytes
    (empty when it is as spec §4.3 says).

    Examples
    --------
    >>> check_false_colour({"lo": [0, 0, 0]}, code_size=2)
    ["missing keys ['components', 'hi', 'mean', 'rows']"]
    """
    if not isinstance(data, dict):
        return [f"expected a JSON object, got {type(data).__name__}"]
    missing = sorted({"components", "mean", "lo", "hi", "rows"} - set(data))
    if missing:
        return [f"missing keys {missing}"]
    bits = 8 * code_size
    problems = []
    for name, shape in (("components", [DIRECTIONS, bits]), ("mean", [bits])):
        entry = data[name]
        try:
            arr = array_from_json(entry)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{name} is not a base64 array ({exc})")
            continue
        if entry.get("dtype") != "f4" or list(arr.shape) != shape:
            problems.append(
                f"{name} is {entry.get('dtype')} {list(arr.shape)}, expected f4 {shape} "
                f"(codes of {code_size} bytes)"
            )
        elif not np.isfinite(arr).all():
            problems.append(f"{name} holds NaN or infinite values")
    ends = []
    for name in ("lo", "hi"):
        values = data[name]
        ok = isinstance(values, list) and len(values) == DIRECTIONS
        ok = ok and all(isinstance(v, int | float) and math.isfinite(v) for v in values)
        if not ok:
            problems.append(f"{name} is {values!r}, expected {DIRECTIONS} finite numbers")
        ends.append(values if ok else None)
    if ends[0] is not None and ends[1] is not None:
        bad = [k for k in range(DIRECTIONS) if not ends[0][k] < ends[1][k]]
        if bad:
            problems.append(f"lo must be below hi in every direction, not in {bad}")
    if not isinstance(data["rows"], int) or data["rows"] < 0:
        problems.append(f"rows is {data['rows']!r}, expected a count")
    return problems
