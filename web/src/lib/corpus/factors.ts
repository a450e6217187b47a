/**
 * The `rabitq` shard column (format 1.4, spec/corpus-v1.md §3.4): per row, RaBitQ's three
 * correction factors `norm, ip_code, ip_centroid` as little-endian float16 (6 bytes a row)
 * or float32 (12 bytes; the width is the only marker).
 */

/** The shard column holding the factors. */
export const FACTOR_COLUMN = "rabitq";

/** Factors of a row, in order (Python's `terrabit.codecs.rabitq.FACTORS`). */
export const FACTORS = ["norm", "ip_code", "ip_centroid"] as const;

/** The value of an IEEE 754 half-precision number given by its 16 bits. */
export function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function checkWidth(width: number): void {
  if (width !== 6 && width !== 12) throw new Error(`rabitq factors are 6 or 12 bytes a row, got ${width}`);
}

/**
 * Decode factor rows of `width` bytes (6: float16, 12: float32) from `bytes` into `out`
 * at row `at` (3 values a row; both widths are exact in float32). Returns the rows decoded.
 */
export function decodeFactorsInto(bytes: Uint8Array, width: number, out: Float32Array, at = 0): number {
  checkWidth(width);
  const n = Math.floor(bytes.length / width);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * width);
  for (let k = 0; k < 3 * n; k++) out[3 * at + k] = width === 6 ? half(dv.getUint16(2 * k, true)) : dv.getFloat32(4 * k, true);
  return n;
}

/** Decode a whole factors column (`width` bytes a row): `3 n` values, row-major. */
export function decodeFactors(bytes: Uint8Array, width: number): Float32Array {
  checkWidth(width);
  const out = new Float32Array(3 * Math.floor(bytes.length / width));
  decodeFactorsInto(bytes, width, out);
  return out;
}
