/**
 * RaBitQ's asymmetric inner loop: a query quantized to 4 bits per dimension (levels
 * 0..15) against packed 1-bit codes (MSB-first, as the Hamming kernel's), computed from the
 * query's 4 bit planes with popcounts — a WebAssembly kernel (`src/wasm/rabitq.ts`, five
 * 64-bit popcounts per word) and a pure-TS byte-table fallback.
 *
 * For code `i`, `dots[i]` = sum of the levels over the code's set bits
 * = `sum_b 2^b popcount(code_i & plane_b)`, and `pops[i]` = `popcount(code_i)`: what
 * `terrabit.codecs.rabitq.rabitq_scores(..., query_bits=4)` computes with its lookup table.
 * Both come back in one Int32Array of `2 n`: dots in `[0, n)`, pops in `[n, 2n)`.
 */
import { RABITQ_WASM_BASE64 } from "../../wasm/rabitq-wasm";
import { base64Bytes, POPCOUNT8 } from "./hamming";

/** Bits per query dimension the kernel takes. */
export const QUERY_BITS = 4;

/**
 * The bit planes of `levels` (integers 0..15, one per dimension): `QUERY_BITS * codeSize`
 * bytes, plane `b` at `b * codeSize`, bit `j` of plane `b` (packed MSB-first, as the codes)
 * = bit `b` of `levels[j]`.
 */
export function bitPlanes(levels: ArrayLike<number>, codeSize: number): Uint8Array {
  if (levels.length > 8 * codeSize) throw new Error(`${levels.length} levels do not fit codes of ${codeSize} bytes`);
  const planes = new Uint8Array(QUERY_BITS * codeSize);
  for (let j = 0; j < levels.length; j++) {
    const level = levels[j] as number;
    if (!Number.isInteger(level) || level < 0 || level >= 1 << QUERY_BITS) throw new Error(`level ${level} is not in 0..15`);
    const at = j >> 3;
    const bit = 0x80 >> (j & 7);
    for (let b = 0; b < QUERY_BITS; b++) {
      if ((level >> b) & 1) planes[b * codeSize + at] = (planes[b * codeSize + at] as number) | bit;
    }
  }
  return planes;
}

/** Dots and pops of every code in `codes` (pure TS, byte popcount table). */
export function planeDotsTS(planes: Uint8Array, codes: Uint8Array, codeSize: number, out?: Int32Array): Int32Array {
  const n = Math.floor(codes.length / codeSize);
  const res = out ?? new Int32Array(2 * n);
  const p1 = codeSize;
  const p2 = 2 * codeSize;
  const p3 = 3 * codeSize;
  for (let i = 0; i < n; i++) {
    const row = i * codeSize;
    let dot = 0;
    let pop = 0;
    for (let k = 0; k < codeSize; k++) {
      const x = codes[row + k] as number;
      dot +=
        (POPCOUNT8[x & (planes[k] as number)] as number) +
        2 * (POPCOUNT8[x & (planes[p1 + k] as number)] as number) +
        4 * (POPCOUNT8[x & (planes[p2 + k] as number)] as number) +
        8 * (POPCOUNT8[x & (planes[p3 + k] as number)] as number);
      pop += POPCOUNT8[x] as number;
    }
    res[i] = dot;
    res[n + i] = pop;
  }
  return res;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  planeDots4: (planes: number, codes: number, n: number, codeSize: number, out: number) => void;
}

let MODULE: WebAssembly.Module | null = null;

/** The compiled kernel module (compiled once per realm; a few hundred bytes). */
export function rabitqModule(): WebAssembly.Module {
  if (MODULE === null) {
    MODULE = new WebAssembly.Module(base64Bytes(RABITQ_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  }
  return MODULE;
}

/** Linear memory before the resident codes, for the planes (more moves the codes). */
const RESIDENT_PLANE_BYTES = 1 << 16;

/** The WebAssembly kernel: one instance owns one linear memory, grown as needed. */
export class RabitqKernel {
  private readonly ex: KernelExports;
  /** The codes last copied into linear memory by `residentPlaneDots` (and where). */
  private resident: { codes: Uint8Array; at: number } | null = null;

  constructor(module: WebAssembly.Module = rabitqModule()) {
    this.ex = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  }

  private reserve(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    if (bytes > have) this.ex.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Same contract as `planeDotsTS`. */
  planeDots(planes: Uint8Array, codes: Uint8Array, codeSize: number, out?: Int32Array): Int32Array {
    const n = Math.floor(codes.length / codeSize);
    const pBytes = QUERY_BITS * codeSize;
    const cAt = (pBytes + 7) & ~7;
    const oAt = (cAt + n * codeSize + 7) & ~7;
    this.reserve(oAt + 8 * n);
    const mem = new Uint8Array(this.ex.memory.buffer);
    mem.set(planes.subarray(0, pBytes), 0);
    mem.set(codes.subarray(0, n * codeSize), cAt);
    this.ex.planeDots4(0, cAt, n, codeSize, oAt);
    this.resident = null;
    const res = out ?? new Int32Array(2 * n);
    res.set(new Int32Array(this.ex.memory.buffer, oAt, 2 * n));
    return res;
  }

  /**
   * Dots and pops of codes `[a, b)` of `codes`, which stay in the kernel's linear memory
   * between calls: the first call copies them in, later calls with the same array object
   * (and no `planeDots` call in between) copy only the planes. The caller must not change
   * `codes` while it scores with it.
   */
  residentPlaneDots(planes: Uint8Array, codes: Uint8Array, codeSize: number, a: number, b: number): Int32Array {
    const n = Math.floor(codes.length / codeSize);
    const pBytes = QUERY_BITS * codeSize;
    const cAt = Math.max(RESIDENT_PLANE_BYTES, (pBytes + 7) & ~7);
    const oAt = (cAt + n * codeSize + 7) & ~7;
    const rows = Math.max(0, Math.min(b, n) - a);
    this.reserve(oAt + 8 * rows);
    if (this.resident === null || this.resident.codes !== codes || this.resident.at !== cAt) {
      new Uint8Array(this.ex.memory.buffer).set(codes.subarray(0, n * codeSize), cAt);
      this.resident = { codes, at: cAt };
    }
    new Uint8Array(this.ex.memory.buffer).set(planes.subarray(0, pBytes), 0);
    this.ex.planeDots4(0, cAt + a * codeSize, rows, codeSize, oAt);
    return new Int32Array(this.ex.memory.buffer, oAt, 2 * rows).slice();
  }
}

let SHARED: RabitqKernel | null | undefined;

/** A shared kernel instance, or null where WebAssembly is unavailable. */
export function sharedRabitqKernel(): RabitqKernel | null {
  if (SHARED === undefined) {
    try {
      SHARED = new RabitqKernel();
    } catch {
      SHARED = null;
    }
  }
  return SHARED;
}

/** Dots and pops with the WASM kernel when available, else the pure-TS fallback. */
export function planeDots(planes: Uint8Array, codes: Uint8Array, codeSize: number): Int32Array {
  const k = sharedRabitqKernel();
  return k === null ? planeDotsTS(planes, codes, codeSize) : k.planeDots(planes, codes, codeSize);
}
