/**
 * Views in a Web Worker (`workers/views.ts`): ranking every candidate (a sort by score
 * and id), and the neighbour work of the outlier (distances to a reference sample),
 * surprise and gradient (nearest candidates on the ground) views, and the change view's
 * distances between each place's two codes, off the page's thread.
 * The worker gets a copy of what the view reads (scores, ids, and the codes or boxes the
 * view needs) and sends its output back transferred. Where there are no workers (node,
 * tests) or few candidates, the view runs in place: the same function, the same output.
 */
import { anchors } from "../corpus/candidates";
import type { Candidates } from "../corpus/candidates";
import { checkAbort, TerrabitError } from "../errors";
import type { Query, ViewName } from "../types";
import { sharedPool, WorkerPool } from "../workerpool";
import type { Answer, PoolWorker } from "../workerpool";
import { VIEW_POOL_MIN_ROWS } from "./constants";
import { change, gradient, heatmap, outlier, surprise, threshold, topk } from "./views";
import type { ViewOutput } from "./views";

/** The query fields a view reads. */
export type ViewJob = Pick<Query, "view" | "k" | "threshold">;

/**
 * What a view reads of the candidates (`codes` for outlier and surprise, `bbox` for
 * surprise and gradient). The change view reads the places: their later rows' ids, and
 * either the earlier and later codes (`codes` and `later`) or, with exemplars, each place's
 * `s(later) - s(earlier)` in `scores`.
 */
export interface ViewInput {
  scores: Float64Array;
  ids: string[];
  codes: Uint8Array | null;
  codeSize: number;
  bbox: Float64Array | null;
  /** change view by codes: the later year's codes (`codes` holds the earlier year's). */
  later?: Uint8Array | null;
}

/** Which candidate columns `view` reads besides scores and ids. */
export function viewNeeds(view: ViewName): { codes: boolean; bbox: boolean } {
  return { codes: view === "outlier" || view === "surprise", bbox: view === "surprise" || view === "gradient" };
}

/** The view of `job` over `input` (as `terrabit.search.views`). */
export function computeView(job: ViewJob, input: ViewInput): ViewOutput {
  const { scores, ids, codes, codeSize, bbox } = input;
  const need = viewNeeds(job.view);
  if ((need.codes && codes === null) || (need.bbox && bbox === null)) {
    throw new TerrabitError(`the ${job.view} view was given no ${need.codes && codes === null ? "codes" : "boxes"}`);
  }
  const ground = (): { lon: Float64Array; lat: Float64Array } =>
    anchors({ length: ids.length, bbox: bbox as Float64Array } as Candidates);
  switch (job.view) {
    case "topk":
      return topk(scores, job.k, ids);
    case "heatmap":
      return heatmap(scores, ids);
    case "threshold":
      return threshold(scores, job.threshold, ids, { kDefault: job.k });
    case "outlier":
      return outlier(codes as Uint8Array, codeSize, ids);
    case "surprise": {
      const { lon, lat } = ground();
      return surprise(codes as Uint8Array, codeSize, lon, lat, ids);
    }
    case "gradient": {
      const { lon, lat } = ground();
      return gradient(scores, lon, lat, ids);
    }
    case "change": {
      const later = input.later ?? null;
      if (later !== null && codes === null) throw new TerrabitError("the change view was given no earlier codes");
      return change(later === null ? { kind: "scores", delta: scores } : { kind: "codes", earlier: codes as Uint8Array, later, codeSize }, job.k, ids);
    }
  }
}

export interface ViewRequest {
  id: number;
  job: ViewJob;
  input: ViewInput;
}

export type ViewResponse =
  | { id: number; output: ViewOutput; error?: undefined }
  | { id: number; error: { message: string; kind: string } };

/** The buffers of a view's output (to transfer; each view's four arrays own theirs). */
function outputBuffers(v: ViewOutput): ArrayBuffer[] {
  return [v.scores.buffer, v.rank.buffer, v.value.buffer, v.shown.buffer] as ArrayBuffer[];
}

