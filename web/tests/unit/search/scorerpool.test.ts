import { describe, expect, it } from "vitest";
import { prepareQuery, scoreBlock } from "../../../src/lib/search/exemplars";
import { WasmKernel } from "../../../src/lib/kernels/hamming";
import { answerScoreRequest, ScorerPool } from "../../../src/lib/search/scorerpool";
import type { HeldCodes, ScoreRequest, ScoreResponse, WorkerLike } from "../../../src/lib/search/scorerpool";
import { asymmetricJob } from "../../../src/lib/search/asymmetric";
import { decodeFactors } from "../../../src/lib/corpus/factors";
import type { WebCorpus } from "../../../src/lib/corpus/reader";
import { RabitqKernel } from "../../../src/lib/kernels/rabitq";
import { must, readJson } from "../helpers";

interface AsymFixture {
  rerank_codec: { state: { d_in_: number } };
  positives: number[];
  rerank_codes: string[];
  scores: number[];
}

function hexRows(rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join("").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** A Worker stand-in running the worker's code asynchronously in this thread. */
class FakeWorker implements WorkerLike {
  readonly held: HeldCodes = { key: null, bytes: null };
  onmessage: ((ev: MessageEvent<ScoreResponse>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  messages = 0;
  transferred = 0;
  private readonly kernel = new WasmKernel();
  private readonly rabitq = new RabitqKernel();

  postMessage(message: ScoreRequest, transfer: Transferable[]): void {
    this.messages += 1;
    this.transferred += transfer.length;
    setTimeout(() => {
      const { response } = answerScoreRequest(message, this.kernel, this.held, this.rabitq);
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
    expect(fakes.every((f) => f.messages >= 1)).toBe(true); // every worker got blocks
    expect(fakes.map((f) => f.messages)).toEqual([1, 1, 1, 1]); // one block each
    expect(fakes.every((f) => f.transferred === f.messages)).toBe(true); // each block transferred
    expect(codes.length).toBe(n * 16); // the caller's codes are not detached
    pool.terminate();
  });
  it("keeps resident codes in the workers: the next query sends no codes", async () => {
    const n = 70_001;
    const codes = Uint8Array.from({ length: n * 128 }, (_, i) => (i * 2654435761) >>> 24);
    const fakes: FakeWorker[] = [];
    const pool = new ScorerPool(2, () => {
      const w = new FakeWorker();
      fakes.push(w);
      return w;
    });
    for (const [a, b] of [[0, 1], [5, 9], [0, 1]] as const) {
      const query = prepareQuery(codes.slice(a * 128, b * 128), null, 128, "mean", false);
      const got = await pool.score(query, codes, n, { resident: true });
      expect(Array.from(got)).toEqual(Array.from(scoreBlock(query, codes)));
    }
    expect(fakes.map((f) => f.messages)).toEqual([3, 3]);
    expect(fakes.map((f) => f.transferred)).toEqual([1, 1]); // the codes went once
    // another array (same bytes, changed one row): sent again, scored afresh
    const other = codes.slice();
    other.fill(0, 0, 128);
    const query = prepareQuery(codes.slice(0, 128), null, 128, "mean", false);
    const got = await pool.score(query, other, n, { resident: true });
    expect(Array.from(got)).toEqual(Array.from(scoreBlock(query, other)));
    expect(got[0]).toBe(scoreBlock(query, other)[0]);
    expect(fakes.map((f) => f.transferred)).toEqual([2, 2]);
    // a plain (non-resident) score in between leaves the kernels correct
    const plain = await pool.score(query, codes, n);
    expect(Array.from(plain)).toEqual(Array.from(scoreBlock(query, codes)));
    const again = await pool.score(query, other, n, { resident: true });
    expect(Array.from(again)).toEqual(Array.from(scoreBlock(query, other)));
    pool.terminate();
  });
  it("refuses a resident request for codes the worker does not hold", () => {
    const query = prepareQuery(new Uint8Array(16), null, 16, "mean", false);
    const { response } = answerScoreRequest({ id: 9, query, codes: null, key: "1:0:5:16" }, null);
    expect(response.error).toMatch(/holds no codes/);
  });
  it("answers errors as errors", () => {
    const bad = { id: 3, query: { codeSize: 0 }, codes: new ArrayBuffer(4) } as unknown as ScoreRequest;
    const { response } = answerScoreRequest(bad, null);
    expect(response.id).toBe(3);
    expect(response.error).toMatch(/Error/);
  });
});

describe("ScorerPool, asymmetric (spec/fixtures/rabitq.json)", () => {
  it("scores RaBitQ estimates in the workers as Python does, codes resident after the first call", async () => {
    const FIX = readJson<{ cases: { d: number; rows: number; codec: { spec: string }; codes: string[]; factors: string[]; asymmetric: AsymFixture }[] }>("rabitq.json");
    const c = must(FIX.cases[0]);
    const a = c.asymmetric;
    const corpus = {
      info: { codec: c.codec, codecSpec: c.codec.spec, dims: c.d, rerankCodeSize: c.d, columns: ["id", "embedding", "rerank", "rabitq"], metadata: { rerank_codec: a.rerank_codec } },
      hasColumn: () => true,
    } as unknown as WebCorpus;
    const ex = a.rerank_codes.map((hex, j) => ({ positive: j < a.positives.length, id: `row ${j}`, rerank: hexRows([hex]) }));
    const codes = hexRows(c.codes);
    const factors = decodeFactors(hexRows(c.factors), 6);
    const job = asymmetricJob(corpus, ex);
    const fakes: FakeWorker[] = [];
    const pool = new ScorerPool(2, () => {
      const w = new FakeWorker();
      fakes.push(w);
      return w;
    });
    const scale = Math.max(...a.scores.map(Math.abs));
    for (let round = 0; round < 2; round++) {
      const got = await pool.scoreJob({ kind: "asymmetric", job, factors }, codes, c.rows, { resident: true });
      expect(got.length).toBe(c.rows);
      let worst = 0;
      for (let i = 0; i < c.rows; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (a.scores[i] as number)));
      expect(worst / scale).toBeLessThan(1e-6);
    }
    // 300 rows: one block, to the first worker; its codes once (then resident), its factors each time
    expect(fakes.map((f) => f.transferred)).toEqual([3, 0]);
    // 60 copies of the rows (18,000: a block per worker): each block's rows and factors line up
    const times = 60;
    const tiled = new Uint8Array(codes.length * times);
    const tiledFactors = new Float32Array(factors.length * times);
    for (let t = 0; t < times; t++) {
      tiled.set(codes, t * codes.length);
      tiledFactors.set(factors, t * factors.length);
    }
    const big = await pool.scoreJob({ kind: "asymmetric", job, factors: tiledFactors }, tiled, c.rows * times, { resident: true });
    let worst = 0;
    for (let i = 0; i < big.length; i++) worst = Math.max(worst, Math.abs((big[i] as number) - (a.scores[i % c.rows] as number)));
    expect(worst / scale).toBeLessThan(1e-6);
    expect(fakes.map((f) => f.messages)).toEqual([3, 1]);
    pool.terminate();
  });
});
