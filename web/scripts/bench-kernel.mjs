#!/usr/bin/env node
/* global console, process, performance, WebAssembly */
// Benchmark: the WebAssembly popcount kernel (src/wasm/popcount.wasm, i64 popcnt) against
// the pure-TS byte-table popcount (the algorithm of lib/kernels/hamming.ts hammingDistancesTS,
// and of the reference demo's scorer) on N codes of B bytes and 1 query. Interleaved
// repeats, median reported.
//   node scripts/bench-kernel.mjs [N=1000000] [B=128] [repeats=7]
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const N = Number(process.argv[2] ?? 1_000_000);
const B = Number(process.argv[3] ?? 128);
const REPEATS = Number(process.argv[4] ?? 7);

let seed = 12345;
function rand() {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed;
}
const codes = new Uint8Array(N * B);
const words = new Uint32Array(codes.buffer);
for (let i = 0; i < words.length; i++) words[i] = rand();
const query = Uint8Array.from({ length: B }, () => rand() & 255);

// --- pure TS/JS byte lookup table (lib/kernels/hamming.ts hammingDistancesTS, one query)
const POP = new Uint8Array(256);
for (let v = 1; v < 256; v++) POP[v] = (v & 1) + POP[v >> 1];
function byteTable(q, c, n, size, out) {
  for (let i = 0; i < n; i++) {
    const base = i * size;
    let s = 0;
    for (let b = 0; b < size; b++) s += POP[(q[b] ^ c[base + b]) & 255];
    out[i] = s;
  }
}

// --- the WASM kernel
const module = new WebAssembly.Module(readFileSync(join(web, "src/wasm/popcount.wasm")));
const ex = new WebAssembly.Instance(module, {}).exports;
const cAt = (B + 7) & ~7;
const oAt = (cAt + N * B + 7) & ~7;
const need = oAt + 4 * N;
const have = ex.memory.buffer.byteLength;
if (need > have) ex.memory.grow(Math.ceil((need - have) / 65536));
function wasm(out) {
  const mem = new Uint8Array(ex.memory.buffer);
  mem.set(query, 0);
  mem.set(codes, cAt); // copying the block in is part of the cost
  if (B === 16) ex.distances16(0, cAt, N, oAt);
  else ex.distances(0, 1, cAt, N, B, oAt);
  out.set(new Int32Array(ex.memory.buffer, oAt, N));
}

const a = new Int32Array(N);
const b = new Int32Array(N);
const tTable = [];
const tWasm = [];
for (let r = 0; r < REPEATS; r++) {
  let t = performance.now();
  byteTable(query, codes, N, B, a);
  tTable.push(performance.now() - t);
  t = performance.now();
  wasm(b);
  tWasm.push(performance.now() - t);
}
for (let i = 0; i < N; i += 9973) if (a[i] !== b[i]) throw new Error(`mismatch at ${i}: ${a[i]} vs ${b[i]}`);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const mt = median(tTable);
const mw = median(tWasm);
// eslint-disable-next-line no-console -- a benchmark prints its figures
console.log(
  JSON.stringify({
    n: N,
    code_bytes: B,
    repeats: REPEATS,
    byte_table_ms: Number(mt.toFixed(1)),
    wasm_ms: Number(mw.toFixed(1)),
    speedup: Number((mt / mw).toFixed(2)),
    node: process.version,
  }),
);
