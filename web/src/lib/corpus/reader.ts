/**
 * An open corpus in the browser: the manifest, its metadata, and shard reads that fetch
 * only the row groups (by `bbox` statistics) and columns a search needs.
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import type { AsyncBuffer, Awaitable, FileMetaData, RowGroup } from "hyparquet";
import { checkAbort, TerrabitError } from "../errors";
import type { Candidates } from "./candidates";
import { decodeFactorsInto, FACTOR_COLUMN } from "./factors";
import { BBOX_LEAVES, denseColumn, denseNumbers, readLeafPages, TIME_AS_NUMBER } from "./leaves";
import type { LeafPages } from "./leaves";
import { sha256Hex } from "./digest";
import { parseManifest } from "./manifest";
import { overlapsAny } from "../region";
import type { BBox, CorpusInfo, ManifestRow } from "../types";
import { HttpStore, joinUrl, storeBuffer } from "./sources";
import type { FileStore } from "./sources";
import { compressors, readyCompressors } from "./zstd";

export const MANIFEST_NAME = "manifest.parquet";
/** Bytes of a shard's tail fetched at once to find its footer. */
const TAIL_BYTES = 32 << 10;
/**
 * A shard of at most this many bytes whose every row a read wants (its extent inside the
 * region, its time span inside the window) is fetched whole in one request with its
 * footer, instead of the footer first and then its column chunks: one round trip per
 * shard instead of two.
 */
export const WHOLE_SHARD_BYTES = 8 << 20;
const CORE_COLUMNS = new Set(["id", "geometry", "bbox", "embedding", "datetime", "rerank", FACTOR_COLUMN]);

/** `[start, end)` in milliseconds since the epoch; either end may be null. */
export interface TimeWindow {
  start: number | null;
  end: number | null;
}

export interface ReadOptions {
  /** Keep rows whose bbox meets one of these (null: all). */
  boxes?: readonly BBox[] | null;
  window?: TimeWindow | null;
  geometry?: boolean;
  rerank?: boolean;
  /** Read the RaBitQ correction factors (the `rabitq` column), when the corpus has them. */
  factors?: boolean;
  attributes?: boolean;
  signal?: AbortSignal;
}

function statNumber(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.getTime();
  return null;
}

/** Can row group `rg` hold a row in `boxes` and `window` (by its column statistics)? */
export function rowGroupMayMatch(
  rg: RowGroup,
  boxes: readonly BBox[] | null,
  window: TimeWindow | null,
): boolean {
  const stat = (leaf: string, which: "min" | "max"): number | null => {
    const col = rg.columns.find((c) => c.meta_data?.path_in_schema.join(".") === leaf);
    const s = col?.meta_data?.statistics;
    if (s === undefined) return null;
    return statNumber(which === "min" ? (s.min_value ?? s.min) : (s.max_value ?? s.max));
  };
  if (boxes !== null) {
    const x0 = stat("bbox.xmin", "min");
    const y0 = stat("bbox.ymin", "min");
    const x1 = stat("bbox.xmax", "max");
    const y1 = stat("bbox.ymax", "max");
    if (x0 !== null && y0 !== null && x1 !== null && y1 !== null && !overlapsAny(x0, y0, x1, y1, boxes)) {
      return false;
    }
  }
  if (window !== null) {
    const t0 = stat("datetime", "min");
    const t1 = stat("datetime", "max");
    if (window.start !== null && t1 !== null && t1 < window.start) return false;
    if (window.end !== null && t0 !== null && t0 >= window.end) return false;
  }
  return true;
}

/** Reads closer than this are merged into one (fewer requests beat a few spare bytes). */
export const MERGE_GAP_BYTES = 256 << 10;

/**
 * Byte spans `[start, end)` covering the column chunks of `columns` in the row groups of
 * `runs` (row ranges), merged when closer than MERGE_GAP_BYTES and minus what `held`
 * already covers: a shard read is a handful of Range requests, not one per chunk.
 */
