"""Spatial-context metrics of road segmentation (Chesapeake RSC style).

Masks label every pixel background (0), road (1) or tree canopy over road (2, "TC"); a
model predicts road (1) vs not (0). A road hidden under trees can only be found from
context, so the further a TC pixel lies from the nearest *visible* road pixel the more
context the model must use:

* ``d`` is the L1 (city-block) distance, within its patch, from a TC pixel to the nearest
  visible-road pixel (``metric="euclidean"`` uses the straight-line distance instead);
* the **distance-weighted recall** is ``DWR = Σ d·[pred = road] / Σ d`` over the TC pixels
  of the whole set (pooled, not averaged per patch); a patch without any visible road has
  no distances, is skipped and counted (``n_skipped``);
* **recall by distance** bins the TC pixels by ``d`` on log-spaced edges from 1 px to
  ``max d + 1`` (20 bins by default) and gives the recall and the count of each bin;
* **recall per class**: the share of road and TC pixels predicted road, and the share of
  background pixels predicted not road (all patches).

The distance transform is exact and vectorized: the L1 distance is separable, and each
1-D pass ``g(i) = min_k f(k) + |i - k|`` is two running minima,
``i + cummin(f(k) - k)`` forward and ``-i + cummin(f(k) + k)`` backward.

Examples
--------
>>> import numpy as np
>>> mask = np.array([[1, 2, 2, 2, 0]])
>>> pred = np.array([[1, 1, 1, 0, 0]])
>>> float(distance_weighted_recall(pred, mask))  # (1 + 2) / (1 + 2 + 3)
0.5
>>> recall_by_class(pred, mask)["tc"]
0.6666666666666666
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from terrabit._progress import progress_bar
from terrabit._validation import check_choice, check_int_range
from terrabit.errors import InvalidInputError

__all__ = [
    "BACKGROUND",
    "CLASS_NAMES",
    "ROAD",
    "TREE_CANOPY",
    "DistanceRecall",
    "SpatialContextMetrics",
    "distance_to_road",
    "distance_weighted_recall",
    "load_patch_pairs",
    "log_bin_edges",
    "plot_recall_by_distance",
    "recall_by_class",
    "recall_by_distance",
    "spatial_context_metrics",
]

#: Mask class values.
BACKGROUND, ROAD, TREE_CANOPY = 0, 1, 2
CLASS_NAMES = {BACKGROUND: "background", ROAD: "road", TREE_CANOPY: "tc"}

Metric = Literal["taxicab", "euclidean"]
_METRICS: tuple[Metric, ...] = ("taxicab", "euclidean")
_PATCH_SUFFIXES = (".tif", ".tiff", ".npy")

FloatArray = npt.NDArray[np.float64]


# -- distance transform --------------------------------------------------------------------


def distance_to_road(mask: npt.ArrayLike, *, metric: Metric = "taxicab") -> FloatArray:
    """Distance of every pixel to the nearest road pixel of its patch (``inf``: no road).

    Parameters
    ----------
    mask : array_like, shape (H, W) or (N, H, W)
        Class masks (``ROAD`` = 1 marks visible road; other values are not road).
    metric : {"taxicab", "euclidean"}
        L1 (city-block, the reference definition) or straight-line distance in pixels.

    Returns
    -------
    ndarray of float64, same shape
        0 on road pixels; ``inf`` everywhere in a patch without road.

    Examples
    --------
    >>> distance_to_road(np.array([[0, 1, 0, 0]])).tolist()
    [[1.0, 0.0, 1.0, 2.0]]
    >>> distance_to_road(np.array([[1, 0], [0, 0]]), metric="euclidean")[1, 1].round(4)
    np.float64(1.4142)
    >>> distance_to_road(np.zeros((1, 2)))
    array([[inf, inf]])
    """
    check_choice("metric", metric, _METRICS)
    m = np.asarray(mask)
    if m.ndim not in (2, 3):
        raise InvalidInputError(f"mask must be 2-D (H, W) or 3-D (N, H, W); got shape {m.shape}")
    road = m == ROAD
    from scipy.ndimage import distance_transform_cdt, distance_transform_edt

    out = np.full(m.shape, np.inf)
    stack = road.reshape((-1, *m.shape[-2:]))
    flat = out.reshape(stack.shape)
    for i, patch in enumerate(stack):
        if patch.any():
            if metric == "euclidean":
                flat[i] = distance_transform_edt(~patch)
            else:
                flat[i] = distance_transform_cdt(~patch, metric="taxicab")
    return out


# -- validation ----------------------------------------------------------------------------


def _patches(x: Any, name: str) -> Iterator[npt.NDArray[Any]]:
    """Yield 2-D patches from an (H, W) or (N, H, W) array or an iterable of 2-D arrays."""
    if isinstance(x, list | tuple) and len(x) == 0:
        return
    patch_list = isinstance(x, list | tuple) and isinstance(x[0], np.ndarray)
    if isinstance(x, np.ndarray) or (isinstance(x, list | tuple) and not patch_list):
        arr = np.asarray(x)
        if arr.ndim == 2:
            yield arr
            return
        if arr.ndim == 3:
            yield from arr
            return
        raise InvalidInputError(
            f"{name} must be (H, W), (N, H, W) or a sequence of (H, W) patches; "
            f"got shape {arr.shape}"
        )
    for item in x:
        arr = np.asarray(item)
        if arr.ndim != 2:
            raise InvalidInputError(f"each {name} patch must be 2-D (H, W); got shape {arr.shape}")
        yield arr


def _check_values(
    arr: npt.NDArray[Any], allowed: tuple[int, ...], name: str, index: int, label: str
) -> None:
    if arr.dtype == np.bool_:
        return
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidInputError(f"{name} patch {label} has dtype {arr.dtype}; give integer classes")
    bad = ~np.isin(arr, allowed)
    if bad.any():
        values = np.unique(arr[bad])[:10].tolist()
        rows, cols = np.nonzero(bad)
        where = ", ".join(f"({r}, {c})" for r, c in zip(rows[:10], cols[:10], strict=True))
        more = f" (first 10 of {int(bad.sum())})" if bad.sum() > 10 else ""
        raise InvalidInputError(
            f"{name} patch {label} holds unexpected class values {values} at pixels "
            f"{where}{more}; {name} values must be in {list(allowed)} "
            + (
                "(0 background, 1 road, 2 tree canopy over road)"
                if name == "mask"
                else "(1 road, 0 not road)"
            )
        )


def _pairs(
    preds: Any, masks: Any, names: Sequence[str] | None
) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    pred_iter = _patches(preds, "pred")
    mask_iter = _patches(masks, "mask")
    i = 0
    while True:
        pred = next(pred_iter, None)
        mask = next(mask_iter, None)
        if pred is None and mask is None:
            return
        label = f"{i}" + (f" ({names[i]!r})" if names is not None and i < len(names) else "")
        if pred is None or mask is None:
            which = "pred" if pred is None else "mask"
            raise InvalidInputError(
                f"pred and mask hold different numbers of patches: {which} ends at patch {i}; "
                "give one prediction per mask, in the same order"
            )
        if pred.shape != mask.shape:
            raise InvalidInputError(
                f"patch {label}: pred shape {pred.shape} differs from mask shape {mask.shape}; "
                "predict on the mask's grid (same height and width)"
            )
        _check_values(mask, (BACKGROUND, ROAD, TREE_CANOPY), "mask", i, label)
        _check_values(pred, (0, 1), "pred", i, label)
        yield pred.astype(bool), mask
        i += 1


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistanceRecall:
    """Recall of TC pixels binned by distance to the nearest visible road.

    ``edges`` has ``n_bins + 1`` values; bin ``i`` holds ``edges[i] <= d < edges[i+1]``.
    ``recall`` is ``nan`` for an empty bin.
    """

    edges: FloatArray
    counts: npt.NDArray[np.int64]
    hits: npt.NDArray[np.int64]

    @property
    def recall(self) -> FloatArray:
        """Share of each bin's TC pixels predicted road (``nan`` for an empty bin)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.hits / np.maximum(self.counts, 1), np.nan)

    @property
    def centers(self) -> FloatArray:
        """Geometric centre of each bin (for log-scaled plots)."""
        return np.sqrt(self.edges[:-1] * self.edges[1:])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, ``None`` for the recall of empty bins (JSON-safe)."""
        return {
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "hits": self.hits.tolist(),
            "recall": [None if math.isnan(r) else float(r) for r in self.recall],
        }


@dataclass(frozen=True)
class SpatialContextMetrics:
    """All spatial-context metrics of one model on one set of patches."""

    dwr: float
    recall: dict[str, float]
    pixels: dict[str, int]
    by_distance: DistanceRecall
    n_patches: int
    n_skipped: int
    metric: str
    distance_median: float
    distance_p95: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``nan`` becomes ``None``)."""

        def clean(v: float) -> float | None:
            return None if math.isnan(v) else float(v)

        return {
            "dwr": clean(self.dwr),
            "recall": {k: clean(v) for k, v in self.recall.items()},
            "pixels": dict(self.pixels),
            "n_patches": self.n_patches,
            "n_skipped": self.n_skipped,
            "metric": self.metric,
            "distance_median": clean(self.distance_median),
            "distance_p95": clean(self.distance_p95),
            "by_distance": self.by_distance.to_dict(),
            **self.extra,
        }


