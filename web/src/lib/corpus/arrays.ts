/**
 * Arrays in the manifest metadata (a codec's fitted state, the false colour), as Python's
 * `terrabit.codecs.base.array_to_json` writes them: `{dtype, shape, base64}` of the
 * little-endian bytes. Imports nothing, so the workers that need it stay small.
 */

/**
 * A float32 array of the manifest metadata (a codec's state, the false colour), stored as
 * `{dtype: "f4", shape, base64}` of its little-endian bytes; null when `v` is not one.
 */
export function f32Array(v: unknown): Float32Array | null {
  if (v === null || typeof v !== "object") return null;
  const o = v as { base64?: unknown; dtype?: unknown };
  if (typeof o.base64 !== "string" || o.dtype !== "f4") return null;
  let s: string;
  try {
    s = atob(o.base64);
  } catch {
    return null;
  }
  if (s.length % 4 !== 0) return null;
  const view = new DataView(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) view.setUint8(i, s.charCodeAt(i));
  const out = new Float32Array(s.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}
