/**
 * A pool of Web Workers answering typed requests, and the workers' side of it.
 *
 * Each request carries an id and its response the same id; the buffers listed for
 * transfer move to the worker instead of being copied (and the worker transfers its
 * answer's buffers back). An error answer rejects its own request, a crashed worker
 * rejects every pending request, and `terminate` stops the workers and rejects what is
 * still pending. The scoring pool (`search/scorerpool.ts`) and the reading pool
 * (`corpus/readerpool.ts`) are built on it.
 */
import { TerrabitError } from "./errors";

/** The part of `Worker` a pool uses (tests pass a fake). */
export interface PoolWorker<Req, Res> {
  onmessage: ((ev: MessageEvent<Res>) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  postMessage(message: Req, transfer: Transferable[]): void;
  terminate(): void;
}

/** A worker's answer to one request and the buffers to transfer with it. */
export interface Answer<Res> {
  response: Res;
  transfer: ArrayBuffer[];
}

interface Pending<Out> {
  resolve: (v: Out) => void;
  reject: (e: unknown) => void;
}

/** Workers answering requests `Req` with responses `Res`, which resolve to `Out`. */
export class WorkerPool<Req extends { id: number }, Res extends { id: number }, Out> {
  private readonly slots: { worker: PoolWorker<Req, Res>; busy: number }[];
  private readonly pending = new Map<number, Pending<Out>>();
  private nextId = 1;

  /**
   * `size` workers made by `factory`. `what` the workers do names them in errors ("a
   * scoring worker failed: …", "the scoring pool was closed"); `settle` turns a response
   * into its result, and throws the error to reject the request with for an error answer.
   */
  constructor(
    size: number,
    factory: () => PoolWorker<Req, Res>,
    private readonly what: string,
    settle: (response: Res) => Out,
  ) {
    this.slots = Array.from({ length: size }, () => {
      const slot = { worker: factory(), busy: 0 };
      slot.worker.onmessage = (ev: MessageEvent<Res>) => {
        slot.busy -= 1;
        const p = this.pending.get(ev.data.id);
        if (p === undefined) return;
        this.pending.delete(ev.data.id);
        let out: Out;
        try {
          out = settle(ev.data);
        } catch (err) {
          p.reject(err);
          return;
        }
        p.resolve(out);
      };
      slot.worker.onerror = (ev: ErrorEvent) => {
        for (const p of this.pending.values()) p.reject(new TerrabitError(`a ${what} worker failed: ${ev.message}`, "worker"));
        this.pending.clear();
      };
      return slot;
    });
  }

  get size(): number {
    return this.slots.length;
  }

  /** The worker with the fewest requests in flight (the first of equals). */
  leastBusy(): number {
    let best = 0;
    this.slots.forEach((s, i) => {
      if (s.busy < (this.slots[best] as { busy: number }).busy) best = i;
    });
    return best;
  }

  /** Send `body` to worker `slot`, moving the buffers of `transfer`; resolves to its answer. */
  request(slot: number, body: Omit<Req, "id">, transfer: Transferable[] = []): Promise<Out> {
    const s = this.slots[slot] as { worker: PoolWorker<Req, Res>; busy: number };
    const id = this.nextId++;
    s.busy += 1;
    return new Promise<Out>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      s.worker.postMessage({ id, ...body } as Req, transfer);
    });
  }

  /** Stop the workers; pending requests reject with an "abort" TerrabitError. */
  terminate(): void {
    for (const s of this.slots) s.worker.terminate();
    for (const p of this.pending.values()) p.reject(new TerrabitError(`the ${this.what} pool was closed`, "abort"));
    this.pending.clear();
  }
}

/**
 * A getter of a page-wide pool made on first use by `make(size)`, with
 * `navigator.hardwareConcurrency` workers (at most `maxWorkers`; `fallbackWorkers` when
 * the browser does not tell); the getter returns null where Web Workers are unavailable
 * (node, tests) or cannot be started.
 */
export function sharedPool<P>(maxWorkers: number, fallbackWorkers: number, make: (size: number) => P): () => P | null {
  let pool: P | null | undefined;
  return () => {
    if (pool === undefined) {
      if (typeof Worker === "undefined" || typeof navigator === "undefined") {
        pool = null;
      } else {
        const size = Math.max(1, Math.min(maxWorkers, navigator.hardwareConcurrency || fallbackWorkers));
        try {
          pool = make(size);
        } catch {
          pool = null;
        }
      }
    }
    return pool;
  };
}

/**
 * The worker's side: answer every request posted to this worker with `answer`, posting
 * the response with its buffers transferred (at once for an answer, when it resolves for
 * a promise of one).
 */
export function answerRequests<Req, Res>(answer: (request: Req) => Answer<Res> | Promise<Answer<Res>>): void {
  const scope = self as unknown as {
    onmessage: ((ev: MessageEvent<Req>) => void) | null;
    postMessage(message: Res, transfer: Transferable[]): void;
  };
  scope.onmessage = (ev: MessageEvent<Req>): void => {
    const out = answer(ev.data);
    if (out instanceof Promise) void out.then(({ response, transfer }) => scope.postMessage(response, transfer));
    else scope.postMessage(out.response, out.transfer);
  };
}