/** What the view worker does with one request. */
export function answerViewRequest(request: ViewRequest): Answer<ViewResponse> {
  try {
    const output = computeView(request.job, request.input);
    return { response: { id: request.id, output }, transfer: outputBuffers(output) };
  } catch (err) {
    const kind = err instanceof TerrabitError ? err.kind : "view";
    return { response: { id: request.id, error: { message: err instanceof Error ? err.message : String(err), kind } }, transfer: [] };
  }
}

/** The part of `Worker` the pool uses (tests pass a fake). */
export type ViewWorkerLike = PoolWorker<ViewRequest, ViewResponse>;

/** A worker computing views. */
export class ViewPool {
  private readonly workers: WorkerPool<ViewRequest, ViewResponse, ViewOutput>;

  constructor(factory: () => ViewWorkerLike) {
    this.workers = new WorkerPool(1, factory, "view", (response) => {
      if (response.error !== undefined) throw new TerrabitError(response.error.message, response.error.kind);
      return response.output;
    });
  }

  /** The view of `job` over a copy of `input` (the caller's arrays stay usable). */
  run(job: ViewJob, input: ViewInput): Promise<ViewOutput> {
    const copy: ViewInput = {
      scores: input.scores.slice(),
      ids: input.ids,
      codes: input.codes === null ? null : input.codes.slice(),
      codeSize: input.codeSize,
      bbox: input.bbox === null ? null : input.bbox.slice(),
      later: input.later == null ? null : input.later.slice(),
    };
    const transfer: ArrayBuffer[] = [copy.scores.buffer as ArrayBuffer];
    if (copy.codes !== null) transfer.push(copy.codes.buffer as ArrayBuffer);
    if (copy.bbox !== null) transfer.push(copy.bbox.buffer as ArrayBuffer);
    if (copy.later != null) transfer.push(copy.later.buffer as ArrayBuffer);
    return this.workers.request(0, { job, input: copy }, transfer);
  }

  terminate(): void {
    this.workers.terminate();
  }
}

/** The page's view worker, or null where Web Workers are unavailable. */
export const defaultViewPool = sharedPool(
  1,
  1,
  () => new ViewPool(() => new Worker(new URL("../../workers/views.ts", import.meta.url), { type: "module" })),
);

/**
 * The view of `query` over the `n` candidates `c` scored `scores`: in the view worker
 * for many candidates, in place for few (or where the worker fails).
 */
export async function runView(
  job: ViewJob,
  scores: Float64Array,
  c: Pick<Candidates, "ids" | "codes" | "bbox" | "length">,
  codeSize: number,
  signal?: AbortSignal,
): Promise<ViewOutput> {
  const n = c.length;
  const need = viewNeeds(job.view);
  const input: ViewInput = {
    scores,
    ids: c.ids,
    codes: need.codes ? c.codes.subarray(0, n * codeSize) : null,
    codeSize,
    bbox: need.bbox ? c.bbox.subarray(0, 4 * n) : null,
  };
  return runViewOn(job, input, signal);
}

/** The view of `job` over `input` (`ids.length` rows): in the view worker for many rows, in place for few. */
export async function runViewOn(job: ViewJob, input: ViewInput, signal?: AbortSignal): Promise<ViewOutput> {
  const pool = input.ids.length >= VIEW_POOL_MIN_ROWS ? defaultViewPool() : null;
  if (pool !== null) {
    try {
      const out = await pool.run({ view: job.view, k: job.k, threshold: job.threshold }, input);
      checkAbort(signal);
      return out;
    } catch (err) {
      if (!(err instanceof TerrabitError && err.kind === "worker")) throw err;
      console.warn("terrabit: the view worker failed, computing the view in place:", err);
    }
  }
  return computeView(job, input);
}
