import { describe, expect, it } from "vitest";
import { decodeFactors } from "../../../src/lib/corpus/factors";
import type { WebCorpus } from "../../../src/lib/corpus/reader";
import { asymmetricScores, asymmetricUnavailable } from "../../../src/lib/search/asymmetric";
import { checkQuery, search } from "../../../src/lib/search/query";
import type { Query } from "../../../src/lib/types";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { openTiny, readJson } from "../helpers";

interface AsymCase {
  d: number;
  rows: number;
  codec: { spec: string };
  codes: string[];
  factors: string[];
  asymmetric: {
    rerank_codec: { state: { d_in_: number } };
    positives: number[];
    negatives: number[];
    rerank_codes: string[];
    scores: number[];
    top: number[];
  };
}

function hexRows(rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join("").match(/../g) ?? [], (h) => parseInt(h, 16));
}

const FIXTURE = readJson<{ k: number; cases: AsymCase[] }>("rabitq.json");
const CASE = FIXTURE.cases[0] as AsymCase;

/** The parts of an open corpus that asymmetric scoring reads: a rabitq corpus with an int8 rerank column. */
function fakeCorpus(columns: string[] = ["id", "embedding", "rerank", "rabitq"], codec: unknown = CASE.codec): WebCorpus {
  const info = {
    codec,
    codecSpec: (codec as { spec: string }).spec,
    dims: CASE.d,
    rerankCodeSize: CASE.d,
    columns,
    metadata: { rerank_codec: CASE.asymmetric.rerank_codec },
  };
  return { info, hasColumn: (name: string) => columns.includes(name) } as unknown as WebCorpus;
}

const q = (over: Partial<Query>): Query => ({ ...DEFAULT_QUERY, ...over });

describe("asymmetric search scores (spec/fixtures/rabitq.json)", () => {
  it("mean_pos (1 - cos) - mean_neg (1 - cos) of the decoded rerank vectors: Python's scores and top-k", () => {
    const a = CASE.asymmetric;
    const ex = a.rerank_codes.map((hex, j) => ({
      positive: j < a.positives.length,
      id: `row ${j}`,
      rerank: hexRows([hex]),
    }));
    const codes = hexRows(CASE.codes);
    const factors = decodeFactors(hexRows(CASE.factors), 6);
    const got = asymmetricScores(fakeCorpus(), ex, codes, factors, CASE.rows);
    const scale = Math.max(...a.scores.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < CASE.rows; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (a.scores[i] as number)));
    expect(worst / scale).toBeLessThan(1e-6);
    const top = Array.from(got.keys())
      .sort((x, y) => (got[x] as number) - (got[y] as number) || x - y)
      .slice(0, FIXTURE.k);
    expect(top).toEqual(a.top);
    // again, with the codes resident in the kernel: the same scores
    expect(Array.from(asymmetricScores(fakeCorpus(), ex, codes, factors, CASE.rows))).toEqual(Array.from(got));
  });
  it("say why a corpus cannot be scored asymmetrically", async () => {
    expect(asymmetricUnavailable(fakeCorpus())).toBeNull();
    expect(asymmetricUnavailable(fakeCorpus(["id", "embedding", "rerank"]))).toMatch(/no rabitq column/);
    expect(asymmetricUnavailable(fakeCorpus(["id", "embedding", "rabitq"]))).toMatch(/no rerank column.*--rerank int8/);
    const { corpus } = await openTiny();
    expect(asymmetricUnavailable(corpus)).toMatch(/codec is "binary", not rabitq \(publish it with --codec rabitq\)/);
    const ex = [{ positive: true, id: "a", rerank: new Uint8Array(CASE.d) }];
    expect(() => asymmetricScores(corpus, ex, new Uint8Array(0), new Float32Array(0), 0)).toThrow(/turn asymmetric off/);
  });
  it("search refuses asymmetric where it cannot apply, with the fix", async () => {
    const { corpus } = await openTiny();
    const base = q({ regions: [{ kind: "bbox", bbox: [90, 0, 130, 40] }], positives: [{ kind: "id", id: "p000000180" }] });
    await expect(search(corpus, { ...base, asymmetric: true })).rejects.toThrow(
      /asymmetric scoring cannot score this corpus: its codec is "binary".*turn asymmetric off/,
    );
    expect(() => checkQuery({ ...base, asymmetric: true, combine: "or" })).toThrow(/combine mean and no invert/);
    expect(() => checkQuery({ ...base, asymmetric: true, invert: true })).toThrow(/combine mean and no invert/);
    await expect(search(corpus, { ...base, asymmetric: true, global: true, regions: [] })).rejects.toThrow(
      /global search ranks by Hamming distance.*turn off asymmetric or global/,
    );
    // off: the same search runs
    expect((await search(corpus, base)).rows.length).toBeGreaterThan(0);
  });
});
