/**
 * Export the current view as GeoParquet 1.1: the shown rows then the exemplars, with
 * `id, geometry (WKB), score, rank, view, role` (and, with score=classifier, each row's
 * `probability`; in the change view, the id of each place's `earlier` row), `geo`
 * metadata (CRS84) and the query's provenance under the `terrabit` key.
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import { TerrabitError } from "../errors";
import type { SearchResult } from "../types";
import { formatHash } from "../urlstate";
import { geoJSONToWkb } from "../wkb";

/** PROJJSON of OGC:CRS84 (as pyproj writes it). */
export const CRS84_PROJJSON: Record<string, unknown> = {"$schema":"https://proj.org/schemas/v0.7/projjson.schema.json","type":"GeographicCRS","name":"WGS 84 (CRS84)","datum_ensemble":{"name":"World Geodetic System 1984 ensemble","members":[{"name":"World Geodetic System 1984 (Transit)","id":{"authority":"EPSG","code":1166}},{"name":"World Geodetic System 1984 (G730)","id":{"authority":"EPSG","code":1152}},{"name":"World Geodetic System 1984 (G873)","id":{"authority":"EPSG","code":1153}},{"name":"World Geodetic System 1984 (G1150)","id":{"authority":"EPSG","code":1154}},{"name":"World Geodetic System 1984 (G1674)","id":{"authority":"EPSG","code":1155}},{"name":"World Geodetic System 1984 (G1762)","id":{"authority":"EPSG","code":1156}},{"name":"World Geodetic System 1984 (G2139)","id":{"authority":"EPSG","code":1309}},{"name":"World Geodetic System 1984 (G2296)","id":{"authority":"EPSG","code":1383}}],"ellipsoid":{"name":"WGS 84","semi_major_axis":6378137,"inverse_flattening":298.257223563},"accuracy":"2.0","id":{"authority":"EPSG","code":6326}},"coordinate_system":{"subtype":"ellipsoidal","axis":[{"name":"Geodetic longitude","abbreviation":"Lon","direction":"east","unit":"degree"},{"name":"Geodetic latitude","abbreviation":"Lat","direction":"north","unit":"degree"}]},"scope":"Not known.","area":"World.","bbox":{"south_latitude":-90,"west_longitude":-180,"north_latitude":90,"east_longitude":180},"id":{"authority":"OGC","code":"CRS84"}};

function bounds(geoms: readonly GeoJSON.Geometry[]): [number, number, number, number] | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      const x = c[0];
      const y = Number(c[1]);
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    } else if (Array.isArray(c)) {
      for (const v of c) visit(v);
    }
  };
  for (const g of geoms) {
    if (g.type === "GeometryCollection") visit(g.geometries.map((x) => ("coordinates" in x ? x.coordinates : [])));
    else visit(g.coordinates);
  }
  return Number.isFinite(x0) ? [x0, y0, x1, y1] : null;
}

/** The GeoParquet bytes of what `result` shows (see the module notes). */
export async function exportGeoParquet(result: SearchResult): Promise<Uint8Array> {
  const shown = result.rows.filter((r) => r.shown);
  const ids: string[] = [];
  const geoms: GeoJSON.Geometry[] = [];
  const scores: (number | null)[] = [];
  const ranks: (number | null)[] = [];
  const views: string[] = [];
  const roles: string[] = [];
  const probability: (number | null)[] = [];
  const earlier: (string | null)[] = [];
  for (const r of shown) {
    ids.push(r.id);
    geoms.push(r.geometry);
    scores.push(r.score);
    ranks.push(r.rank);
    views.push(result.view);
    roles.push("result");
    probability.push(r.probability ?? null);
    earlier.push(r.earlier ?? null);
  }
  for (const e of result.exemplars) {
    ids.push(e.id);
    geoms.push(e.geometry);
    scores.push(null);
    ranks.push(null);
    views.push(result.view);
    roles.push(e.positive ? "positive" : "negative");
    probability.push(null);
    earlier.push(null);
  }
  if (!ids.length) throw new TerrabitError("nothing to export: the view shows no rows; run a search first");
  const types = [...new Set(geoms.map((g) => g.type))].sort();
  const geo = {
    version: "1.1.0",
    primary_column: "geometry",
    columns: {
      geometry: {
        encoding: "WKB",
        geometry_types: types,
        crs: CRS84_PROJJSON,
        bbox: bounds(geoms) ?? [],
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
  };
  const columnData: ColumnSource[] = [
    { name: "id", data: ids, type: "STRING", nullable: false },
    { name: "geometry", data: geoms.map(geoJSONToWkb), type: "BYTE_ARRAY", nullable: false },
    { name: "score", data: scores, type: "DOUBLE" },
    { name: "rank", data: ranks.map((r) => (r === null ? null : BigInt(r))), type: "INT64" },
    { name: "view", data: views, type: "STRING", nullable: false },
    { name: "role", data: roles, type: "STRING", nullable: false },
  ];
  if (shown.some((r) => r.probability !== undefined)) columnData.push({ name: "probability", data: probability, type: "DOUBLE" });
  if (shown.some((r) => r.earlier !== undefined)) columnData.push({ name: "earlier", data: earlier, type: "STRING" });
  const buffer = parquetWriteBuffer({
    columnData,
    kvMetadata: [
      { key: "geo", value: JSON.stringify(geo) },
      { key: "terrabit", value: JSON.stringify(provenance) },
    ],
  });
  return new Uint8Array(buffer);
}
