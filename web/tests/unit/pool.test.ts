import { describe, expect, it } from "vitest";
import { prepareQuery, scoreBlock } from "../../src/lib/exemplars";
import { WasmKernel } from "../../src/lib/hamming";
import { answerScoreRequest, ScorerPool } from "../../src/lib/pool";
import type { ScoreRequest, ScoreResponse, WorkerLike } from "../../src/lib/pool";

/** A Worker stand-in running the worker's code asynchronously in this thread. */
class FakeWorker implements WorkerLike {
  onmessage: ((ev: MessageEvent<ScoreResponse>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  messages = 0;
  transferred = 0;
  private readonly kernel = new WasmKernel();

  postMessage(message: ScoreRequest, transfer: Transferable[]): void {
    this.messages += 1;
    this.transferred += transfer.length;
    setTimeout(() => {
      const { response } = answerScoreRequest(message, this.kernel);
      this.onmessage?.({ data: response } as MessageEvent<ScoreResponse>);
    }, 0);
  }

  terminate(): void {}
}

describe("ScorerPool", () => {
  it("splits codes across workers, transfers buffers and keeps row order", async () => {
    const n = 100_003;
    const codes = Uint8Array.from({ length: n * 16 }, (_, i) => (i * 2654435761) >>> 24);
    const query = prepareQuery(codes.slice(0, 32), codes.slice(32, 48), 16, "mean", false);
    const fakes: FakeWorker[] = [];
    const pool = new ScorerPool(4, () => {
      const w = new FakeWorker();
      fakes.push(w);
      return w;
    });
    const got = await pool.score(query, codes, n);
    expect(Array.from(got)).toEqual(Array.from(scoreBlock(query, codes)));
    expect(fakes.map((f) => f.messages)).toEqual([1, 1, 1, 1]);
    expect(fakes.every((f) => f.transferred === 1)).toBe(true);
    expect(codes.length).toBe(n * 16); // the caller's codes are not detached
    pool.terminate();
  });
  it("answers errors as errors", () => {
    const bad = { id: 3, query: { codeSize: 0 }, codes: new ArrayBuffer(4) } as unknown as ScoreRequest;
    const { response } = answerScoreRequest(bad, null);
    expect(response.id).toBe(3);
    expect(response.error).toMatch(/Error/);
  });
});
