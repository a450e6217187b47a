import { geoKnn } from "../geoneighbours";
import { POPCOUNT8 } from "../../kernels/hamming";
import { checkPositive, descending } from "./common";
import type { ViewOutput } from "./common";

/** Mean Hamming distance to the `min(k, n - 1)` nearest candidates on the ground. */
export function surprise(
  codes: Uint8Array,
  codeSize: number,
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  ids: readonly string[],
  k = 8,
): ViewOutput {
  checkPositive("k", k);
  const n = ids.length;
  const kk = Math.min(k, n - 1);
  const value = new Float64Array(n);
  if (kk >= 1) {
    const knn = geoKnn(lon, lat, kk);
    for (let i = 0; i < n; i++) {
      let bits = 0;
      for (let m = 0; m < kk; m++) {
        const j = knn.indices[i * kk + m] as number;
        for (let b = 0; b < codeSize; b++) {
          bits += POPCOUNT8[((codes[i * codeSize + b] as number) ^ (codes[j * codeSize + b] as number)) & 255] as number;
        }
      }
      value[i] = bits / kk;
    }
  }
  return descending("surprise", value, ids);
}
