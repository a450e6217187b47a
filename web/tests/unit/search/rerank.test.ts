/// <reference types="node" />
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openCorpus } from "../../../src/lib/corpus/reader";
import { rerankSupported } from "../../../src/lib/search/rerank";
import { search } from "../../../src/lib/search/query";
import type { Query } from "../../../src/lib/types";
import { FsStore } from "../helpers";

const HERE = join(import.meta.dirname, "../fixtures");
interface Case {
  name: string;
  query: Query;
  reranked: boolean;
  rows: { id: string; score: number; rank: number; shown: boolean }[];
}
const cases = (JSON.parse(readFileSync(join(HERE, "rerank.search.json"), "utf8")) as { cases: Case[] }).cases;

describe("re-rank with the int8 rerank column (against the Python API)", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const corpus = await openCorpus("rerank", { store: new FsStore(join(HERE, "rerank")) });
      expect(rerankSupported(corpus)).toBe(true);
      const r = await search(corpus, c.query);
      expect(r.stats.reranked).toBe(c.reranked);
      expect(r.rows.map((x) => [x.id, x.rank, x.shown])).toEqual(c.rows.map((x) => [x.id, x.rank, x.shown]));
      // cosine sums run in another order than numpy's BLAS: equal to rounding
      r.rows.forEach((x, i) => expect(Math.abs(x.score - (c.rows[i]?.score ?? NaN))).toBeLessThan(1e-9));
    });
  }
});
