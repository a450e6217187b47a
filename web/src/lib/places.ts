/**
 * "Go to": the bundled offline list of places (cities of 50,000+ people and capitals,
 * `data/places.json`, made by `scripts/make_places.py`) and "lat, lng" text.
 */
import data from "../data/places.json";

export interface Place {
  name: string;
  country: string;
  lon: number;
  lat: number;
}

interface PlacesFile {
  countries: Record<string, string>;
  places: [string, string, number, number][];
}

const FILE = data as unknown as PlacesFile;

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
  country: string;
  code: string;
}

let ENTRIES: Entry[] | null = null;

function entries(): Entry[] {
  if (ENTRIES === null) {
    ENTRIES = FILE.places.map(([name, code, lon, lat]) => {
      const country = FILE.countries[code] ?? code;
      return { place: { name, country, lon, lat }, key: fold(name), country: fold(country), code: code.toLowerCase() };
    });
  }
  return ENTRIES;
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
 * Places matching `text`: "lat, lng" gives that one point; otherwise names starting with
 * the text (largest first), then names containing it. "name, country" narrows by country
 * (its name or ISO code). Case and accents are ignored.
 */
export function findPlaces(text: string, limit = 8): Place[] {
  const point = parseLatLng(text);
  if (point !== null) return [point];
  const [namePart = "", countryPart = ""] = text.split(",", 2);
  const q = fold(namePart);
  const c = fold(countryPart);
  if (!q || limit < 1) return [];
  const inCountry = (e: Entry): boolean => !c || e.code === c || e.country.startsWith(c);
  const exact: Place[] = [];
  const prefix: Place[] = [];
  const inside: Place[] = [];
  for (const e of entries()) {
    if (!inCountry(e)) continue;
    if (e.key === q) exact.push(e.place);
    else if (e.key.startsWith(q)) prefix.push(e.place);
    else if (inside.length < limit && e.key.includes(q)) inside.push(e.place);
    if (exact.length >= limit) break;
  }
  return [...exact, ...prefix, ...inside].slice(0, limit);
}

/** How many places are bundled. */
export function placeCount(): number {
  return FILE.places.length;
}