export function chunkSpans(
  md: FileMetaData,
  runs: readonly [number, number][],
  columns: readonly string[],
  held: readonly { start: number; bytes: Uint8Array }[] = [],
): [number, number][] {
  const wanted = new Set(columns);
  const ranges: [number, number][] = [];
  let at = 0;
  for (const rg of md.row_groups) {
    const n = Number(rg.num_rows);
    const inRun = runs.some(([a, b]) => at < b && at + n > a);
    at += n;
    if (!inRun) continue;
    for (const c of rg.columns) {
      const meta = c.meta_data;
      if (meta === undefined || !wanted.has(meta.path_in_schema[0] ?? "")) continue;
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      const covered = held.some((h) => start >= h.start && end <= h.start + h.bytes.length);
      if (!covered) ranges.push([start, end]);
    }
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a - last[1] <= MERGE_GAP_BYTES) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** An open corpus (see `openCorpus`). */
export class WebCorpus {
  private readonly footers = new Map<string, Promise<FileMetaData>>();
  /** Bytes of a shard's tail fetched at once to find its footer. */
  tailBytes = TAIL_BYTES;
  /** The largest shard fetched whole when a read wants all of it (`WHOLE_SHARD_BYTES`). */
  wholeShardBytes = WHOLE_SHARD_BYTES;
  /** The tail bytes fetched with each footer (reads inside them cost nothing more). */
  private readonly tails = new Map<string, { start: number; bytes: Uint8Array }>();

  constructor(
    readonly url: string,
    readonly info: CorpusInfo,
    readonly manifest: ManifestRow[],
    readonly extent: BBox,
    readonly store: FileStore,
  ) {}

  /** Bytes read by reading workers on this corpus's behalf (`lib/corpus/readerpool.ts`). */
  remoteBytes = 0;

  /** Bytes read from the corpus so far. */
  get bytesRead(): number {
    return this.store.bytesRead + this.remoteBytes;
  }

  hasColumn(name: string): boolean {
    return this.info.columns.includes(name);
  }

  /** Pass-through columns (neither core nor `datetime`/`rerank`). */
  get attributeColumns(): string[] {
    return this.info.columns.filter((c) => !CORE_COLUMNS.has(c));
  }

  /** Manifest rows of the shards that may hold rows in `boxes` and `window`. */
  selectShards(boxes: readonly BBox[] | null, window: TimeWindow | null = null): ManifestRow[] {
    return this.manifest.filter((m) => {
      if (boxes !== null && !overlapsAny(m.xmin, m.ymin, m.xmax, m.ymax, boxes)) return false;
      if (window !== null) {
        if (window.start !== null && (m.tmax === null || m.tmax.getTime() < window.start)) return false;
        if (window.end !== null && (m.tmin === null || m.tmin.getTime() >= window.end)) return false;
      }
      return true;
    });
  }

  /**
   * A shard's footer, checked against the manifest (size, footer SHA-256, row count);
   * `whole`: fetch the whole shard with it (held until the next `readShard` of it).
   */
  footer(row: ManifestRow, signal?: AbortSignal, whole = false): Promise<FileMetaData> {
    let hit = this.footers.get(row.path);
    if (hit === undefined) {
      hit = this.readFooter(row, signal, whole);
      this.footers.set(row.path, hit);
      hit.catch(() => this.footers.delete(row.path));
    }
    return hit;
  }

  private async readFooter(row: ManifestRow, signal?: AbortSignal, whole = false): Promise<FileMetaData> {
    const n = row.bytes;
    const where = `shard ${row.path}`;
    if (n < 12) throw new TerrabitError(`${where} is ${n} bytes: too short for Parquet`, "format");
    let start = whole ? 0 : Math.max(0, n - this.tailBytes);
    let tail = new Uint8Array(await this.store.readRange(row.path, start, n, n, row.checksum, signal));
    const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    if (dv.getUint32(tail.length - 4, true) !== 0x31524150) {
      throw new TerrabitError(`${where} is not a Parquet file (no PAR1 at its end)`, "format");
    }
    const footerLength = dv.getUint32(tail.length - 8, true);
    const need = footerLength + 8;
    if (need > n) throw new TerrabitError(`${where}: footer length ${footerLength} exceeds the file`, "format");
    if (need > tail.length) {
      start = n - need;
      tail = new Uint8Array(await this.store.readRange(row.path, start, n, n, row.checksum, signal));
    }
    this.tails.set(row.path, { start, bytes: tail });
    const footerBytes = tail.subarray(tail.length - need);
    if (row.footerChecksum.startsWith("sha256:")) {
      const hex = await sha256Hex(footerBytes);
      if (`sha256:${hex}` !== row.footerChecksum) {
        throw new TerrabitError(
          `${where}: its footer does not match the manifest's footer_checksum (the shard ` +
            "changed after publishing, or the download is corrupt); republish the corpus",
          "format",
        );
      }
    }
    let md: FileMetaData;
    try {
      md = parquetMetadata(footerBytes.slice().buffer, {
        parsers: { geometryFromBytes: (b: Uint8Array) => b },
      });
    } catch (err) {
      throw new TerrabitError(`${where}: unreadable Parquet footer (${String(err)})`, "format");
    }
    if (Number(md.num_rows) !== row.rows) {
      throw new TerrabitError(
        `${where} holds ${md.num_rows} rows but the manifest says ${row.rows}; republish the corpus`,
        "format",
      );
    }
    return md;
  }

  /** The `id` column of one shard (only that column is fetched). */
  async readIds(row: ManifestRow, signal?: AbortSignal): Promise<string[]> {
    const md = await this.footer(row, signal);
    await readyCompressors();
    const inner = storeBuffer(this.store, row.path, row.bytes, row.checksum, signal);
    const tail = this.tails.get(row.path);
    const file: AsyncBuffer = {
      byteLength: row.bytes,
      slice: (start: number, end?: number): Awaitable<ArrayBuffer> => {
        const stop = end ?? row.bytes;
        if (tail !== undefined && start >= tail.start && stop <= tail.start + tail.bytes.length) {
          return tail.bytes.slice(start - tail.start, stop - tail.start).buffer;
        }
        return inner.slice(start, stop);
      },
    };
    const rows = await parquetReadObjects({ file, metadata: md, columns: ["id"], compressors });
    return rows.map((r) => String(r["id"]));
  }

  /**
   * Whether a read wants every row of shard `row` and most of its bytes (no rerank column
   * left unread), so that fetching it whole (`wholeShardBytes`) costs no extra bytes.
   */
  private wantsWhole(row: ManifestRow, boxes: readonly BBox[] | null, window: TimeWindow | null, rerank: boolean): boolean {
    if (row.bytes > this.wholeShardBytes || (this.hasColumn("rerank") && !rerank)) return false;
    const inside = boxes === null || boxes.some(([x0, y0, x1, y1]) => row.xmin >= x0 && row.xmax <= x1 && row.ymin >= y0 && row.ymax <= y1);
    if (!inside) return false;
    if (window === null) return true;
    const t0 = row.tmin?.getTime() ?? null;
    const t1 = row.tmax?.getTime() ?? null;
    return t0 !== null && t1 !== null && (window.start === null || t0 >= window.start) && (window.end === null || t1 < window.end);
  }

  /** Rows of one shard meeting `boxes` and `window` (row groups pruned by statistics). */
  async readShard(row: ManifestRow, options: ReadOptions = {}): Promise<Candidates> {
    try {
      return await this.readShardRows(row, options);
    } finally {
      // a shard fetched whole with its footer: keep only the footer's tail from now on
      const tail = this.tails.get(row.path);
      if (tail !== undefined && tail.bytes.length > this.tailBytes) {
        const keep = this.tailBytes;
        this.tails.set(row.path, { start: tail.start + tail.bytes.length - keep, bytes: tail.bytes.slice(tail.bytes.length - keep) });
      }
    }
  }

  private async readShardRows(row: ManifestRow, options: ReadOptions): Promise<Candidates> {
    const { signal } = options;
    const boxes = options.boxes ?? null;
    const window = options.window ?? null;
    checkAbort(signal);
    const codeSize = this.info.codeSize;
    const rrSize = this.info.rerankCodeSize ?? 0;
    const wantRerank = Boolean(options.rerank) && this.hasColumn("rerank") && rrSize > 0;
    const md = await this.footer(row, signal, this.wantsWhole(row, boxes, window, wantRerank));
    await readyCompressors();
    const attrCols = options.attributes ? this.attributeColumns : [];
    const hasTime = this.hasColumn("datetime");
    const columns = ["id", "bbox", "embedding"];
    if (options.geometry) columns.push("geometry");
    if (hasTime) columns.push("datetime");
    if (wantRerank) columns.push("rerank");
    const wantFactors = Boolean(options.factors) && this.hasColumn(FACTOR_COLUMN);
    if (wantFactors) columns.push(FACTOR_COLUMN);
    columns.push(...attrCols);

    // contiguous runs of the row groups that may match
    const runs: [number, number][] = [];
    let at = 0;
    for (const rg of md.row_groups) {
      const n = Number(rg.num_rows);
      if (rowGroupMayMatch(rg, boxes, window)) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last[1] === at) last[1] = at + n;
        else runs.push([at, at + n]);
      }
      at += n;
    }
    const inner = storeBuffer(this.store, row.path, row.bytes, row.checksum, signal);
    // the bytes at hand: the footer's tail read, then one read per span of needed chunks
    const held: { start: number; bytes: Uint8Array }[] = [];
    const tail = this.tails.get(row.path);
    if (tail !== undefined) held.push(tail);
    const spans = chunkSpans(md, runs, columns, held);
    const fetched = await Promise.all(
      spans.map(async ([a, b]) => ({ start: a, bytes: new Uint8Array(await inner.slice(a, b)) })),
    );
    held.push(...fetched);
    const file: AsyncBuffer = {
      byteLength: row.bytes,
      slice: (start: number, end?: number): Awaitable<ArrayBuffer> => {
        const stop = end ?? row.bytes;
        for (const h of held) {
          if (start >= h.start && stop <= h.start + h.bytes.length) {
            return h.bytes.slice(start - h.start, stop - h.start).buffer;
          }
        }
        return inner.slice(start, stop);
      },
    };
    // decode leaf by leaf, page by page (no object per row: hyparquet assembles no struct
    // and builds no Date), then one pass applies the bbox/time filters and packs the rows
    const total = runs.reduce((s, [a, b]) => s + b - a, 0);
    const ids: string[] = [];
    const wkb: Uint8Array[] = [];
    const bbox = new Float64Array(4 * total);
    const codes = new Uint8Array(total * codeSize);
    const rerank = wantRerank ? new Uint8Array(total * rrSize) : null;
    const factors = wantFactors ? new Float32Array(3 * total) : null;
    const times = hasTime ? new Float64Array(total) : null;
    const attributes: Record<string, unknown[]> = {};
    for (const c of attrCols) attributes[c] = [];
    const coreColumns = columns.filter((c) => !attrCols.includes(c));
    let n = 0;
    for (const [rowStart, rowEnd] of runs) {
      checkAbort(signal);
      const len = rowEnd - rowStart;
      let core: LeafPages;
      let attrPages: LeafPages | null = null;
      try {
        // the core columns with times as numbers; pass-through columns as hyparquet gives them
        core = await readLeafPages(file, md, coreColumns, rowStart, rowEnd, TIME_AS_NUMBER);
        if (attrCols.length) attrPages = await readLeafPages(file, md, attrCols, rowStart, rowEnd, {});
      } catch (err) {
        if (err instanceof TerrabitError) throw err;
        throw new TerrabitError(`shard ${row.path}: could not read it (${String(err)})`, "format", { cause: err });
      }
      const idCol = denseColumn(core, "id", rowStart, rowEnd);
      const box = BBOX_LEAVES.map((leaf) => denseNumbers(core, leaf, rowStart, rowEnd));
      const [x0s, y0s, x1s, y1s] = box.map((leaf) => leaf.values) as [Float64Array, Float64Array, Float64Array, Float64Array];
      const codeCol = denseColumn(core, "embedding", rowStart, rowEnd) as ArrayLike<Uint8Array>;
      const geomCol = options.geometry ? (denseColumn(core, "geometry", rowStart, rowEnd) as ArrayLike<Uint8Array>) : null;
      const timeCol = hasTime ? denseColumn(core, "datetime", rowStart, rowEnd) : null;
      const rrCol = wantRerank ? (denseColumn(core, "rerank", rowStart, rowEnd) as ArrayLike<Uint8Array>) : null;
      const facCol = wantFactors ? (denseColumn(core, FACTOR_COLUMN, rowStart, rowEnd) as ArrayLike<Uint8Array>) : null;
      const attrData = attrCols.map((c) => [c, denseColumn(attrPages as LeafPages, c, rowStart, rowEnd)] as const);
      for (let i = 0; i < len; i++) {
        const bx0 = x0s[i] as number;
        const by0 = y0s[i] as number;
        const bx1 = x1s[i] as number;
        const by1 = y1s[i] as number;
        if (Number.isNaN(bx0 + by0 + bx1 + by1) && box.some((leaf) => leaf.missing[i] === 1)) {
          throw new TerrabitError(`shard ${row.path}: row ${String(idCol[i])} has no bbox; republish the corpus`, "format");
        }
        if (boxes !== null && !overlapsAny(bx0, by0, bx1, by1, boxes)) continue;
        let t = NaN;
        if (timeCol !== null) {
          const d = timeCol[i];
          t = typeof d === "number" ? d : NaN;
          if (window !== null) {
            if (Number.isNaN(t)) continue;
            if (window.start !== null && t < window.start) continue;
            if (window.end !== null && t >= window.end) continue;
          }
        }
        const code = codeCol[i];
        if (!(code instanceof Uint8Array) || code.length !== codeSize) {
          throw new TerrabitError(
            `shard ${row.path}: row ${String(idCol[i])} has a ${(code as Uint8Array | undefined)?.length ?? 0}-byte ` +
              `embedding, the manifest says code_size ${codeSize}`,
            "format",
          );
        }
        ids.push(String(idCol[i]));
        bbox[4 * n] = bx0;
        bbox[4 * n + 1] = by0;
        bbox[4 * n + 2] = bx1;
        bbox[4 * n + 3] = by1;
        codes.set(code, n * codeSize);
        if (geomCol !== null) wkb.push(geomCol[i] as Uint8Array);
        if (times !== null) times[n] = t;
        if (rerank !== null && rrCol !== null) rerank.set(rrCol[i] as Uint8Array, n * rrSize);
        if (factors !== null && facCol !== null) {
          const f = facCol[i];
          if (!(f instanceof Uint8Array) || (f.length !== 6 && f.length !== 12)) {
            throw new TerrabitError(
              `shard ${row.path}: row ${String(idCol[i])} has ${(f as Uint8Array | undefined)?.length ?? 0} bytes of ` +
                `${FACTOR_COLUMN} factors, expected 6 (float16) or 12 (float32)`,
              "format",
            );
          }
          decodeFactorsInto(f, f.length, factors, n);
        }
        for (const [c, data] of attrData) (attributes[c] as unknown[]).push(data[i]);
        n += 1;
      }
    }
    return {
      length: n,
      ids,
      wkb,
      bbox: n === total ? bbox : bbox.slice(0, 4 * n),
      codes: n === total ? codes : codes.slice(0, n * codeSize),
      times: times === null ? null : n === total ? times : times.slice(0, n),
      rerank: rerank === null ? null : n === total ? rerank : rerank.slice(0, n * rrSize),
      factors: factors === null ? null : n === total ? factors : factors.slice(0, 3 * n),
      attributes,
    };
  }
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Read through this store instead of HTTP (tests, local files). */
  store?: FileStore;
}

