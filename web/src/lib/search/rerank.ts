/**
 * Re-ranking a Hamming shortlist by cosine distance on the `rerank` column (as Python's
 * `_rerank_scores`): `mean_pos (1 - cos) - mean_neg (1 - cos)` between decoded rerank
 * vectors. Supported rerank codecs: `int8`/`int4`/`int2` (affine), `float16`, `float32`.
 */
import { half } from "../corpus/factors";
import { f32Array } from "../corpus/arrays";
import type { WebCorpus } from "../corpus/reader";
import { TerrabitError } from "../errors";

interface Decoder {
  dims: number;
  decode(code: Uint8Array, out: Float64Array): void;
}

/** A decoder for the corpus's rerank codec, or null when it is not one this app decodes. */
export function rerankDecoder(corpus: WebCorpus): Decoder | null {
  const spec = corpus.info.metadata["rerank_codec"] as Record<string, unknown> | null | undefined;
  if (spec === null || spec === undefined || typeof spec !== "object") return null;
  const family = String(spec["spec"] ?? "");
  const state = (spec["state"] ?? {}) as Record<string, unknown>;
  const dims = Number(state["d_in_"] ?? corpus.info.dims);
  const bits = family === "int8" ? 8 : family === "int4" ? 4 : family === "int2" ? 2 : 0;
  if (bits) {
    const lo = f32Array(state["lo_"]);
    const step = f32Array(state["step_"]);
    if (lo === null || step === null) return null;
    const per = 8 / bits;
    const mask = (1 << bits) - 1;
    return {
      dims,
      decode(code, out) {
        for (let d = 0; d < dims; d++) {
          const byte = code[Math.floor(d / per)] as number;
          const shift = 8 - bits * ((d % per) + 1);
          const q = (byte >> shift) & mask;
          out[d] = Math.fround((lo[d] as number) + Math.fround(q * (step[d] as number)));
        }
      },
    };
  }
  if (family === "float16" || family === "float32") {
    return {
      dims,
      decode(code, out) {
        const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
        for (let d = 0; d < dims; d++) out[d] = family === "float32" ? dv.getFloat32(4 * d, true) : half(dv.getUint16(2 * d, true));
      },
    };
  }
  return null;
}

/** Does the corpus have a rerank column this app can use? */
export function rerankSupported(corpus: WebCorpus): boolean {
  return corpus.hasColumn("rerank") && (corpus.info.rerankCodeSize ?? 0) > 0 && rerankDecoder(corpus) !== null;
}

function normalized(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.max(Math.sqrt(s), 1e-12);
  return v.map((x) => x / norm);
}

/** Cosine re-rank scores of `n` rerank codes against the exemplars' rerank codes. */
export function rerankScores(
  corpus: WebCorpus,
  exemplars: readonly { positive: boolean; rerank: Uint8Array | null; id: string }[],
  codes: Uint8Array,
  n: number,
): Float64Array {
  const dec = rerankDecoder(corpus);
  const size = corpus.info.rerankCodeSize ?? 0;
  if (dec === null || size === 0) throw new TerrabitError("this corpus's rerank codec cannot be decoded here");
  const vec = (code: Uint8Array): Float64Array => {
    const out = new Float64Array(dec.dims);
    dec.decode(code, out);
    return normalized(out);
  };
  const groups = [true, false].map((positive) =>
    exemplars.filter((e) => e.positive === positive).map((e) => {
      if (e.rerank === null) throw new TerrabitError(`exemplar ${e.id} has no rerank code`);
      return vec(e.rerank);
    }),
  );
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = vec(codes.subarray(i * size, (i + 1) * size));
    let total = 0;
    groups.forEach((qs, g) => {
      if (!qs.length) return;
      let mean = 0;
      for (const q of qs) {
        let dot = 0;
        for (let d = 0; d < dec.dims; d++) dot += (x[d] as number) * (q[d] as number);
        mean += 1 - dot;
      }
      total += (g === 0 ? 1 : -1) * (mean / qs.length);
    });
    out[i] = total;
  }
  return out;
}
