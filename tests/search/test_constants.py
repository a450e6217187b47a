"""The Python search constants equal the ones both languages share (spec/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

from terrabit.search import constants as C

FIXTURE = Path(__file__).parents[2] / "spec" / "fixtures" / "constants.json"


def test_constants_equal_the_shared_fixture() -> None:
    shared = json.loads(FIXTURE.read_text(encoding="utf-8"))
    rule = shared["rerank_shortlist"]
    assert (
        rule["per_k"],
        rule["min"],
        rule["candidates_divisor"],
    ) == (C.RERANK_PER_K, C.RERANK_MIN, C.RERANK_CANDIDATES_DIVISOR)
    assert shared["max_candidates"]["python"] == C.MAX_CANDIDATES
    fit = shared["classifier"]
    assert (
        fit["C"],
        fit["background"],
        fit["background_weight"],
        fit["max_iter"],
        fit["tolerance"],
        fit["armijo"],
        fit["halvings"],
    ) == (
        C.CLASSIFIER_C,
        C.CLASSIFIER_BACKGROUND,
        C.CLASSIFIER_BACKGROUND_WEIGHT,
        C.CLASSIFIER_MAX_ITER,
        C.CLASSIFIER_TOLERANCE,
        C.CLASSIFIER_ARMIJO,
        C.CLASSIFIER_HALVINGS,
    )


def test_the_shortlist_rule_on_hand_worked_cases() -> None:
    assert C.rerank_shortlist(1, 0) == 1000  # the floor
    assert C.rerank_shortlist(150, 19_999) == 1500  # 10 * k
    assert C.rerank_shortlist(50, 40_019) == 2000  # 40_019 // 20
