/**
 * The k nearest points on the ground, through a spatial grid: O(n·k), never O(n²).
 *
 * The same algorithm, neighbour definition and tie rule as
 * `terrabit.search.geoneighbours.geo_knn`:
 *
 * - points go on the unit sphere, `(cos φ cos λ, cos φ sin λ, sin φ)` — the cos(latitude)
 *   correction made exact, no seam at the antimeridian or the poles; the chord distance
 *   orders points as the great-circle distance does (returned in metres);
 * - the cube holding the points is cut into `2**17` cells a side and the points sorted by
 *   the Morton key of their cell (51 bits: exact in a double), so a cell of any coarser
 *   level is one contiguous run of the sorted points;
 * - each point starts on the coarsest level whose cell holding it has at most
 *   `max(4, k)` points, searches shells of cells outward (Chebyshev ring 0 … 3) and stops
 *   once it holds k candidates whose k-th distance is below what any unseen point could
 *   be; otherwise it restarts 4× coarser, up to one cell holding everything (exact);
 * - candidates are kept sorted by `(distance, index)`: ties go to the lower index.
 */
import { TerrabitError } from "../errors";

export const EARTH_RADIUS_M = 6_371_008.8;

const BITS = 17;
const FINE = 1 << BITS;
const MAX_RING = 3;
const LEVEL_STEP = 2;
const SLACK = 1e-12;
const MIN_TARGET = 4;

/** `SPREAD8[v]`: the 8 bits of `v` spread two zero bits apart (24-bit result). */
const SPREAD8 = (() => {
  const t = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    let s = 0;
    for (let b = 0; b < 8; b++) if ((v >> b) & 1) s += 2 ** (3 * b);
    t[v] = s;
  }
  return t;
})();

function spread(v: number): number {
  return (
    (SPREAD8[v & 255] as number) +
    (SPREAD8[(v >> 8) & 255] as number) * 2 ** 24 +
    (SPREAD8[(v >> 16) & 255] as number) * 2 ** 48
  );
}

function morton(a: number, b: number, c: number): number {
  return spread(a) * 4 + spread(b) * 2 + spread(c);
}

const POW8 = Array.from({ length: BITS + 1 }, (_, l) => 8 ** l);

export interface GeoKnn {
  /** `n * k` neighbour indices (-1 pads rows with fewer than k others). */
  indices: Int32Array;
  /** `n * k` great-circle distances in metres (Infinity for padding). */
  distances: Float64Array;
  k: number;
}

