/**
 * The constants the browser app shares with the Python library
 * (`terrabit.search.constants`), each defined once: `spec/fixtures/constants.json` holds
 * the values of both languages with the reason for each, and a test checks that these
 * equal it (`tests/unit/search/constants.test.ts`).
 */

/**
 * A corpus with a rerank column re-scores the shortlist of the best
 * `max(RERANK_SHORTLIST_PER_K * k, RERANK_SHORTLIST_MIN, floor(candidates / RERANK_CANDIDATES_DIVISOR))`
 * candidates by Hamming distance (measured: below `candidates / 20` the rerank recall
 * falls on the world; see benchmarks/RESULTS.md).
 */
export const RERANK_SHORTLIST_PER_K = 10;
/** The smallest rerank shortlist (see `RERANK_SHORTLIST_PER_K`). */
export const RERANK_SHORTLIST_MIN = 1000;
/** The shortlist holds at least `candidates / RERANK_CANDIDATES_DIVISOR` rows (see `RERANK_SHORTLIST_PER_K`). */
export const RERANK_CANDIDATES_DIVISOR = 20;

/** The size of the rerank shortlist of a top-`k` over `candidates` rows (see `RERANK_SHORTLIST_PER_K`). */
export function rerankShortlist(k: number, candidates: number): number {
  return Math.max(RERANK_SHORTLIST_PER_K * k, RERANK_SHORTLIST_MIN, Math.floor(candidates / RERANK_CANDIDATES_DIVISOR));
}

/**
 * The most rows a region may hold before a search refuses it (the `maxCandidates` search
 * option overrides it). Lower than Python's cap because a tab holds the codes, ids and
 * geometry of every candidate in one JavaScript heap (about 2 GB usable), the Python
 * process in its own memory.
 */
export const DEFAULT_MAX_CANDIDATES = 2_000_000;

/**
 * Fewer candidates than this are scored in place, not in the scoring workers: below it a
 * Web Worker round trip costs more than the work it moves off the page.
 */
export const SCORER_POOL_MIN_ROWS = 100_000;

/**
 * Reads of fewer rows than this stay on the page, not in the reading workers (an HTTP
 * corpus of fewer rows never starts them): below it a Web Worker round trip costs more
 * than the work it moves off the page.
 */
export const READER_POOL_MIN_ROWS = 20_000;

/**
 * Views of fewer candidates than this are computed in place, not in the view worker
 * (`viewpool.ts`): below it the round trip (ids and scores cloned to the worker) costs
 * about what ranking them does.
 */
export const VIEW_POOL_MIN_ROWS = 20_000;

/**
 * `score=classifier` (`classifier.ts`, as `terrabit.search.classifier`): L2-regularised
 * logistic regression on the ±1 bits, minimising `0.5 |w|^2 + C sum_i s_i logloss_i` (the
 * intercept not penalised, as scikit-learn's `LogisticRegression(C)`).
 */
export const CLASSIFIER_C = 1.0;
/**
 * Background rows (label 0): at most this many candidates, evenly spaced along the
 * candidates sorted by id (no random generator: Python picks the same rows). A Newton step
 * costs `O(n p + n^3)` in the `n` training rows, so a few hundred keep a fit of 1024-bit
 * codes quick.
 */
export const CLASSIFIER_BACKGROUND = 256;
/** The weight `s_i` of each background row (positives and negatives weigh 1). */
export const CLASSIFIER_BACKGROUND_WEIGHT = 0.01;
/** Newton's method: at most this many steps (see `CLASSIFIER_TOLERANCE`). */
export const CLASSIFIER_MAX_ITER = 50;
/** Stop after the step whose Newton decrement `-g.step / 2` is at most this (the step is still taken). */
export const CLASSIFIER_TOLERANCE = 1e-10;
/** Backtracking: the objective must fall by at least `CLASSIFIER_ARMIJO * t * g.step`. */
export const CLASSIFIER_ARMIJO = 1e-4;
/** Backtracking: halve the step at most this many times. */
export const CLASSIFIER_HALVINGS = 30;
