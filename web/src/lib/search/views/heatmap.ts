import { rankScores } from "../select";
import { checkFinite } from "./common";
import type { ViewOutput } from "./common";

/** Every candidate, coloured by its score normalized to `0 … 1` (0 = best). */
export function heatmap(scores: Float64Array, ids: readonly string[]): ViewOutput {
  checkFinite(scores);
  const rank = rankScores(scores, ids);
  const n = scores.length;
  if (n === 0) {
    return { view: "heatmap", scores, rank, value: new Float64Array(0), shown: new Uint8Array(0), extra: { min: null, max: null } };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const value = hi > lo ? scores.map((s) => (s - lo) / (hi - lo)) : new Float64Array(n);
  return { view: "heatmap", scores, rank, value, shown: new Uint8Array(n).fill(1), extra: { min: lo, max: hi } };
}
