/**
 * The classifier's work off the page (`workers/classifier.ts`): picking the background
 * rows (a sort of every candidate's id) and fitting the model (`classifier.ts`; hundreds
 * of milliseconds for 1024-bit codes). Scoring the candidates by the fitted model runs in
 * the scoring workers, where the codes are resident (`scorerpool.ts`). Where there are no
 * workers (node, tests), or the worker fails, the same functions run in place.
 */
import { checkAbort, TerrabitError } from "../errors";
import { sharedPool, WorkerPool } from "../workerpool";
import type { Answer, PoolWorker } from "../workerpool";
import { backgroundRows, fitTraining } from "./classifier";
import type { LogisticFit, TrainingSet } from "./classifier";
import { VIEW_POOL_MIN_ROWS } from "./constants";

/** Pick the background rows of the candidates `background` (their ids), or fit on `training`. */
export interface ClassifierRequest {
  id: number;
  background?: string[];
  training?: TrainingSet;
}

export type ClassifierResponse =
  | { id: number; rows: Int32Array; error?: undefined }
  | { id: number; fit: LogisticFit; error?: undefined }
  | { id: number; error: { message: string; kind: string } };

/** What the classifier worker does with one request. */
export function answerClassifierRequest(request: ClassifierRequest): Answer<ClassifierResponse> {
  try {
    if (request.background !== undefined) {
      const rows = backgroundRows(request.background);
      return { response: { id: request.id, rows }, transfer: [rows.buffer as ArrayBuffer] };
    }
    if (request.training === undefined) throw new TerrabitError("a classifier request needs ids or a training set");
    const fit = fitTraining(request.training);
    return { response: { id: request.id, fit }, transfer: [fit.coef.buffer as ArrayBuffer] };
  } catch (err) {
    const kind = err instanceof TerrabitError ? err.kind : "classifier";
    return { response: { id: request.id, error: { message: err instanceof Error ? err.message : String(err), kind } }, transfer: [] };
  }
}

/** The part of `Worker` the pool uses (tests pass a fake). */
export type ClassifierWorkerLike = PoolWorker<ClassifierRequest, ClassifierResponse>;

/** A worker picking background rows and fitting classifiers. */
export class ClassifierPool {
  private readonly workers: WorkerPool<ClassifierRequest, ClassifierResponse, Int32Array | LogisticFit>;

  constructor(factory: () => ClassifierWorkerLike) {
    this.workers = new WorkerPool(1, factory, "classifier", (response) => {
      if (response.error !== undefined) throw new TerrabitError(response.error.message, response.error.kind);
      return "rows" in response ? response.rows : response.fit;
    });
  }

  /** The background rows of the candidates `ids` (`backgroundRows`). */
  async background(ids: string[]): Promise<Int32Array> {
    return (await this.workers.request(0, { background: ids })) as Int32Array;
  }

  /** The classifier fitted on `training` (`fitTraining`; its codes are copied). */
  async fit(training: TrainingSet): Promise<LogisticFit> {
    return (await this.workers.request(0, { training })) as LogisticFit;
  }

  terminate(): void {
    this.workers.terminate();
  }
}

/** The page's classifier worker, or null where Web Workers are unavailable. */
export const defaultClassifierPool = sharedPool(
  1,
  1,
  () => new ClassifierPool(() => new Worker(new URL("../../workers/classifier.ts", import.meta.url), { type: "module" })),
);

async function inWorker<T>(work: (pool: ClassifierPool) => Promise<T>, inPlace: () => T, use: boolean, signal?: AbortSignal): Promise<T> {
  const pool = use ? defaultClassifierPool() : null;
  if (pool !== null) {
    try {
      const out = await work(pool);
      checkAbort(signal);
      return out;
    } catch (err) {
      if (!(err instanceof TerrabitError && err.kind === "worker")) throw err;
      console.warn("terrabit: the classifier worker failed, working in place:", err);
    }
  }
  return inPlace();
}

/**
 * The background rows of the candidates `ids`: in the worker for many candidates (a sort
 * of all ids), in place for few.
 */
export function classifierBackground(ids: string[], signal?: AbortSignal): Promise<Int32Array> {
  checkAbort(signal);
  return inWorker((pool) => pool.background(ids), () => backgroundRows(ids), ids.length >= VIEW_POOL_MIN_ROWS, signal);
}

/** The classifier fitted on `training`: in the worker wherever there is one (the fit's cost grows with the code size, not the region). */
export function fitClassifier(training: TrainingSet, signal?: AbortSignal): Promise<LogisticFit> {
  checkAbort(signal);
  return inWorker((pool) => pool.fit(training), () => fitTraining(training), true, signal);
}
