/**
 * Chromium benchmark page (`benchmarks/web_kernel_chromium.py` drives it): on ONE set of
 * random codes, score every candidate against one query and take the top k with
 *   (a) ours: the WebAssembly kernel in the scorer worker pool (`lib/search/scorerpool.ts`, the code
 *       the app runs) + bounded-heap top-k (`lib/search/select.ts` `best`), and
 *   (b) a reference scorer written like the reference demo's: a 256-entry byte popcount
 *       lookup table on one thread, then a full sort of all candidates.
 * Runs interleaved; `window.bench(n, codeSize, k, repeats)` resolves to the timings.
 * `window.rabitqBench` (`./rabitq.ts`) times the RaBitQ 4-bit-query kernel against it.
 */
import { openCorpus } from "../../src/lib/corpus/reader";
import { prepareQuery } from "../../src/lib/search/exemplars";
import { search, startReaders } from "../../src/lib/search/query";
import { DEFAULT_QUERY } from "../../src/lib/urlstate";
import type { BBox, Query, ViewName } from "../../src/lib/types";
import { defaultPool } from "../../src/lib/search/scorerpool";
import { best } from "../../src/lib/search/select";
import { rabitqBench } from "./rabitq";

interface BenchResult {
  n: number;
  codeSize: number;
  k: number;
  workers: number;
  /** Ours with the codes resident in the workers (as the reference's sit in its thread). */
  oursMs: number[];
  /** Ours shipping a fresh copy of the codes to the workers on every call. */
  oursShippedMs: number[];
  referenceMs: number[];
  oursIds: number[];
  referenceIds: number[];
  agree: boolean;
}

/** Deterministic random bytes (xorshift32), 4 at a time. */
function randomCodes(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const words = new Uint32Array(out.buffer, 0, bytes >>> 2);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    words[i] = s;
  }
  return out;
}

/** The reference demo's way: byte lookup table, one thread, full sort. */
const LUT = (() => {
  const t = new Uint8Array(256);
  for (let v = 1; v < 256; v++) t[v] = (v & 1) + (t[v >> 1] as number);
  return t;
})();

function referenceTopK(query: Uint8Array, codes: Uint8Array, n: number, codeSize: number, k: number): number[] {
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * codeSize;
    let d = 0;
    for (let b = 0; b < codeSize; b++) d += LUT[((query[b] as number) ^ (codes[at + b] as number)) & 255] as number;
    scores[i] = d;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  return order.slice(0, k);
}

async function oursTopK(
  query: Uint8Array,
  codes: Uint8Array,
  n: number,
  codeSize: number,
  k: number,
  resident: boolean,
): Promise<number[]> {
  const pool = defaultPool();
  if (pool === null) throw new Error("no Web Workers in this page");
  const prepared = prepareQuery(query, null, codeSize, "mean", false);
  const scores = await pool.score(prepared, codes, n, { resident });
  const sub = best(scores, k);
  sub.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  return sub.slice(0, k);
}

async function bench(n: number, codeSize: number, k: number, repeats: number): Promise<BenchResult> {
  const codes = randomCodes(n * codeSize, 12345);
  const query = randomCodes(codeSize, 777);
  const pool = defaultPool();
  // warm up both on the full data (worker start, WASM compile and memory growth, JIT)
  await oursTopK(query, codes, n, codeSize, k, false);
  await oursTopK(query, codes, n, codeSize, k, true);
  referenceTopK(query, codes, n, codeSize, k);
  const oursMs: number[] = [];
  const oursShippedMs: number[] = [];
  const referenceMs: number[] = [];
  let oursIds: number[] = [];
  let shippedIds: number[] = [];
  let referenceIds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // interleaved, rotating which goes first
    const runs: (() => Promise<void>)[] = [
      async () => {
        const t0 = performance.now();
        oursIds = await oursTopK(query, codes, n, codeSize, k, true);
        oursMs.push(performance.now() - t0);
      },
      async () => {
        const t0 = performance.now();
        shippedIds = await oursTopK(query, codes, n, codeSize, k, false);
        oursShippedMs.push(performance.now() - t0);
      },
      async () => {
        const t0 = performance.now();
        referenceIds = referenceTopK(query, codes, n, codeSize, k);
        referenceMs.push(performance.now() - t0);
      },
    ];
    for (let i = 0; i < r % 3; i++) runs.push(runs.shift() as () => Promise<void>);
    for (const run of runs) await run();
  }
  const same = (x: number[]): boolean => x.length === referenceIds.length && x.every((v, i) => v === referenceIds[i]);
  const agree = same(oursIds) && same(shippedIds);
  return { n, codeSize, k, workers: pool?.size ?? 0, oursMs, oursShippedMs, referenceMs, oursIds, referenceIds, agree };
}

/**
 * The library alone (no map): open the corpus at `url` and search `bbox` for the rows like
 * row `id` (`view`, top k), timing the phases: open, shards read (last progress report),
 * the rest (scoring, the view, the result rows), total.
 */
async function searchBench(
  url: string,
  bbox: BBox,
  id: string,
  k: number,
  view: ViewName = "topk",
): Promise<Record<string, number>> {
  const t0 = performance.now();
  const corpus = await openCorpus(url);
  startReaders(corpus);
  const t1 = performance.now();
  let readDone = t1;
  const query: Query = {
    ...DEFAULT_QUERY,
    regions: [{ kind: "bbox", bbox }],
    positives: [{ kind: "id", id }],
    negatives: [],
    view,
    k,
  };
  const result = await search(corpus, query, {
    onProgress: (p) => {
      if (p.shardsDone === p.shardsTotal) readDone = performance.now();
    },
  });
  const t2 = performance.now();
  return {
    openMs: t1 - t0,
    readMs: readDone - t1,
    afterReadMs: t2 - readDone,
    searchMs: t2 - t1,
    rows: result.rows.length,
    candidates: result.stats.candidates,
  };
}

/** Read every shard of the corpus at `url` on this thread, one after another (profiling). */
async function readBench(url: string): Promise<Record<string, number>> {
  const corpus = await openCorpus(url);
  startReaders(corpus);
  const t0 = performance.now();
  let rows = 0;
  for (const m of corpus.manifest) {
    const t = await corpus.readShard(m, { boxes: null, window: null, geometry: true, rerank: false, attributes: true });
    rows += t.length;
  }
  return { rows, ms: performance.now() - t0 };
}

(window as unknown as { readBench: typeof readBench }).readBench = readBench;
(window as unknown as { rabitqBench: typeof rabitqBench }).rabitqBench = rabitqBench;
(window as unknown as { bench: typeof bench; searchBench: typeof searchBench }).bench = bench;
(window as unknown as { searchBench: typeof searchBench }).searchBench = searchBench;
(document.getElementById("out") as HTMLElement).textContent = "ready";
