/**
 * Shard reading in Web Workers: each worker fetches (HTTP Range), decompresses and
 * decodes the shards it is given and applies the exact region test, so the page stays
 * responsive and decoding runs on several cores. The rows come back packed (codes,
 * boxes, times, WKB in one buffer each, transferred). Where there are no workers (node,
 * tests) the search reads shards in place (`WebCorpus.readShard`).
 */
import { exactRows } from "./candidates";
import type { Candidates } from "./candidates";
import { WebCorpus } from "./reader";
import type { ReadOptions } from "./reader";
import { TerrabitError } from "../errors";
import type { Region } from "../region";
import { HttpStore } from "./sources";
import type { FileStore } from "./sources";
import type { BBox, CorpusInfo, ManifestRow } from "../types";
import { sharedPool, WorkerPool } from "../workerpool";
import type { Answer, PoolWorker } from "../workerpool";

export type ReadRequestOptions = Omit<ReadOptions, "signal">;

export interface ReadRequest {
  id: number;
  url: string;
  info: CorpusInfo;
  extent: BBox;
  row: ManifestRow;
  options: ReadRequestOptions;
  region: Region | null;
}

/** A shard table packed into transferable buffers. */
export interface PackedTable {
  length: number;
  ids: string[];
  wkb: Uint8Array;
  wkbOffsets: Int32Array;
  bbox: Float64Array;
  codes: Uint8Array;
  times: Float64Array | null;
  rerank: Uint8Array | null;
  factors: Float32Array | null;
  attributes: Record<string, unknown[]>;
}

export type ReadResponse =
  | { id: number; table: PackedTable; bytes: number; error?: undefined }
  | { id: number; error: { message: string; kind: string } };

/** Keep only `rows` of a table and pack it. */
export function packTable(t: Candidates, rows: readonly number[], codeSize: number, rerankSize: number): PackedTable {
  const n = rows.length;
  const all = rows.length === t.length && rows.every((r, i) => r === i);
  if (all && t.bbox.length === 4 * n && t.codes.length === n * codeSize) {
    // every row: the table's own typed arrays (fresh per read) travel as they are
    let wkbBytes = 0;
    for (const g of t.wkb) wkbBytes += g.length;
    const wkb = new Uint8Array(wkbBytes);
    const wkbOffsets = new Int32Array(t.wkb.length ? n + 1 : 0);
    let at = 0;
    t.wkb.forEach((g, r) => {
      wkb.set(g, at);
      wkbOffsets[r] = at;
      at += g.length;
    });
    if (wkbOffsets.length) wkbOffsets[n] = at;
    const own = <T extends Uint8Array | Float32Array | Float64Array>(a: T): T => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T));
    return {
      length: n,
      ids: t.ids.slice(0, n),
      wkb,
      wkbOffsets,
      bbox: own(t.bbox),
      codes: own(t.codes),
      times: t.times === null ? null : own(t.times),
      rerank: t.rerank === null ? null : own(t.rerank),
      factors: t.factors === null ? null : own(t.factors),
      attributes: t.attributes,
    };
  }
  let wkbBytes = 0;
  if (t.wkb.length) for (const i of rows) wkbBytes += (t.wkb[i] as Uint8Array).length;
  const wkb = new Uint8Array(wkbBytes);
  const wkbOffsets = new Int32Array(t.wkb.length ? n + 1 : 0);
  const bbox = new Float64Array(4 * n);
  const codes = new Uint8Array(n * codeSize);
  const times = t.times === null ? null : new Float64Array(n);
  const rerank = t.rerank === null ? null : new Uint8Array(n * rerankSize);
  const factors = t.factors === null ? null : new Float32Array(3 * n);
  const attributes: Record<string, unknown[]> = {};
  for (const key of Object.keys(t.attributes)) attributes[key] = [];
  let at = 0;
  rows.forEach((i, r) => {
    if (t.wkb.length) {
      const g = t.wkb[i] as Uint8Array;
      wkb.set(g, at);
      wkbOffsets[r] = at;
      at += g.length;
    }
    bbox.set(t.bbox.subarray(4 * i, 4 * i + 4), 4 * r);
    codes.set(t.codes.subarray(i * codeSize, (i + 1) * codeSize), r * codeSize);
    if (times !== null && t.times !== null) times[r] = t.times[i] as number;
    if (rerank !== null && t.rerank !== null) rerank.set(t.rerank.subarray(i * rerankSize, (i + 1) * rerankSize), r * rerankSize);
    if (factors !== null && t.factors !== null) factors.set(t.factors.subarray(3 * i, 3 * i + 3), 3 * r);
    for (const [key, values] of Object.entries(t.attributes)) (attributes[key] as unknown[]).push(values[i]);
  });
  if (wkbOffsets.length) wkbOffsets[n] = at;
  return { length: n, ids: rows.map((i) => t.ids[i] as string), wkb, wkbOffsets, bbox, codes, times, rerank, factors, attributes };
}

