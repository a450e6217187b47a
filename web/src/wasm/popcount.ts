/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript, not TypeScript: tsc must skip it */
// @ts-nocheck -- AssemblyScript source (compiled by scripts/build-wasm.mjs), not TypeScript.
/**
 * Hamming distances with 64-bit popcount: `out[j * n + i] = popcount(q_j XOR c_i)` for
 * `m` query codes at `q` and `n` codes at `c` of `codeSize` bytes, as i32 at `out`.
 */
export function distances(q: usize, m: i32, c: usize, n: i32, codeSize: i32, out: usize): void {
  const words = codeSize >> 3;
  const tail = words << 3;
  for (let i = 0; i < n; i++) {
    const row = c + <usize>i * <usize>codeSize;
    for (let j = 0; j < m; j++) {
      const qr = q + <usize>j * <usize>codeSize;
      let d: i64 = 0;
      for (let w = 0; w < words; w++) {
        const o = <usize>(w << 3);
        d += popcnt<i64>(load<i64>(row + o) ^ load<i64>(qr + o));
      }
      for (let b = tail; b < codeSize; b++) {
        d += popcnt<i32>(<i32>(load<u8>(row + <usize>b) ^ load<u8>(qr + <usize>b)));
      }
      store<i32>(out + ((<usize>j * <usize>n + <usize>i) << 2), <i32>d);
    }
  }
}

/** One query against `n` codes of 16 bytes (the common 128-bit case), unrolled. */
export function distances16(q: usize, c: usize, n: i32, out: usize): void {
  const q0 = load<i64>(q);
  const q1 = load<i64>(q + 8);
  for (let i = 0; i < n; i++) {
    const row = c + (<usize>i << 4);
    store<i32>(
      out + (<usize>i << 2),
      <i32>(popcnt<i64>(load<i64>(row) ^ q0) + popcnt<i64>(load<i64>(row + 8) ^ q1)),
    );
  }
}
