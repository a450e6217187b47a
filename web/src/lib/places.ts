/**
 * "Go to": the bundled offline list of places — cities of 50,000+ people and capitals
 * (`data/places.json`, made by `scripts/make_places.py`), countries and first-level
 * regions with their bboxes (`data/regions.json`, Natural Earth, made by
 * `scripts/make_regions.mjs`) — and "lat, lng" text.
 */
import data from "../data/places.json";
import regionData from "../data/regions.json";
import type { BBox } from "./types";

export interface Place {
  name: string;
  /** The country's name ("" for a country itself and for "lat, lng"). */
  country: string;
  lon: number;
  lat: number;
  /** "country", "state", "province", … (absent for a city or a point). */
  kind?: string;
  /** Where to fit the map (absent for a city or a point); minx > maxx across 180°. */
  bbox?: BBox;
}

interface PlacesFile {
  countries: Record<string, string>;
  places: [string, string, number, number][];
}

interface RegionsFile {
  countries: Record<string, string>;
  places: [string, string, string, string, number, number, number, number][];
}

const FILE = data as unknown as PlacesFile;
const REGIONS = regionData as unknown as RegionsFile;

function fold(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

interface Entry {
  place: Place;
  key: string;
  /** Another name (Bavaria for Bayern, Republic for Rep.), folded; "" if none. */
  alt: string;
  country: string;
  code: string;
}

let ENTRIES: Entry[] | null = null;
let AREAS: Entry[] | null = null;

function entries(): Entry[] {
  if (ENTRIES === null) {
    ENTRIES = FILE.places.map(([name, code, lon, lat]) => {
      const country = FILE.countries[code] ?? code;
      return { place: { name, country, lon, lat }, key: fold(name), alt: "", country: fold(country), code: code.toLowerCase() };
    });
  }
  return ENTRIES;
}

/** The centre of a bbox (across the antimeridian when minx > maxx). */
function centre([x0, y0, x1, y1]: BBox): [number, number] {
  const east = x0 > x1 ? x1 + 360 : x1;
  const x = (x0 + east) / 2;
  return [x > 180 ? x - 360 : x, (y0 + y1) / 2];
}

/** Countries and first-level regions, countries first. */
function areas(): Entry[] {
  if (AREAS === null) {
    AREAS = REGIONS.places.map(([name, alt, kind, code, x0, y0, x1, y1]) => {
      const bbox: BBox = [x0, y0, x1, y1];
      const [lon, lat] = centre(bbox);
      const country = code ? (REGIONS.countries[code] ?? FILE.countries[code] ?? code) : "";
      return {
        place: { name, country, lon, lat, kind, bbox },
        key: fold(name),
        alt: fold(alt),
        country: fold(country),
        code: code.toLowerCase(),
      };
    });
  }
  return AREAS;
}

/** "lat, lng" (or "lat lng") as a Place named by its coordinates, or null. */
export function parseLatLng(text: string): Place | null {
  const m = /^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (m === null) return null;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) return null;
  return { name: `${lat}, ${lon}`, country: "", lon, lat };
}

/**
 * Places matching `text`: "lat, lng" gives that one point; otherwise names equal to the
 * text (countries, then cities, then regions such as states), then names starting with
 * it (the same order; cities largest first), then names containing it. "name, country"
 * narrows by country (its name or ISO code). Case and accents are ignored.
 */
export function findPlaces(text: string, limit = 8): Place[] {
  const point = parseLatLng(text);
  if (point !== null) return [point];
  const [namePart = "", countryPart = ""] = text.split(",", 2);
  const q = fold(namePart);
  const c = fold(countryPart);
  if (!q || limit < 1) return [];
  const inCountry = (e: Entry): boolean => !c || e.code === c || e.country.startsWith(c);
  // buckets in rank order: exact country, city, region; prefix country, city, region; inside
  const buckets: Place[][] = [[], [], [], [], [], [], []];
  const visit = (e: Entry, kind: 0 | 1 | 2): void => {
    if (!inCountry(e)) return;
    if (e.key === q || e.alt === q) buckets[kind]?.push(e.place);
    else if (e.key.startsWith(q) || (e.alt && e.alt.startsWith(q))) buckets[3 + kind]?.push(e.place);
    else if ((buckets[6]?.length ?? 0) < limit && (e.key.includes(q) || e.alt.includes(q))) buckets[6]?.push(e.place);
  };
  for (const e of areas()) {
    if (e.place.kind === "country" && c) continue; // "name, country" is not a country
    visit(e, e.place.kind === "country" ? 0 : 2);
  }
  for (const e of entries()) {
    visit(e, 1);
    if ((buckets[1]?.length ?? 0) >= limit) break;
  }
  return buckets.flat().slice(0, limit);
}

/** How many places are bundled (cities, countries and regions). */
export function placeCount(): number {
  return FILE.places.length + REGIONS.places.length;
}
