/**
 * Candidate tables: rows of the corpus, column by column. One type for what a shard read
 * returns (`WebCorpus.readShard`: the rows meeting a region's boxes and a time window)
 * and for the rows a search scores, gathered from shards in manifest order (as Python
 * concatenates them) with the exact region test applied; the functions that build them
 * live here too.
 */
import { insideRect, regionIntersects } from "../region";
import type { Region } from "../region";
import { wkbToGeoJSON } from "../wkb";
import type { TimeSlicer } from "./slices";

/** Rows of the corpus, column by column. */
export interface Candidates {
  /** The number of rows. */
  length: number;
  ids: string[];
  /** ISO WKB of each row (when read; empty otherwise). */
  wkb: Uint8Array[];
  /** `xmin, ymin, xmax, ymax` per row. */
  bbox: Float64Array;
  /** `length * codeSize` bytes. */
  codes: Uint8Array;
  /** Milliseconds since the epoch (NaN for null), when the corpus has `datetime`. */
  times: Float64Array | null;
  /** `length * rerankCodeSize` bytes, when read. */
  rerank: Uint8Array | null;
  /** RaBitQ correction factors (`norm, ip_code, ip_centroid`, 3 per row), when read. */
  factors: Float32Array | null;
  /** Pass-through columns, when read. */
  attributes: Record<string, unknown[]>;
}

export function emptyCandidates(): Candidates {
  return { length: 0, ids: [], wkb: [], bbox: new Float64Array(0), codes: new Uint8Array(0), times: null, rerank: null, factors: null, attributes: {} };
}

/** Indices of a table's rows that meet the region exactly (all when `region` is null). */
export function exactRows(table: Candidates, region: Region | null): number[] {
  const keep: number[] = [];
  for (let i = 0; i < table.length; i++) {
    if (region === null) {
      keep.push(i);
      continue;
    }
    const b = table.bbox;
    if (insideRect(region, b[4 * i] as number, b[4 * i + 1] as number, b[4 * i + 2] as number, b[4 * i + 3] as number)) {
      keep.push(i);
    } else if (regionIntersects(region, wkbToGeoJSON(table.wkb[i] as Uint8Array))) {
      keep.push(i);
    }
  }
  return keep;
}

/** Is `rows` exactly `0, 1, …, length - 1`? */
function isIdentity(rows: readonly number[], length: number): boolean {
  if (rows.length !== length) return false;
  for (let i = 0; i < rows.length; i++) if (rows[i] !== i) return false;
  return true;
}

type Part = { table: Candidates; rows: readonly number[] };

/** An empty table for `parts`' rows (the columns any part has). */
function tableFor(parts: readonly Part[], codeSize: number, rerankSize: number): Candidates {
  const n = parts.reduce((s, p) => s + p.rows.length, 0);
  return {
    length: n,
    ids: [],
    wkb: [],
    bbox: new Float64Array(4 * n),
    codes: new Uint8Array(n * codeSize),
    times: parts.some((p) => p.table.times !== null) ? new Float64Array(n) : null,
    rerank: parts.some((p) => p.table.rerank !== null) ? new Uint8Array(n * rerankSize) : null,
    factors: parts.some((p) => p.table.factors !== null) ? new Float32Array(3 * n) : null,
    attributes: {},
  };
}

/** Copy `part`'s kept rows into `out` from row `at`; returns the next free row. */
function appendPart(out: Candidates, at: number, part: Part, codeSize: number, rerankSize: number): number {
  const { table, rows } = part;
  for (const key of Object.keys(table.attributes)) out.attributes[key] ??= [];
  if (isIdentity(rows, table.length)) {
    // every row of the table, in order (the common case): bulk copies, no per-row views
    const m = rows.length;
    for (let i = 0; i < m; i++) out.ids.push(table.ids[i] as string);
    if (table.wkb.length) for (let i = 0; i < m; i++) out.wkb.push(table.wkb[i] as Uint8Array);
    out.bbox.set(table.bbox.subarray(0, 4 * m), 4 * at);
    out.codes.set(table.codes.subarray(0, m * codeSize), at * codeSize);
    if (out.times !== null) {
      if (table.times !== null) out.times.set(table.times.subarray(0, m), at);
      else out.times.fill(NaN, at, at + m);
    }
    if (out.rerank !== null && table.rerank !== null) out.rerank.set(table.rerank.subarray(0, m * rerankSize), at * rerankSize);
    if (out.factors !== null && table.factors !== null) out.factors.set(table.factors.subarray(0, 3 * m), 3 * at);
    for (const [key, values] of Object.entries(table.attributes)) {
      const dst = out.attributes[key] as unknown[];
      for (let i = 0; i < m; i++) dst[at + i] = values[i];
    }
    return at + m;
  }
  for (const i of rows) {
    out.ids.push(table.ids[i] as string);
    if (table.wkb.length) out.wkb.push(table.wkb[i] as Uint8Array);
    out.bbox.set(table.bbox.subarray(4 * i, 4 * i + 4), 4 * at);
    out.codes.set(table.codes.subarray(i * codeSize, (i + 1) * codeSize), at * codeSize);
    if (out.times !== null) out.times[at] = table.times?.[i] ?? NaN;
    if (out.rerank !== null && table.rerank !== null) {
      out.rerank.set(table.rerank.subarray(i * rerankSize, (i + 1) * rerankSize), at * rerankSize);
    }
    if (out.factors !== null && table.factors !== null) out.factors.set(table.factors.subarray(3 * i, 3 * i + 3), 3 * at);
    for (const [key, values] of Object.entries(table.attributes)) (out.attributes[key] as unknown[])[at] = values[i];
    at += 1;
  }
  return at;
}

