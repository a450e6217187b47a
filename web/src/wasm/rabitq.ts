/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript, not TypeScript: tsc must skip it */
// @ts-nocheck -- AssemblyScript source (compiled by scripts/build-wasm.mjs), not TypeScript.
/**
 * Bit-plane dot products of a 4-bit query against 1-bit codes (RaBitQ's asymmetric inner
 * loop): the query's levels `L_j` (0..15) are split into 4 planes of `codeSize` bytes at `p`
 * (plane `b` at `p + b * codeSize`, bit `j` of plane `b` = bit `b` of `L_j`, packed as the
 * codes are), and for each of the `n` codes at `c`
 *   `out[i]     = sum_b 2^b popcount(code_i & plane_b)`  (= sum of `L_j` over the set bits)
 *   `out[n + i] = popcount(code_i)`
 * as i32: five 64-bit popcounts per word.
 */
export function planeDots4(p: usize, c: usize, n: i32, codeSize: i32, out: usize): void {
  const words = codeSize >> 3;
  const tail = words << 3;
  const cs = <usize>codeSize;
  const pops = out + (<usize>n << 2);
  for (let i = 0; i < n; i++) {
    const row = c + <usize>i * cs;
    let d0: i64 = 0;
    let d1: i64 = 0;
    let d2: i64 = 0;
    let d3: i64 = 0;
    let pop: i64 = 0;
    for (let w = 0; w < words; w++) {
      const o = <usize>(w << 3);
      const x = load<i64>(row + o);
      const q = p + o;
      d0 += popcnt<i64>(x & load<i64>(q));
      d1 += popcnt<i64>(x & load<i64>(q + cs));
      d2 += popcnt<i64>(x & load<i64>(q + 2 * cs));
      d3 += popcnt<i64>(x & load<i64>(q + 3 * cs));
      pop += popcnt<i64>(x);
    }
    for (let b = tail; b < codeSize; b++) {
      const o = <usize>b;
      const x = <i32>load<u8>(row + o);
      const q = p + o;
      d0 += <i64>popcnt<i32>(x & <i32>load<u8>(q));
      d1 += <i64>popcnt<i32>(x & <i32>load<u8>(q + cs));
      d2 += <i64>popcnt<i32>(x & <i32>load<u8>(q + 2 * cs));
      d3 += <i64>popcnt<i32>(x & <i32>load<u8>(q + 3 * cs));
      pop += <i64>popcnt<i32>(x);
    }
    const at = <usize>i << 2;
    store<i32>(out + at, <i32>(d0 + (d1 << 1) + (d2 << 2) + (d3 << 3)));
    store<i32>(pops + at, <i32>pop);
  }
}
