import { describe, expect, it } from "vitest";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";

import type { ExemplarRow } from "../../../src/lib/types";
import {
  LabelsError,
  labelsToGeoJSON,
  labelsToGeoParquet,
  parseLabels,
  parseLabelsGeoJSON,
} from "../../../src/ui/labelfile";

const square = (x: number, y: number): GeoJSON.Polygon => ({
  type: "Polygon",
  coordinates: [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]],
});

const rows: ExemplarRow[] = [
  { ref: { kind: "id", id: "p1" }, positive: true, id: "p1", lon: 72.005, lat: 26.005, geometry: square(72, 26) },
  { ref: { kind: "point", lon: -60.2, lat: -3.1 }, positive: false, id: "p2", lon: -60.195, lat: -3.095, geometry: square(-60.2, -3.1) },
];

function fc(features: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: "FeatureCollection", features, ...extra });
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LabelsError);
    return (err as Error).message;
  }
  throw new Error("expected a LabelsError");
}

describe("labels files", () => {
  it("GeoJSON round-trips: id, footprint and label per example, by id", () => {
    const text = labelsToGeoJSON(rows);
    const data = JSON.parse(text) as GeoJSON.FeatureCollection;
    expect(data.features.map((f) => [f.properties?.["id"], f.properties?.["label"]])).toEqual([
      ["p1", "positive"],
      ["p2", "negative"],
    ]);
    expect(data.features[1]?.geometry).toEqual(square(-60.2, -3.1));
    expect(parseLabelsGeoJSON(text)).toEqual([
      { ref: { kind: "id", id: "p1" }, positive: true },
      { ref: { kind: "id", id: "p2" }, positive: false },
    ]);
  });

  it("GeoParquet has CRS84 geo metadata and round-trips", async () => {
    const bytes = labelsToGeoParquet(rows);
    const buffer = bytes.slice().buffer;
    const md = parquetMetadata(buffer);
    const geo = JSON.parse(md.key_value_metadata?.find((kv) => kv.key === "geo")?.value ?? "{}");
    expect(geo.columns.geometry.crs.id).toEqual({ authority: "OGC", code: "CRS84" });
    const table = await parquetReadObjects({ file: buffer, columns: ["id", "label"], compressors });
    expect(table).toEqual([
      { id: "p1", label: "positive" },
      { id: "p2", label: "negative" },
    ]);
    expect(await parseLabels("x.parquet", buffer)).toEqual([
      { ref: { kind: "id", id: "p1" }, positive: true },
      { ref: { kind: "id", id: "p2" }, positive: false },
    ]);
  });

  it("a feature without an id is taken at its geometry's centre", () => {
    const labels = parseLabelsGeoJSON(fc([{ type: "Feature", geometry: square(10, 20), properties: { label: "positive" } }]));
    expect(labels).toEqual([{ ref: { kind: "point", lon: 10.005, lat: 20.005 }, positive: true }]);
  });

  it("names every problem: no geometry, unknown label, projected coordinates, CRS, not JSON", () => {
    const noGeom = error(() =>
      parseLabelsGeoJSON(fc([{ type: "Feature", geometry: null, properties: { id: "a", label: "positive" } }]), "l.geojson"),
    );
    expect(noGeom).toBe("Labels file “l.geojson”: feature 1 (id “a”) has no geometry; every label needs its footprint (lon/lat).");
    expect(error(() => parseLabelsGeoJSON(fc([{ type: "Feature", geometry: square(0, 0), properties: { id: "a", label: "maybe" } }])))).toContain(
      'has label "maybe"; a label is "positive" or "negative"',
    );
    const projected = error(() =>
      parseLabelsGeoJSON(fc([{ type: "Feature", geometry: { type: "Point", coordinates: [500000, 4649776] }, properties: { id: "a", label: "negative" } }])),
    );
    expect(projected).toContain("(500000, 4649776), which are not lon/lat degrees");
    const crs = { type: "name", properties: { name: "urn:ogc:def:crs:EPSG::32633" } };
    expect(error(() => parseLabelsGeoJSON(fc([], { crs })))).toContain('its CRS is "urn:ogc:def:crs:EPSG::32633", not lon/lat WGS 84');
    expect(error(() => parseLabelsGeoJSON("{oops"))).toContain("it is not JSON");
    expect(error(() => parseLabelsGeoJSON(fc([])))).toContain("it has no features");
    expect(error(() => parseLabelsGeoJSON('{"type": "Feature"}'))).toContain("not a GeoJSON FeatureCollection");
  });

  it("lists at most three problems and counts the rest", () => {
    const bad = Array.from({ length: 5 }, (_, i) => ({ type: "Feature", geometry: null, properties: { id: `x${i}`, label: "positive" } }));
    expect(error(() => parseLabelsGeoJSON(fc(bad)))).toMatch(/x2.*\(and 2 more\)\.$/);
  });

  it("accepts the legacy lon/lat crs names", () => {
    const crs = { type: "name", properties: { name: "urn:ogc:def:crs:OGC:1.3:CRS84" } };
    const text = fc([{ type: "Feature", id: 7, geometry: square(1, 2), properties: { label: "negative" } }], { crs });
    expect(parseLabelsGeoJSON(text)).toEqual([{ ref: { kind: "id", id: "7" }, positive: false }]);
  });
});