/** The buffers of a packed table (to transfer). */
export function packedBuffers(p: PackedTable): ArrayBuffer[] {
  const out = [p.wkb.buffer, p.wkbOffsets.buffer, p.bbox.buffer, p.codes.buffer];
  if (p.times !== null) out.push(p.times.buffer);
  if (p.rerank !== null) out.push(p.rerank.buffer);
  if (p.factors !== null) out.push(p.factors.buffer);
  return out as ArrayBuffer[];
}

/** A packed table as `Candidates` whose rows are all kept (views, no copies). */
export function unpackTable(p: PackedTable): Candidates {
  const wkb: Uint8Array[] = [];
  if (p.wkbOffsets.length) {
    for (let r = 0; r < p.length; r++) wkb.push(p.wkb.subarray(p.wkbOffsets[r] as number, p.wkbOffsets[r + 1] as number));
  }
  return {
    length: p.length,
    ids: p.ids,
    wkb,
    bbox: p.bbox,
    codes: p.codes,
    times: p.times,
    rerank: p.rerank,
    factors: p.factors,
    attributes: p.attributes,
  };
}

/** A worker's side: corpora by URL, each over its own store. */
export class ReadHandler {
  private readonly corpora = new Map<string, WebCorpus>();

  constructor(private readonly storeFor: (url: string) => FileStore = (url) => new HttpStore(url)) {}

  async answer(req: ReadRequest): Promise<Answer<ReadResponse>> {
    try {
      let corpus = this.corpora.get(req.url);
      if (corpus === undefined) {
        corpus = new WebCorpus(req.url, req.info, [], req.extent, this.storeFor(req.url));
        this.corpora.set(req.url, corpus);
      }
      const before = corpus.bytesRead;
      const t = await corpus.readShard(req.row, req.options);
      const rows = exactRows(t, req.region);
      const table = packTable(t, rows, req.info.codeSize, req.info.rerankCodeSize ?? 0);
      return { response: { id: req.id, table, bytes: corpus.bytesRead - before }, transfer: packedBuffers(table) };
    } catch (err) {
      const kind = err instanceof TerrabitError ? err.kind : "read";
      const message = err instanceof Error ? err.message : String(err);
      return { response: { id: req.id, error: { message, kind } }, transfer: [] };
    }
  }
}

/** The part of `Worker` the pool uses (tests pass a fake). */
export type ReaderWorkerLike = PoolWorker<ReadRequest, ReadResponse>;

/** Workers reading shards; a request goes to the worker with the fewest shard bytes pending. */
export class ReaderPool {
  private readonly workers: WorkerPool<ReadRequest, ReadResponse, { table: Candidates; bytes: number }>;
  /** Bytes of the shards each worker has been sent and not yet answered. */
  private readonly pending: number[];

  constructor(size: number, factory: () => ReaderWorkerLike) {
    this.workers = new WorkerPool(size, factory, "reading", (response) => {
      if (response.error !== undefined) throw new TerrabitError(response.error.message, response.error.kind);
      return { table: unpackTable(response.table), bytes: response.bytes };
    });
    this.pending = new Array<number>(size).fill(0);
  }

  /**
   * Read one shard's rows meeting `region` exactly (see `WebCorpus.readShard`). Many reads
   * may be sent at once: each worker works through its own, however busy the page is.
   */
  async read(corpus: WebCorpus, row: ManifestRow, options: ReadRequestOptions, region: Region | null): Promise<{ table: Candidates; bytes: number }> {
    let w = 0;
    this.pending.forEach((b, i) => {
      if (b < (this.pending[w] as number)) w = i;
    });
    this.pending[w] = (this.pending[w] as number) + row.bytes;
    try {
      return await this.workers.request(w, { url: corpus.url, info: corpus.info, extent: corpus.extent, row, options, region });
    } finally {
      this.pending[w] = (this.pending[w] as number) - row.bytes;
    }
  }

  terminate(): void {
    this.workers.terminate();
  }
}

/** The page's shared reader pool, or null where Web Workers are unavailable. */
export const defaultReaderPool = sharedPool(
  4,
  2,
  (size) => new ReaderPool(size, () => new Worker(new URL("../../workers/reader.ts", import.meta.url), { type: "module" })),
);
