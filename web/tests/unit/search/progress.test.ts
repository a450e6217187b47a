import { describe, expect, it } from "vitest";
import { progressText } from "../../../src/lib/search/progress";
import { search } from "../../../src/lib/search/query";
import type { Query, SearchProgress } from "../../../src/lib/types";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { openTiny } from "../helpers";

const q = (over: Partial<Query>): Query => ({ ...DEFAULT_QUERY, ...over });

describe("search progress", () => {
  it("says each stage in order, with a line for the page", async () => {
    const { corpus } = await openTiny();
    const seen: SearchProgress[] = [];
    const query = q({ regions: [{ kind: "bbox", bbox: [90, 0, 130, 40] }], positives: [{ kind: "id", id: "p000000180" }], view: "heatmap" });
    const r = await search(corpus, query, { onProgress: (p) => seen.push(p) });
    const stages = seen.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1]);
    expect(stages).toEqual(["reading", "gathering", "examples", "scoring", "ranking", "rows"]);
    const reading = seen.filter((p) => p.stage === "reading");
    expect(reading.at(-1)?.shardsDone).toBe(reading.at(-1)?.shardsTotal);
    const last = seen.at(-1) as SearchProgress;
    expect(last.candidates).toBe(r.rows.length);
    expect(seen.find((p) => p.stage === "scoring")?.text).toBe(`Scoring ${r.stats.candidates + 1} candidates (Hamming distances to 1 example)…`);
    expect(last.text).toBe(`Building ${r.rows.length} result rows…`);
    // the same region again: no reading or gathering, straight to the examples
    const again: SearchProgress[] = [];
    await search(corpus, { ...query, view: "topk" }, { onProgress: (p) => again.push(p) });
    expect(again.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1])).toEqual(["reading", "examples", "scoring", "ranking", "rows"]);
  });
  it("an older report (no stage) reads as the shard counts", () => {
    expect(progressText({ shardsDone: 3, shardsTotal: 13, failed: 1, candidates: 12345 })).toBe("Reading 3 / 13 shards, 1 failed · 12,345 candidates…");
    expect(progressText({ shardsDone: 3, shardsTotal: 13, failed: 0, candidates: 5, stage: "rows", text: "Building 5 result rows…" })).toBe("Building 5 result rows…");
  });
});
