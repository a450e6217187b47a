/**
 * `manifest.parquet`: one row per shard and the `terrabit` key-value metadata
 * (`spec/corpus-v1.md` §4).
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import type { FileMetaData } from "hyparquet";
import { checkSeal, DIGEST_KEY } from "./digest";
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

/** Whether the corpus's format version is `major.minor` or later (Python's `version_tuple`). */
export function formatAtLeast(info: Pick<CorpusInfo, "formatVersion">, major: number, minor: number): boolean {
  const [a = 0, b = 0] = info.formatVersion.split(".").map(Number);
  return a > major || (a === major && b >= minor);
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

/**
 * Refuse a manifest that contradicts itself (spec §4.4): a row per shard, rows and bytes
 * positive and summing to the totals, extents finite, ordered and on the globe, summary
 * radii within the code's bits. Python's `check_sanity`, the same checks and wording.
 */
export function checkSanity(rows: readonly ManifestRow[], info: CorpusInfo, where: string): void {
  const problems: string[] = [];
  if (rows.length !== info.shards) {
    problems.push(`it has ${rows.length} shard rows where its metadata says ${info.shards}`);
  }
  const totals: [keyof ManifestRow & ("rows" | "bytes"), unknown][] = [
    ["rows", info.rows],
    ["bytes", info.metadata["bytes"]],
  ];
  for (const [column, total] of totals) {
    const sum = rows.reduce((s, r) => s + r[column], 0);
    if (sum !== Number(total) || rows.some((r) => !(r[column] > 0))) {
      problems.push(`its shards' ${column} sum to ${sum} where its metadata says ${String(total)}`);
    }
  }
  const bad = rows.filter(
    (r) =>
      ![r.xmin, r.ymin, r.xmax, r.ymax].every(Number.isFinite) ||
      r.xmin > r.xmax ||
      r.ymin > r.ymax ||
      Math.max(Math.abs(r.xmin), Math.abs(r.xmax)) > 180 ||
      Math.max(Math.abs(r.ymin), Math.abs(r.ymax)) > 90,
  );
  if (bad.length) {
    problems.push(
      `${bad.length} shard extents are not finite, ordered and within ±180°/±90° (first: '${bad[0]?.path ?? ""}')`,
    );
  }
  const bits = 8 * info.codeSize;
  const radii = rows.flatMap((r) => (Array.isArray(r.extra["summary_radii"]) ? (r.extra["summary_radii"] as unknown[]) : []));
  if (radii.some((v) => !(Number(v) >= 0 && Number(v) <= bits))) {
    problems.push(`its summary radii lie outside 0..${bits} bits`);
  }
  if (problems.length) {
    throw new TerrabitError(
      `${where} contradicts itself: ${problems.join("; ")}; the manifest is damaged — restore it ` +
        "from a copy or republish the corpus",
      "format",
    );
  }
}

/** Parse the bytes of `manifest.parquet`. */
export async function parseManifest(bytes: ArrayBuffer, where = "manifest.parquet"): Promise<Manifest> {
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(bytes);
  } catch (err) {
    throw new TerrabitError(`${where} is not a Parquet file (${String(err)})`, "format");
  }
  const sealed = await checkSeal(bytes, metadata, where); // every byte, before any is trusted
  const info = corpusInfo(metadata, where);
  if (!sealed && formatAtLeast(info, 1, 6)) {
    throw new TerrabitError(
      `${where} carries no digest of its own (${DIGEST_KEY}), which every manifest of format ` +
        `1.6 and later does (this one says ${info.formatVersion}); the manifest is damaged — ` +
        "restore it from a copy or republish the corpus",
      "format",
    );
  }
  // the manifest is small: it does not wait for the WebAssembly decoder (decoded in
  // JavaScript if that is not ready yet), whose start it only sets going for the shards
  void readyCompressors();
  // binary columns (summary codes since 1.6, footprints) as bytes; text columns are annotated
  const raw = await parquetReadObjects({ file: bytes, metadata, compressors, utf8: false });
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
  checkSanity(rows, info, where);
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
