import { describe, expect, it } from "vitest";
import { TerrabitError } from "../../../src/lib/errors";
import { answerViewRequest, computeView, ViewPool } from "../../../src/lib/search/viewpool";
import type { ViewInput, ViewRequest, ViewResponse, ViewWorkerLike } from "../../../src/lib/search/viewpool";
import { VIEWS } from "../../../src/lib/types";
import type { ViewName } from "../../../src/lib/types";

/** A Worker stand-in: the worker's code, asynchronously, on a structured clone of each message. */
class FakeViewWorker implements ViewWorkerLike {
  onmessage: ((ev: MessageEvent<ViewResponse>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  transferred: number[] = [];

  postMessage(message: ViewRequest, transfer: Transferable[]): void {
    this.transferred.push(transfer.length);
    const copy = structuredClone(message, { transfer });
    setTimeout(() => {
      const { response, transfer: back } = answerViewRequest(copy);
      this.onmessage?.({ data: structuredClone(response, { transfer: back }) } as MessageEvent<ViewResponse>);
    }, 0);
  }

  terminate(): void {}
}

function input(n: number): ViewInput {
  const codeSize = 4;
  return {
    scores: Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 101) / 7),
    ids: Array.from({ length: n }, (_, i) => `id${(i * 31) % n}`.padStart(8, "0")),
    codes: Uint8Array.from({ length: n * codeSize }, (_, i) => (i * 2654435761) >>> 24),
    codeSize,
    bbox: Float64Array.from({ length: 4 * n }, (_, k) => ((k >> 2) % 37) + (k & 2 ? 0.01 : 0) + (((k >> 2) * 13) % 29) * (k & 1 ? 1 : 0)),
  };
}

describe("the view worker", () => {
  it("computes every view as in place, leaving the caller's arrays usable", async () => {
    const fake = new FakeViewWorker();
    const pool = new ViewPool(() => fake);
    const data = input(500);
    // every view, and the change view by codes too (the later year's codes beside `codes`)
    const byCodes: ViewInput = { ...data, later: data.codes?.slice().reverse() ?? null };
    const runs: [ViewName, ViewInput][] = [...VIEWS.map((v): [ViewName, ViewInput] => [v, data]), ["change", byCodes]];
    for (const [view, given] of runs) {
      const job = { view, k: 7, threshold: null };
      const got = await pool.run(job, given);
      const want = computeView(job, given);
      expect(got.view).toBe(view);
      expect(Array.from(got.rank)).toEqual(Array.from(want.rank));
      expect(Array.from(got.value)).toEqual(Array.from(want.value));
      expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
      expect(Array.from(got.shown)).toEqual(Array.from(want.shown));
      expect(got.extra).toEqual(want.extra);
    }
    expect(data.scores.length).toBe(500); // copies went, not the caller's buffers
    expect(data.codes?.length).toBe(2000);
    expect(byCodes.later?.length).toBe(2000);
    expect(fake.transferred).toEqual([3, 3, 3, 3, 3, 3, 3, 4]);
    pool.terminate();
  });
  it("passes a view's error back with its kind", async () => {
    const pool = new ViewPool(() => new FakeViewWorker());
    const data = input(10);
    data.scores[3] = NaN;
    const err: unknown = await pool.run({ view: "heatmap", k: 5, threshold: null }, data).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerrabitError);
    expect((err as TerrabitError).message).toMatch(/scores must be finite; rows \[3\]/);
    pool.terminate();
  });
});
