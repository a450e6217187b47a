import { describe, expect, it } from "vitest";
import { TerrabitError } from "../../src/lib/errors";
import { WorkerPool } from "../../src/lib/workerpool";
import type { PoolWorker } from "../../src/lib/workerpool";

interface Req {
  id: number;
  x: number;
}
type Res = { id: number; y: number; error?: undefined } | { id: number; error: string };

/** A worker stand-in that answers only when told to (so tests choose the order). */
class HeldWorker implements PoolWorker<Req, Res> {
  onmessage: ((ev: MessageEvent<Res>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  inbox: { message: Req; transfer: Transferable[] }[] = [];
  terminated = false;

  postMessage(message: Req, transfer: Transferable[]): void {
    this.inbox.push({ message, transfer });
  }

  /** Answer the `i`-th request received: `2 x`, or an error for a negative `x`. */
  answer(i: number): void {
    const { message } = this.inbox[i] as { message: Req };
    const data: Res = message.x < 0 ? { id: message.id, error: `bad x ${message.x}` } : { id: message.id, y: 2 * message.x };
    this.onmessage?.({ data } as MessageEvent<Res>);
  }

  crash(message: string): void {
    this.onerror?.({ message } as ErrorEvent);
  }

  terminate(): void {
    this.terminated = true;
  }
}

function makePool(size: number): { pool: WorkerPool<Req, Res, number>; workers: HeldWorker[] } {
  const workers: HeldWorker[] = [];
  const pool = new WorkerPool<Req, Res, number>(
    size,
    () => {
      const w = new HeldWorker();
      workers.push(w);
      return w;
    },
    "testing",
    (response) => {
      if (response.error !== undefined) throw new TerrabitError(response.error, "worker");
      return response.y;
    },
  );
  return { pool, workers };
}

describe("WorkerPool", () => {
  it("matches answers to requests by id, in any order, and passes the transfer list", async () => {
    const { pool, workers } = makePool(1);
    const buffer = new ArrayBuffer(8);
    const a = pool.request(0, { x: 1 }, [buffer]);
    const b = pool.request(0, { x: 5 });
    const w = workers[0] as HeldWorker;
    expect(w.inbox.map((m) => m.message)).toEqual([{ id: 1, x: 1 }, { id: 2, x: 5 }]);
    expect(w.inbox.map((m) => m.transfer)).toEqual([[buffer], []]);
    w.answer(1);
    w.answer(0);
    expect(await a).toBe(2);
    expect(await b).toBe(10);
  });
  it("sends to the least busy worker (the first of equals)", () => {
    const { pool, workers } = makePool(3);
    expect(pool.size).toBe(3);
    for (let i = 0; i < 4; i++) void pool.request(pool.leastBusy(), { x: i });
    expect(workers.map((w) => w.inbox.length)).toEqual([2, 1, 1]);
    (workers[1] as HeldWorker).answer(0);
    expect(pool.leastBusy()).toBe(1);
  });
  it("rejects a request answered with an error, and only that one", async () => {
    const { pool, workers } = makePool(1);
    const bad = pool.request(0, { x: -1 });
    const good = pool.request(0, { x: 3 });
    const w = workers[0] as HeldWorker;
    w.answer(0);
    w.answer(1);
    await expect(bad).rejects.toThrow("bad x -1");
    expect(await good).toBe(6);
  });
  it("rejects every pending request when a worker crashes", async () => {
    const { pool, workers } = makePool(2);
    const jobs = [pool.request(0, { x: 1 }), pool.request(1, { x: 2 })];
    (workers[0] as HeldWorker).crash("out of memory");
    for (const job of jobs) {
      await expect(job).rejects.toMatchObject({ kind: "worker", message: "a testing worker failed: out of memory" });
    }
  });
  it("terminates the workers and rejects what is pending as aborted", async () => {
    const { pool, workers } = makePool(2);
    const job = pool.request(1, { x: 1 });
    pool.terminate();
    expect(workers.every((w) => w.terminated)).toBe(true);
    await expect(job).rejects.toMatchObject({ kind: "abort", message: "the testing pool was closed" });
  });
});
