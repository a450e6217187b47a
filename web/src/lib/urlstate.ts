/**
 * The whole query in the URL hash, e.g.
 * `#bbox=minx,miny,maxx,maxy&pos=lon,lat;lon,lat&neg=lon,lat&combine=mean&view=topk&k=20`
 * plus `poly=` (each polygon's rings as `lon lat,lon lat,…`, rings joined by `;`,
 * regions by `|`), several bboxes joined by `|`, `ids=` / `nids=` (positive / negative
 * ids, `;`-joined), `invert=1`, `t=NUMBER`, `year=2024`, `dedupe=1`, `global=1`,
 * `asym=1` (asymmetric scoring), `score=classifier` and, for `view=change`,
 * `years=2023,2024` (the pair compared; absent: the two latest).
 */
import { COMBINES, SCORES, VIEWS } from "./types";
import type { BBox, Combine, ExemplarRef, Query, RegionSpec, ScoreName, ViewName } from "./types";

export const DEFAULT_QUERY: Query = Object.freeze({
  regions: [],
  positives: [],
  negatives: [],
  combine: "mean",
  invert: false,
  view: "topk",
  k: 20,
  threshold: null,
  year: null,
  dedupe: false,
  global: false,
  asymmetric: false,
  score: "distance",
  years: null,
}) as Query;

/** A number in the hash: at most 6 decimals (~0.1 m), no trailing zeros. */
export function fmtNum(x: number): string {
  const s = x.toFixed(6).replace(/\.?0+$/, "");
  return s === "-0" ? "0" : s;
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/%2C/gi, ",").replace(/%3B/gi, ";").replace(/%7C/gi, "|");
}

function pointText(ref: ExemplarRef & { kind: "point" }): string {
  return `${fmtNum(ref.lon)},${fmtNum(ref.lat)}`;
}

/** The hash text (without `#`) of a query; defaults are left out. */
export function formatHash(query: Query): string {
  const parts: string[] = [];
  const boxes = query.regions.filter((r): r is RegionSpec & { kind: "bbox" } => r.kind === "bbox");
  const polys = query.regions.filter((r): r is RegionSpec & { kind: "polygon" } => r.kind === "polygon");
  if (boxes.length) parts.push("bbox=" + boxes.map((b) => b.bbox.map(fmtNum).join(",")).join("|"));
  if (polys.length) {
    const polyTexts: string[] = [];
    for (const p of polys) {
      const list = p.geometry.type === "Polygon" ? [p.geometry.coordinates] : p.geometry.coordinates;
      for (const rings of list) {
        polyTexts.push(rings.map((ring) => ring.map((pt) => `${fmtNum(pt[0] ?? 0)} ${fmtNum(pt[1] ?? 0)}`).join(",")).join(";"));
      }
    }
    parts.push("poly=" + polyTexts.map(enc).join("|"));
  }
  const pts = (refs: ExemplarRef[]): string =>
    refs.filter((r): r is ExemplarRef & { kind: "point" } => r.kind === "point").map(pointText).join(";");
  const ids = (refs: ExemplarRef[]): string =>
    refs.filter((r): r is ExemplarRef & { kind: "id" } => r.kind === "id").map((r) => encodeURIComponent(r.id)).join(";");
  if (pts(query.positives)) parts.push("pos=" + pts(query.positives));
  if (pts(query.negatives)) parts.push("neg=" + pts(query.negatives));
  if (ids(query.positives)) parts.push("ids=" + ids(query.positives));
  if (ids(query.negatives)) parts.push("nids=" + ids(query.negatives));
  parts.push(`combine=${query.combine}`, `view=${query.view}`, `k=${query.k}`);
  if (query.invert) parts.push("invert=1");
  if (query.threshold !== null) parts.push(`t=${fmtNum(query.threshold)}`);
  if (query.year !== null) parts.push(`year=${query.year}`);
  if (query.dedupe) parts.push("dedupe=1");
  if (query.global) parts.push("global=1");
  if (query.asymmetric) parts.push("asym=1");
  if (query.score !== "distance") parts.push(`score=${query.score}`);
  if (query.years !== null) parts.push(`years=${query.years.join(",")}`);
  return parts.join("&");
}

function parseNumbers(text: string, count: number): number[] | null {
  const xs = text.split(",").map((s) => s.trim());
  if (xs.length !== count || xs.some((s) => s === "")) return null;
  const nums = xs.map(Number);
  return nums.every((v) => Number.isFinite(v)) ? nums : null;
}

function parsePoint(text: string): ExemplarRef | null {
  const nums = parseNumbers(text, 2);
  if (nums === null) return null;
  const [lon, lat] = nums as [number, number];
  if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return null;
  return { kind: "point", lon, lat };
}

function flag(value: string): boolean | null {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false" || value === "") return false;
  return null;
}

