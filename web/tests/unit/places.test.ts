import { describe, expect, it } from "vitest";
import { colorFor, legendStops } from "../../src/lib/colors";
import { findPlaces, parseLatLng, placeCount } from "../../src/lib/places";

describe("places", () => {
  it("bundles cities and capitals", () => {
    expect(placeCount()).toBeGreaterThan(10_000);
  });
  it("finds by name prefix, ignoring case and accents, largest first", () => {
    const paris = findPlaces("paris", 3);
    expect(paris[0]?.name).toBe("Paris");
    expect(paris[0]?.country).toBe("France");
    expect(paris[0]?.lat).toBeCloseTo(48.85, 1);
    expect(findPlaces("sao paulo", 1)[0]?.name).toBe("São Paulo");
    expect(findPlaces("ZURICH", 1)[0]?.name).toBe("Zürich");
  });
  it("narrows by country", () => {
    const r = findPlaces("london, ca", 5);
    expect(r.length).toBeGreaterThan(0);
    expect(r.every((p) => p.country === "Canada")).toBe(true);
  });
  it("includes small capitals", () => {
    expect(findPlaces("vaduz", 1)[0]?.country).toBe("Liechtenstein");
  });
  it('reads "lat, lng"', () => {
    expect(findPlaces("48.85, 2.35")).toEqual([{ name: "48.85, 2.35", country: "", lon: 2.35, lat: 48.85 }]);
    expect(parseLatLng("-33.9 18.4")).toEqual({ name: "-33.9, 18.4", country: "", lon: 18.4, lat: -33.9 });
    expect(parseLatLng("95, 10")).toBeNull();
    expect(findPlaces("", 5)).toEqual([]);
  });
});

describe("colors", () => {
  const legend = { label: "d", min: 10, max: 30, lowerIsBetter: true };
  it("the better end is hotter (brighter)", () => {
    const lum = (c: [number, number, number]): number => c[0] + c[1] + c[2];
    expect(lum(colorFor(10, legend))).toBeGreaterThan(lum(colorFor(30, legend)));
    expect(lum(colorFor(30, { ...legend, lowerIsBetter: false }))).toBeGreaterThan(lum(colorFor(10, { ...legend, lowerIsBetter: false })));
  });
  it("clamps and spans the legend with stops", () => {
    expect(colorFor(-5, legend)).toEqual(colorFor(10, legend));
    const stops = legendStops(legend);
    expect(stops[0]?.value).toBe(10);
    expect(stops[stops.length - 1]?.value).toBe(30);
    expect(stops[0]?.color).toEqual(colorFor(10, legend));
  });
});
