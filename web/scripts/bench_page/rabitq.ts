/**
 * RaBitQ in the benchmark page (`benchmarks/web_rabitq_chromium.py` drives it): on ONE set of
 * codes fetched from `base` (`meta.json`, `codes.bin`, `factors.bin`, written by Python),
 * on one thread with the codes resident in each kernel's linear memory, interleaved:
 *   (a) the 1-bit symmetric Hamming kernel (`lib/kernels/hamming.ts`, one query code),
 *   (b) the 4-bit-query RaBitQ kernel (`lib/kernels/rabitq.ts`, the query's bit planes),
 *   (c) the whole RaBitQ query: rotate + quantize, (b), the estimator (`lib/search/rabitq.ts`)
 *       and the top k, and (d) the Hamming kernel + top k, for comparison.
 * Also returns the estimator's top k and a sample of its scores (both metrics) for Python to
 * compare with its own `rabitq_scores(..., query_bits=4)`.
 */
import { WasmKernel } from "../../src/lib/kernels/hamming";
import { RabitqKernel } from "../../src/lib/kernels/rabitq";
import { decodeFactors } from "../../src/lib/corpus/factors";
import { prepareRabitqQuery, rabitqCodec, rabitqEstimates } from "../../src/lib/search/rabitq";
import type { RabitqMetric } from "../../src/lib/search/rabitq";
import { best } from "../../src/lib/search/select";

interface Meta {
  n: number;
  codeSize: number;
  factorWidth: number;
  codec: unknown;
  query: number[];
  /** Rows whose scores come back for the comparison with Python. */
  sample: number[];
}

/** The metrics compared with Python's `rabitq_scores`. */
type Compared = Extract<RabitqMetric, "ip" | "l2">;

export interface RabitqBenchResult {
  n: number;
  codeSize: number;
  hammingKernelMs: number[];
  rabitqKernelMs: number[];
  hammingTopkMs: number[];
  rabitqQueryMs: number[];
  /** Per metric: the top k (ascending score, ties by row) and the sampled rows' scores. */
  top: Record<Compared, number[]>;
  sampleScores: Record<Compared, number[]>;
  hammingChecksum: number;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function topK(scores: Float64Array, k: number): number[] {
  const sub = best(scores, k);
  sub.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  return sub.slice(0, k);
}

export async function rabitqBench(base: string, k: number, repeats: number): Promise<RabitqBenchResult> {
  const meta = (await (await fetch(base + "meta.json")).json()) as Meta;
  const codes = await fetchBytes(base + "codes.bin");
  const factors = decodeFactors(await fetchBytes(base + "factors.bin"), meta.factorWidth);
  const codec = rabitqCodec(meta.codec);
  if (codec === null) throw new Error("meta.json holds no rabitq codec");
  const { n, codeSize: cs } = meta;
  if (codes.length !== n * cs || factors.length !== 3 * n) throw new Error("codes or factors of the wrong size");
  const hk = new WasmKernel();
  const rk = new RabitqKernel();
  const hammingQuery = codes.slice(0, cs); // row 0's code: a 1-bit query on the same data
  const planes = prepareRabitqQuery(codec, meta.query).planes;
  // warm up: copy the codes into both kernels' memories, compile, JIT
  hk.residentDistances(hammingQuery, codes, cs, 0, n);
  rk.residentPlaneDots(planes, codes, cs, 0, n);
  const res: RabitqBenchResult = {
    n,
    codeSize: cs,
    hammingKernelMs: [],
    rabitqKernelMs: [],
    hammingTopkMs: [],
    rabitqQueryMs: [],
    top: { ip: [], l2: [] },
    sampleScores: { ip: [], l2: [] },
    hammingChecksum: 0,
  };
  const runs: (() => void)[] = [
    () => {
      const t0 = performance.now();
      const d = hk.residentDistances(hammingQuery, codes, cs, 0, n);
      res.hammingKernelMs.push(performance.now() - t0);
      res.hammingChecksum = d.reduce((a, b) => a + b, 0);
    },
    () => {
      const t0 = performance.now();
      rk.residentPlaneDots(planes, codes, cs, 0, n);
      res.rabitqKernelMs.push(performance.now() - t0);
    },
    () => {
      const t0 = performance.now();
      const d = hk.residentDistances(hammingQuery, codes, cs, 0, n);
      topK(Float64Array.from(d), k);
      res.hammingTopkMs.push(performance.now() - t0);
    },
    () => {
      const t0 = performance.now();
      const p = prepareRabitqQuery(codec, meta.query);
      const scores = rabitqEstimates(p, rk.residentPlaneDots(p.planes, codes, cs, 0, n), factors, "ip");
      res.top.ip = topK(scores, k);
      res.rabitqQueryMs.push(performance.now() - t0);
    },
  ];
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < runs.length; i++) (runs[(i + r) % runs.length] as () => void)();
  }
  const p = prepareRabitqQuery(codec, meta.query);
  const dots = rk.residentPlaneDots(p.planes, codes, cs, 0, n);
  for (const metric of ["ip", "l2"] as Compared[]) {
    const scores = rabitqEstimates(p, dots, factors, metric);
    res.top[metric] = topK(scores, k);
    res.sampleScores[metric] = meta.sample.map((i) => scores[i] as number);
  }
  return res;
}
