/**
 * `score=classifier` in the browser, as `terrabit.search.classifier` (the Python package is
 * the reference): an L2-regularised logistic regression on the ±1 bits of the codes,
 * trained on
 *
 * - the positives (label 1, weight 1) and the negatives (label 0, weight 1), in the order
 *   given;
 * - a background of the region's candidates (the exemplars left out; label 0, weight
 *   `CLASSIFIER_BACKGROUND_WEIGHT` each): at most `CLASSIFIER_BACKGROUND` rows evenly
 *   spaced along the candidates sorted by id (`backgroundRows`, Python's `spread_rows`),
 *   so the sample does not depend on load order and needs no random generator;
 *
 * and every candidate scores `1 - p`, where `p` is the model's probability of the positive
 * class: lower is more similar, as with distances, so every view ranks and colours it
 * unchanged (the probability itself is each result row's `probability`).
 *
 * Features: `x_j = +1` where bit `j` of the packed code is set, else `-1`, over all
 * `8 * codeSize` bits, MSB first. The solver (`fitLogistic`) is Python's `fit_logistic`:
 * Newton's method in float64 from `w = 0, b = 0` on
 *
 *     f(w, b) = 0.5 |w|^2 + C sum_i s_i (log(1 + exp(z_i)) - y_i z_i),   z_i = x_i . w + b
 *
 * (scikit-learn's objective; the intercept is not penalised), each step solving
 * `H step = -g` exactly in the space of the `n` training rows (Woodbury, with a Cholesky
 * factorisation of the `n x n` matrix `I + sqrt(E) X X^T sqrt(E)`), stopping after a full
 * step whose Newton decrement `-g.step / 2` is at most `CLASSIFIER_TOLERANCE`, else
 * backtracking (halving `t`, at most `CLASSIFIER_HALVINGS` times) until
 * `f(theta + t step) <= f(theta) + CLASSIFIER_ARMIJO * t * g.step`; at most
 * `CLASSIFIER_MAX_ITER` steps. Every constant is in `constants.ts` (checked against
 * `spec/fixtures/constants.json`).
 */
import { TerrabitError } from "../errors";
import type { ClassifierInfo, Combine, ViewName } from "../types";
import {
  CLASSIFIER_ARMIJO,
  CLASSIFIER_BACKGROUND,
  CLASSIFIER_BACKGROUND_WEIGHT,
  CLASSIFIER_C,
  CLASSIFIER_HALVINGS,
  CLASSIFIER_MAX_ITER,
  CLASSIFIER_TOLERANCE,
} from "./constants";
import { referenceRows } from "./views/outlier";

/** A fitted logistic regression (Python's `LogisticFit`). */
export interface LogisticFit {
  /** The weights `w`, one per bit. */
  coef: Float64Array;
  intercept: number;
  /** Newton steps taken. */
  iterations: number;
  /** Whether the last step's Newton decrement met the tolerance. */
  converged: boolean;
}

/** The note of a fit without negatives (Python's words). */
export const NO_NEGATIVES_NOTE = "no negatives: trained against the background sample alone";

/**
 * A one-line error where `score=classifier` cannot serve the other options (Python's
 * `check_classifier`): no positive, a view that ranks by the codes alone, a global search,
 * asymmetric scoring, invert or a bitwise combine.
 */
export function checkClassifier(q: {
  view: ViewName;
  combine: Combine;
  invert: boolean;
  global: boolean;
  asymmetric: boolean;
  positives: number;
}): void {
  if (q.positives === 0) {
    throw new TerrabitError(
      "score=classifier learns from positive examples and got none; add a positive (click the map), " +
        "or use score=distance",
    );
  }
  if (q.view === "outlier" || q.view === "surprise") {
    throw new TerrabitError(
      `the ${q.view} view ranks by the codes alone, so score=classifier has nothing to rank; use ` +
        "score=distance, or pick topk, heatmap, threshold, gradient or change",
    );
  }
  const clash: [string, boolean][] = [
    ["global", q.global],
    ["asymmetric", q.asymmetric],
    ["invert", q.invert],
    [`combine ${q.combine}`, q.combine !== "mean"],
  ];
  for (const [name, bad] of clash) {
    if (bad) {
      throw new TerrabitError(
        `score=classifier ranks by a model fitted on the examples' bits; it does not work with ${name}: ` +
          `turn ${name.split(" ")[0] as string} off, or use score=distance`,
      );
    }
  }
}

/**
 * The ±1 features of `n` packed codes: `float64 [n, 8 * codeSize]` row-major, MSB first
 * (Python's `bit_features`).
 *
 * @example bitFeatures(Uint8Array.of(0b1000_0001), 1) // [1, -1, -1, -1, -1, -1, -1, 1]
 */
