import { describe, expect, it } from "vitest";

import type { Legend, ResultRow, SearchResult, ViewName } from "../../../src/lib/types";
import { failureMessage } from "../../../src/ui/examples";
import { legendValue, scaleOf, shownValue, signNote, valueHeading } from "../../../src/ui/legend";
import type { Shown } from "../../../src/ui/legend";
import { categories, coverageFeatures } from "../../../src/ui/patches";

function row(score: number, value: number, shown = true): ResultRow {
  return { id: `r${score}`, lon: 0, lat: 0, geometry: { type: "Point", coordinates: [0, 0] }, score, rank: 1, value, shown, attributes: {} };
}

function result(view: ViewName, rows: ResultRow[], legend: Legend): SearchResult {
  const stats = { shardsRead: 1, shardsTotal: 1, failedShards: [], bytesRead: 0, candidates: rows.length, seconds: 0, reranked: false };
  return { query: {} as SearchResult["query"], view, rows, exemplars: [], stats, legend, message: null };
}

describe("legend and list agree", () => {
  const distance: Legend = { label: "Hamming distance", min: 0, max: 1, lowerIsBetter: true };
  const shown = (view: ViewName, legend: Legend = distance): Shown => ({ view, legend });
  it("descending views show the value (higher = more unusual), the others the score", () => {
    const r = row(-275, 275);
    const up: Legend = { ...distance, lowerIsBetter: false };
    expect(shownValue(shown("outlier", up), r)).toBe(275);
    expect(shownValue(shown("surprise", up), r)).toBe(275);
    expect(shownValue(shown("gradient", up), r)).toBe(275);
    expect(shownValue(shown("topk"), row(12, 12))).toBe(12);
    expect(shownValue(shown("heatmap"), row(12, 0.25))).toBe(12);
    expect(signNote(shown("outlier", up))).toMatch(/^higher = more unusual/);
    expect(signNote(shown("topk"))).toMatch(/^lower = more similar/);
  });

  it("the classifier's views show and colour the probability (higher = more like the positives)", () => {
    const legend: Legend = { label: "probability of being like the positives (classifier)", min: 0.2, max: 0.9, lowerIsBetter: false, field: "probability" };
    const r = { ...row(0.25, 0.25), probability: 0.75 };
    for (const view of ["topk", "threshold", "heatmap"] as const) {
      expect(shownValue(shown(view, legend), r)).toBe(0.75);
      expect(valueHeading(shown(view, legend))).toBe("probability");
      expect(signNote(shown(view, legend))).toBe("probability of being like the positives; higher = more like them (hotter)");
    }
    expect(legendValue(legend, r)).toBe(0.75);
    expect(legendValue(distance, r)).toBe(0.25);
    // the heatmap's scale is the probability's too, not the distances'
    const s = scaleOf(result("heatmap", [r, { ...row(0.6, 1), probability: 0.4 }], legend));
    expect([s.lo, s.hi]).toEqual([0.2, 0.9]);
  });

  it("the change view shows the value: bits changed (higher first) or the change of score (negative first)", () => {
    const r = row(-31, 31);
    const byCodes: Shown = { view: "change", legend: { ...distance, lowerIsBetter: false }, change: { years: [2023, 2024], places: 9 } };
    expect(shownValue(byCodes, r)).toBe(31);
    expect(valueHeading(byCodes)).toBe("bits changed");
    expect(signNote(byCodes)).toBe("Hamming distance between the 2023 and 2024 codes; higher = changed more (hotter)");
    const byScores: Shown = { view: "change", legend: distance, change: { years: [2023, 2024], places: 9 } };
    expect(shownValue(byScores, row(-4, -4))).toBe(-4);
    expect(valueHeading(byScores)).toBe("Δ score");
    expect(signNote(byScores)).toBe("later − earlier score (2023 → 2024); negative = became more like the examples (hotter)");
  });

  it("the heatmap's scale is in real distances, not 0…1", () => {
    const legend = { label: "Hamming distance: 4 (0, most similar) … 20 (1)", min: 0, max: 1, lowerIsBetter: true };
    const s = scaleOf(result("heatmap", [row(4, 0), row(12, 0.5), row(20, 1), row(99, 1, false)], legend));
    expect([s.lo, s.hi, s.title]).toEqual([4, 20, "Hamming distance"]);
    const out = scaleOf(result("outlier", [row(-30, 30)], { label: "outlier-ness", min: 22.5, max: 29.5, lowerIsBetter: false }));
    expect([out.lo, out.hi]).toEqual([22.5, 29.5]);
  });
});

describe("failed examples name the point as the chip does", () => {
  const ref = { kind: "point" as const, lon: -140, lat: -20 };
  const error = "no patch at -140,-20: no row's footprint of this corpus contains the point; click on a patch";
  it("outside the data, at sea, between patches", () => {
    expect(failureMessage(ref, error, false, null)).toBe(
      "Nothing at 20.000° S, 140.000° W: it lies outside this corpus's data; click where patches are drawn.",
    );
    expect(failureMessage(ref, error, true, false)).toMatch(/^Nothing at 20\.000° S, 140\.000° W: that is sea/);
    expect(failureMessage(ref, error, true, true)).toMatch(/^No patch at 20\.000° S, 140\.000° W: it falls between/);
    expect(failureMessage(ref, "HTTP 500", true, true)).toBe("Could not read the patch at 20.000° S, 140.000° W: HTTP 500");
    expect(failureMessage({ kind: "id", id: "x9" }, 'unknown exemplar ids ["x9"]: …', true, null)).toMatch(/id “x9”/);
  });
});

describe("patch colours and coverage", () => {
  it("categories: most frequent first, one colour each", () => {
    const cats = categories(["a", "b", "b", "c", "b", "a"]);
    expect(cats.map((c) => [c.value, c.count])).toEqual([["b", 3], ["a", 2], ["c", 1]]);
    expect(new Set(cats.map((c) => c.color)).size).toBe(3);
  });
  it("coverage: one rectangle per shard (unwrapped across the antimeridian)", () => {
    const m = (xmin: number, xmax: number) => ({ path: "s", geohash: "", rows: 1, bytes: 1, xmin, ymin: 0, xmax, ymax: 1, tmin: null, tmax: null, checksum: "", footerChecksum: "", extra: {} });
    const fc = coverageFeatures([m(10, 20), m(170, -170)]);
    expect(fc.features).toHaveLength(2);
    const ring = (fc.features[1]?.geometry as GeoJSON.Polygon).coordinates[0];
    expect(ring?.map((p) => p[0])).toEqual([170, 190, 190, 170, 170]);
  });
});
