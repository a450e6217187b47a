/**
 * A pool of Web Workers scoring blocks of codes with the WebAssembly kernel
 * (`workers/scorer.ts`): `navigator.hardwareConcurrency` workers (at most 8), the codes
 * split into one contiguous block per worker, buffers transferred (not copied back).
 * Where there are no workers (node, tests) or few candidates, scoring runs in place.
 */
import { checkAbort, TerrabitError } from "./errors";
import { scoreBlock, scoresFromDistances } from "./exemplars";
import type { PreparedQuery } from "./exemplars";
import { hammingDistancesTS } from "./hamming";
import type { WasmKernel } from "./hamming";

/** Fewer candidates than this are scored in place (a worker round trip costs more). */
export const POOL_MIN_ROWS = 100_000;

export interface ScoreRequest {
  id: number;
  query: PreparedQuery;
  codes: ArrayBuffer;
}

export type ScoreResponse = { id: number; scores: ArrayBuffer; error?: undefined } | { id: number; error: string };

/** What a scoring worker does with one request (the kernel, or the TS fallback). */
export function answerScoreRequest(request: ScoreRequest, kernel: WasmKernel | null): { response: ScoreResponse; transfer: ArrayBuffer[] } {
  const { id, query, codes } = request;
  try {
    const bytes = new Uint8Array(codes);
    const cs = query.codeSize;
    const n = Math.floor(bytes.length / cs);
    const out = new Float64Array(n);
    const block = 65536;
    for (let a = 0; a < n; a += block) {
      const b = Math.min(n, a + block);
      const part = bytes.subarray(a * cs, b * cs);
      const d = kernel !== null ? kernel.distances(query.queries, part, cs) : hammingDistancesTS(query.queries, part, cs);
      out.set(scoresFromDistances(query, d, b - a), a);
    }
    return { response: { id, scores: out.buffer }, transfer: [out.buffer] };
  } catch (err) {
    return { response: { id, error: String(err) }, transfer: [] };
  }
}

/** The part of `Worker` the pool uses (tests pass a fake). */
export interface WorkerLike {
  onmessage: ((ev: MessageEvent<ScoreResponse>) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  postMessage(message: ScoreRequest, transfer: Transferable[]): void;
  terminate(): void;
}

interface Pending {
  resolve: (v: Float64Array) => void;
  reject: (e: unknown) => void;
}

export class ScorerPool {
  private readonly workers: WorkerLike[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(size: number, factory: () => WorkerLike) {
    this.workers = Array.from({ length: size }, () => {
      const w = factory();
      w.onmessage = (ev: MessageEvent<ScoreResponse>) => {
        const p = this.pending.get(ev.data.id);
        if (p === undefined) return;
        this.pending.delete(ev.data.id);
        if (ev.data.error !== undefined) p.reject(new TerrabitError(`a scoring worker failed: ${ev.data.error}`, "worker"));
        else p.resolve(new Float64Array(ev.data.scores));
      };
      w.onerror = (ev: ErrorEvent) => {
        for (const p of this.pending.values()) p.reject(new TerrabitError(`a scoring worker failed: ${ev.message}`, "worker"));
        this.pending.clear();
      };
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Score `n` codes, split across the workers; resolves to `n` scores in order. */
  async score(query: PreparedQuery, codes: Uint8Array, n: number, signal?: AbortSignal): Promise<Float64Array> {
    const cs = query.codeSize;
    const parts = Math.min(this.workers.length, Math.max(1, Math.ceil(n / 16384)));
    const per = Math.ceil(n / parts);
    const jobs: Promise<Float64Array>[] = [];
    for (let p = 0; p < parts; p++) {
      const a = p * per;
      const b = Math.min(n, a + per);
      if (a >= b) break;
      const block = codes.slice(a * cs, b * cs); // a copy we can transfer
      const id = this.nextId++;
      const worker = this.workers[p % this.workers.length] as WorkerLike;
      jobs.push(
        new Promise<Float64Array>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          const msg: ScoreRequest = { id, query, codes: block.buffer };
          worker.postMessage(msg, [block.buffer]);
        }),
      );
    }
    const blocks = await Promise.all(jobs);
    checkAbort(signal);
    const out = new Float64Array(n);
    let at = 0;
    for (const b of blocks) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
    for (const p of this.pending.values()) p.reject(new TerrabitError("the scoring pool was closed", "abort"));
    this.pending.clear();
  }
}

let POOL: ScorerPool | null | undefined;

/** The page's shared pool, or null where Web Workers are unavailable. */
export function defaultPool(): ScorerPool | null {
  if (POOL === undefined) {
    if (typeof Worker === "undefined" || typeof navigator === "undefined") {
      POOL = null;
    } else {
      const size = Math.max(1, Math.min(8, navigator.hardwareConcurrency || 4));
      try {
        POOL = new ScorerPool(size, () => new Worker(new URL("../workers/scorer.ts", import.meta.url), { type: "module" }));
      } catch {
        POOL = null;
      }
    }
  }
  return POOL;
}

/** Score candidates: the worker pool for many rows, in place otherwise. */
export async function scoreCandidates(
  query: PreparedQuery,
  codes: Uint8Array,
  n: number,
  signal?: AbortSignal,
): Promise<Float64Array> {
  checkAbort(signal);
  const pool = n >= POOL_MIN_ROWS ? defaultPool() : null;
  if (pool !== null) {
    try {
      return await pool.score(query, codes, n, signal);
    } catch (err) {
      if (err instanceof TerrabitError && err.kind === "abort") throw err;
      console.warn("terrabit: worker scoring failed, scoring in place:", err);
    }
  }
  return scoreBlock(query, codes.subarray(0, n * query.codeSize));
}