export function bitFeatures(codes: Uint8Array, codeSize: number, n = Math.floor(codes.length / codeSize)): Float64Array {
  const p = 8 * codeSize;
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < codeSize; b++) {
      const byte = codes[i * codeSize + b] as number;
      const at = i * p + 8 * b;
      for (let bit = 0; bit < 8; bit++) out[at + bit] = (byte >> (7 - bit)) & 1 ? 1 : -1;
    }
  }
  return out;
}

/** The logistic function (scipy's `expit`). */
export function expit(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** `log(1 + exp(z))` without overflow, as numpy's `logaddexp(0, z)`. */
function softplus(z: number): number {
  return z < 0 ? Math.log1p(Math.exp(z)) : z + Math.log1p(Math.exp(-z));
}

/** `out = X v` for the `n x p` row-major `X`. */
function times(x: Float64Array, n: number, p: number, v: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const at = i * p;
    for (let j = 0; j < p; j++) s += (x[at + j] as number) * (v[j] as number);
    out[i] = s;
  }
  return out;
}

/** `out = X^T v` for the `n x p` row-major `X`. */
function timesT(x: Float64Array, n: number, p: number, v: Float64Array, out: Float64Array): Float64Array {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const vi = v[i] as number;
    if (vi === 0) continue;
    const at = i * p;
    for (let j = 0; j < p; j++) out[j] = (out[j] as number) + (x[at + j] as number) * vi;
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Solve `M x = b` in place for a symmetric positive definite `n x n` `M` (row-major; its
 * lower triangle is overwritten by the Cholesky factor `L`) and each right-hand side.
 */
export function choleskySolve(m: Float64Array, n: number, rhs: readonly Float64Array[]): void {
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (m[j * n + k] as number) ** 2;
    if (!(d > 0)) throw new TerrabitError("the classifier's Newton system is not positive definite (a bug: please report it)");
    const l = Math.sqrt(d);
    m[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (m[i * n + k] as number) * (m[j * n + k] as number);
      m[i * n + j] = s / l;
    }
  }
  for (const b of rhs) {
    for (let i = 0; i < n; i++) {
      let s = b[i] as number;
      for (let k = 0; k < i; k++) s -= (m[i * n + k] as number) * (b[k] as number);
      b[i] = s / (m[i * n + i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i] as number;
      for (let k = i + 1; k < n; k++) s -= (m[k * n + i] as number) * (b[k] as number);
      b[i] = s / (m[i * n + i] as number);
    }
  }
}

/** The objective `f(w, b)` (see the module notes). */
export function logisticObjective(
  x: Float64Array,
  n: number,
  p: number,
  y: ArrayLike<number>,
  s: ArrayLike<number>,
  c: number,
  w: Float64Array,
  b: number,
): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let z = b;
    const at = i * p;
    for (let j = 0; j < p; j++) z += (x[at + j] as number) * (w[j] as number);
    loss += (s[i] as number) * (softplus(z) - (y[i] as number) * z);
  }
  return 0.5 * dot(w, w) + c * loss;
}

export interface FitOptions {
  /** Inverse regularisation strength (scikit-learn's `C`); default `CLASSIFIER_C`. */
  c?: number;
  /** At most this many Newton steps; default `CLASSIFIER_MAX_ITER`. */
  maxIter?: number;
  /** Stop after a step whose Newton decrement is at most this; default `CLASSIFIER_TOLERANCE`. */
  tol?: number;
}

/**
 * L2-regularised logistic regression by damped Newton steps (see the module notes), as
 * Python's `fit_logistic`. Each step costs `O(n p + n^3)` for `n` training rows.
 *
 * @param x features `float64 [n, p]`, row-major
 * @param y labels, 0 or 1
 * @param s sample weights, each `> 0`
 * @example fitLogistic(Float64Array.of(1, -1, -1, 1, 1, 1), 3, 2, [1, 0, 1], [1, 1, 1]).coef // [w0 > 0, w1 < 0]
 */
