import { describe, expect, it } from "vitest";
import { TerrabitError } from "../../../src/lib/errors";
import { hammingDistancesTS } from "../../../src/lib/kernels/hamming";
import { dedupeRows, resolveExemplars, search } from "../../../src/lib/search/query";
import { shardLowerBounds } from "../../../src/lib/corpus/summary";
import type { Query, SearchProgress } from "../../../src/lib/types";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { must, openTiny } from "../helpers";

const BOX: [number, number, number, number] = [90, 0, 130, 40];
const q = (over: Partial<Query>): Query => ({ ...DEFAULT_QUERY, ...over });

describe("search behaviour", () => {
  it("a click far outside the regions reads only that shard's matching row group", async () => {
    const { corpus, store } = await openTiny();
    // the first row of shard 7 (lon -12, lat -34), far from the box
    const t = await corpus.readShard(must(corpus.manifest[0]), { geometry: true });
    const lon = ((t.bbox[0] as number) + (t.bbox[2] as number)) / 2;
    const lat = ((t.bbox[1] as number) + (t.bbox[3] as number)) / 2;
    const { corpus: fresh, store: s2 } = await openTiny();
    const before = s2.bytesRead;
    const ex = await resolveExemplars(fresh, q({ regions: [{ kind: "bbox", bbox: BOX }], positives: [{ kind: "point", lon, lat }] }));
    expect(ex.map((e) => e.id)).toEqual([t.ids[0]]);
    expect(new Set(s2.ranges.map((r) => r.path))).toEqual(new Set(["shards/7.parquet"]));
    expect(s2.bytesRead - before).toBeLessThanOrEqual(must(corpus.manifest[0]).bytes); // the tail read is reused
    void store;
  });

  it("remembers a region read: another exemplar or view there costs no I/O", async () => {
    const { corpus } = await openTiny();
    const base = q({ regions: [{ kind: "bbox", bbox: BOX }], positives: [{ kind: "id", id: "p000000180" }], k: 5 });
    const first = await search(corpus, base);
    expect(first.stats.bytesRead).toBeGreaterThan(0);
    const again = await search(corpus, { ...base, view: "heatmap" });
    expect(again.stats.bytesRead).toBe(0);
    expect(again.stats.candidates).toBe(first.stats.candidates);
    const other = await search(corpus, { ...base, positives: [{ kind: "id", id: again.rows[0]?.id ?? "" }] });
    expect(other.stats.bytesRead).toBe(0);
    expect(other.exemplars[0]?.id).toBe(again.rows[0]?.id);
  });

  it("refuses too many candidates with a clear message instead of reading them all", async () => {
    const { corpus } = await openTiny();
    const r = await search(corpus, q({ view: "outlier" }), { maxCandidates: 50 });
    expect(r.rows).toEqual([]);
    expect(r.message).toMatch(/more than this app's limit of 50; draw a smaller region/);
  });

  it("reports a failing shard and keeps the others", async () => {
    const { corpus, store } = await openTiny();
    const real = store.readRange.bind(store);
    store.readRange = (path, ...rest) => {
      if (path === "shards/ykj.parquet") return Promise.reject(new TerrabitError("HTTP 500", "http"));
      return real(path, ...rest);
    };
    const progress: SearchProgress[] = [];
    const r = await search(corpus, q({ view: "outlier" }), { onProgress: (p) => progress.push(p) });
    expect(r.stats.failedShards).toEqual(["shards/ykj.parquet"]);
    expect(r.stats.candidates).toBe(200 - 52);
    expect(r.message).toMatch(/1 of 13 shards failed/);
    expect(progress[progress.length - 1]).toMatchObject({ shardsDone: 13, shardsTotal: 13, failed: 1 });
  });

  it("explains a server without Range support (fails fast)", async () => {
    const { corpus, store } = await openTiny();
    store.readRange = () => Promise.reject(new TerrabitError("the server ignores HTTP Range requests", "range"));
    await expect(search(corpus, q({ view: "outlier" }))).rejects.toThrow(/ignores HTTP Range/);
  });

  it("can be cancelled", async () => {
    const { corpus } = await openTiny();
    const ac = new AbortController();
    ac.abort();
    await expect(search(corpus, q({ view: "outlier" }), { signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it("says which view needs an exemplar", async () => {
    const { corpus } = await openTiny();
    await expect(search(corpus, q({ view: "heatmap" }))).rejects.toThrow(/heatmap view needs at least one positive/);
    await expect(search(corpus, q({ positives: [{ kind: "id", id: "nope" }] }))).rejects.toThrow(/unknown exemplar ids \["nope"\]/);
    await expect(search(corpus, q({ positives: [{ kind: "point", lon: -60, lat: -60 }] }))).rejects.toThrow(/no patch at -60,-60/);
  });
});

describe("dedupe", () => {
  it("keeps the best (score, id) of byte-identical geometries (Python dedupe_rows)", () => {
    const A = Uint8Array.from([1, 2, 3]);
    const B = Uint8Array.from([1, 2, 4]);
    expect(dedupeRows([A, B, Uint8Array.from(A)], [3, 1, 2], ["a", "b", "c"])).toEqual([1, 2]);
    expect(dedupeRows([A, A], [1, 1], ["z", "y"])).toEqual([1]);
  });
});

describe("global search", () => {
  it("multi-ball summaries give valid bounds and the exact top-k", async () => {
    const { corpus } = await openTiny();
    const cs = corpus.info.codeSize;
    // replace the single balls by two balls per shard (the redesigned manifest columns)
    for (const row of corpus.manifest) {
      const t = await corpus.readShard(row);
      const half = Math.ceil(t.length / 2);
      const groups: [number, number][] = [
        [0, half],
        [half, t.length],
      ];
      const codes: Uint8Array[] = [];
      const radii: number[] = [];
      for (const [a, b] of groups) {
        if (b <= a) continue;
        const centre = t.codes.slice(a * cs, (a + 1) * cs);
        const d = hammingDistancesTS(centre, t.codes.subarray(a * cs, b * cs), cs);
        codes.push(centre);
        radii.push(Math.max(...d));
      }
      delete row.extra["summary_code"];
      delete row.extra["summary_radius_bits"];
      row.extra["summary_codes"] = codes;
      row.extra["summary_radii"] = radii;
    }
    const query = must(corpus.manifest[6]);
    const probe = (await corpus.readShard(query)).codes.slice(0, cs);
    const bounds = shardLowerBounds(corpus.manifest, probe, cs);
    for (const [i, row] of corpus.manifest.entries()) {
      const t = await corpus.readShard(row);
      const d = hammingDistancesTS(probe, t.codes, cs);
      expect(Math.min(...d)).toBeGreaterThanOrEqual(must(bounds[i]));
    }
    const ref = { kind: "id" as const, id: "p000000180" };
    const plain = await search(corpus, q({ positives: [ref], k: 6 }));
    const global = await search(corpus, q({ positives: [ref], k: 6, global: true }));
    expect(global.rows.map((r) => r.id)).toEqual(plain.rows.filter((r) => r.shown).map((r) => r.id));
    expect(global.rows.map((r) => r.score)).toEqual(plain.rows.filter((r) => r.shown).map((r) => r.score));
    expect(global.stats.shardsRead).toBeLessThanOrEqual(global.stats.shardsTotal);
  });
  it("refuses what its bound cannot do", async () => {
    const { corpus } = await openTiny();
    const ref = { kind: "id" as const, id: "p000000180" };
    await expect(search(corpus, q({ positives: [ref], view: "heatmap", global: true }))).rejects.toThrow(/top-k only/);
    await expect(search(corpus, q({ positives: [ref, ref], global: true }))).rejects.toThrow(/exactly one positive/);
  });
});
