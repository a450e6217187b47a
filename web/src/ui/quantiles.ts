/**
 * The threshold slider moves through the data, not through the score range: its
 * positions are quantiles of the scores, so each step shows about the same number of
 * extra rows (a few outlying scores no longer make one pixel jump over thousands).
 */

/** Slider positions (0 … STEPS). */
export const STEPS = 1000;

/** The cut-off at slider position `pos`: the score of the `ceil(pos / STEPS · n)`-th row. */
export function cutAt(sorted: Float64Array, pos: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const k = Math.ceil((Math.min(STEPS, Math.max(0, pos)) / STEPS) * n);
  return sorted[Math.min(n, Math.max(1, k)) - 1] as number;
}

/** How many sorted scores are at or under `t`. */
export function countAtMost(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The slider position of cut-off `t` (the share of scores at or under it). */
export function positionOf(sorted: Float64Array, t: number): number {
  const n = sorted.length;
  return n === 0 ? 0 : Math.round((countAtMost(sorted, t) / n) * STEPS);
}
