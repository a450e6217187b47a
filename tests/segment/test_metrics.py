"""Spatial-context metrics against brute-force references and scipy's distance transform."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.ndimage import distance_transform_cdt, distance_transform_edt

from terrabit.errors import InvalidInputError
from terrabit.segment.metrics import (
    distance_to_road,
    distance_weighted_recall,
    load_patch_pairs,
    log_bin_edges,
    plot_recall_by_distance,
    recall_by_class,
    recall_by_distance,
    spatial_context_metrics,
)

# hand-built patches: 0 background, 1 road, 2 tree canopy over road
MASK_A = np.array(
    [
        [0, 0, 2, 2, 2, 0],
        [1, 1, 2, 2, 2, 1],
        [0, 0, 2, 2, 2, 0],
        [0, 0, 0, 2, 0, 0],
    ]
)
PRED_A = np.array(
    [
        [0, 0, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 1],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 1, 0, 0],
    ]
)
MASK_B = np.array(  # no visible road: skipped by DWR and binned recall
    [
        [0, 2, 2],
        [0, 2, 0],
    ]
)
PRED_B = np.array([[0, 1, 1], [0, 0, 0]])
MASK_C = np.array(
    [
        [1, 2, 2, 2, 2, 2, 2, 2, 2, 2],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    ]
)
PRED_C = np.array(
    [
        [1, 1, 0, 1, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ]
)


def brute_distances(mask: np.ndarray, *, euclidean: bool = False) -> dict[tuple[int, int], float]:
    """Distance of each TC pixel to the nearest road pixel, by looping over every pair."""
    roads = [(r, c) for r in range(mask.shape[0]) for c in range(mask.shape[1]) if mask[r, c] == 1]
    out = {}
    for r in range(mask.shape[0]):
        for c in range(mask.shape[1]):
            if mask[r, c] == 2 and roads:
                if euclidean:
                    out[(r, c)] = min(math.hypot(r - a, c - b) for a, b in roads)
                else:
                    out[(r, c)] = float(min(abs(r - a) + abs(c - b) for a, b in roads))
    return out


def brute_dwr(preds: list[np.ndarray], masks: list[np.ndarray], euclidean: bool = False) -> float:
    num = den = 0.0
    for pred, mask in zip(preds, masks, strict=True):
        for (r, c), d in brute_distances(mask, euclidean=euclidean).items():
            num += d * (pred[r, c] == 1)
            den += d
    return num / den if den else math.nan


def brute_binned(preds, masks, edges):
    counts = [0] * (len(edges) - 1)
    hits = [0] * (len(edges) - 1)
    for pred, mask in zip(preds, masks, strict=True):
        for (r, c), d in brute_distances(mask).items():
            for i in range(len(edges) - 1):
                last = i == len(edges) - 2
                if edges[i] <= d < edges[i + 1] or (last and d == edges[-1]):
                    counts[i] += 1
                    hits[i] += int(pred[r, c] == 1)
                    break
    return counts, hits


def test_hand_built_dwr_matches_brute_force_and_hand_value() -> None:
    # MASK_C: TC at distances 1..9 along row 0, then (1, 9) at distance 10
    # predicted road at d = 1, 3, 8 and 10 -> (1 + 3 + 8 + 10) / (45 + 10)
    assert distance_weighted_recall(PRED_C, MASK_C) == pytest.approx(22 / 55)
    preds, masks = [PRED_A, PRED_B, PRED_C], [MASK_A, MASK_B, MASK_C]
    got = spatial_context_metrics(preds, masks)
    assert got.dwr == pytest.approx(brute_dwr(preds, masks))
    assert got.n_patches == 3
    assert got.n_skipped == 1


def test_pooled_not_averaged() -> None:
    preds, masks = [PRED_A, PRED_C], [MASK_A, MASK_C]
    pooled = spatial_context_metrics(preds, masks).dwr
    mean_of_patches = np.mean(
        [distance_weighted_recall(p, m) for p, m in zip(preds, masks, strict=True)]
    )
    assert pooled == pytest.approx(brute_dwr(preds, masks))
    assert pooled != pytest.approx(mean_of_patches)


def test_recall_per_class_by_hand() -> None:
    rec = recall_by_class(PRED_A, MASK_A)
    road = MASK_A == 1
    tc = MASK_A == 2
    bg = MASK_A == 0
    assert rec["road"] == pytest.approx((PRED_A[road] == 1).mean())
    assert rec["tc"] == pytest.approx((PRED_A[tc] == 1).mean())
    assert rec["background"] == pytest.approx((PRED_A[bg] == 0).mean())
    assert rec["road"] == 1.0  # all three road pixels predicted


def test_binned_recall_matches_brute_force() -> None:
    preds, masks = [PRED_A, PRED_B, PRED_C], [MASK_A, MASK_B, MASK_C]
    got = recall_by_distance(preds, masks, n_bins=5)
    max_d = max(max(brute_distances(m).values(), default=0) for m in masks)
    assert max_d == 10
    edges = np.logspace(0, math.log10(max_d + 1), 6)
    np.testing.assert_allclose(got.edges, edges)
    counts, hits = brute_binned(preds, masks, edges)
    assert got.counts.tolist() == counts
    assert got.hits.tolist() == hits
    assert sum(counts) == sum(len(brute_distances(m)) for m in masks)
    rec = got.recall
    for i, c in enumerate(counts):
        assert (math.isnan(rec[i]) and c == 0) or rec[i] == pytest.approx(hits[i] / c)


def test_default_bins_are_twenty_log_spaced() -> None:
    got = recall_by_distance(PRED_C, MASK_C)
    assert got.edges.size == 21
    assert got.edges[0] == 1.0
    assert got.edges[-1] == pytest.approx(11.0)
    np.testing.assert_allclose(np.diff(np.log(got.edges)), np.log(11) / 20)
    assert log_bin_edges(0, 3)[-1] == pytest.approx(2.0)


def test_euclidean_option() -> None:
    preds, masks = [PRED_A, PRED_C], [MASK_A, MASK_C]
    got = spatial_context_metrics(preds, masks, metric="euclidean")
    assert got.metric == "euclidean"
    assert got.dwr == pytest.approx(brute_dwr(preds, masks, euclidean=True))
    d = distance_to_road(MASK_A, metric="euclidean")
    np.testing.assert_allclose(d, distance_transform_edt(MASK_A != 1))


mask_strategy = arrays(
    np.int8,
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    elements=st.sampled_from([0, 0, 1, 2, 2]),
)


@settings(max_examples=60, deadline=None)
@given(mask=mask_strategy, data=st.data())
def test_distance_transform_matches_cdt_and_brute_force(mask: np.ndarray, data) -> None:
    got = distance_to_road(mask)
    if not (mask == 1).any():
        assert np.isinf(got).all()
        return
    expected = distance_transform_cdt(mask != 1, metric="taxicab")
    np.testing.assert_array_equal(got, expected.astype(float))
    for (r, c), d in brute_distances(mask).items():
        assert got[r, c] == d
    pred = data.draw(arrays(np.int8, mask.shape, elements=st.sampled_from([0, 1])))
    dwr = distance_weighted_recall(pred, mask)
    ref = brute_dwr([pred], [mask])
    assert (math.isnan(dwr) and math.isnan(ref)) or dwr == pytest.approx(ref)
    tc = mask == 2
    if tc.any():
        d = expected[tc].astype(float)
        cdt_dwr = (d * (pred[tc] == 1)).sum() / d.sum()
        assert dwr == pytest.approx(cdt_dwr)


def test_stack_and_list_inputs_agree() -> None:
    stack = np.stack([PRED_C, PRED_C]), np.stack([MASK_C, MASK_C])
    a = spatial_context_metrics(*stack)
    b = spatial_context_metrics(list(stack[0]), list(stack[1]))
    c = spatial_context_metrics(iter(stack[0]), iter(stack[1]))
    assert a.dwr == b.dwr == c.dwr == pytest.approx(22 / 55)
    assert a.by_distance.counts.tolist() == c.by_distance.counts.tolist()
    assert distance_to_road(stack[1]).shape == (2, 2, 10)


def test_to_dict_is_json_safe() -> None:
    import json

    out = spatial_context_metrics(PRED_B, MASK_B).to_dict()
    assert out["dwr"] is None  # no visible road anywhere
    assert out["n_skipped"] == 1
    json.dumps(out, allow_nan=False)


# -- bad input ------------------------------------------------------------------------------


def test_unexpected_mask_values() -> None:
    bad = MASK_A.copy()
    bad[0, 0] = 7
    with pytest.raises(
        InvalidInputError, match=r"mask patch 0 holds unexpected class values \[7\]"
    ):
        distance_weighted_recall(PRED_A, bad)


def test_unexpected_pred_values() -> None:
    with pytest.raises(
        InvalidInputError, match=r"pred patch 1 holds unexpected class values \[2\]"
    ):
        spatial_context_metrics([PRED_A, MASK_C], [MASK_A, MASK_C])


def test_shape_mismatch() -> None:
    with pytest.raises(InvalidInputError, match=r"pred shape \(4, 5\) differs from mask shape"):
        distance_weighted_recall(PRED_A[:, :5], MASK_A)


def test_count_mismatch_and_empty() -> None:
    with pytest.raises(InvalidInputError, match="different numbers of patches"):
        spatial_context_metrics([PRED_A], [MASK_A, MASK_A])
    with pytest.raises(InvalidInputError, match="no patches"):
        spatial_context_metrics([], [])


def test_bad_metric_and_bins() -> None:
    with pytest.raises(InvalidInputError, match="metric must be one of 'taxicab', 'euclidean'"):
        distance_weighted_recall(PRED_A, MASK_A, metric="chebyshev")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="n_bins must be at least 1"):
        recall_by_distance(PRED_A, MASK_A, n_bins=0)


def test_load_pairs_and_plot(tmp_path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "m").mkdir()
    for name, pred, mask in (("a", PRED_A, MASK_A), ("c", PRED_C, MASK_C)):
        np.save(tmp_path / "p" / f"{name}.npy", pred)
        np.save(tmp_path / "m" / f"{name}.npy", mask)
    names, preds, masks = load_patch_pairs(tmp_path / "p", tmp_path / "m")
    assert names == ["a", "c"]
    got = spatial_context_metrics(preds, masks, names=names)
    assert got.dwr == pytest.approx(brute_dwr([PRED_A, PRED_C], [MASK_A, MASK_C]))
    png = plot_recall_by_distance({"m": got.by_distance}, tmp_path / "r.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    np.save(tmp_path / "m" / "z.npy", MASK_A)
    with pytest.raises(InvalidInputError, match="masks without a prediction of the same name"):
        load_patch_pairs(tmp_path / "p", tmp_path / "m")


def test_metrics_never_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "import terrabit.cli.segment, terrabit.segment\n"
        "from terrabit.segment import spatial_context_metrics\n"
        "spatial_context_metrics(np.array([[1, 0]]), np.array([[1, 2]]))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=30, deadline=None)
@given(
    masks=st.lists(mask_strategy, min_size=1, max_size=3),
    n_bins=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_binned_recall_matches_brute_force_property(
    masks: list[np.ndarray], n_bins: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    preds = [rng.integers(0, 2, size=m.shape) for m in masks]
    got = spatial_context_metrics(preds, masks, n_bins=n_bins)
    dists = [d for m in masks for d in brute_distances(m).values()]
    edges = np.logspace(0, math.log10(max(dists, default=1.0) + 1), n_bins + 1)
    np.testing.assert_allclose(got.by_distance.edges, edges)
    counts, hits = brute_binned(preds, masks, edges)
    assert got.by_distance.counts.tolist() == counts
    assert got.by_distance.hits.tolist() == hits
    assert got.n_skipped == sum(not (m == 1).any() for m in masks)
    ref = brute_dwr(preds, masks)
    assert (math.isnan(got.dwr) and math.isnan(ref)) or got.dwr == pytest.approx(ref)