def log_bin_edges(max_distance: float, n_bins: int = 20) -> FloatArray:
    """``n_bins + 1`` log-spaced edges from 1 px to ``max_distance + 1``.

    Examples
    --------
    >>> log_bin_edges(99, 2).tolist()
    [1.0, 10.0, 100.0]
    """
    check_int_range("n_bins", n_bins, 1)
    top = max(float(max_distance), 1.0) + 1.0
    return np.logspace(0.0, math.log10(top), n_bins + 1)


def _bin(d: FloatArray, hit: npt.NDArray[np.bool_], edges: FloatArray) -> DistanceRecall:
    n = edges.size - 1
    which = np.searchsorted(edges, d, side="right") - 1
    inside = (which >= 0) & (which < n)
    counts = np.bincount(which[inside], minlength=n).astype(np.int64)
    hits = np.bincount(which[inside], weights=hit[inside], minlength=n).astype(np.int64)
    return DistanceRecall(edges=np.asarray(edges, dtype=np.float64), counts=counts, hits=hits)


def spatial_context_metrics(
    preds: Any,
    masks: Any,
    *,
    metric: Metric = "taxicab",
    n_bins: int = 20,
    edges: npt.ArrayLike | None = None,
    names: Sequence[str] | None = None,
    show_progress: bool | None = None,
) -> SpatialContextMetrics:
    """DWR, recall per class and recall by distance of road predictions over a set of patches.

    Parameters
    ----------
    preds, masks : array_like or iterable of (H, W) arrays
        One (H, W) patch, an (N, H, W) stack, or iterables of patches (streamed: a large
        set is never held in memory). ``pred`` is 1 for road, 0 (or False) otherwise;
        ``mask`` is 0 background, 1 road, 2 tree canopy over road.
    metric : {"taxicab", "euclidean"}
        Distance within each patch (taxicab = L1, the reference definition).
    n_bins : int
        Log-spaced bins from 1 px to ``max d + 1`` (ignored when ``edges`` is given).
    edges : array_like, optional
        Explicit bin edges (e.g. to compare models on the same bins).
    names : sequence of str, optional
        Patch names for error messages.
    show_progress : bool, optional
        Progress bar on stderr (default: only on a terminal).

    Returns
    -------
    SpatialContextMetrics

    Raises
    ------
    InvalidInputError
        Unexpected class values, or pred/mask shape or count mismatch (names the patch).

    Examples
    --------
    >>> mask = np.array([[[1, 2, 2, 2]], [[0, 2, 2, 0]]])
    >>> pred = np.array([[[1, 1, 0, 1]], [[0, 1, 0, 0]]])
    >>> m = spatial_context_metrics(pred, mask, n_bins=2)
    >>> m.dwr, m.n_skipped, m.by_distance.counts.tolist()
    (0.6666666666666666, 1, [1, 2])
    """
    check_choice("metric", metric, _METRICS)
    check_int_range("n_bins", n_bins, 1)
    d_parts: list[FloatArray] = []
    hit_parts: list[npt.NDArray[np.bool_]] = []
    totals = dict.fromkeys(("background", "road", "tc"), 0)
    found = dict.fromkeys(("background", "road", "tc"), 0)
    n_patches = n_skipped = 0
    total = len(masks) if hasattr(masks, "__len__") and not isinstance(masks, np.ndarray) else None
    if isinstance(masks, np.ndarray):
        total = 1 if masks.ndim == 2 else masks.shape[0]
    with progress_bar("spatial-context metrics", total=total, show=show_progress) as bar:
        for pred, mask in _pairs(preds, masks, names):
            n_patches += 1
            road, tc = mask == ROAD, mask == TREE_CANOPY
            background = ~(road | tc)
            totals["road"] += int(road.sum())
            totals["tc"] += int(tc.sum())
            totals["background"] += int(background.sum())
            found["road"] += int((pred & road).sum())
            found["tc"] += int((pred & tc).sum())
            found["background"] += int((~pred & background).sum())
            if not road.any():
                n_skipped += 1
            elif tc.any():
                d_parts.append(distance_to_road(mask, metric=metric)[tc])
                hit_parts.append(pred[tc])
            bar.advance()
    if n_patches == 0:
        raise InvalidInputError("no patches given; pass at least one (pred, mask) pair")
    d = np.concatenate(d_parts) if d_parts else np.zeros(0)
    hit = np.concatenate(hit_parts) if hit_parts else np.zeros(0, dtype=bool)
    den = float(d.sum())
    dwr = float((d * hit).sum() / den) if den > 0 else math.nan
    bin_edges = (
        np.asarray(edges, dtype=np.float64)
        if edges is not None
        else log_bin_edges(float(d.max()) if d.size else 1.0, n_bins)
    )
    if bin_edges.ndim != 1 or bin_edges.size < 2 or np.any(np.diff(bin_edges) <= 0):
        raise InvalidInputError("edges must be at least two strictly increasing numbers")
    recall = {k: (found[k] / totals[k] if totals[k] else math.nan) for k in totals}
    return SpatialContextMetrics(
        dwr=dwr,
        recall=recall,
        pixels=totals,
        by_distance=_bin(d, hit, bin_edges),
        n_patches=n_patches,
        n_skipped=n_skipped,
        metric=metric,
        distance_median=float(np.median(d)) if d.size else math.nan,
        distance_p95=float(np.percentile(d, 95)) if d.size else math.nan,
    )