export function fitLogistic(
  x: Float64Array,
  n: number,
  p: number,
  y: ArrayLike<number>,
  s: ArrayLike<number>,
  options: FitOptions = {},
): LogisticFit {
  const c = options.c ?? CLASSIFIER_C;
  const maxIter = options.maxIter ?? CLASSIFIER_MAX_ITER;
  const tol = options.tol ?? CLASSIFIER_TOLERANCE;
  if (x.length !== n * p) throw new TerrabitError(`the features hold ${x.length} values, expected ${n} rows x ${p} bits`);
  // the Gram matrix X X^T, once (X is fixed)
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k <= i; k++) {
      let v = 0;
      const a = i * p;
      const bRow = k * p;
      for (let j = 0; j < p; j++) v += (x[a + j] as number) * (x[bRow + j] as number);
      gram[i * n + k] = v;
      gram[k * n + i] = v;
    }
  }
  let w = new Float64Array(p);
  let b = 0;
  let f = logisticObjective(x, n, p, y, s, c, w, b);
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  const e = new Float64Array(n);
  const root = new Float64Array(n);
  const gw = new Float64Array(p);
  const u = new Float64Array(p);
  const a = new Float64Array(p);
  const au = new Float64Array(p);
  const tmp = new Float64Array(p);
  const stepW = new Float64Array(p);
  const m = new Float64Array(n * n);
  for (let it = 1; it <= maxIter; it++) {
    times(x, n, p, w, z);
    let gb = 0;
    let eSum = 0;
    for (let i = 0; i < n; i++) {
      const prob = expit((z[i] as number) + b);
      const si = c * (s[i] as number);
      r[i] = si * (prob - (y[i] as number));
      e[i] = si * prob * (1 - prob);
      root[i] = Math.sqrt(e[i] as number);
      gb += r[i] as number;
      eSum += e[i] as number;
    }
    timesT(x, n, p, r, gw);
    for (let j = 0; j < p; j++) gw[j] = (gw[j] as number) + (w[j] as number);
    // the exact Newton step (Python's `_newton_step`): A = I + X^T E X inverted by Woodbury,
    // A^-1 v = v - X^T sqrt(E) M^-1 sqrt(E) X v with M = I + sqrt(E) X X^T sqrt(E), and the
    // intercept by its Schur complement sum(e) - u^T A^-1 u, u = X^T e
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) m[i * n + k] = (gram[i * n + k] as number) * (root[i] as number) * (root[k] as number);
      m[i * n + i] = (m[i * n + i] as number) + 1;
    }
    const rhs0 = times(x, n, p, gw, new Float64Array(n));
    const rhs1 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let k = 0; k < n; k++) v += (gram[i * n + k] as number) * (e[k] as number);
      rhs1[i] = v * (root[i] as number);
      rhs0[i] = (rhs0[i] as number) * (root[i] as number);
    }
    choleskySolve(m, n, [rhs0, rhs1]);
    for (let i = 0; i < n; i++) {
      rhs0[i] = (rhs0[i] as number) * (root[i] as number);
      rhs1[i] = (rhs1[i] as number) * (root[i] as number);
    }
    timesT(x, n, p, e, u);
    timesT(x, n, p, rhs0, tmp);
    for (let j = 0; j < p; j++) a[j] = (gw[j] as number) - (tmp[j] as number);
    timesT(x, n, p, rhs1, tmp);
    for (let j = 0; j < p; j++) au[j] = (u[j] as number) - (tmp[j] as number);
    const stepB = -(gb - dot(u, a)) / (eSum - dot(u, au));
    for (let j = 0; j < p; j++) stepW[j] = -((a[j] as number) + (au[j] as number) * stepB);
    const slope = dot(gw, stepW) + gb * stepB; // -(Newton decrement)^2
    if (-slope / 2 <= tol) {
      const coef = new Float64Array(p);
      for (let j = 0; j < p; j++) coef[j] = (w[j] as number) + (stepW[j] as number);
      return { coef, intercept: b + stepB, iterations: it, converged: true };
    }
    let t = 1;
    const trial = new Float64Array(p);
    for (let h = 0; h < CLASSIFIER_HALVINGS; h++) {
      for (let j = 0; j < p; j++) trial[j] = (w[j] as number) + t * (stepW[j] as number);
      if (logisticObjective(x, n, p, y, s, c, trial, b + t * stepB) <= f + CLASSIFIER_ARMIJO * t * slope) break;
      t /= 2;
    }
    const next = new Float64Array(p);
    for (let j = 0; j < p; j++) next[j] = (w[j] as number) + t * (stepW[j] as number);
    w = next;
    b += t * stepB;
    f = logisticObjective(x, n, p, y, s, c, w, b);
  }
  return { coef: w, intercept: b, iterations: maxIter, converged: false };
}

/** What scores the candidates: the fit's weights and intercept (plain data, for a worker). */
export interface ClassifierModel {
  codeSize: number;
  coef: Float64Array;
  intercept: number;
}

/**
 * The decision values `z = x . w + b` of `n` packed codes (rows `start … start + n` of
 * `codes`): a table per byte position of the sum of `±w` over its 8 bits makes it one
 * lookup per byte.
 */
