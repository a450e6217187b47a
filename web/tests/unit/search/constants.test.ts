import { describe, expect, it } from "vitest";
import {
  CLASSIFIER_ARMIJO,
  CLASSIFIER_BACKGROUND,
  CLASSIFIER_BACKGROUND_WEIGHT,
  CLASSIFIER_C,
  CLASSIFIER_HALVINGS,
  CLASSIFIER_MAX_ITER,
  CLASSIFIER_TOLERANCE,
  DEFAULT_MAX_CANDIDATES,
  READER_POOL_MIN_ROWS,
  RERANK_CANDIDATES_DIVISOR,
  RERANK_SHORTLIST_MIN,
  RERANK_SHORTLIST_PER_K,
  rerankShortlist,
  SCORER_POOL_MIN_ROWS,
} from "../../../src/lib/search/constants";
import { readJson } from "../helpers";

/** `spec/fixtures/constants.json`: the values the Python library and this app share. */
interface Shared {
  rerank_shortlist: { per_k: number; min: number; candidates_divisor: number };
  max_candidates: { python: number; browser: number };
  browser_pools: { score_min_rows: number; read_min_rows: number };
  classifier: {
    C: number;
    background: number;
    background_weight: number;
    max_iter: number;
    tolerance: number;
    armijo: number;
    halvings: number;
  };
}

describe("the constants shared with Python (spec/fixtures/constants.json)", () => {
  const shared = readJson<Shared>("constants.json");
  it.each([
    ["RERANK_SHORTLIST_PER_K", RERANK_SHORTLIST_PER_K, shared.rerank_shortlist.per_k],
    ["RERANK_SHORTLIST_MIN", RERANK_SHORTLIST_MIN, shared.rerank_shortlist.min],
    ["RERANK_CANDIDATES_DIVISOR", RERANK_CANDIDATES_DIVISOR, shared.rerank_shortlist.candidates_divisor],
    ["DEFAULT_MAX_CANDIDATES", DEFAULT_MAX_CANDIDATES, shared.max_candidates.browser],
    ["SCORER_POOL_MIN_ROWS", SCORER_POOL_MIN_ROWS, shared.browser_pools.score_min_rows],
    ["READER_POOL_MIN_ROWS", READER_POOL_MIN_ROWS, shared.browser_pools.read_min_rows],
    ["CLASSIFIER_C", CLASSIFIER_C, shared.classifier.C],
    ["CLASSIFIER_BACKGROUND", CLASSIFIER_BACKGROUND, shared.classifier.background],
    ["CLASSIFIER_BACKGROUND_WEIGHT", CLASSIFIER_BACKGROUND_WEIGHT, shared.classifier.background_weight],
    ["CLASSIFIER_MAX_ITER", CLASSIFIER_MAX_ITER, shared.classifier.max_iter],
    ["CLASSIFIER_TOLERANCE", CLASSIFIER_TOLERANCE, shared.classifier.tolerance],
    ["CLASSIFIER_ARMIJO", CLASSIFIER_ARMIJO, shared.classifier.armijo],
    ["CLASSIFIER_HALVINGS", CLASSIFIER_HALVINGS, shared.classifier.halvings],
  ])("%s equals the shared value", (_name, value, expected) => {
    expect(typeof expected).toBe("number");
    expect(value).toBe(expected);
  });
  it.each([
    // [k, candidates, shortlist]: worked by hand from max(10 k, 1000, floor(candidates / 20))
    [20, 0, 1000],
    [20, 100, 1000],
    [200, 1000, 2000],
    [150, 30_019, 1500],
    [10, 1_000_000, 50_000],
    [10, 1_000_019, 50_000],
  ])("the rerank shortlist of a top-%i over %i candidates holds %i rows", (k, candidates, expected) => {
    expect(rerankShortlist(k, candidates)).toBe(expected);
  });
});
