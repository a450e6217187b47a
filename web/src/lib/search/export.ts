/**
 * Export the current view as GeoParquet 1.1 — the labelled places of a search, ready to
 * train a model on — as Python's `terrabit.search.export` writes it: the exemplars, then the
 * shown rows in rank order, with
 *
 * - `id, geometry (WKB), score, rank, view, value`, and `role` (the label state:
 *   `positive`, `negative` or `result`); with score=classifier each row's `probability`, in
 *   the change view the id of each place's `earlier` row;
 * - every column the result list shows: `datetime` and the corpus's pass-through columns
 *   (`publish --keep`);
 * - with `withCodes`: `code` (each row's packed code in the corpus codec) and `split`
 *   (`train` / `validation`: whole grid blocks of the rows' footprint centres, 20 % to
 *   validation, `lib/blocks.ts`, the same split as Python's for the same rows);
 *
 * `geo` metadata (CRS84) and the query's provenance under the `terrabit` key.
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import { spatialSplit } from "../blocks";
import { TerrabitError } from "../errors";
import { boundsOf } from "../region";
import type { SearchResult } from "../types";
import { formatHash } from "../urlstate";
import { geoJSONToWkb } from "../wkb";

/** PROJJSON of OGC:CRS84 (as pyproj writes it). */
export const CRS84_PROJJSON: Record<string, unknown> = {"$schema":"https://proj.org/schemas/v0.7/projjson.schema.json","type":"GeographicCRS","name":"WGS 84 (CRS84)","datum_ensemble":{"name":"World Geodetic System 1984 ensemble","members":[{"name":"World Geodetic System 1984 (Transit)","id":{"authority":"EPSG","code":1166}},{"name":"World Geodetic System 1984 (G730)","id":{"authority":"EPSG","code":1152}},{"name":"World Geodetic System 1984 (G873)","id":{"authority":"EPSG","code":1153}},{"name":"World Geodetic System 1984 (G1150)","id":{"authority":"EPSG","code":1154}},{"name":"World Geodetic System 1984 (G1674)","id":{"authority":"EPSG","code":1155}},{"name":"World Geodetic System 1984 (G1762)","id":{"authority":"EPSG","code":1156}},{"name":"World Geodetic System 1984 (G2139)","id":{"authority":"EPSG","code":1309}},{"name":"World Geodetic System 1984 (G2296)","id":{"authority":"EPSG","code":1383}}],"ellipsoid":{"name":"WGS 84","semi_major_axis":6378137,"inverse_flattening":298.257223563},"accuracy":"2.0","id":{"authority":"EPSG","code":6326}},"coordinate_system":{"subtype":"ellipsoidal","axis":[{"name":"Geodetic longitude","abbreviation":"Lon","direction":"east","unit":"degree"},{"name":"Geodetic latitude","abbreviation":"Lat","direction":"north","unit":"degree"}]},"scope":"Not known.","area":"World.","bbox":{"south_latitude":-90,"west_longitude":-180,"north_latitude":90,"east_longitude":180},"id":{"authority":"OGC","code":"CRS84"}};

/** What an export writes besides the shown rows (see the module notes). */
export interface ExportOptions {
  /** Also each row's packed code and a spatial `split` column. */
  withCodes?: boolean;
  /** The corpus codec's spec, named in the provenance with the codes. */
  codecSpec?: string;
}

/** Share of the exported rows on the validation side (Python: `VALIDATION_FRACTION`). */
export const VALIDATION_FRACTION = 0.2;

/** A Parquet column of pass-through values: numbers (integers as INT64), booleans, text. */
function attributeColumn(name: string, values: unknown[]): ColumnSource {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (name === "datetime" && present.every((v) => typeof v === "string" && !Number.isNaN(Date.parse(v)))) {
    return { name, data: values.map((v) => (typeof v === "string" ? new Date(v) : null)), type: "TIMESTAMP" };
  }
  if (present.length && present.every((v) => typeof v === "number" && Number.isInteger(v))) {
    return { name, data: values.map((v) => (typeof v === "number" ? BigInt(v) : null)), type: "INT64" };
  }
  if (present.length && present.every((v) => typeof v === "number")) {
    return { name, data: values.map((v) => (typeof v === "number" ? v : null)), type: "DOUBLE" };
  }
  if (present.length && present.every((v) => typeof v === "boolean")) {
    return { name, data: values.map((v) => (typeof v === "boolean" ? v : null)), type: "BOOLEAN" };
  }
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === "string" ? v : JSON.stringify(v));
  return { name, data: values.map(text), type: "STRING" };
}