def distance_weighted_recall(pred: Any, mask: Any, *, metric: Metric = "taxicab") -> float:
    """``Σ d·[pred = road] / Σ d`` over the TC pixels of all patches (``nan``: no TC).

    See :func:`spatial_context_metrics` for the inputs.

    Examples
    --------
    >>> float(distance_weighted_recall(np.array([[0, 0, 1]]), np.array([[0, 2, 1]])))
    0.0
    """
    return spatial_context_metrics(pred, mask, metric=metric, show_progress=False).dwr


def recall_by_class(pred: Any, mask: Any) -> dict[str, float]:
    """Share of road and TC pixels predicted road, and of background predicted not road.

    Examples
    --------
    >>> recall_by_class(np.array([[1, 0, 0]]), np.array([[1, 1, 0]]))
    {'background': 1.0, 'road': 0.5, 'tc': nan}
    """
    return spatial_context_metrics(pred, mask, show_progress=False).recall


def recall_by_distance(
    pred: Any,
    mask: Any,
    *,
    metric: Metric = "taxicab",
    n_bins: int = 20,
    edges: npt.ArrayLike | None = None,
) -> DistanceRecall:
    """TC recall binned by distance to the nearest visible road (log-spaced bins).

    Examples
    --------
    >>> r = recall_by_distance(np.array([[1, 1, 0, 0]]), np.array([[1, 2, 2, 2]]), n_bins=1)
    >>> r.edges.tolist(), r.counts.tolist(), r.hits.tolist()
    ([1.0, 4.0], [3], [1])
    """
    return spatial_context_metrics(
        pred, mask, metric=metric, n_bins=n_bins, edges=edges, show_progress=False
    ).by_distance


