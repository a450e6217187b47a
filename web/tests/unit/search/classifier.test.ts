import { describe, expect, it } from "vitest";
import {
  backgroundRows,
  bitFeatures,
  checkClassifier,
  choleskySolve,
  classifierScores,
  decisionValues,
  expit,
  fitLogistic,
  probabilities,
  trainingSet,
} from "../../../src/lib/search/classifier";
import { answerClassifierRequest, ClassifierPool } from "../../../src/lib/search/classifierpool";
import type { ClassifierRequest, ClassifierResponse, ClassifierWorkerLike } from "../../../src/lib/search/classifierpool";
import { CLASSIFIER_BACKGROUND, CLASSIFIER_BACKGROUND_WEIGHT } from "../../../src/lib/search/constants";
import { answerScoreRequest } from "../../../src/lib/search/scorerpool";
import { search } from "../../../src/lib/search/query";
import type { Query } from "../../../src/lib/types";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { openTiny } from "../helpers";

/** A seeded generator of numbers in [0, 1) (not the code under test's). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The objective written out plainly (the test's own): 0.5 |w|^2 + C sum s (log(1 + e^z) - y z). */
function objective(x: number[][], y: number[], s: number[], c: number, w: number[], b: number): number {
  let f = 0.5 * w.reduce((a, v) => a + v * v, 0);
  x.forEach((row, i) => {
    const z = row.reduce((a, v, j) => a + v * (w[j] as number), b);
    f += c * (s[i] as number) * (Math.log(1 + Math.exp(z)) - (y[i] as number) * z);
  });
  return f;
}

describe("the Newton solver", () => {
  it("solves a hand-worked case: two rows, one feature", () => {
    // x = (+1, -1), y = (1, 0), s = 1, C = 1. By symmetry b = 0, and the gradient in w is
    // w + (sigma(w) - 1) - sigma(-w) = w + 2 sigma(w) - 2 = 0: solved here by bisection
    const sigma = (t: number): number => 1 / (1 + Math.exp(-t));
    let lo = 0;
    let hi = 2;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (mid + 2 * sigma(mid) - 2 > 0) hi = mid;
      else lo = mid;
    }
    const fit = fitLogistic(Float64Array.of(1, -1), 2, 1, [1, 0], [1, 1]);
    expect(fit.converged).toBe(true);
    expect(Math.abs((fit.coef[0] as number) - lo)).toBeLessThan(1e-12);
    expect(Math.abs(fit.intercept)).toBeLessThan(1e-12);
    expect(lo).toBeGreaterThan(0.6); // about 0.6641
    expect(lo).toBeLessThan(0.7);
  });

  it("stops where the gradient vanishes (central differences of the plain objective)", () => {
    const rand = lcg(7);
    const n = 40;
    const p = 12;
    const x = Array.from({ length: n }, () => Array.from({ length: p }, () => (rand() < 0.5 ? -1 : 1)));
    const y = Array.from({ length: n }, (_, i) => (i < 6 ? 1 : rand() < 0.2 ? 1 : 0));
    const s = Array.from({ length: n }, (_, i) => (i < 10 ? 1 : 0.01 + rand()));
    const c = 0.7;
    const fit = fitLogistic(Float64Array.from(x.flat()), n, p, y, s, { c });
    expect(fit.converged).toBe(true);
    const theta = [...Array.from(fit.coef), fit.intercept];
    const f = (t: number[]): number => objective(x, y, s, c, t.slice(0, p), t[p] as number);
    const h = 1e-5;
    for (let j = 0; j <= p; j++) {
      const up = [...theta];
      const down = [...theta];
      up[j] = (up[j] as number) + h;
      down[j] = (down[j] as number) - h;
      expect(Math.abs((f(up) - f(down)) / (2 * h))).toBeLessThan(1e-6);
    }
    // and it is a minimum: every small step away costs
    for (let j = 0; j <= p; j++) {
      const away = [...theta];
      away[j] = (away[j] as number) + 1e-3;
      expect(f(away)).toBeGreaterThan(f(theta));
    }
  });

  it("keeps the weights finite on separable data (only the penalty holds them)", () => {
    // y = 1 exactly where the first feature is +1; a large C makes the fit take damped steps
    const x = [[1, 1], [1, -1], [-1, 1], [-1, -1]];
    const fit = fitLogistic(Float64Array.from(x.flat()), 4, 2, [1, 1, 0, 0], [1, 1, 1, 1], { c: 1e4 });
    expect(fit.converged).toBe(true);
    expect(fit.coef[0] as number).toBeGreaterThan(3);
    expect(Math.abs(fit.coef[1] as number)).toBeLessThan(1e-9);
    expect(Math.abs(fit.intercept)).toBeLessThan(1e-9);
    // the optimum: w0 = 4 C (1 - sigma(w0)) (the gradient in w0, worked by hand)
    const w0 = fit.coef[0] as number;
    expect(Math.abs(w0 - 4e4 / (1 + Math.exp(w0)))).toBeLessThan(1e-6);
  });

  it("solves a symmetric positive definite system by Cholesky (worked by hand)", () => {
    // [[4, 2], [2, 3]] x = (2, 1): the inverse is [[3, -2], [-2, 4]] / 8, so x = (0.5, 0)
    const b = Float64Array.of(2, 1);
    const other = Float64Array.of(8, 8); // x = (24 - 16, -16 + 32) / 8 = (1, 2)
    choleskySolve(Float64Array.of(4, 2, 2, 3), 2, [b, other]);
    expect(Array.from(b)).toEqual([0.5, 0]);
    expect(Array.from(other).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([1, 2]);
    expect(() => choleskySolve(Float64Array.of(1, 2, 2, 1), 2, [])).toThrow(/not positive definite/);
  });
});

