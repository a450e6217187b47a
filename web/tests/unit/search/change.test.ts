/// <reference types="node" />
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCorpus } from "../../../src/lib/corpus/reader";
import type { WebCorpus } from "../../../src/lib/corpus/reader";
import { checkChange, pickYears, placePairs, rowYears } from "../../../src/lib/search/change";
import { search } from "../../../src/lib/search/query";
import { change } from "../../../src/lib/search/views";
import type { ClassifierInfo, CorpusInfo, Query } from "../../../src/lib/types";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { FsStore, readJson, SPEC } from "../helpers";

interface Row {
  id: string;
  earlier: string;
  score: number;
  rank: number;
  value: number;
  shown: boolean;
}
interface Case {
  name: string;
  query: Query;
  expected: {
    rows: Row[];
    exemplars: string[];
    candidates: number;
    places: number;
    reason: string | null;
    extra: { k: number; years: [number, number] };
    classifier?: ClassifierInfo;
  };
}

const FIXTURE = readJson<{ corpus: string; cases: Case[] }>("tiny_twin.search.json");

function openTwin(): Promise<WebCorpus> {
  return openCorpus(FIXTURE.corpus, { store: new FsStore(join(SPEC, FIXTURE.corpus)) });
}

describe("the change view reproduces Python (tiny_twin.search.json)", () => {
  it("has cases with and without exemplars, and one by the classifier", () => {
    expect(FIXTURE.cases.some((c) => c.query.positives.length === 0)).toBe(true);
    expect(FIXTURE.cases.some((c) => c.query.positives.length > 0 && c.expected.classifier === undefined)).toBe(true);
    expect(FIXTURE.cases.some((c) => c.expected.classifier !== undefined)).toBe(true);
  });
  for (const c of FIXTURE.cases) {
    it(c.name, async () => {
      const r = await search(await openTwin(), c.query);
      const want = c.expected.rows;
      // one row per place: the later row's id, the earlier row's id, in the same order
      expect(r.rows.map((x) => [x.id, x.earlier, x.rank, x.shown])).toEqual(want.map((x) => [x.id, x.earlier, x.rank, x.shown]));
      expect(r.exemplars.map((e) => e.id)).toEqual(c.expected.exemplars);
      expect(r.stats.candidates).toBe(c.expected.candidates);
      expect(r.change).toEqual({ years: c.expected.extra.years, places: c.expected.places });
      expect(r.message).toBeNull();
      if (c.expected.classifier === undefined) {
        // Hamming distances and their differences: exact
        expect(r.rows.map((x) => [x.score, x.value])).toEqual(want.map((x) => [x.score, x.value]));
      } else {
        expect(r.classifier).toEqual(c.expected.classifier);
        r.rows.forEach((x, i) => {
          expect(Math.abs(x.score - (want[i] as Row).score)).toBeLessThan(1e-6);
          expect(Math.abs(x.value - (want[i] as Row).value)).toBeLessThan(1e-6);
        });
      }
    });
  }
  it("ranks without exemplars by the Hamming distance between the years (higher first)", async () => {
    const r = await search(await openTwin(), { ...DEFAULT_QUERY, view: "change", k: 60 });
    const values = r.rows.map((x) => x.value);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(r.rows.every((x) => x.score === -x.value)).toBe(true);
    expect(r.legend.lowerIsBetter).toBe(false);
    expect(r.legend.label).toMatch(/Hamming distance between the years, 2023 → 2024/);
  });
  it("says when no place is observed in both years", async () => {
    // a region of one place: its earlier row is the exemplar (left out), its later row alone remains
    const all = await search(await openTwin(), { ...DEFAULT_QUERY, view: "change", k: 1 });
    const first = all.rows[0];
    if (first === undefined) throw new Error("no row");
    const place = {
      ...DEFAULT_QUERY,
      view: "change" as const,
      positives: [{ kind: "id" as const, id: first.earlier as string }],
      regions: [{ kind: "bbox" as const, bbox: [first.lon - 0.001, first.lat - 0.001, first.lon + 0.001, first.lat + 0.001] as [number, number, number, number] }],
    };
    // the two latest years of the region's rows: it holds one year only
    await expect(search(await openTwin(), place)).rejects.toThrow(/the region's rows are from 2024 only \(the corpus spans 2023-2024\)/);
    const r = await search(await openTwin(), { ...place, years: [2023, 2024] });
    expect(r.rows).toEqual([]);
    expect(r.message).toBe("no place in the region has rows in both 2023 and 2024");
    expect(r.change).toEqual({ years: [2023, 2024], places: 0 });
  });
  it.each([
    [{ year: 2024 }, /clear the year filter \(2024\)/],
    [{ years: [2023, 2023] as [number, number] }, /years must be two different calendar years/],
    [{ years: [2019, 2024] as [number, number] }, /years=2019,2024 lie outside the corpus's span 2023-2024; pick a pair within it/],
  ])("refuses %o with a line naming the fix", async (patch, message) => {
    await expect(search(await openTwin(), { ...DEFAULT_QUERY, view: "change", ...patch })).rejects.toThrow(message);
  });
  it("refuses years with another view", async () => {
    await expect(search(await openTwin(), { ...DEFAULT_QUERY, view: "outlier", years: [2023, 2024] })).rejects.toThrow(
      /picks the pair that the change view compares; pick view change, or clear years/,
    );
  });
});

describe("change, by hand", () => {
  it("view by codes: Hamming distance between the years, higher first, ties by id", () => {
    // Python's doctest: earlier 0,0,0; later 0,255,15 -> 0, 8, 4 bits changed
    const v = change({ kind: "codes", earlier: Uint8Array.of(0, 0, 0), later: Uint8Array.of(0, 255, 15), codeSize: 1 }, 2, ["a", "b", "c"]);
    expect(Array.from(v.value)).toEqual([0, 8, 4]);
    expect(Array.from(v.rank)).toEqual([3, 1, 2]);
    expect(Array.from(v.shown)).toEqual([0, 1, 1]);
    const tie = change({ kind: "codes", earlier: Uint8Array.of(0, 0), later: Uint8Array.of(1, 2), codeSize: 1 }, 1, ["z", "y"]);
    expect(Array.from(tie.rank)).toEqual([2, 1]);
  });
  it("view by scores: later - earlier, most negative first", () => {
    const delta = Float64Array.from([6 - 5, 1 - 5, 4 - 5]);
    const v = change({ kind: "scores", delta }, 1, ["a", "b", "c"]);
    expect(Array.from(v.value)).toEqual([1, -4, -1]);
    expect(Array.from(v.rank)).toEqual([3, 1, 2]);
    expect(Array.from(v.shown)).toEqual([0, 1, 0]);
  });
  it("pairs places by identical footprints, the smallest id of a year, ordered by the later row", async () => {
    const [A, B, C] = [Uint8Array.of(1, 2), Uint8Array.of(1, 3), Uint8Array.of(9)];
    const wkb = [A, B, A, B, C, A];
    const years = [2023, 2023, 2024, 2024, 2024, 2024];
    const ids = ["a23", "b23", "a24z", "b24", "c24", "a24a"];
    const all = [0, 1, 2, 3, 4, 5];
    expect(await placePairs(wkb, years, ids, all, [2023, 2024])).toEqual({ earlier: [1, 0], later: [3, 5] });
    // rows left out (an exemplar) leave their place unpaired
    expect(await placePairs(wkb, years, ids, [0, 2, 3, 4, 5], [2023, 2024])).toEqual({ earlier: [0], later: [5] });
  });
  it("reads the UTC year of each time, and picks the two latest", () => {
    const times = [Date.UTC(2023, 11, 31, 23), NaN, Date.UTC(2022, 0, 1), Date.UTC(2024, 0, 1)];
    expect(Array.from(rowYears(times))).toEqual([2023, -1, 2022, 2024]);
    expect(pickYears([2022, 2024, 2023, 2024], null, null)).toEqual([2023, 2024]);
    expect(pickYears([2022, 2024], [2022, 2024], null)).toEqual([2022, 2024]);
    expect(() => pickYears([2024, 2024, -1], null, null)).toThrow(
      /the region's rows are from 2024 only; draw a region observed in both, or pick a pair of years/,
    );
  });
  it("checks the corpus: a datetime column and more than one year", () => {
    const info = (columns: string[], tmin: string, tmax: string): CorpusInfo =>
      ({ columns, metadata: { tmin, tmax } }) as unknown as CorpusInfo;
    const q = { view: "change" as const, years: null, year: null, global: false };
    expect(checkChange(info(["id", "datetime"], "2023-01-01", "2024-12-31"), q)).toBeNull();
    expect(checkChange(info(["id", "datetime"], "2023-01-01", "2024-12-31"), { ...q, years: [2024, 2023] })).toEqual([2023, 2024]);
    expect(() => checkChange(info(["id"], "", ""), q)).toThrow(/this corpus has no datetime column \(columns id\); use another view/);
    expect(() => checkChange(info(["id", "datetime"], "2024-01-01", "2024-12-31"), q)).toThrow(/every row of this corpus is from 2024/);
    expect(() => checkChange(info(["id", "datetime"], "2023-01-01", "2024-12-31"), { ...q, global: true })).toThrow(/turn global search off/);
  });
});
