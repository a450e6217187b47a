import { rankScores } from "../select";
import { checkFinite, checkPositive } from "./common";
import type { ViewOutput } from "./common";

/** The `k` best candidates: `value` is the score, `shown` marks ranks `1 … k`. */
export function topk(scores: Float64Array, k: number, ids: readonly string[]): ViewOutput {
  checkPositive("k", k);
  checkFinite(scores);
  const rank = rankScores(scores, ids);
  const shown = rank.map((r) => (r <= k ? 1 : 0));
  return { view: "topk", scores, rank, value: scores.slice(), shown: Uint8Array.from(shown), extra: { k } };
}
