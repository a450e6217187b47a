/**
 * Ordering helpers: ranks by (score, id) and top-k selection by a bounded heap (never a
 * full sort of all candidates).
 */

/** Compare ids bytewise (as Arrow/Python sort UTF-8 strings; ASCII ids alike). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Row order by `(score, id, index)`. */
export function orderBy(scores: ArrayLike<number>, ids: readonly string[]): Int32Array {
  const n = scores.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    const d = (scores[a] as number) - (scores[b] as number);
    if (d !== 0) return d;
    const c = compareIds(ids[a] as string, ids[b] as string);
    return c !== 0 ? c : a - b;
  });
  return order;
}

/** Ranks `1 … n` by ascending score, ties by id, then index. */
export function rankScores(scores: ArrayLike<number>, ids: readonly string[]): Int32Array {
  const order = orderBy(scores, ids);
  const rank = new Int32Array(order.length);
  order.forEach((row, r) => (rank[row] = r + 1));
  return rank;
}

/**
 * The `k`-th smallest value of `values` (the largest if `k >= n`), by a bounded max-heap
 * of size `k`: O(n log k).
 */
export function kthSmallest(values: ArrayLike<number>, k: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const m = Math.min(k, n);
  const heap = new Float64Array(m);
  let size = 0;
  const siftUp = (i: number): void => {
    const v = heap[i] as number;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((heap[p] as number) >= v) break;
      heap[i] = heap[p] as number;
      i = p;
    }
    heap[i] = v;
  };
  const siftDown = (v: number): void => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && (heap[r] as number) > (heap[l] as number) ? r : l;
      if ((heap[c] as number) <= v) break;
      heap[i] = heap[c] as number;
      i = c;
    }
    heap[i] = v;
  };
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (size < m) {
      heap[size] = v;
      siftUp(size);
      size += 1;
    } else if (v < (heap[0] as number)) {
      siftDown(v);
    }
  }
  return heap[0] as number;
}

/** Indices (ascending) of every value `<=` the `m`-th smallest (ties at the cut kept). */
export function best(values: ArrayLike<number>, m: number): number[] {
  const n = values.length;
  const out: number[] = [];
  if (m >= n) {
    for (let i = 0; i < n; i++) out.push(i);
    return out;
  }
  const cut = kthSmallest(values, m);
  for (let i = 0; i < n; i++) if ((values[i] as number) <= cut) out.push(i);
  return out;
}