describe("features, decision values and probabilities", () => {
  it("turns bits into +-1, most significant first", () => {
    expect(Array.from(bitFeatures(Uint8Array.of(0b1000_0001), 1))).toEqual([1, -1, -1, -1, -1, -1, -1, 1]);
    expect(Array.from(bitFeatures(Uint8Array.of(0xff, 0x00, 0x0f, 0xf0), 2, 2))).toEqual([
      ...[1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1],
      ...[-1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1],
    ]);
  });
  it("scores codes as the dot product of their features with the weights", () => {
    const rand = lcg(3);
    const codeSize = 5;
    const n = 30;
    const codes = Uint8Array.from({ length: n * codeSize }, () => Math.floor(rand() * 256));
    const coef = Float64Array.from({ length: 8 * codeSize }, () => rand() - 0.5);
    const z = decisionValues({ codeSize, coef, intercept: 0.25 }, codes, 0, n);
    const x = bitFeatures(codes, codeSize);
    for (let i = 0; i < n; i++) {
      let want = 0.25;
      for (let j = 0; j < 8 * codeSize; j++) want += (x[i * 8 * codeSize + j] as number) * (coef[j] as number);
      expect(Math.abs((z[i] as number) - want)).toBeLessThan(1e-12);
    }
    // a block of rows starting further in
    expect(Array.from(decisionValues({ codeSize, coef, intercept: 0.25 }, codes, 10, 3))).toEqual(Array.from(z.subarray(10, 13)));
  });
  it("gives 1 - p and p from z, each precise near 0", () => {
    // Python's doctest: w = (2, 0, ...), codes 128 (first bit set) and 0
    const { scores, probability } = probabilities(Float64Array.of(2, -2, -40));
    expect(Array.from(scores).map((v) => Math.round(v * 1000) / 1000)).toEqual([0.119, 0.881, 1]);
    expect(Array.from(probability).map((v) => Math.round(v * 1000) / 1000)).toEqual([0.881, 0.119, 0]);
    expect(probability[2]).toBeCloseTo(Math.exp(-40), 30); // not rounded to 0 by 1 - (1 - p)
    expect(expit(0)).toBe(0.5);
  });
});

describe("the training rows", () => {
  it("draws the background evenly along the id order", () => {
    expect(Array.from(backgroundRows(["f", "e", "d", "c", "b", "a"]))).toEqual([5, 4, 3, 2, 1, 0]);
    const ids = Array.from({ length: 2 * CLASSIFIER_BACKGROUND }, (_, i) => `p${String(2 * CLASSIFIER_BACKGROUND - 1 - i).padStart(4, "0")}`);
    const rows = Array.from(backgroundRows(ids));
    expect(rows.length).toBe(CLASSIFIER_BACKGROUND);
    // every second id from the smallest: ids p0000, p0002, … sit at rows 511, 509, …
    expect(rows.slice(0, 3).map((r) => ids[r])).toEqual(["p0000", "p0002", "p0004"]);
  });
  it("stacks positives, negatives, then the background rows", () => {
    const codes = Uint8Array.of(10, 11, 12, 13);
    const t = trainingSet(Uint8Array.of(1, 2), Uint8Array.of(3), codes, [3, 0], 1);
    expect(Array.from(t.codes)).toEqual([1, 2, 3, 13, 10]);
    expect([t.positives, t.negatives, t.background]).toEqual([2, 1, 2]);
    expect(() => trainingSet(new Uint8Array(0), null, codes, [0], 1)).toThrow(/needs at least one positive example/);
  });
  it("trains without negatives against the background alone, and says so", () => {
    const codes = Uint8Array.of(0b1111_0000, 0b1110_0000, 0b0000_1111, 0b0001_1111);
    const out = classifierScores(codes, 1, codes.subarray(0, 1), null, ["a", "b", "c", "d"]);
    // Python's doctest: the first row is the most probable
    expect(Array.from(out.probability).indexOf(Math.max(...out.probability))).toBe(0);
    expect(out.info).toMatchObject({ negatives: 0, background: 4, background_weight: CLASSIFIER_BACKGROUND_WEIGHT });
    expect(out.info.note).toBe("no negatives: trained against the background sample alone");
    out.scores.forEach((v, i) => expect(v + (out.probability[i] as number)).toBeCloseTo(1, 12));
  });
});

