import { describe, expect, it } from "vitest";
import { geoKnn } from "../../../src/lib/search/geoneighbours";
import { gradient, heatmap, histogram, outlier, surprise, threshold, topk } from "../../../src/lib/search/views";
import { must } from "../helpers";

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i).padStart(4, "0"));

describe("views (Python docstring examples)", () => {
  it("topk ranks ties by id", () => {
    const r = topk(Float64Array.from([3, 1, 2, 1]), 2, ["d", "c", "b", "a"]);
    expect(Array.from(r.rank)).toEqual([4, 2, 3, 1]);
    expect(Array.from(r.shown)).toEqual([0, 1, 0, 1]);
  });
  it("heatmap normalizes", () => {
    expect(Array.from(heatmap(Float64Array.from([4, 2, 3]), ids(3)).value)).toEqual([1, 0, 0.5]);
    expect(Array.from(heatmap(Float64Array.from([2, 2]), ids(2)).value)).toEqual([0, 0]);
  });
  it("threshold defaults to the k-th score and bins like numpy", () => {
    const r = threshold(Float64Array.from([3, 1, 2, 2]), null, ids(4), { kDefault: 2, bins: 4 });
    expect(r.extra["t"]).toBe(2);
    expect(Array.from(r.shown)).toEqual([0, 1, 1, 1]);
    expect((r.extra["histogram"] as { counts: number[] }).counts).toEqual([1, 0, 2, 1]);
    // numpy.histogram([0.1, 0.2, 0.3, 0.7], bins=3, range=(0.1, 0.7)) -> [2, 1, 1]
    expect(histogram([0.1, 0.2, 0.3, 0.7], 3, 0.1, 0.7).counts).toEqual([2, 1, 1]);
    expect(histogram([5, 5], 2, 5, 5)).toEqual({ counts: [0, 2], edges: [4.5, 5, 5.5] });
  });
  it("outlier averages over the other references", () => {
    const r = outlier(Uint8Array.from([0, 0, 1, 255]), 1, ids(4));
    expect(Array.from(r.value).map((v) => Math.round(v * 100) / 100)).toEqual([3, 3, 3, 7.67]);
    expect(Array.from(r.rank)).toEqual([2, 3, 4, 1]);
  });
  it("surprise and gradient use ground neighbours", () => {
    const s = surprise(Uint8Array.from([0, 0, 255, 0]), 1, [0, 0.01, 0.03, 0.07], [0, 0, 0, 0], ids(4), 2);
    expect(Array.from(s.value)).toEqual([4, 4, 8, 4]);
    expect(Array.from(s.rank)).toEqual([2, 3, 1, 4]);
    const g = gradient(Float64Array.from([0, 0, 10]), [0, 0.01, 0.03], [0, 0, 0], ids(3), 1);
    expect(Array.from(g.value)).toEqual([0, 0, 10]);
    expect(Array.from(g.rank)).toEqual([2, 3, 1]);
  });
});

describe("geoKnn", () => {
  it("matches the Python docstring (antimeridian, distances)", () => {
    const r = geoKnn([179.9, -179.9, 0, 0.1], [0, 0, 0, 0], 1);
    expect(Array.from(r.indices)).toEqual([1, 0, 3, 2]);
    expect(Math.round(r.distances[0] as number)).toBe(22239);
    const r2 = geoKnn([0, 0, 0], [0, 0.001, 0.003], 2);
    expect(Array.from(r2.indices)).toEqual([1, 2, 0, 2, 1, 0]);
  });
  it("equals brute force with ties by index (clusters, duplicates, poles)", () => {
    let s = 11;
    const r = (): number => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const lon: number[] = [];
    const lat: number[] = [];
    for (let c = 0; c < 6; c++) {
      const cx = r() * 360 - 180;
      const cy = r() * 170 - 85;
      for (let i = 0; i < 60; i++) {
        lon.push(cx + (r() - 0.5) * 0.5);
        lat.push(Math.max(-90, Math.min(90, cy + (r() - 0.5) * 0.5)));
      }
    }
    for (let i = 0; i < 20; i++) {
      lon.push(lon[i] as number); // exact duplicates
      lat.push(lat[i] as number);
    }
    lon.push(10, -170);
    lat.push(90, -89.9);
    const n = lon.length;
    const k = 7;
    const got = geoKnn(lon, lat, k);
    const rad = Math.PI / 180;
    const xyz = lon.map((x, i) => {
      const la = (lat[i] as number) * rad;
      const lo = x * rad;
      return [Math.cos(la) * Math.cos(lo), Math.cos(la) * Math.sin(lo), Math.sin(la)];
    });
    for (let i = 0; i < n; i++) {
      const p = xyz[i] as number[];
      const d = xyz.map((qq, j) => ({ j, d: (must(qq[0]) - must(p[0])) ** 2 + (must(qq[1]) - must(p[1])) ** 2 + (must(qq[2]) - must(p[2])) ** 2 }));
      const want = d
        .filter((x) => x.j !== i)
        .sort((a, b) => a.d - b.d || a.j - b.j)
        .slice(0, k)
        .map((x) => x.d);
      const mine = Array.from(got.indices.subarray(i * k, (i + 1) * k)).map((j) => must(d[j]).d);
      // distances agree to rounding (the grid works on shifted coordinates)
      mine.forEach((v, m) => expect(Math.abs(v - must(want[m]))).toBeLessThan(1e-12));
    }
  });
  it("pads when fewer than k others exist", () => {
    const r = geoKnn([0, 1], [0, 0], 3);
    expect(Array.from(r.indices)).toEqual([1, -1, -1, 0, -1, -1]);
  });
});