# -- files and plots -----------------------------------------------------------------------


def _read_patch(path: Path) -> npt.NDArray[Any]:
    if path.suffix.lower() == ".npy":
        return np.asarray(np.load(path, allow_pickle=False))
    import rasterio

    with rasterio.open(path) as src:
        return np.asarray(src.read(1))


def load_patch_pairs(
    pred_dir: str | os.PathLike[str], mask_dir: str | os.PathLike[str]
) -> tuple[list[str], Iterator[npt.NDArray[Any]], Iterator[npt.NDArray[Any]]]:
    """Pair prediction and mask files by name (stem) from two folders (``.tif``, ``.npy``).

    Returns the sorted names and two lazy iterators of patches (read one at a time).

    Raises
    ------
    InvalidInputError
        A folder is missing or empty, or a mask has no prediction (names the first 10).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for sub in ("pred", "mask"):
    ...     (root / sub).mkdir()
    ...     np.save(root / sub / "a.npy", np.array([[1, 2]]))
    >>> names, preds, masks = load_patch_pairs(root / "pred", root / "mask")
    >>> names, next(masks).tolist()
    (['a'], [[1, 2]])
    """
    found: list[dict[str, Path]] = []
    for label, folder in (("PRED_DIR", pred_dir), ("MASK_DIR", mask_dir)):
        root = Path(folder)
        if not root.is_dir():
            raise InvalidInputError(f"{label} {str(root)!r} is not a folder of patches")
        files = {
            p.stem: p
            for p in sorted(root.iterdir())
            if p.is_file() and p.suffix.lower() in _PATCH_SUFFIXES
        }
        if not files:
            raise InvalidInputError(
                f"{label} {str(root)!r} holds no patches; expected files ending in "
                f"{', '.join(_PATCH_SUFFIXES)}"
            )
        found.append(files)
    preds, masks = found
    missing = sorted(set(masks) - set(preds))
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" (first 10 of {len(missing)})" if len(missing) > 10 else ""
        )
        raise InvalidInputError(
            f"masks without a prediction of the same name in PRED_DIR: {shown}; "
            "name each prediction like its mask (e.g. 0001.tif for 0001.tif)"
        )
    names = sorted(masks)
    return (
        names,
        (_read_patch(preds[n]) for n in names),
        (_read_patch(masks[n]) for n in names),
    )


def plot_recall_by_distance(
    curves: Mapping[str, DistanceRecall], path: str | os.PathLike[str]
) -> Path:
    """Plot TC recall vs distance (log x axis), one line per model, to a PNG.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> r = recall_by_distance(np.array([[1, 1, 0]]), np.array([[1, 2, 2]]), n_bins=2)
    >>> plot_recall_by_distance({"unet": r}, pathlib.Path(tempfile.mkdtemp()) / "r.png").exists()
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from terrabit._atomic import atomic_file

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        keep = curve.counts > 0
        ax.plot(curve.centers[keep], 100 * curve.recall[keep], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("distance to nearest visible road (px)")
    ax.set_ylabel("TC recall (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    target = Path(path)
    with atomic_file(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return target