/** Concatenate `parts` (each a table and the rows kept), in order. */
export function concatCandidates(parts: readonly Part[], codeSize: number, rerankSize: number): Candidates {
  const out = tableFor(parts, codeSize, rerankSize);
  let at = 0;
  for (const part of parts) at = appendPart(out, at, part, codeSize, rerankSize);
  return out;
}

/**
 * `concatCandidates` in slices of parts (see `TimeSlicer`): the same table, built
 * without blocking the page for the whole concatenation.
 */
export async function concatCandidatesSliced(
  parts: readonly Part[],
  codeSize: number,
  rerankSize: number,
  slicer: TimeSlicer,
): Promise<Candidates> {
  const out = tableFor(parts, codeSize, rerankSize);
  let at = 0;
  for (const part of parts) {
    at = appendPart(out, at, part, codeSize, rerankSize);
    await slicer.tick();
  }
  return out;
}

/** The rows `keep` of `c`, in that order (runs of consecutive rows copied at once). */
export function takeCandidates(c: Candidates, keep: readonly number[], codeSize: number, rerankSize: number): Candidates {
  const n = keep.length;
  const out: Candidates = {
    length: n,
    ids: keep.map((i) => c.ids[i] as string),
    wkb: c.wkb.length ? keep.map((i) => c.wkb[i] as Uint8Array) : [],
    bbox: new Float64Array(4 * n),
    codes: new Uint8Array(n * codeSize),
    times: c.times === null ? null : new Float64Array(n),
    rerank: c.rerank === null ? null : new Uint8Array(n * rerankSize),
    factors: c.factors === null ? null : new Float32Array(3 * n),
    attributes: {},
  };
  for (let at = 0; at < n; ) {
    // the run keep[at], keep[at] + 1, … of rows next to each other in `c`
    const i = keep[at] as number;
    let len = 1;
    while (at + len < n && keep[at + len] === i + len) len += 1;
    const j = i + len;
    out.bbox.set(c.bbox.subarray(4 * i, 4 * j), 4 * at);
    out.codes.set(c.codes.subarray(i * codeSize, j * codeSize), at * codeSize);
    if (out.times !== null && c.times !== null) out.times.set(c.times.subarray(i, j), at);
    if (out.rerank !== null && c.rerank !== null) out.rerank.set(c.rerank.subarray(i * rerankSize, j * rerankSize), at * rerankSize);
    if (out.factors !== null && c.factors !== null) out.factors.set(c.factors.subarray(3 * i, 3 * j), 3 * at);
    at += len;
  }
  for (const [key, values] of Object.entries(c.attributes)) out.attributes[key] = keep.map((i) => values[i]);
  return out;
}

/** Anchor points (bbox centres). */
export function anchors(c: Candidates): { lon: Float64Array; lat: Float64Array } {
  const lon = new Float64Array(c.length);
  const lat = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) {
    lon[i] = ((c.bbox[4 * i] as number) + (c.bbox[4 * i + 2] as number)) / 2;
    lat[i] = ((c.bbox[4 * i + 1] as number) + (c.bbox[4 * i + 3] as number)) / 2;
  }
  return { lon, lat };
}

/** A hashable key of WKB bytes (dedupe groups by byte-identical geometry). */
export function wkbKey(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(i + 4096, bytes.length)));
  }
  return s;
}

/**
 * Row `i`'s time (ISO 8601, or null) and pass-through attributes (bigints as numbers), as
 * the result list shows them.
 */
export function rowAttributes(c: Candidates, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.times !== null) {
    const t = c.times[i] as number;
    out["datetime"] = Number.isNaN(t) ? null : new Date(t).toISOString();
  }
  for (const [key, values] of Object.entries(c.attributes)) {
    const v = values[i];
    out[key] = typeof v === "bigint" ? Number(v) : v;
  }
  return out;
}
