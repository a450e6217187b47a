import { geoKnn } from "../geoneighbours";
import { checkFinite, checkPositive, descending } from "./common";
import type { ViewOutput } from "./common";

/** Mean `|score - score_neighbour|` over the `min(k, n - 1)` nearest candidates (edges). */
export function gradient(
  scores: Float64Array,
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  ids: readonly string[],
  k = 6,
): ViewOutput {
  checkPositive("k", k);
  checkFinite(scores);
  const n = scores.length;
  const kk = Math.min(k, n - 1);
  const value = new Float64Array(n);
  if (kk >= 1) {
    const knn = geoKnn(lon, lat, kk);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let m = 0; m < kk; m++) s += Math.abs((scores[i] as number) - (scores[knn.indices[i * kk + m] as number] as number));
      value[i] = s / kk;
    }
  }
  return descending("gradient", value, ids);
}
