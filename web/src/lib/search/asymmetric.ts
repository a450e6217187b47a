/**
 * Asymmetric scoring in a search (Python's `search(..., asymmetric=True)` on a `rabitq`
 * corpus): each exemplar's float vector — its row's decoded `rerank` code — is scored
 * against every candidate's 1-bit code and RaBitQ factors (the `rabitq` column) by the
 * estimated cosine distance (`lib/search/rabitq.ts`, the query quantized to 4 bits), and a
 * candidate's score is `mean_pos (1 - cos) - mean_neg (1 - cos)`. Lower is more similar.
 */
import type { WebCorpus } from "../corpus/reader";
import { FACTOR_COLUMN } from "../corpus/factors";
import { TerrabitError } from "../errors";
import { sharedRabitqKernel, planeDotsTS } from "../kernels/rabitq";
import type { RabitqKernel } from "../kernels/rabitq";
import { prepareRabitqQuery, rabitqCodec, rabitqEstimates } from "./rabitq";
import type { RabitqQuery } from "./rabitq";
import { rerankDecoder, rerankSupported } from "./rerank";

/** Why this corpus cannot be scored asymmetrically, or null when it can. */
export function asymmetricUnavailable(corpus: WebCorpus): string | null {
  if (rabitqCodec(corpus.info.codec) === null) {
    return `its codec is ${JSON.stringify(corpus.info.codecSpec)}, not rabitq (publish it with --codec rabitq)`;
  }
  if (!corpus.hasColumn(FACTOR_COLUMN)) return `it has no ${FACTOR_COLUMN} column of correction factors (republish it)`;
  if (!rerankSupported(corpus)) return "it has no rerank column this app decodes, to give its rows float vectors (publish it with --rerank int8)";
  return null;
}

/** The exemplar fields asymmetric scoring reads. */
export interface AsymmetricExemplar {
  positive: boolean;
  id: string;
  rerank: Uint8Array | null;
}

/**
 * The exemplars' queries prepared for the kernel and their weights (`1 / #positives` for
 * a positive, `-1 / #negatives` for a negative): what a scoring worker needs besides the
 * codes and factors (`asymmetricBlock`). Plain data: it crosses to a worker as it is.
 */
export interface AsymmetricJob {
  codeSize: number;
  queries: RabitqQuery[];
  weights: number[];
}

/** Prepare the exemplars' decoded rerank vectors as RaBitQ queries (see `AsymmetricJob`). */
export function asymmetricJob(corpus: WebCorpus, exemplars: readonly AsymmetricExemplar[]): AsymmetricJob {
  const why = asymmetricUnavailable(corpus);
  const codec = rabitqCodec(corpus.info.codec);
  const decoder = rerankDecoder(corpus);
  if (why !== null || codec === null || decoder === null) {
    throw new TerrabitError(`asymmetric scoring needs a rabitq corpus with a rerank column: ${why ?? "unusable codec"}; turn asymmetric off`);
  }
  const queries: RabitqQuery[] = [];
  const weights: number[] = [];
  for (const positive of [true, false]) {
    const group = exemplars.filter((e) => e.positive === positive);
    for (const e of group) {
      if (e.rerank === null) throw new TerrabitError(`exemplar ${e.id} has no rerank code`);
      const vector = new Float64Array(decoder.dims);
      decoder.decode(e.rerank, vector);
      queries.push(prepareRabitqQuery(codec, vector));
      weights.push((positive ? 1 : -1) / group.length);
    }
  }
  return { codeSize: codec.codeSize, queries, weights };
}

/**
 * `sum_e weight_e * (1 - cos_e)` of codes `[a, b)` of `codes` (and their `factors`, 3 per
 * row, from row `a`): the kernel (`kernel`, the TS fallback when null) keeps `codes`
 * resident between calls, so the caller must not change it afterwards.
 */
export function asymmetricBlock(
  job: AsymmetricJob,
  codes: Uint8Array,
  factors: Float32Array,
  a: number,
  b: number,
  kernel: RabitqKernel | null,
): Float64Array {
  const cs = job.codeSize;
  const n = Math.max(0, b - a);
  const out = new Float64Array(n);
  const dist = new Float64Array(n);
  job.queries.forEach((q, j) => {
    const dots =
      kernel === null ? planeDotsTS(q.planes, codes.subarray(a * cs, b * cs), cs) : kernel.residentPlaneDots(q.planes, codes, cs, a, b);
    rabitqEstimates(q, dots, factors, "cos", dist);
    const w = job.weights[j] as number;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + w * (dist[i] as number);
  });
  return out;
}

/**
 * `mean_pos (1 - cos) - mean_neg (1 - cos)` of `n` candidates (`codes`, and `factors`:
 * 3 per row) against the exemplars' decoded rerank vectors, on this thread (a search
 * scores many candidates in the scoring workers: `scorerpool.ts` `scoreAsymmetric`).
 * `codes` stays resident in the shared kernel, so the caller must not change it afterwards.
 */
export function asymmetricScores(
  corpus: WebCorpus,
  exemplars: readonly AsymmetricExemplar[],
  codes: Uint8Array,
  factors: Float32Array,
  n: number,
): Float64Array {
  return asymmetricBlock(asymmetricJob(corpus, exemplars), codes, factors, 0, n, sharedRabitqKernel());
}
