/**
 * A pool of Web Workers scoring blocks of codes with the WebAssembly kernels
 * (`workers/scorer.ts`): Hamming distances of a prepared query, RaBitQ's asymmetric
 * estimates of the exemplars' float vectors (`asymmetric.ts`), or a fitted classifier's
 * decision values (`classifier.ts`);
 * `navigator.hardwareConcurrency` workers (at most 8), the codes split into one
 * contiguous block per worker, buffers transferred (not copied back). Where there are no
 * workers (node, tests) or few candidates, scoring runs in place.
 */
import { checkAbort, TerrabitError } from "../errors";
import { asymmetricBlock } from "./asymmetric";
import type { AsymmetricJob } from "./asymmetric";
import { decisionValues } from "./classifier";
import type { ClassifierModel } from "./classifier";
import { scoreBlock, scoresFromDistances } from "./exemplars";
import type { PreparedQuery } from "./exemplars";
import { hammingDistancesTS } from "../kernels/hamming";
import type { WasmKernel } from "../kernels/hamming";
import { sharedRabitqKernel } from "../kernels/rabitq";
import type { RabitqKernel } from "../kernels/rabitq";
import { SCORER_POOL_MIN_ROWS } from "./constants";
import { sharedPool, WorkerPool } from "../workerpool";
import type { Answer, PoolWorker } from "../workerpool";


/**
 * What a block is scored by: a Hamming query, RaBitQ's estimate with the block's factors,
 * or a classifier (its decision values `z`).
 */
export type ScoreJob =
  | { kind: "hamming"; query: PreparedQuery }
  | { kind: "asymmetric"; job: AsymmetricJob; factors: Float32Array }
  | { kind: "classifier"; model: ClassifierModel };

export interface ScoreRequest {
  id: number;
  /** A Hamming query (the block's codes are `query.codeSize` bytes each) … */
  query: PreparedQuery;
  /** … or, when present, RaBitQ's asymmetric estimate (3 factors per row of the block). */
  asymmetric?: { job: AsymmetricJob; factors: ArrayBuffer };
  /** … or, when present, a classifier's decision values. */
  classifier?: ClassifierModel;
  /** The block of codes to score; null: the block the worker holds under `key`. */
  codes: ArrayBuffer | null;
  /** Keep the block in the worker under this key (resident scoring); absent: do not keep. */
  key?: string;
}

/** A worker's resident block of codes (see `ScorerPool.score`'s `resident`). */
export interface HeldCodes {
  key: string | null;
  bytes: Uint8Array | null;
}

/** The `query` of an asymmetric request (unused there: the request's `asymmetric` scores). */
const NO_QUERY: PreparedQuery = { codeSize: 1, combine: "mean", invert: false, queries: new Uint8Array(0), positives: 0, negatives: 0, nBits: 8 };

export type ScoreResponse = { id: number; scores: ArrayBuffer; error?: undefined } | { id: number; error: string };

/**
 * What a scoring worker does with one request (the kernel, or the TS fallback). `held`
 * is the worker's resident block: a request with a `key` keeps its codes there, and a
 * request without codes scores the held block (its key must match).
 */