/** Open the corpus at `url` (its root, or its `manifest.parquet`). */
export async function openCorpus(url: string, opts: OpenOptions = {}): Promise<WebCorpus> {
  let root = url.replace(/\/+$/, "");
  if (root.endsWith("/" + MANIFEST_NAME)) root = root.slice(0, -MANIFEST_NAME.length - 1);
  const store = opts.store ?? new HttpStore(root);
  let bytes: ArrayBuffer;
  try {
    bytes = await store.readAll(MANIFEST_NAME, opts.signal);
  } catch (err) {
    if (err instanceof TerrabitError && err.kind === "abort") throw err;
    throw new TerrabitError(
      `no corpus at ${root}: could not read ${joinUrl(root, MANIFEST_NAME)} ` +
        `(${err instanceof Error ? err.message : String(err)}); check the ?corpus= URL or config.json`,
      "http",
      { cause: err },
    );
  }
  const manifest = await parseManifest(bytes, joinUrl(root, MANIFEST_NAME));
  return new WebCorpus(root, manifest.info, manifest.rows, manifest.extent, store);
}

/**
 * Where the app finds its corpus: `?corpus=URL` in the page URL; else `config.json`
 * next to the page (`{"corpus": URL}`); else `corpus/` next to the page.
 */
export async function resolveCorpusUrl(
  location: Pick<Location, "href" | "search">,
  fetchFn: (input: string) => Promise<Response> = (input) => fetch(input),
): Promise<string> {
  const param = new URLSearchParams(location.search).get("corpus");
  if (param) return new URL(param, location.href).href.replace(/\/+$/, "");
  const configUrl = new URL("config.json", location.href).href;
  try {
    const response = await fetchFn(configUrl);
    if (response.ok) {
      const config = (await response.json()) as { corpus?: unknown };
      if (typeof config.corpus === "string" && config.corpus) {
        return new URL(config.corpus, configUrl).href.replace(/\/+$/, "");
      }
    }
  } catch {
    // no config.json: the default below
  }
  return new URL("corpus/", location.href).href.replace(/\/+$/, "");
}
