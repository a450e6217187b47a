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
import { prepareRabitqQuery, rabitqCodec, rabitqEstimates } from "./rabitq";
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
 * `mean_pos (1 - cos) - mean_neg (1 - cos)` of `n` candidates (`codes`, and `factors`:
 * 3 per row) against the exemplars' decoded rerank vectors. Runs the WebAssembly kernel
 * (the TS fallback where there is none) once per exemplar, on this thread; `codes` stays
 * resident in the kernel, so the caller must not change it afterwards.
 */
export function asymmetricScores(
  corpus: WebCorpus,
  exemplars: readonly AsymmetricExemplar[],
  codes: Uint8Array,
  factors: Float32Array,
  n: number,
): Float64Array {
  const why = asymmetricUnavailable(corpus);
  const codec = rabitqCodec(corpus.info.codec);
  const decoder = rerankDecoder(corpus);
  if (why !== null || codec === null || decoder === null) {
    throw new TerrabitError(`asymmetric scoring needs a rabitq corpus with a rerank column: ${why ?? "unusable codec"}; turn asymmetric off`);
  }
  const cs = codec.codeSize;
  const kernel = sharedRabitqKernel();
  const out = new Float64Array(n);
  const dist = new Float64Array(n);
  for (const positive of [true, false]) {
    const group = exemplars.filter((e) => e.positive === positive);
    for (const e of group) {
      if (e.rerank === null) throw new TerrabitError(`exemplar ${e.id} has no rerank code`);
      const vector = new Float64Array(decoder.dims);
      decoder.decode(e.rerank, vector);
      const q = prepareRabitqQuery(codec, vector);
      // the codes stay in the kernel's memory from one exemplar (and one search) to the next
      const dots = kernel === null ? planeDotsTS(q.planes, codes.subarray(0, n * cs), cs) : kernel.residentPlaneDots(q.planes, codes, cs, 0, n);
      rabitqEstimates(q, dots, factors, "cos", dist);
      const w = (positive ? 1 : -1) / group.length;
      for (let i = 0; i < n; i++) out[i] = (out[i] as number) + w * (dist[i] as number);
    }
  }
  return out;
}