describe("what score=classifier refuses", () => {
  const base = { view: "topk" as const, combine: "mean" as const, invert: false, global: false, asymmetric: false, positives: 1 };
  it.each([
    [{ positives: 0 }, /^score=classifier learns from positive examples and got none; add a positive \(click the map\), or use score=distance$/],
    [{ view: "outlier" as const }, /the outlier view ranks by the codes alone, so score=classifier has nothing to rank/],
    [{ view: "surprise" as const }, /the surprise view ranks by the codes alone/],
    [{ global: true }, /does not work with global: turn global off, or use score=distance/],
    [{ asymmetric: true }, /does not work with asymmetric: turn asymmetric off/],
    [{ invert: true }, /does not work with invert: turn invert off/],
    [{ combine: "xor" as const }, /does not work with combine xor: turn combine off/],
  ])("%o", (patch, message) => {
    expect(() => checkClassifier({ ...base, ...patch })).toThrow(message);
  });
  it("a search without positives fails before reading anything", async () => {
    const { corpus, store } = await openTiny();
    const before = store.bytesRead;
    const q: Query = { ...DEFAULT_QUERY, score: "classifier", view: "change" };
    await expect(search(corpus, q)).rejects.toThrow(/learns from positive examples and got none/);
    expect(store.bytesRead).toBe(before);
  });
});

describe("the classifier's workers", () => {
  /** A Worker stand-in: the worker's code, asynchronously, on a structured clone of each message. */
  class FakeClassifierWorker implements ClassifierWorkerLike {
    onmessage: ((ev: MessageEvent<ClassifierResponse>) => void) | null = null;
    onerror: ((ev: ErrorEvent) => void) | null = null;
    postMessage(message: ClassifierRequest, transfer: Transferable[]): void {
      const copy = structuredClone(message, { transfer });
      setTimeout(() => {
        const { response, transfer: back } = answerClassifierRequest(copy);
        this.onmessage?.({ data: structuredClone(response, { transfer: back }) } as MessageEvent<ClassifierResponse>);
      }, 0);
    }
    terminate(): void {}
  }

  it("pick the background and fit as in place", async () => {
    const rand = lcg(11);
    const codeSize = 4;
    const n = 300;
    const codes = Uint8Array.from({ length: n * codeSize }, () => Math.floor(rand() * 256));
    const ids = Array.from({ length: n }, (_, i) => `r${(i * 37) % n}`);
    const pool = new ClassifierPool(() => new FakeClassifierWorker());
    const rows = await pool.background(ids);
    expect(Array.from(rows)).toEqual(Array.from(backgroundRows(ids)));
    const training = trainingSet(codes.slice(0, 2 * codeSize), codes.slice(8, 12), codes, rows, codeSize);
    const fit = await pool.fit(training);
    const inPlace = classifierScores(codes, codeSize, codes.slice(0, 2 * codeSize), codes.slice(8, 12), ids);
    expect(fit.iterations).toBe(inPlace.info.iterations);
    // the scoring worker's decision values give the same probabilities
    const { response } = answerScoreRequest(
      { id: 1, query: { codeSize: 1, combine: "mean", invert: false, queries: new Uint8Array(0), positives: 0, negatives: 0, nBits: 8 }, codes: codes.slice().buffer, classifier: { codeSize, coef: fit.coef, intercept: fit.intercept } },
      null,
    );
    if (response.error !== undefined) throw new Error(response.error);
    expect(Array.from(probabilities(new Float64Array(response.scores)).probability)).toEqual(Array.from(inPlace.probability));
    pool.terminate();
  });
  it("pass an error back", () => {
    const { response } = answerClassifierRequest({ id: 4 });
    expect(response.error?.message).toMatch(/needs ids or a training set/);
  });
});
