import { hammingDistances } from "../../kernels/hamming";
import { orderBy } from "../select";
import { checkPositive, descending } from "./common";
import type { ViewOutput } from "./common";

/** `min(nRefs, n)` rows evenly spaced along the candidates sorted by id. */
export function referenceRows(ids: readonly string[], nRefs: number): Int32Array {
  const n = ids.length;
  const m = Math.min(nRefs, n);
  const byId = orderBy(new Float64Array(n), ids);
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = byId[Math.floor((i * n) / m)] as number;
  return out;
}

/** Mean Hamming distance to a deterministic reference sample (higher = more outlying). */
export function outlier(codes: Uint8Array, codeSize: number, ids: readonly string[], nRefs = 200): ViewOutput {
  checkPositive("nRefs", nRefs);
  const n = ids.length;
  const refs = referenceRows(ids, nRefs);
  const m = refs.length;
  const value = new Float64Array(n);
  if (m) {
    const q = new Uint8Array(m * codeSize);
    refs.forEach((r, j) => q.set(codes.subarray(r * codeSize, (r + 1) * codeSize), j * codeSize));
    const d = hammingDistances(q, codes.subarray(0, n * codeSize), codeSize);
    for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) value[i] = (value[i] as number) + (d[j * n + i] as number);
    const isRef = new Uint8Array(n);
    for (const r of refs) isRef[r] = 1;
    for (let i = 0; i < n; i++) {
      if (!isRef[i]) value[i] = (value[i] as number) / m;
      else value[i] = m > 1 ? (value[i] as number) / (m - 1) : 0;
    }
  }
  return descending("outlier", value, ids, { referenceRows: Array.from(refs) });
}
