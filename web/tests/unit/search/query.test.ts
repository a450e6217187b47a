import { describe, expect, it } from "vitest";
import { search } from "../../../src/lib/search/query";
import type { ClassifierInfo, Query } from "../../../src/lib/types";
import { openTiny, readJson } from "../helpers";

interface Row {
  id: string;
  score: number;
  rank: number;
  value: number;
  shown: boolean;
  /** score=classifier: the row's probability. */
  probability?: number;
}

interface Case {
  name: string;
  query: Query;
  expected: {
    rows: Row[];
    exemplars: string[];
    candidates: number;
    reason: string | null;
    extra: Record<string, unknown>;
    /** score=classifier: the fit's provenance. */
    classifier?: ClassifierInfo;
  };
}

const cases = readJson<{ cases: Case[] }>("tiny.search.json").cases;

/** The largest difference between two lists of numbers. */
function largestDifference(got: number[], want: number[]): number {
  expect(got.length).toBe(want.length);
  return Math.max(0, ...got.map((g, i) => Math.abs(g - (want[i] as number))));
}

describe("search reproduces the Python API (tiny.search.json)", () => {
  it("has a dozen cases or more", () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });
  it("has the classifier cases", () => {
    expect(cases.filter((c) => c.query.score === "classifier").length).toBeGreaterThanOrEqual(6);
  });
  for (const c of cases) {
    it(c.name, async () => {
      const { corpus } = await openTiny();
      const result = await search(corpus, c.query);
      if (c.expected.classifier !== undefined) {
        // the same rows in the same order; probabilities (and 1 - p) to 1e-6, the same fit
        expect(result.rows.map((r) => [r.id, r.rank, r.shown])).toEqual(c.expected.rows.map((r) => [r.id, r.rank, r.shown]));
        const want = c.expected.rows;
        expect(largestDifference(result.rows.map((r) => r.probability ?? NaN), want.map((r) => r.probability ?? NaN))).toBeLessThan(1e-6);
        expect(largestDifference(result.rows.map((r) => r.score), want.map((r) => r.score))).toBeLessThan(1e-6);
        expect(largestDifference(result.rows.map((r) => r.value), want.map((r) => r.value))).toBeLessThan(1e-6);
        expect(result.classifier).toEqual(c.expected.classifier);
      } else {
        const got = result.rows.map((r) => ({ id: r.id, score: r.score, rank: r.rank, value: r.value, shown: r.shown }));
        expect(got).toEqual(c.expected.rows);
        expect(result.classifier).toBeUndefined();
      }
      expect(result.exemplars.map((e) => e.id)).toEqual(c.expected.exemplars);
      expect(result.stats.candidates).toBe(c.expected.candidates);
      if (c.expected.reason === null) expect(result.message).toBeNull();
      else expect(result.message).toMatch(/outside the corpus|no row/);
      if (c.query.view === "threshold") {
        const h = c.expected.extra["histogram"] as { counts: number[]; edges: number[] };
        expect(result.threshold?.counts).toEqual(h.counts);
        if (c.expected.classifier !== undefined) {
          expect(Math.abs((result.threshold?.t ?? NaN) - (c.expected.extra["t"] as number))).toBeLessThan(1e-6);
          expect(largestDifference(result.threshold?.edges ?? [], h.edges)).toBeLessThan(1e-6);
        } else {
          expect(result.threshold?.t).toBe(c.expected.extra["t"]);
          expect(result.threshold?.edges).toEqual(h.edges);
        }
      }
    });
  }
});
