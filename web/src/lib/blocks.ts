/**
 * Spatial blocks: the train/validation split an export writes, whole blocks of a grid so that
 * no place (and no second-year copy of it) is on both sides. Mirrors Python's
 * `terrabit.blocks.spatial_split(..., order="hash")` bit for bit (spec/fixtures/blocks.json):
 *
 * - a point's block is `bx * (blocksPerSide + 2) + by`, `bx = floor((lon - min lon) / size)`,
 *   `by` likewise, `size = max(ptp lon, ptp lat, 1e-9) / blocksPerSide` (float64);
 * - blocks are taken in ascending `blockHash(block, seed)` (ties by block number) until the
 *   test side holds at least `testFraction` of the points.
 */

/** MurmurHash3's 32-bit finaliser of `cell * 0x9E3779B1 ^ seed` (all modulo 2**32). */
export function blockHash(cell: number, seed = 0): number {
  let h = (Math.imul(cell >>> 0, 0x9e3779b1) ^ seed) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether each point is on the test (validation) side. */
export function spatialSplit(
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  options: { testFraction?: number; seed?: number; blocksPerSide?: number } = {},
): boolean[] {
  const { testFraction = 0.2, seed = 0, blocksPerSide = 16 } = options;
  const n = lon.length;
  if (n === 0) return [];
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = lon[i] as number;
    const y = lat[i] as number;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const size = Math.max(x1 - x0, y1 - y0, 1e-9) / blocksPerSide;
  const cellOf = new Array<number>(n);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const bx = Math.floor(((lon[i] as number) - x0) / size);
    const by = Math.floor(((lat[i] as number) - y0) / size);
    const cell = bx * (blocksPerSide + 2) + by;
    cellOf[i] = cell;
    counts.set(cell, (counts.get(cell) ?? 0) + 1);
  }
  const order = [...counts.keys()]
    .map((cell) => ({ cell, h: blockHash(cell, seed) }))
    .sort((a, b) => a.h - b.h || a.cell - b.cell);
  const target = testFraction * n;
  const chosen = new Set<number>();
  let total = 0;
  for (const { cell } of order) {
    if (total >= target) break;
    chosen.add(cell);
    total += counts.get(cell) as number;
  }
  return cellOf.map((c) => chosen.has(c));
}
