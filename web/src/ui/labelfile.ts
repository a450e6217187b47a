/**
 * Labels files: the examples (positive / negative) as GeoJSON or GeoParquet, one feature
 * per labelled row with `id`, its footprint (lon/lat WGS 84, CRS84) and `label`
 * ("positive" or "negative"); reading one back checks it and names every problem
 * (not lon/lat, no geometry, an unknown label) instead of importing half of it.
 *
 * A feature without an id is taken by place: the centre of its geometry's bbox.
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { parquetWriteBuffer } from "hyparquet-writer";

import { boundsOf } from "../lib/region";
import { CRS84_PROJJSON } from "../lib/search/export";
import type { ExemplarRef, ExemplarRow } from "../lib/types";
import { geoJSONToWkb, wkbToGeoJSON } from "../lib/wkb";

export type LabelName = "positive" | "negative";

/** One label read from a file. */
export interface Label {
  ref: ExemplarRef;
  positive: boolean;
}

/** A problem with a labels file, said in one line (what, where, how to fix it). */
export class LabelsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabelsError";
  }
}

/** GeoJSON `crs` names (legacy member) meaning lon/lat WGS 84. */
const LONLAT_NAMES = [
  "urn:ogc:def:crs:OGC:1.3:CRS84",
  "urn:ogc:def:crs:OGC::CRS84",
  "OGC:CRS84",
  "CRS84",
  "EPSG:4326",
  "urn:ogc:def:crs:EPSG::4326",
  "urn:ogc:def:crs:EPSG:6.6:4326",
];

// ------------------------------------------------------------------ writing

function labelOf(row: ExemplarRow): LabelName {
  return row.positive ? "positive" : "negative";
}

/** The labels as a GeoJSON FeatureCollection (text). */
export function labelsToGeoJSON(rows: readonly ExemplarRow[]): string {
  const features = rows.map((row) => ({
    type: "Feature",
    id: row.id,
    geometry: row.geometry,
    properties: { id: row.id, label: labelOf(row) },
  }));
  return JSON.stringify({ type: "FeatureCollection", features }, null, 1);
}

/** The labels as GeoParquet 1.1 bytes (`id`, `geometry` WKB, `label`; CRS84). */
export function labelsToGeoParquet(rows: readonly ExemplarRow[]): Uint8Array {
  const geo = {
    version: "1.1.0",
    primary_column: "geometry",
    columns: {
      geometry: {
        encoding: "WKB",
        geometry_types: [...new Set(rows.map((r) => r.geometry.type))].sort(),
        crs: CRS84_PROJJSON,
      },
    },
  };
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: "id", data: rows.map((r) => r.id), type: "STRING", nullable: false },
      { name: "geometry", data: rows.map((r) => geoJSONToWkb(r.geometry)), type: "BYTE_ARRAY", nullable: false },
      { name: "label", data: rows.map(labelOf), type: "STRING", nullable: false },
    ],
    kvMetadata: [{ key: "geo", value: JSON.stringify(geo) }],
  });
  return new Uint8Array(buffer);
}

// ------------------------------------------------------------------ reading

/** Problems found, joined into one message: the first three and how many more. */
function fail(file: string, problems: string[]): never {
  const head = problems.slice(0, 3).join("; ");
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
  throw new LabelsError(`Labels file “${file}”: ${head}${more}.`);
}

