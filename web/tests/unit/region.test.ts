import { describe, expect, it } from "vitest";
import { geometryCovers, regionFromSpecs, regionIntersects } from "../../src/lib/region";
import { geoJSONToWkb, wkbToGeoJSON } from "../../src/lib/wkb";
import { must } from "./helpers";

const square = (x0: number, y0: number, x1: number, y1: number): GeoJSON.Polygon => ({
  type: "Polygon",
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});

describe("regions", () => {
  it("splits a bbox across the antimeridian", () => {
    const r = regionFromSpecs([{ kind: "bbox", bbox: [170, -10, -170, 10] }]);
    expect(r?.boxes).toEqual([
      [-180, -10, -170, 10],
      [170, -10, 180, 10],
    ]);
    expect(regionIntersects(must(r), square(175, 0, 176, 1))).toBe(true);
    expect(regionIntersects(must(r), square(0, 0, 1, 1))).toBe(false);
  });
  it("splits a polygon ring that crosses the antimeridian", () => {
    const poly: GeoJSON.Polygon = { type: "Polygon", coordinates: [[[170, 0], [-170, 0], [-170, 10], [170, 10], [170, 0]]] };
    const r = must(regionFromSpecs([{ kind: "polygon", geometry: poly }]));
    expect(r.boxes.map((b) => b.map((v) => Math.round(v)))).toEqual([
      [170, 0, 180, 10],
      [-180, 0, -170, 10],
    ]);
    expect(regionIntersects(r, square(-175, 2, -174, 3))).toBe(true);
  });
  it("intersects like shapely: touching counts, holes exclude", () => {
    const tri = must(regionFromSpecs([{ kind: "polygon", geometry: { type: "Polygon", coordinates: [[[0, 0], [10, 0], [5, 10], [0, 0]]] } }]));
    expect(regionIntersects(tri, square(10, -1, 11, 0))).toBe(true); // shares the corner (10, 0)
    expect(regionIntersects(tri, square(8, 8, 9, 9))).toBe(false); // in the bbox, outside the triangle
    expect(regionIntersects(tri, square(-1, -1, 11, 11))).toBe(true); // contains the region
    const holed: GeoJSON.Polygon = { type: "Polygon", coordinates: [...square(0, 0, 10, 10).coordinates, ...square(3, 3, 7, 7).coordinates] };
    const r = must(regionFromSpecs([{ kind: "polygon", geometry: holed }]));
    expect(regionIntersects(r, square(4, 4, 5, 5))).toBe(false);
    expect(regionIntersects(r, square(2, 4, 4, 5))).toBe(true);
    expect(geometryCovers(holed, 3, 5)).toBe(true); // on the hole's boundary
    expect(geometryCovers(holed, 5, 5)).toBe(false);
  });
  it("rejects bad boxes with the region named", () => {
    expect(() => regionFromSpecs([{ kind: "bbox", bbox: [0, 50, 1, 40] }])).toThrow(/region 1 .*miny > maxy/);
    expect(() => regionFromSpecs([{ kind: "bbox", bbox: [0, 0, 1, 100] }])).toThrow(/out of range/);
  });
  it("WKB round-trips", () => {
    const g: GeoJSON.MultiPolygon = { type: "MultiPolygon", coordinates: [square(0, 0, 1, 1).coordinates, square(2, 2, 3, 3).coordinates] };
    expect(wkbToGeoJSON(geoJSONToWkb(g))).toEqual(g);
    expect(wkbToGeoJSON(geoJSONToWkb({ type: "Point", coordinates: [1.5, -2] }))).toEqual({ type: "Point", coordinates: [1.5, -2] });
  });
});
