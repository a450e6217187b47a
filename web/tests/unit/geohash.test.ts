import { describe, expect, it } from "vitest";
import { bbox, decode, encode } from "../../src/lib/geohash";
import { readJson } from "./helpers";

interface GeohashCases {
  points: { lon: number; lat: number; hashes: string[] }[];
  boxes: Record<string, [number, number, number, number]>;
  centres: Record<string, [number, number]>;
}
const cases = readJson<{ geohash: GeohashCases }>("tiny.search.json").geohash;

describe("geohash (against terrabit.geohash)", () => {
  it("encodes every point at every precision", () => {
    for (const p of cases.points) {
      p.hashes.forEach((h, i) => expect(encode(p.lon, p.lat, i + 1)).toBe(h));
    }
  });
  it("decodes boxes and centres exactly", () => {
    for (const [h, b] of Object.entries(cases.boxes)) expect(bbox(h)).toEqual(b);
    for (const [h, c] of Object.entries(cases.centres)) expect(decode(h)).toEqual(c);
  });
  it("knows the classic example", () => {
    expect(encode(10.40744, 57.64911, 11)).toBe("u4pruydqqvj");
  });
  it("every point lies in its own cell", () => {
    for (const p of cases.points) {
      const [x0, y0, x1, y1] = bbox(p.hashes[7] as string);
      const lon = p.lon === 180 ? -180 : p.lon;
      expect(lon >= x0 && lon <= x1 && p.lat >= y0 && p.lat <= y1).toBe(true);
    }
  });
  it("rejects bad input with a clear message", () => {
    expect(() => bbox("abc")).toThrow(/not a geohash/);
    expect(() => encode(200, 0)).toThrow(/lon in \[-180, 180\]/);
    expect(() => encode(0, 0, 13)).toThrow(/precision/);
  });
});