function bboxCentre(geometry: GeoJSON.Geometry): [number, number] | null {
  const b = boundsOf([geometry]);
  return b === null ? null : [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/** The first coordinate of a geometry that is not lon/lat degrees, if any. */
function notDegrees(geometry: GeoJSON.Geometry): [number, number] | null {
  let bad: [number, number] | null = null;
  const visit = (c: unknown): void => {
    if (bad !== null) return;
    if (Array.isArray(c) && typeof c[0] === "number") {
      const x = c[0];
      const y = Number(c[1]);
      if (!(Math.abs(x) <= 180 && Math.abs(y) <= 90)) bad = [x, y];
    } else if (Array.isArray(c)) {
      for (const v of c) visit(v);
    }
  };
  if (geometry.type === "GeometryCollection") {
    for (const g of geometry.geometries) if ("coordinates" in g) visit(g.coordinates);
  } else {
    visit(geometry.coordinates);
  }
  return bad;
}

interface RawLabel {
  id: unknown;
  geometry: GeoJSON.Geometry | null;
  label: unknown;
}

/** Check raw rows (from either format) and turn them into labels. */
function toLabels(file: string, raw: readonly RawLabel[]): Label[] {
  if (raw.length === 0) fail(file, ["it has no features (no labels)"]);
  const problems: string[] = [];
  const labels: Label[] = [];
  raw.forEach((r, i) => {
    const name = typeof r.id === "string" || typeof r.id === "number" ? `feature ${i + 1} (id “${r.id}”)` : `feature ${i + 1}`;
    if (r.label !== "positive" && r.label !== "negative") {
      problems.push(`${name} has label ${JSON.stringify(r.label ?? null)}; a label is "positive" or "negative"`);
      return;
    }
    if (r.geometry === null || typeof r.geometry !== "object" || !("type" in r.geometry)) {
      problems.push(`${name} has no geometry; every label needs its footprint (lon/lat)`);
      return;
    }
    const bad = notDegrees(r.geometry);
    if (bad !== null) {
      problems.push(
        `${name} has coordinates (${bad[0]}, ${bad[1]}), which are not lon/lat degrees: ` +
          "the file looks projected; reproject it to lon/lat WGS 84 (EPSG:4326)",
      );
      return;
    }
    const positive = r.label === "positive";
    if (typeof r.id === "string" || (typeof r.id === "number" && Number.isFinite(r.id))) {
      labels.push({ ref: { kind: "id", id: String(r.id) }, positive });
      return;
    }
    const centre = bboxCentre(r.geometry);
    if (centre === null) {
      problems.push(`${name} has an empty geometry and no id`);
      return;
    }
    const round = (v: number): number => Math.round(v * 1e6) / 1e6;
    labels.push({ ref: { kind: "point", lon: round(centre[0]), lat: round(centre[1]) }, positive });
  });
  if (problems.length) fail(file, problems);
  return labels;
}

/** Labels from GeoJSON text (see the module notes); throws `LabelsError`. */
export function parseLabelsGeoJSON(text: string, file = "labels"): Label[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    fail(file, [`it is not JSON (${err instanceof Error ? err.message : String(err)}); export labels as GeoJSON or GeoParquet`]);
  }
  const fc = data as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } };
  if (fc === null || typeof fc !== "object" || fc.type !== "FeatureCollection" || !Array.isArray(fc.features)) {
    fail(file, ["it is not a GeoJSON FeatureCollection (`type` must be \"FeatureCollection\" with `features`)"]);
  }
  const crs = fc.crs?.properties?.name;
  if (crs !== undefined && !(typeof crs === "string" && LONLAT_NAMES.includes(crs))) {
    fail(file, [`its CRS is ${JSON.stringify(crs)}, not lon/lat WGS 84 (CRS84); reproject it to EPSG:4326`]);
  }
  const raw = (fc.features as unknown[]).map((f): RawLabel => {
    const feature = (f ?? {}) as { id?: unknown; geometry?: unknown; properties?: Record<string, unknown> | null };
    const props = feature.properties ?? {};
    return {
      id: props["id"] ?? feature.id,
      geometry: (feature.geometry ?? null) as GeoJSON.Geometry | null,
      label: props["label"],
    };
  });
  return toLabels(file, raw);
}

/** Whether a GeoParquet `crs` (PROJJSON; absent means CRS84) is lon/lat WGS 84. */
function lonLatCrs(crs: unknown): boolean {
  if (crs === undefined) return true;
  if (typeof crs === "string") return LONLAT_NAMES.includes(crs);
  if (crs === null || typeof crs !== "object") return false;
  const id = (crs as { id?: { authority?: unknown; code?: unknown } }).id;
  const key = `${String(id?.authority)}:${String(id?.code)}`;
  return key === "OGC:CRS84" || key === "EPSG:4326";
}

/** Labels from GeoParquet bytes (see the module notes); throws `LabelsError`. */
export async function parseLabelsGeoParquet(bytes: ArrayBuffer, file = "labels"): Promise<Label[]> {
  let metadata;
  try {
    metadata = parquetMetadata(bytes);
  } catch (err) {
    fail(file, [`it is not a Parquet file (${err instanceof Error ? err.message : String(err)})`]);
  }
  const kv = new Map((metadata.key_value_metadata ?? []).map((e) => [e.key, e.value]));
  const geoText = kv.get("geo");
  if (geoText === undefined) fail(file, ["it has no GeoParquet `geo` metadata (no geometry column); every label needs its footprint"]);
  const geo = JSON.parse(geoText ?? "{}") as { primary_column?: string; columns?: Record<string, { crs?: unknown }> };
  const column = geo.primary_column ?? "geometry";
  const crs = geo.columns?.[column]?.crs;
  if (!lonLatCrs(crs)) {
    const name = (crs as { name?: unknown } | null)?.name ?? crs;
    fail(file, [`its CRS is ${JSON.stringify(name)}, not lon/lat WGS 84 (CRS84); reproject it to EPSG:4326`]);
  }
  const names = new Set(metadata.schema.map((s) => s.name));
  const missing = ["label", column].filter((c) => !names.has(c));
  if (missing.length) fail(file, [`it has no column ${missing.map((c) => `“${c}”`).join(" or ")}`]);
  const columns = ["label", column, ...(names.has("id") ? ["id"] : [])];
  const rows = await parquetReadObjects({
    file: bytes,
    metadata,
    columns,
    compressors,
    parsers: { geometryFromBytes: (b: Uint8Array) => b },
  });
  const raw = rows.map((r): RawLabel => {
    const wkb = r[column] as Uint8Array | null | undefined;
    let geometry: GeoJSON.Geometry | null = null;
    if (wkb instanceof Uint8Array && wkb.length) {
      try {
        geometry = wkbToGeoJSON(wkb);
      } catch {
        geometry = null;
      }
    }
    const id = r["id"];
    return { id: typeof id === "bigint" ? String(id) : id, geometry, label: r["label"] };
  });
  return toLabels(file, raw);
}

/** Labels from a file's name and bytes: GeoParquet by its magic bytes, else GeoJSON. */
export async function parseLabels(name: string, bytes: ArrayBuffer): Promise<Label[]> {
  const head = new Uint8Array(bytes.slice(0, 4));
  const isParquet = head.length === 4 && String.fromCharCode(...head) === "PAR1";
  if (isParquet) return parseLabelsGeoParquet(bytes, name);
  return parseLabelsGeoJSON(new TextDecoder().decode(bytes), name);
}
