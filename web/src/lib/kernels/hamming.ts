/**
 * Hamming distances between packed binary codes (MSB-first bits; distance = popcount of
 * XOR): a WebAssembly kernel with 64-bit popcount, and a pure-TS byte-table fallback that
 * is also the tests' oracle.
 */
import { POPCOUNT_WASM_BASE64 } from "../../wasm/popcount-wasm";

/** Popcount of every byte value. */
export const POPCOUNT8: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let v = 1; v < 256; v++) t[v] = (v & 1) + (t[v >> 1] as number);
  return t;
})();

/**
 * `out[j * n + i]` = distance of query `j` to code `i` (pure TS, byte lookup table).
 *
 * @param queries `m * codeSize` bytes
 * @param codes `n * codeSize` bytes
 */
export function hammingDistancesTS(
  queries: Uint8Array,
  codes: Uint8Array,
  codeSize: number,
  out?: Int32Array,
): Int32Array {
  const m = Math.floor(queries.length / codeSize);
  const n = Math.floor(codes.length / codeSize);
  const d = out ?? new Int32Array(m * n);
  for (let j = 0; j < m; j++) {
    const q = j * codeSize;
    for (let i = 0; i < n; i++) {
      const c = i * codeSize;
      let s = 0;
      for (let b = 0; b < codeSize; b++) {
        s += POPCOUNT8[((queries[q + b] as number) ^ (codes[c + b] as number)) & 255] as number;
      }
      d[j * n + i] = s;
    }
  }
  return d;
}

/** The bytes of a base64 string (the inlined kernels). */
export function base64Bytes(b64: string): Uint8Array {
  if (typeof atob === "function") {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  throw new Error("no base64 decoder available");
}

interface KernelExports {
  memory: WebAssembly.Memory;
  distances: (q: number, m: number, c: number, n: number, codeSize: number, out: number) => void;
  distances16: (q: number, c: number, n: number, out: number) => void;
}

let MODULE: WebAssembly.Module | null = null;

/** The compiled kernel module (compiled once per realm; it is a few hundred bytes). */
export function kernelModule(): WebAssembly.Module {
  if (MODULE === null) {
    MODULE = new WebAssembly.Module(base64Bytes(POPCOUNT_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  }
  return MODULE;
}

/** The WebAssembly kernel: one instance owns one linear memory, grown as needed. */
export class WasmKernel {
  private readonly ex: KernelExports;

  constructor(module: WebAssembly.Module = kernelModule()) {
    this.ex = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  }

  private reserve(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    if (bytes > have) this.ex.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Same contract as `hammingDistancesTS`. */
  distances(queries: Uint8Array, codes: Uint8Array, codeSize: number, out?: Int32Array): Int32Array {
    const m = Math.floor(queries.length / codeSize);
    const n = Math.floor(codes.length / codeSize);
    const qBytes = m * codeSize;
    const cBytes = n * codeSize;
    const cAt = (qBytes + 7) & ~7;
    const oAt = (cAt + cBytes + 7) & ~7;
    this.reserve(oAt + 4 * m * n);
    const mem = new Uint8Array(this.ex.memory.buffer);
    mem.set(queries.subarray(0, qBytes), 0);
    mem.set(codes.subarray(0, cBytes), cAt);
    if (m === 1 && codeSize === 16) this.ex.distances16(0, cAt, n, oAt);
    else this.ex.distances(0, m, cAt, n, codeSize, oAt);
    const d = out ?? new Int32Array(m * n);
    d.set(new Int32Array(this.ex.memory.buffer, oAt, m * n));
    this.resident = null;
    return d;
  }

  /** The codes last copied into linear memory by `residentDistances` (and where). */
  private resident: { codes: Uint8Array; at: number } | null = null;

  /**
   * Distances of the queries to codes `[a, b)` of `codes`, which stay in the kernel's
   * linear memory between calls: the first call copies them in, later calls with the
   * same array object (and no `distances` call in between) copy only the queries. The
   * caller must not change `codes` while it scores with it.
   */
  residentDistances(queries: Uint8Array, codes: Uint8Array, codeSize: number, a: number, b: number): Int32Array {
    const m = Math.floor(queries.length / codeSize);
    const n = Math.floor(codes.length / codeSize);
    const qBytes = m * codeSize;
    const cAt = Math.max(RESIDENT_QUERY_BYTES, (qBytes + 7) & ~7);
    const cBytes = n * codeSize;
    const oAt = (cAt + cBytes + 7) & ~7;
    const rows = Math.max(0, Math.min(b, n) - a);
    if (this.resident === null || this.resident.codes !== codes || this.resident.at !== cAt) {
      this.reserve(oAt + 4 * m * rows);
      new Uint8Array(this.ex.memory.buffer).set(codes.subarray(0, cBytes), cAt);
      this.resident = { codes, at: cAt };
    } else {
      this.reserve(oAt + 4 * m * rows);
    }
    new Uint8Array(this.ex.memory.buffer).set(queries.subarray(0, qBytes), 0);
    if (m === 1 && codeSize === 16) this.ex.distances16(0, cAt + a * codeSize, rows, oAt);
    else this.ex.distances(0, m, cAt + a * codeSize, rows, codeSize, oAt);
    return new Int32Array(this.ex.memory.buffer, oAt, m * rows).slice();
  }
}

/** Linear memory before the resident codes, for the queries (more moves the codes). */
const RESIDENT_QUERY_BYTES = 1 << 16;

let SHARED: WasmKernel | null | undefined;

/** A shared kernel instance, or null where WebAssembly is unavailable. */
export function sharedKernel(): WasmKernel | null {
  if (SHARED === undefined) {
    try {
      SHARED = new WasmKernel();
    } catch {
      SHARED = null;
    }
  }
  return SHARED;
}

/** Distances with the WASM kernel when available, else the pure-TS fallback. */
export function hammingDistances(
  queries: Uint8Array,
  codes: Uint8Array,
  codeSize: number,
): Int32Array {
  const k = sharedKernel();
  return k === null ? hammingDistancesTS(queries, codes, codeSize) : k.distances(queries, codes, codeSize);
}

/** Popcount of one code (number of set bits). */
export function popcount(code: Uint8Array): number {
  let s = 0;
  for (const b of code) s += POPCOUNT8[b] as number;
  return s;
}
