import { TerrabitError } from "../../errors";
import { kthSmallest, rankScores } from "../select";
import { checkFinite, checkPositive } from "./common";
import type { ViewOutput } from "./common";

/** `numpy.histogram(values, bins, range=(lo, hi))` exactly (edges by `linspace`). */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): { counts: number[]; edges: number[] } {
  let first = lo;
  let last = hi;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const step = (last - first) / bins;
  const edges: number[] = [];
  for (let i = 0; i < bins; i++) edges.push(i * step + first);
  edges.push(last);
  const counts = new Array<number>(bins).fill(0);
  const norm = bins / (last - first);
  for (let j = 0; j < values.length; j++) {
    const v = values[j] as number;
    if (!(v >= first && v <= last)) continue;
    let i = Math.trunc((v - first) * norm);
    if (i === bins) i -= 1;
    if (v < (edges[i] as number)) i -= 1;
    else if (v >= (edges[i + 1] as number) && i !== bins - 1) i += 1;
    counts[i] = (counts[i] as number) + 1;
  }
  return { counts, edges };
}

/** Candidates scoring at most `t` (default: the `kDefault`-th best score), with a histogram. */
export function threshold(
  scores: Float64Array,
  t: number | null,
  ids: readonly string[],
  options: { kDefault?: number; bins?: number } = {},
): ViewOutput {
  checkFinite(scores);
  const kDefault = checkPositive("k", options.kDefault ?? 50);
  const bins = checkPositive("bins", options.bins ?? 32);
  const rank = rankScores(scores, ids);
  const n = scores.length;
  let cut: number | null;
  if (t === null) {
    cut = n ? kthSmallest(scores, Math.min(kDefault, n)) : null;
  } else {
    if (!Number.isFinite(t)) throw new TerrabitError(`the threshold t must be a finite score, got ${t}`);
    cut = t;
  }
  const shown = new Uint8Array(n);
  if (cut !== null) for (let i = 0; i < n; i++) shown[i] = (scores[i] as number) <= cut ? 1 : 0;
  let lo = 0;
  let hi = 1;
  if (n) {
    lo = Infinity;
    hi = -Infinity;
    for (const s of scores) {
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
  }
  const histo = histogram(scores, bins, lo, hi);
  return { view: "threshold", scores, rank, value: scores.slice(), shown, extra: { t: cut, histogram: histo } };
}