export function answerScoreRequest(
  request: ScoreRequest,
  kernel: WasmKernel | null,
  held: HeldCodes = { key: null, bytes: null },
  rabitq: RabitqKernel | null = null,
): Answer<ScoreResponse> {
  const { id, query, codes, key, asymmetric, classifier } = request;
  try {
    let bytes: Uint8Array;
    if (codes !== null) {
      bytes = new Uint8Array(codes);
      if (key !== undefined) {
        held.key = key;
        held.bytes = bytes;
      }
    } else if (key !== undefined && held.key === key && held.bytes !== null) {
      bytes = held.bytes;
    } else {
      throw new Error(`this worker holds no codes under ${String(key)}`);
    }
    const resident = key !== undefined;
    if (classifier !== undefined) {
      const out = decisionValues(classifier, bytes, 0, Math.floor(bytes.length / classifier.codeSize));
      return { response: { id, scores: out.buffer as ArrayBuffer }, transfer: [out.buffer as ArrayBuffer] };
    }
    if (asymmetric !== undefined) {
      const cs = asymmetric.job.codeSize;
      const n = Math.floor(bytes.length / cs);
      const factors = new Float32Array(asymmetric.factors);
      // the resident kernel keeps `bytes` (the held block) in its memory between requests
      const out = asymmetricBlock(asymmetric.job, bytes, factors, 0, n, resident ? rabitq : null);
      const buffer = out.buffer as ArrayBuffer;
      return { response: { id, scores: buffer }, transfer: [buffer] };
    }
    const cs = query.codeSize;
    const n = Math.floor(bytes.length / cs);
    const out = new Float64Array(n);
    const block = 65536;
    for (let a = 0; a < n; a += block) {
      const b = Math.min(n, a + block);
      let d: Int32Array;
      if (kernel !== null && resident) d = kernel.residentDistances(query.queries, bytes, cs, a, b);
      else if (kernel !== null) d = kernel.distances(query.queries, bytes.subarray(a * cs, b * cs), cs);
      else d = hammingDistancesTS(query.queries, bytes.subarray(a * cs, b * cs), cs);
      scoresFromDistances(query, d, b - a, out.subarray(a, b));
    }
    return { response: { id, scores: out.buffer }, transfer: [out.buffer] };
  } catch (err) {
    return { response: { id, error: String(err) }, transfer: [] };
  }
}

/** The part of `Worker` the pool uses (tests pass a fake). */
export type WorkerLike = PoolWorker<ScoreRequest, ScoreResponse>;

export interface ScoreOptions {
  signal?: AbortSignal;
  /**
   * Keep the codes in the workers (each its block, in its kernel's memory) so that the
   * next `score` of the same array object sends only the query. The caller must not
   * change `codes` afterwards (candidate tables are immutable once built).
   */
  resident?: boolean;
}

export class ScorerPool {
  private readonly workers: WorkerPool<ScoreRequest, ScoreResponse, Float64Array>;
  /** Keys of the code arrays scored resident (by object identity). */
  private readonly keys = new WeakMap<Uint8Array, number>();
  private nextKey = 1;
  /** The key of the block each worker holds. */
  private readonly held: (string | null)[] = [];

  constructor(size: number, factory: () => WorkerLike) {
    this.workers = new WorkerPool(size, factory, "scoring", (response): Float64Array => {
      if (response.error !== undefined) throw new TerrabitError(`a scoring worker failed: ${response.error}`, "worker");
      return new Float64Array(response.scores);
    });
  }

  get size(): number {
    return this.workers.size;
  }

  /** Score `n` codes, split across the workers; resolves to `n` scores in order. */
  score(
    query: PreparedQuery,
    codes: Uint8Array,
    n: number,
    options: AbortSignal | ScoreOptions = {},
  ): Promise<Float64Array> {
    return this.scoreJob({ kind: "hamming", query }, codes, n, options);
  }