/** The query in a hash (with or without `#`) and the problems found; bad parts are dropped. */
export function parseHash(hash: string): { query: Query; errors: string[] } {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  const query: Query = { ...DEFAULT_QUERY, regions: [], positives: [], negatives: [] };
  const errors: string[] = [];
  const bboxes: RegionSpec[] = [];
  const polys: RegionSpec[] = [];
  const posPts: ExemplarRef[] = [];
  const posIds: ExemplarRef[] = [];
  const negPts: ExemplarRef[] = [];
  const negIds: ExemplarRef[] = [];
  for (const part of text.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = (eq < 0 ? "" : part.slice(eq + 1)).replace(/\+/g, " ");
    let value: string;
    let items: string[];
    try {
      value = decodeURIComponent(raw);
      // ids are split before decoding: an id may hold a (percent-encoded) ";"
      items = raw.split(";").filter(Boolean).map(decodeURIComponent);
    } catch {
      errors.push(`${key}: not valid URL encoding`);
      continue;
    }
    switch (key) {
      case "bbox":
        for (const b of value.split("|").filter(Boolean)) {
          const nums = parseNumbers(b, 4);
          if (nums === null || Math.abs(nums[1] as number) > 90 || Math.abs(nums[3] as number) > 90 || (nums[1] as number) > (nums[3] as number) || Math.abs(nums[0] as number) > 180 || Math.abs(nums[2] as number) > 180) {
            errors.push(`bbox "${b}" is not minx,miny,maxx,maxy in degrees`);
          } else {
            bboxes.push({ kind: "bbox", bbox: nums as BBox });
          }
        }
        break;
      case "poly":
        for (const p of value.split("|").filter(Boolean)) {
          const rings = p.split(";").map((ring) =>
            ring.split(",").map((pt) => {
              const xy = pt.trim().split(/\s+/).map(Number);
              return xy.length === 2 && xy.every((v) => Number.isFinite(v)) ? xy : null;
            }),
          );
          if (rings.some((r) => r.length < 3 || r.some((pt) => pt === null))) {
            errors.push(`poly "${p.slice(0, 40)}" is not rings of "lon lat" pairs joined by ","`);
            continue;
          }
          const coords = rings.map((r) => {
            const ring = r as number[][];
            const first = ring[0] as number[];
            const last = ring[ring.length - 1] as number[];
            return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, [...first]];
          });
          polys.push({ kind: "polygon", geometry: { type: "Polygon", coordinates: coords } });
        }
        break;
      case "pos":
      case "neg":
        for (const p of value.split(";").filter(Boolean)) {
          const ref = parsePoint(p);
          if (ref === null) errors.push(`${key} "${p}" is not lon,lat`);
          else (key === "pos" ? posPts : negPts).push(ref);
        }
        break;
      case "ids":
      case "nids":
        for (const id of items) (key === "ids" ? posIds : negIds).push({ kind: "id", id });
        break;
      case "combine":
        if ((COMBINES as readonly string[]).includes(value)) query.combine = value as Combine;
        else errors.push(`combine "${value}" is not one of ${COMBINES.join(", ")}`);
        break;
      case "view":
        if ((VIEWS as readonly string[]).includes(value)) query.view = value as ViewName;
        else errors.push(`view "${value}" is not one of ${VIEWS.join(", ")}`);
        break;
      case "k": {
        const k = Number(value);
        if (Number.isInteger(k) && k >= 1 && k <= 100_000) query.k = k;
        else errors.push(`k "${value}" is not a whole number from 1 to 100000`);
        break;
      }
      case "t": {
        const t = Number(value);
        if (value !== "" && Number.isFinite(t)) query.threshold = t;
        else errors.push(`t "${value}" is not a number`);
        break;
      }
      case "year": {
        const y = Number(value);
        if (Number.isInteger(y) && y >= 1 && y <= 9998) query.year = y;
        else errors.push(`year "${value}" is not a year like 2024`);
        break;
      }
      case "invert":
      case "dedupe":
      case "global": {
        const f = flag(value);
        if (f === null) errors.push(`${key} "${value}" is not 0 or 1`);
        else query[key] = f;
        break;
      }
      case "score":
        if ((SCORES as readonly string[]).includes(value)) query.score = value as ScoreName;
        else errors.push(`score "${value}" is not one of ${SCORES.join(", ")}`);
        break;
      case "years": {
        const ys = parseNumbers(value, 2);
        if (ys !== null && ys.every((y) => Number.isInteger(y) && y >= 1 && y <= 9998) && ys[0] !== ys[1]) {
          query.years = [Math.min(...ys), Math.max(...ys)];
        } else {
          errors.push(`years "${value}" is not two different years like 2023,2024`);
        }
        break;
      }
      case "asym": {
        const f = flag(value);
        if (f === null) errors.push(`asym "${value}" is not 0 or 1`);
        else query.asymmetric = f;
        break;
      }
      default:
        errors.push(`unknown key "${key}" in the URL (ignored)`);
    }
  }
  query.regions = [...bboxes, ...polys];
  query.positives = [...posPts, ...posIds];
  query.negatives = [...negPts, ...negIds];
  return { query, errors };
}
