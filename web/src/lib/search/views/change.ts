import { TerrabitError } from "../../errors";
import { POPCOUNT8 } from "../../kernels/hamming";
import { rankScores } from "../select";
import { checkFinite, checkPositive } from "./common";
import type { ViewOutput } from "./common";

/**
 * What the change view ranks `n` places by: the codes of each place's earlier and later
 * row (without exemplars), or each place's `s(later) - s(earlier)` of the search score
 * `s` (with exemplars; lower = more like them).
 */
export type ChangeBy =
  | { kind: "codes"; earlier: Uint8Array; later: Uint8Array; codeSize: number }
  | { kind: "scores"; delta: Float64Array };

/**
 * How each of `ids.length` places changed between two years; the `k` most changed are
 * shown (Python's `views.change`). By codes: `value` is the Hamming distance between the
 * two years' codes, higher ranked first (`scores = -value`). By scores: `value = scores =
 * s(later) - s(earlier)`, most negative first (the places that became like the exemplars).
 * Ties by id (`ids`: the later rows' ids).
 */
export function change(by: ChangeBy, k: number, ids: readonly string[]): ViewOutput {
  checkPositive("k", k);
  const n = ids.length;
  let value: Float64Array;
  let scores: Float64Array;
  if (by.kind === "codes") {
    const cs = by.codeSize;
    if (by.earlier.length !== n * cs || by.later.length !== n * cs) {
      throw new TerrabitError(
        `the earlier and later codes must hold one code per place (${n} x ${cs} bytes), got ${by.earlier.length} and ${by.later.length} bytes`,
      );
    }
    value = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let b = i * cs; b < (i + 1) * cs; b++) d += POPCOUNT8[((by.earlier[b] as number) ^ (by.later[b] as number)) & 255] as number;
      value[i] = d;
    }
    scores = value.map((v) => -v);
  } else {
    if (by.delta.length !== n) throw new TerrabitError(`the change scores hold ${by.delta.length} values for ${n} places`);
    checkFinite(by.delta);
    scores = by.delta;
    value = by.delta.slice();
  }
  const rank = rankScores(scores, ids);
  const shown = new Uint8Array(n);
  for (let i = 0; i < n; i++) shown[i] = (rank[i] as number) <= k ? 1 : 0;
  return { view: "change", scores, rank, value, shown, extra: { k } };
}