/** The GeoParquet bytes of what `result` shows (see the module notes). */
export async function exportGeoParquet(result: SearchResult, options: ExportOptions = {}): Promise<Uint8Array> {
  const shown = result.rows.filter((r) => r.shown);
  const n = result.exemplars.length + shown.length;
  if (!n) throw new TerrabitError("nothing to export: the view shows no rows; run a search first");
  const ids: string[] = [];
  const geoms: GeoJSON.Geometry[] = [];
  const lon: number[] = [];
  const lat: number[] = [];
  const codes: (Uint8Array | null)[] = [];
  const scores: (number | null)[] = [];
  const ranks: (bigint | null)[] = [];
  const values: (number | null)[] = [];
  const roles: string[] = [];
  const probability: (number | null)[] = [];
  const earlier: (string | null)[] = [];
  const attributes: Record<string, unknown>[] = [];
  for (const e of result.exemplars) {
    ids.push(e.id);
    geoms.push(e.geometry);
    lon.push(e.lon);
    lat.push(e.lat);
    codes.push(e.code ?? null);
    scores.push(null);
    ranks.push(null);
    values.push(null);
    roles.push(e.positive ? "positive" : "negative");
    probability.push(null);
    earlier.push(null);
    attributes.push(e.attributes ?? {});
  }
  for (const r of shown) {
    ids.push(r.id);
    geoms.push(r.geometry);
    lon.push(r.lon);
    lat.push(r.lat);
    codes.push(r.code ?? null);
    scores.push(r.score);
    ranks.push(BigInt(r.rank));
    values.push(r.value);
    roles.push("result");
    probability.push(r.probability ?? null);
    earlier.push(r.earlier ?? null);
    attributes.push(r.attributes);
  }
  const names: string[] = [];
  for (const a of attributes) for (const key of Object.keys(a)) if (!names.includes(key)) names.push(key);
  names.sort((a, b) => Number(b === "datetime") - Number(a === "datetime")); // datetime first, as Python
  const columnData: ColumnSource[] = [
    { name: "id", data: ids, type: "STRING", nullable: false },
    { name: "geometry", data: geoms.map(geoJSONToWkb), type: "BYTE_ARRAY", nullable: false },
    { name: "score", data: scores, type: "DOUBLE" },
    { name: "rank", data: ranks, type: "INT64" },
    { name: "view", data: ids.map(() => result.view), type: "STRING", nullable: false },
    { name: "value", data: values, type: "DOUBLE" },
    { name: "role", data: roles, type: "STRING", nullable: false },
    ...(shown.some((r) => r.probability !== undefined) ? [{ name: "probability", data: probability, type: "DOUBLE" as const }] : []),
    ...(shown.some((r) => r.earlier !== undefined) ? [{ name: "earlier", data: earlier, type: "STRING" as const }] : []),
    ...names.map((name) => attributeColumn(name, attributes.map((a) => a[name] ?? null))),
  ];
  if (options.withCodes) {
    if (codes.some((c) => c === null)) throw new TerrabitError("export with codes: a row's code is not at hand (a global search's rows); export without codes, or search a region");
    const test = spatialSplit(lon, lat, { testFraction: VALIDATION_FRACTION });
    columnData.push({ name: "code", data: codes, type: "BYTE_ARRAY" });
    columnData.push({ name: "split", data: test.map((t) => (t ? "validation" : "train")), type: "STRING", nullable: false });
  }
  const types = [...new Set(geoms.map((g) => g.type))].sort();
  const geo = {
    version: "1.1.0",
    primary_column: "geometry",
    columns: {
      geometry: {
        encoding: "WKB",
        geometry_types: types,
        crs: CRS84_PROJJSON,
        bbox: boundsOf(geoms) ?? [],
      },
    },
  };
  const provenance = {
    query: result.query,
    hash: formatHash(result.query),
    view: result.view,
    stats: result.stats,
    legend: result.legend,
    threshold: result.threshold?.t ?? null,
    classifier: result.classifier ?? null,
    change: result.change ?? null,
    exported: new Date().toISOString(),
    rows: shown.length,
    exemplars: result.exemplars.length,
    codes: options.withCodes
      ? {
          code: options.codecSpec ?? null,
          split: { validation_fraction: VALIDATION_FRACTION, seed: 0, blocks_per_side: 16, order: "hash", points: "centres of the rows' bbox coverings" },
        }
      : null,
  };
  const buffer = parquetWriteBuffer({
    columnData,
    kvMetadata: [
      { key: "geo", value: JSON.stringify(geo) },
      { key: "terrabit", value: JSON.stringify(provenance) },
    ],
  });
  return new Uint8Array(buffer);
}