export function decisionValues(model: ClassifierModel, codes: Uint8Array, start: number, n: number): Float64Array {
  const cs = model.codeSize;
  if (model.coef.length !== 8 * cs) throw new TerrabitError(`the classifier has ${model.coef.length} weights, expected ${8 * cs} (one per bit)`);
  const table = new Float64Array(cs * 256);
  for (let k = 0; k < cs; k++) {
    for (let v = 0; v < 256; v++) {
      let sum = 0;
      for (let bit = 0; bit < 8; bit++) {
        const wj = model.coef[8 * k + bit] as number;
        sum += (v >> (7 - bit)) & 1 ? wj : -wj;
      }
      table[k * 256 + v] = sum;
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const at = (start + i) * cs;
    let zi = 0;
    for (let k = 0; k < cs; k++) zi += table[k * 256 + (codes[at + k] as number)] as number;
    out[i] = zi + model.intercept;
  }
  return out;
}

/**
 * `(1 - p, p)` of each decision value (both from `z`, so neither loses precision near 0),
 * as Python's `probabilities`.
 */
export function probabilities(z: Float64Array): { scores: Float64Array; probability: Float64Array } {
  const scores = new Float64Array(z.length);
  const probability = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    scores[i] = expit(-(z[i] as number));
    probability[i] = expit(z[i] as number);
  }
  return { scores, probability };
}

/** The rows a classifier trains on, in Python's order (plain data, for a worker). */
export interface TrainingSet {
  codeSize: number;
  /** `positives + negatives + background` codes, in that order. */
  codes: Uint8Array;
  positives: number;
  negatives: number;
  background: number;
}

/**
 * The background sample: `min(CLASSIFIER_BACKGROUND, n)` of the `n` candidates (their
 * `ids`), evenly spaced along the id order (indices into `ids`).
 */
export function backgroundRows(ids: readonly string[]): Int32Array {
  return referenceRows(ids, CLASSIFIER_BACKGROUND);
}

/**
 * The training rows: `positives` and `negatives` (`codeSize` bytes each), then the
 * `background` rows of `codes` (indices of its rows).
 */
export function trainingSet(
  positives: Uint8Array,
  negatives: Uint8Array | null,
  codes: Uint8Array,
  background: ArrayLike<number>,
  codeSize: number,
): TrainingSet {
  const p = positives.length / codeSize;
  const q = negatives === null ? 0 : negatives.length / codeSize;
  if (p < 1 || !Number.isInteger(p)) {
    throw new TerrabitError(
      "score=classifier needs at least one positive example to learn from; add one (click the map)",
    );
  }
  const out = new Uint8Array((p + q + background.length) * codeSize);
  out.set(positives, 0);
  if (negatives !== null) out.set(negatives, p * codeSize);
  for (let i = 0; i < background.length; i++) {
    const row = background[i] as number;
    out.set(codes.subarray(row * codeSize, (row + 1) * codeSize), (p + q + i) * codeSize);
  }
  return { codeSize, codes: out, positives: p, negatives: q, background: background.length };
}

/** Fit the classifier on `training` (labels and weights as Python's `classifier_scores`). */
export function fitTraining(training: TrainingSet): LogisticFit {
  const n = training.positives + training.negatives + training.background;
  const y = new Float64Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i < training.positives ? 1 : 0;
    s[i] = i < training.positives + training.negatives ? 1 : CLASSIFIER_BACKGROUND_WEIGHT;
  }
  const x = bitFeatures(training.codes, training.codeSize, n);
  return fitLogistic(x, n, 8 * training.codeSize, y, s, { c: CLASSIFIER_C });
}

/** The provenance of a fit on `training` (Python's `result.query["classifier"]`). */
export function classifierInfo(training: TrainingSet, fit: LogisticFit): ClassifierInfo {
  const info: ClassifierInfo = {
    positives: training.positives,
    negatives: training.negatives,
    background: training.background,
    background_weight: CLASSIFIER_BACKGROUND_WEIGHT,
    C: CLASSIFIER_C,
    iterations: fit.iterations,
    converged: fit.converged,
  };
  if (training.negatives === 0) info.note = NO_NEGATIVES_NOTE;
  return info;
}

/**
 * Fit the classifier (positives, negatives, the background of the candidates) and score
 * every candidate, all in place (the search runs the steps in workers for large regions).
 *
 * @param codes the `n` candidates' codes (the exemplars left out), which the background is drawn from
 * @param ids the candidates' ids, which the background sample follows
 * @returns `scores` (`1 - p`, lower = more like the positives), `probability` (`p`) and the fit's provenance
 */
export function classifierScores(
  codes: Uint8Array,
  codeSize: number,
  positives: Uint8Array,
  negatives: Uint8Array | null,
  ids: readonly string[],
): { scores: Float64Array; probability: Float64Array; info: ClassifierInfo } {
  const training = trainingSet(positives, negatives, codes, backgroundRows(ids), codeSize);
  const fit = fitTraining(training);
  const z = decisionValues({ codeSize, coef: fit.coef, intercept: fit.intercept }, codes, 0, ids.length);
  return { ...probabilities(z), info: classifierInfo(training, fit) };
}
