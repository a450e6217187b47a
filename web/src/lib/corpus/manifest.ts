/**
 * `manifest.parquet`: one row per shard and the `terrabit` key-value metadata
 * (`spec/corpus-v1.md` §4).
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import type { FileMetaData } from "hyparquet";
import { compressors, readyCompressors } from "./zstd";
import { TerrabitError } from "../errors";
import type { BBox, CorpusInfo, ManifestRow } from "../types";

/** The format major version this reader knows. */
export const FORMAT_MAJOR = 1;

const KNOWN = new Set([
  "path",
  "geohash",
  "rows",
  "bytes",
  "xmin",
  "ymin",
  "xmax",
  "ymax",
  "tmin",
  "tmax",
  "checksum",
  "footer_checksum",
]);

export interface Manifest {
  info: CorpusInfo;
  rows: ManifestRow[];
  extent: BBox;
}

function num(value: unknown, what: string): number {
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") return value;
  throw new TerrabitError(`manifest ${what} must be a number, got ${String(value)}`, "format");
}

function str(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  throw new TerrabitError(`manifest ${what} must be a string, got ${String(value)}`, "format");
}

function date(value: unknown): Date | null {
  return value instanceof Date ? value : null;
}

/** The parsed `terrabit` metadata of a manifest footer. */
export function corpusInfo(metadata: FileMetaData, where = "manifest.parquet"): CorpusInfo {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === "terrabit");
  if (entry?.value === undefined) {
    throw new TerrabitError(
      `${where} has no "terrabit" metadata: it is not a terrabit corpus manifest ` +
        "(publish one with `terrabit publish`)",
      "format",
    );
  }
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(entry.value) as Record<string, unknown>;
  } catch (err) {
    throw new TerrabitError(`${where}: the "terrabit" metadata is not JSON (${String(err)})`, "format");
  }
  const version = String(meta["format_version"] ?? "");
  const major = Number(version.split(".")[0]);
  if (!/^\d+\.\d+$/.test(version) || major !== FORMAT_MAJOR) {
    throw new TerrabitError(
      `${where} has corpus format version ${JSON.stringify(version)}; this app reads ` +
        `version ${FORMAT_MAJOR}.x — update the app or republish the corpus`,
      "format",
    );
  }
  const codec = (meta["codec"] ?? {}) as Record<string, unknown>;
  const rr = meta["rerank_code_size"];
  return {
    formatVersion: version,
    codec,
    codecSpec: String(codec["spec"] ?? "unknown"),
    dims: num(meta["dims"], "dims"),
    codeSize: num(meta["code_size"], "code_size"),
    rows: num(meta["rows"], "rows"),
    shards: num(meta["shards"], "shards"),
    rerankCodeSize: rr === null || rr === undefined ? null : num(rr, "rerank_code_size"),
    columns: Array.isArray(meta["columns"]) ? (meta["columns"] as unknown[]).map(String) : [],
    metadata: meta,
  };
}

/** Parse the bytes of `manifest.parquet`. */
export async function parseManifest(bytes: ArrayBuffer, where = "manifest.parquet"): Promise<Manifest> {
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(bytes);
  } catch (err) {
    throw new TerrabitError(`${where} is not a Parquet file (${String(err)})`, "format");
  }
  const info = corpusInfo(metadata, where);
  // the manifest is small: it does not wait for the WebAssembly decoder (decoded in
  // JavaScript if that is not ready yet), whose start it only sets going for the shards
  void readyCompressors();
  const raw = await parquetReadObjects({ file: bytes, metadata, compressors });
  const rows: ManifestRow[] = raw.map((r, i) => {
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(r)) {
      if (!KNOWN.has(key)) extra[key] = typeof value === "bigint" ? Number(value) : value;
    }
    const at = `row ${i}`;
    return {
      path: str(r["path"], `${at} path`),
      geohash: str(r["geohash"], `${at} geohash`),
      rows: num(r["rows"], `${at} rows`),
      bytes: num(r["bytes"], `${at} bytes`),
      xmin: num(r["xmin"], `${at} xmin`),
      ymin: num(r["ymin"], `${at} ymin`),
      xmax: num(r["xmax"], `${at} xmax`),
      ymax: num(r["ymax"], `${at} ymax`),
      tmin: date(r["tmin"]),
      tmax: date(r["tmax"]),
      checksum: String(r["checksum"] ?? ""),
      footerChecksum: String(r["footer_checksum"] ?? ""),
      extra,
    };
  });
  const b = info.metadata["bbox"];
  let extent: BBox;
  if (Array.isArray(b) && b.length === 4) {
    extent = [Number(b[0]), Number(b[1]), Number(b[2]), Number(b[3])];
  } else if (rows.length) {
    extent = [
      Math.min(...rows.map((r) => r.xmin)),
      Math.min(...rows.map((r) => r.ymin)),
      Math.max(...rows.map((r) => r.xmax)),
      Math.max(...rows.map((r) => r.ymax)),
    ];
  } else {
    extent = [-180, -90, 180, 90];
  }
  return { info, rows, extent };
}
