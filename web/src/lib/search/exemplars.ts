/**
 * Exemplar algebra on packed codes, as `terrabit.search.exemplars`: combine, invert,
 * score (lower is more similar).
 */
import { TerrabitError } from "../errors";
import { hammingDistances } from "../kernels/hamming";
import type { Combine } from "../types";

export type BitwiseCombine = Exclude<Combine, "mean">;

/** Merge `m` codes (`m * codeSize` bytes) into one, bit by bit. */
export function combineCodes(codes: Uint8Array, codeSize: number, how: BitwiseCombine): Uint8Array {
  const m = Math.floor(codes.length / codeSize);
  if (m === 0) throw new TerrabitError("combining codes needs at least one code, got 0");
  const out = new Uint8Array(codeSize);
  if (how === "majority") {
    for (let b = 0; b < codeSize; b++) {
      let byte = 0;
      for (let bit = 7; bit >= 0; bit--) {
        let votes = 0;
        for (let j = 0; j < m; j++) votes += ((codes[j * codeSize + b] as number) >> bit) & 1;
        if (2 * votes > m) byte |= 1 << bit;
      }
      out[b] = byte;
    }
    return out;
  }
  out.set(codes.subarray(0, codeSize));
  for (let j = 1; j < m; j++) {
    for (let b = 0; b < codeSize; b++) {
      const v = codes[j * codeSize + b] as number;
      const o = out[b] as number;
      out[b] = how === "and" ? o & v : how === "or" ? o | v : o ^ v;
    }
  }
  return out;
}

/** Bitwise NOT of codes. */
export function invertCodes(codes: Uint8Array): Uint8Array {
  return codes.map((v) => ~v & 255);
}

/** A query prepared once for many blocks of codes (see `scoreBlock`). */
export interface PreparedQuery {
  codeSize: number;
  combine: Combine;
  invert: boolean;
  /** Query codes whose distances are summed: positives first, then negatives. */
  queries: Uint8Array;
  positives: number;
  negatives: number;
  /** Number of meaningful bits (`8 * codeSize`). */
  nBits: number;
}

/** Prepare positives (`p * codeSize` bytes) and negatives for scoring. */
export function prepareQuery(
  positives: Uint8Array,
  negatives: Uint8Array | null,
  codeSize: number,
  combine: Combine = "mean",
  invert = false,
): PreparedQuery {
  const p = Math.floor(positives.length / codeSize);
  const q = negatives === null ? 0 : Math.floor(negatives.length / codeSize);
  if (p === 0) {
    throw new TerrabitError(
      "scoring needs at least one positive exemplar: click a place that looks like what you search for",
    );
  }
  let pos = positives.subarray(0, p * codeSize);
  let neg = q ? (negatives as Uint8Array).subarray(0, q * codeSize) : new Uint8Array(0);
  let np = p;
  let nn = q;
  if (combine !== "mean") {
    pos = combineCodes(pos, codeSize, combine);
    np = 1;
    if (q) {
      neg = combineCodes(neg, codeSize, combine);
      nn = 1;
    }
  }
  const queries = new Uint8Array((np + nn) * codeSize);
  queries.set(pos, 0);
  queries.set(neg, np * codeSize);
  return { codeSize, combine, invert, queries, positives: np, negatives: nn, nBits: 8 * codeSize };
}

/**
 * Scores from the query-major distance matrix `d` (`(P + N) * n`) of `prepareQuery`'s
 * queries: `mean_P d - mean_N d`, then the invert rule (`L - s`, or `-s` with negatives).
 */
export function scoresFromDistances(query: PreparedQuery, d: Int32Array, n: number, out?: Float64Array): Float64Array {
  const s = out ?? new Float64Array(n);
  const { positives: p, negatives: q } = query;
  for (let i = 0; i < n; i++) {
    let sp = 0;
    for (let j = 0; j < p; j++) sp += d[j * n + i] as number;
    let v = sp / p;
    if (q) {
      let sn = 0;
      for (let j = p; j < p + q; j++) sn += d[j * n + i] as number;
      v -= sn / q;
    }
    if (query.invert) v = q ? -v : query.nBits - v;
    s[i] = v;
  }
  return s;
}

/** Score `n` codes (`n * codeSize` bytes) against a prepared query. */
export function scoreBlock(query: PreparedQuery, codes: Uint8Array): Float64Array {
  const cs = query.codeSize;
  const n = Math.floor(codes.length / cs);
  const out = new Float64Array(n);
  const block = 65536;
  for (let a = 0; a < n; a += block) {
    const b = Math.min(n, a + block);
    const d = hammingDistances(query.queries, codes.subarray(a * cs, b * cs), cs);
    out.set(scoresFromDistances(query, d, b - a), a);
  }
  return out;
}

/** Convenience: score codes against positives (and negatives), like Python's `score`. */
export function score(
  codes: Uint8Array,
  positives: Uint8Array,
  negatives: Uint8Array | null,
  codeSize: number,
  options: { combine?: Combine; invert?: boolean } = {},
): Float64Array {
  return scoreBlock(prepareQuery(positives, negatives, codeSize, options.combine, options.invert), codes);
}