  /** Score `n` codes by `job` (Hamming or asymmetric), split across the workers. */
  async scoreJob(
    job: ScoreJob,
    codes: Uint8Array,
    n: number,
    options: AbortSignal | ScoreOptions = {},
  ): Promise<Float64Array> {
    const opts: ScoreOptions = options instanceof AbortSignal ? { signal: options } : options;
    const signal = opts.signal;
    const cs = job.kind === "hamming" ? job.query.codeSize : job.kind === "asymmetric" ? job.job.codeSize : job.model.codeSize;
    let codesKey: number | null = null;
    if (opts.resident) {
      codesKey = this.keys.get(codes) ?? this.nextKey++;
      this.keys.set(codes, codesKey);
    }
    // one block per worker (a resident worker holds one block; smaller blocks to pipeline
    // the copies measured no faster in Chromium)
    const parts = Math.min(this.workers.size, Math.max(1, Math.ceil(n / 16384)));
    const per = Math.ceil(n / parts);
    const jobs: Promise<Float64Array>[] = [];
    for (let p = 0; p < parts; p++) {
      const a = p * per;
      const b = Math.min(n, a + per);
      if (a >= b) break;
      const w = p % this.workers.size;
      const key = codesKey === null ? undefined : `${codesKey}:${a}:${b}:${cs}`;
      const send = key === undefined || this.held[w] !== key;
      const block = send ? codes.slice(a * cs, b * cs) : null; // a copy we can transfer
      if (key !== undefined) this.held[w] = key;
      const transfer: ArrayBuffer[] = block === null ? [] : [block.buffer];
      const buffer = block === null ? null : block.buffer;
      const msg: Omit<ScoreRequest, "id"> =
        job.kind === "hamming"
          ? { query: job.query, codes: buffer }
          : job.kind === "classifier"
            ? { query: NO_QUERY, codes: buffer, classifier: job.model }
            : { query: NO_QUERY, codes: buffer, asymmetric: { job: job.job, factors: job.factors.slice(3 * a, 3 * b).buffer } };
      if (msg.asymmetric !== undefined) transfer.push(msg.asymmetric.factors);
      if (key !== undefined) msg.key = key;
      jobs.push(
        this.workers.request(w, msg, transfer).catch((e: unknown) => {
          this.held[w] = null;
          throw e;
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
    this.workers.terminate();
  }
}

/** The page's shared pool, or null where Web Workers are unavailable. */
export const defaultPool = sharedPool(
  8,
  4,
  (size) => new ScorerPool(size, () => new Worker(new URL("../../workers/scorer.ts", import.meta.url), { type: "module" })),
);

/**
 * Scores of `n` candidates by the worker pool when there are many (from
 * `SCORER_POOL_MIN_ROWS`) and workers exist, else — or when the pool fails for another
 * reason than an abort — in place on this thread.
 */
async function pooledOrInPlace(
  n: number,
  signal: AbortSignal | undefined,
  inPool: (pool: ScorerPool) => Promise<Float64Array>,
  inPlace: () => Float64Array,
): Promise<Float64Array> {
  checkAbort(signal);
  const pool = n >= SCORER_POOL_MIN_ROWS ? defaultPool() : null;
  if (pool !== null) {
    try {
      return await inPool(pool);
    } catch (err) {
      if (err instanceof TerrabitError && err.kind === "abort") throw err;
      console.warn("terrabit: worker scoring failed, scoring in place:", err);
    }
  }
  return inPlace();
}

/** Score candidates: the worker pool for many rows, in place otherwise. */
export async function scoreCandidates(
  query: PreparedQuery,
  codes: Uint8Array,
  n: number,
  signal?: AbortSignal,
  resident = false,
): Promise<Float64Array> {
  return pooledOrInPlace(
    n,
    signal,
    (pool) => pool.score(query, codes, n, { signal, resident }),
    () => scoreBlock(query, codes.subarray(0, n * query.codeSize)),
  );
}

/**
 * RaBitQ's asymmetric scores of `n` candidates (`asymmetric.ts`): the worker pool for
 * many rows (codes resident there between searches of a region), in place otherwise.
 */
export async function scoreAsymmetric(
  job: AsymmetricJob,
  codes: Uint8Array,
  factors: Float32Array,
  n: number,
  signal?: AbortSignal,
): Promise<Float64Array> {
  return pooledOrInPlace(
    n,
    signal,
    (pool) => pool.scoreJob({ kind: "asymmetric", job, factors }, codes, n, { signal, resident: true }),
    () => asymmetricBlock(job, codes, factors, 0, n, sharedRabitqKernel()),
  );
}

/**
 * A fitted classifier's decision values `z` of `n` candidates (`classifier.ts`): the worker
 * pool for many rows (codes resident there between searches of a region), in place
 * otherwise.
 */
export async function scoreClassifier(
  model: ClassifierModel,
  codes: Uint8Array,
  n: number,
  signal?: AbortSignal,
): Promise<Float64Array> {
  return pooledOrInPlace(
    n,
    signal,
    (pool) => pool.scoreJob({ kind: "classifier", model }, codes, n, { signal, resident: true }),
    () => decisionValues(model, codes, 0, n),
  );
}
