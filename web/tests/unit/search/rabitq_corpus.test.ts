/// <reference types="node" />
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCorpus } from "../../../src/lib/corpus/reader";
import { asymmetricUnavailable } from "../../../src/lib/search/asymmetric";
import { search } from "../../../src/lib/search/query";
import type { ClassifierInfo, Query } from "../../../src/lib/types";
import { FsStore, readJson, SPEC } from "../helpers";

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
  /** Python's query_bits: 4 (the browser's query) for the asymmetric cases. */
  query_bits: number | null;
  expected: {
    rows: Row[];
    exemplars: string[];
    candidates: number;
    reranked: boolean;
    extra: Record<string, unknown>;
    /** score=classifier: the fit's provenance. */
    classifier?: ClassifierInfo;
  };
}

const FIXTURE = readJson<{ corpus: string; cases: Case[] }>("tiny_rabitq.search.json");

/** The largest difference between two lists of numbers, over the largest magnitude of `want`. */
function relativeError(got: number[], want: number[]): number {
  const scale = Math.max(1e-12, ...want.map(Math.abs));
  return Math.max(0, ...got.map((g, i) => Math.abs(g - (want[i] as number)))) / scale;
}

describe("asymmetric search on the shared rabitq corpus reproduces Python (tiny_rabitq.search.json)", () => {
  it("reads the corpus through the real reader: rabitq codes, factors and an int8 rerank column", async () => {
    const corpus = await openCorpus(FIXTURE.corpus, { store: new FsStore(join(SPEC, FIXTURE.corpus)) });
    expect(asymmetricUnavailable(corpus)).toBeNull();
    expect(corpus.manifest.length).toBeGreaterThanOrEqual(2);
    expect(FIXTURE.cases.filter((c) => c.query.asymmetric && c.query_bits === 4).length).toBeGreaterThanOrEqual(4);
  });
  for (const c of FIXTURE.cases) {
    it(c.name, async () => {
      // a fresh corpus per case: no region cache, every shard read again
      const corpus = await openCorpus(FIXTURE.corpus, { store: new FsStore(join(SPEC, FIXTURE.corpus)) });
      const r = await search(corpus, c.query);
      const want = c.expected.rows;
      // the same rows in the same order, shown the same
      expect(r.rows.map((x) => [x.id, x.rank, x.shown])).toEqual(want.map((x) => [x.id, x.rank, x.shown]));
      expect(r.exemplars.map((e) => e.id)).toEqual(c.expected.exemplars);
      expect(r.stats.candidates).toBe(c.expected.candidates);
      expect(r.stats.reranked).toBe(c.expected.reranked);
      expect(r.message).toBeNull();
      // scores: re-ranked cosines to rounding (another summation order than numpy's BLAS);
      // RaBitQ estimates to float rounding (Python's float32 rotation by BLAS); the
      // classifier's 1 - p and p to 1e-6, with the same fit
      const tol = c.expected.reranked ? 1e-12 : 1e-6;
      if (c.expected.classifier !== undefined) {
        expect(r.classifier).toEqual(c.expected.classifier);
        expect(relativeError(r.rows.map((x) => x.probability ?? NaN), want.map((x) => x.probability ?? NaN))).toBeLessThan(tol);
      }
      expect(relativeError(r.rows.map((x) => x.score), want.map((x) => x.score))).toBeLessThan(tol);
      expect(relativeError(r.rows.map((x) => x.value), want.map((x) => x.value))).toBeLessThan(tol);
      if (c.query.view === "threshold") {
        const h = c.expected.extra["histogram"] as { counts: number[]; edges: number[] };
        expect(r.threshold?.counts).toEqual(h.counts);
        expect(relativeError([r.threshold?.t ?? NaN], [c.expected.extra["t"] as number])).toBeLessThan(tol);
        expect(relativeError(r.threshold?.edges ?? [], h.edges)).toBeLessThan(tol);
      }
    });
  }
});
