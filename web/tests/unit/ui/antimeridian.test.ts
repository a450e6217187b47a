import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import { describe, expect, it } from "vitest";

import { fixAntimeridian, fixRing } from "../../../src/ui/antimeridian";

/** Segments of the polygon rings that jump more than 180° of longitude. */
function jumps(data: GeoJSON.FeatureCollection): number[][][] {
  const out: number[][][] = [];
  for (const f of data.features) {
    const g = f.geometry;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const poly of polys) {
      for (const ring of poly) {
        for (let i = 1; i < ring.length; i++) {
          const a = ring[i - 1] as number[];
          const b = ring[i] as number[];
          if (Math.abs((b[0] as number) - (a[0] as number)) > 180) out.push([a, b]);
        }
      }
    }
  }
  return out;
}

describe("antimeridian", () => {
  it("unwraps a ring across the antimeridian, leaves others alone", () => {
    const island = [[-179.5, 71], [-180, 71.1], [179.8, 71.2], [179.6, 71], [-179.5, 71]];
    expect(fixRing(island)).toEqual([[-179.5, 71], [-180, 71.1], [-180.2, 71.2], [-180.4, 71], [-179.5, 71]]);
    const fiji = [[-180, -16.4], [180, -16.5], [179.98, -16.5], [-180, -16.4]];
    expect(fixRing(fiji).map((p) => p[0])).toEqual([180, 180, expect.closeTo(179.98, 9), 180]);
    // starting on the far side: unwrapped, then moved back whole
    const eurasia = [[-180, 69], [179, 69], [20, 50], [179, 60], [-179.5, 65], [-180, 69]];
    expect(fixRing(eurasia).map((p) => p[0])).toEqual([180, 179, 20, 179, 180.5, 180]);
    const plain = [[10, 10], [11, 10], [11, 11], [10, 10]];
    expect(fixRing(plain)).toBe(plain);
    const world = [[-180, -89.9], [-90, -70], [0, -70], [90, -70], [180, -89.9], [-180, -89.9]];
    expect(fixRing(world)).toBe(world);
  });

  it("leaves only Antarctica's rings around the pole in Natural Earth's 1:50m land", () => {
    const require = createRequire(import.meta.url);
    const topology = JSON.parse(readFileSync(require.resolve("world-atlas/land-50m.json"), "utf8")) as Topology;
    const land = feature(topology, topology.objects["land"] as GeometryCollection) as GeoJSON.FeatureCollection;
    const before = jumps(land);
    expect(before.length).toBeGreaterThan(4); // Chukotka, Wrangel, Fiji … (the artefacts)
    const after = jumps(fixAntimeridian(land));
    // every ring lies mostly within [-180, 180]
    for (const f of fixAntimeridian(land).features) {
      const g = f.geometry as GeoJSON.MultiPolygon;
      for (const ring of g.coordinates.flat()) {
        const xs = ring.map((p) => p[0] as number);
        expect((Math.min(...xs) + Math.max(...xs)) / 2).toBeGreaterThanOrEqual(-180);
        expect((Math.min(...xs) + Math.max(...xs)) / 2).toBeLessThanOrEqual(180);
      }
    }
    // what is left is Antarctica's, south of a Mercator map's edge (85.05° S) or on it
    expect(after.length).toBeLessThanOrEqual(2);
    expect(after.every(([a, b]) => (a?.[1] as number) < -84 && (b?.[1] as number) < -84)).toBe(true);
  });
});