/** First index of `keys` (ascending) that is `>= value`. */
function lowerBound(keys: Float64Array, value: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The `k` nearest other points of every point (exact). */
export function geoKnn(lon: ArrayLike<number>, lat: ArrayLike<number>, k: number): GeoKnn {
  if (!Number.isInteger(k) || k < 1) throw new TerrabitError(`k must be a positive integer, got ${k}`);
  const n = lon.length;
  if (lat.length !== n) throw new TerrabitError(`lon and lat must have the same length, got ${n} and ${lat.length}`);
  const outI = new Int32Array(n * k).fill(-1);
  const outD = new Float64Array(n * k).fill(Infinity);
  if (n === 0) return { indices: outI, distances: outD, k };
  const rad = Math.PI / 180;
  const xyz = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const y = lat[i] as number;
    const x = lon[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(y) > 90) {
      throw new TerrabitError(`point ${i} (${x}, ${y}) is not a finite lon, lat with lat in [-90, 90]`);
    }
    const la = y * rad;
    const lo = x * rad;
    const c = Math.cos(la);
    xyz[3 * i] = c * Math.cos(lo);
    xyz[3 * i + 1] = c * Math.sin(lo);
    xyz[3 * i + 2] = Math.sin(la);
  }
  const origin = [Infinity, Infinity, Infinity];
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) origin[a] = Math.min(origin[a] as number, xyz[3 * i + a] as number);
  let span = 0;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      const v = (xyz[3 * i + a] as number) - (origin[a] as number);
      xyz[3 * i + a] = v;
      if (v > span) span = v;
    }
  }
  const hFine = span > 0 ? (span / FINE) * (1 + 1e-9) : 1;
  const cellsRaw = new Int32Array(3 * n);
  const keysRaw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) cellsRaw[3 * i + a] = Math.min(FINE - 1, Math.floor((xyz[3 * i + a] as number) / hFine));
    keysRaw[i] = morton(cellsRaw[3 * i] as number, cellsRaw[3 * i + 1] as number, cellsRaw[3 * i + 2] as number);
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (keysRaw[a] as number) - (keysRaw[b] as number) || a - b);
  const keys = new Float64Array(n);
  const pts = new Float64Array(3 * n);
  const cells = new Int32Array(3 * n);
  for (let s = 0; s < n; s++) {
    const i = order[s] as number;
    keys[s] = keysRaw[i] as number;
    for (let a = 0; a < 3; a++) {
      pts[3 * s + a] = xyz[3 * i + a] as number;
      cells[3 * s + a] = cellsRaw[3 * i + a] as number;
    }
  }
  // start levels: the coarsest level whose cell holding the point has <= target points
  const target = Math.max(MIN_TARGET, k);
  const levels = new Int32Array(n);
  for (let level = 1; level <= BITS; level++) {
    const div = POW8[level] as number;
    let a = 0;
    while (a < n) {
      const key = Math.floor((keys[a] as number) / div);
      let b = a + 1;
      while (b < n && Math.floor((keys[b] as number) / div) === key) b++;
      if (b - a <= target) for (let t = a; t < b; t++) levels[t] = level;
      a = b;
    }
  }
  const bd = new Float64Array(k);
  const bi = new Int32Array(k);
  const searchLevel = (s: number, level: number): boolean => {
    bd.fill(Infinity);
    bi.fill(-1);
    const me = order[s] as number;
    const h = hFine * 2 ** level;
    const side = FINE >> level;
    const span8 = POW8[level] as number;
    const qx = pts[3 * s] as number;
    const qy = pts[3 * s + 1] as number;
    const qz = pts[3 * s + 2] as number;
    const cx = (cells[3 * s] as number) >> level;
    const cy = (cells[3 * s + 1] as number) >> level;
    const cz = (cells[3 * s + 2] as number) >> level;
    let face = h;
    for (let axis = 0; axis < 3; axis++) {
      const off = (pts[3 * s + axis] as number) - ((cells[3 * s + axis] as number) >> level) * h;
      face = Math.min(face, Math.max(off, 0), Math.max(h - off, 0));
    }
    let found = 0;
    for (let r = 0; r <= MAX_RING; r++) {
      for (let dx = -r; dx <= r; dx++) {
        const a = cx + dx;
        if (a < 0 || a >= side) continue;
        for (let dy = -r; dy <= r; dy++) {
          const b = cy + dy;
          if (b < 0 || b >= side) continue;
          // inside the shell's (dx, dy) square only dz = -r and dz = +r are new
          const step = dx === -r || dx === r || dy === -r || dy === r ? 1 : 2 * r;
          for (let dz = -r; dz <= r; dz += step) {
            const c = cz + dz;
            if (c < 0 || c >= side) continue;
            const key = morton(a, b, c) * span8;
            const end = key + span8;
            let t = lowerBound(keys, key);
            while (t < n && (keys[t] as number) < end) {
              const j = order[t] as number;
              if (j !== me) {
                const ex = (pts[3 * t] as number) - qx;
                const ey = (pts[3 * t + 1] as number) - qy;
                const ez = (pts[3 * t + 2] as number) - qz;
                found += 1;
                const d = ex * ex + ey * ey + ez * ez;
                const last = k - 1;
                if (d < (bd[last] as number) || (d === bd[last] && j < (bi[last] as number))) {
                  let pos = last;
                  while (pos > 0 && ((bd[pos - 1] as number) > d || (bd[pos - 1] === d && (bi[pos - 1] as number) > j))) {
                    bd[pos] = bd[pos - 1] as number;
                    bi[pos] = bi[pos - 1] as number;
                    pos -= 1;
                  }
                  bd[pos] = d;
                  bi[pos] = j;
                }
              }
              t += 1;
            }
          }
        }
      }
      const low = Math.max(cx, cy, cz) - r;
      const high = Math.min(cx, cy, cz) + r;
      if (low <= 0 && high >= side - 1) return true;
      const bound = r * h + face - SLACK;
      if (found >= k && bound > 0 && (bd[k - 1] as number) < bound * bound) return true;
    }
    return false;
  };
  for (let s = 0; s < n; s++) {
    let level = levels[s] as number;
    while (!searchLevel(s, level)) level = Math.min(level + LEVEL_STEP, BITS);
    const row = order[s] as number;
    for (let m = 0; m < k; m++) {
      const j = bi[m] as number;
      outI[row * k + m] = j;
      const d = bd[m] as number;
      outD[row * k + m] = j >= 0 ? 2 * EARTH_RADIUS_M * Math.asin(Math.min(Math.sqrt(d) / 2, 1)) : Infinity;
    }
  }
  return { indices: outI, distances: outD, k };
}
