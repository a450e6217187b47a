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

describe("places: countries and regions", () => {
  it('"India" goes to the country, not Indianapolis', () => {
    const [india] = findPlaces("India", 3);
    expect(india?.kind).toBe("country");
    expect(india?.name).toBe("India");
    // Natural Earth's India spans about 68–97.4° E, 6.7–35.5° N
    const [x0, y0, x1, y1] = india?.bbox ?? [0, 0, 0, 0];
    expect(x0).toBeCloseTo(68.2, 0);
    expect(x1).toBeCloseTo(97.3, 0);
    expect(y0).toBeLessThan(8.5);
    expect(y1).toBeCloseTo(35.5, 0);
  });
  it('"Rajasthan" goes to the state (in India)', () => {
    const [raj] = findPlaces("rajasthan", 3);
    expect(raj?.name).toBe("Rajasthan");
    expect(raj?.kind).toBe("state");
    expect(raj?.country).toBe("India");
    // Jaipur (the capital, a bundled city) lies inside its bbox
    const jaipur = findPlaces("jaipur", 1)[0];
    const [x0, y0, x1, y1] = raj?.bbox ?? [0, 0, 0, 0];
    expect(jaipur && x0 < jaipur.lon && jaipur.lon < x1 && y0 < jaipur.lat && jaipur.lat < y1).toBe(true);
  });
  it("finds English names of regions, narrows by country, keeps cities", () => {
    expect(findPlaces("bavaria", 1)[0]?.name).toBe("Bayern");
    const punjab = findPlaces("punjab, pakistan", 3);
    expect(punjab[0]?.country).toBe("Pakistan");
    expect(findPlaces("paris", 1)[0]?.kind).toBeUndefined(); // the city first
    expect(findPlaces("Paris", 1)[0]?.country).toBe("France");
  });
  it("a country across the antimeridian has minx > maxx", () => {
    const [russia] = findPlaces("russia", 1);
    const [x0, , x1] = russia?.bbox ?? [0, 0, 0, 0];
    expect(x0).toBeGreaterThan(x1);
    expect(russia?.lon).toBeGreaterThan(90);
  });
});
