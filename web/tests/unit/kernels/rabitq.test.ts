import { describe, expect, it } from "vitest";
import { bitPlanes, planeDots, planeDotsTS, RabitqKernel } from "../../../src/lib/kernels/rabitq";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function setBit(codes: Uint8Array, at: number, j: number): void {
  codes[at + (j >> 3)] = (codes[at + (j >> 3)] as number) | (0x80 >> (j & 7));
}

/** `n` random codes of `dims` bits (the padding bits of the last byte zero, as packbits writes). */
function randomCodes(n: number, dims: number, r: () => number): Uint8Array {
  const size = Math.ceil(dims / 8);
  const out = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) if (r() < 0.5) setBit(out, i * size, j);
  return out;
}

/** Bit-by-bit oracle: sum of the levels over the set bits (MSB-first), and the bit count. */
function bruteForce(levels: number[], codes: Uint8Array, size: number): { dots: number[]; pops: number[] } {
  const n = codes.length / size;
  const dots: number[] = [];
  const pops: number[] = [];
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let pop = 0;
    for (let j = 0; j < 8 * size; j++) {
      const bit = ((codes[i * size + (j >> 3)] as number) >> (7 - (j & 7))) & 1;
      pop += bit;
      if (bit) dot += levels[j] ?? 0;
    }
    dots.push(dot);
    pops.push(pop);
  }
  return { dots, pops };
}

describe("bit planes", () => {
  it("split levels MSB-first, plane b holding bit b", () => {
    const planes = bitPlanes([15, 0, 1, 8, 0, 0, 0, 0, 2], 2);
    // dims 0 (15), 2 (1) in plane 0; dims 0, 8 (2) in plane 1; dim 0 in plane 2; dims 0, 3 (8) in plane 3
    expect(Array.from(planes)).toEqual([0b1010_0000, 0, 0b1000_0000, 0b1000_0000, 0b1000_0000, 0, 0b1001_0000, 0]);
  });
  it("refuse levels outside 0..15 and more levels than bits", () => {
    expect(() => bitPlanes([16], 1)).toThrow(/0\.\.15/);
    expect(() => bitPlanes([1.5], 1)).toThrow(/0\.\.15/);
    expect(() => bitPlanes(new Array<number>(9).fill(0), 1)).toThrow(/do not fit/);
  });
});

describe("4-bit-query kernels", () => {
  // dims: under a word, a word, a word and a tail byte, not a multiple of 8, 1024 bits
  for (const dims of [5, 8, 64, 72, 100, 130, 1024]) {
    it(`WASM and TS equal a bit-by-bit oracle (${dims} dims)`, () => {
      const r = rng(dims);
      const size = Math.ceil(dims / 8);
      const codes = randomCodes(97, dims, r);
      const levels = Array.from({ length: dims }, () => Math.floor(r() * 16));
      const want = bruteForce(levels, codes, size);
      const planes = bitPlanes(levels, size);
      const wasm = new RabitqKernel().planeDots(planes, codes, size);
      const ts = planeDotsTS(planes, codes, size);
      expect(Array.from(ts)).toEqual([...want.dots, ...want.pops]);
      expect(Array.from(wasm)).toEqual([...want.dots, ...want.pops]);
      expect(Array.from(planeDots(planes, codes, size))).toEqual([...want.dots, ...want.pops]);
    });
  }
  it("property: random dims, rows, levels and bit densities (200 draws)", () => {
    const kernel = new RabitqKernel();
    for (let draw = 0; draw < 200; draw++) {
      const r = rng(1000 + draw);
      const dims = 1 + Math.floor(r() * 300);
      const size = Math.ceil(dims / 8);
      const n = Math.floor(r() * 40);
      const density = r();
      const codes = new Uint8Array(n * size);
      for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) if (r() < density) setBit(codes, i * size, j);
      // extremes included: all-zero and all-15 queries
      const fill = draw % 10 === 0 ? 0 : draw % 10 === 1 ? 15 : -1;
      const levels = Array.from({ length: dims }, () => (fill >= 0 ? fill : Math.floor(r() * 16)));
      const want = bruteForce(levels, codes, size);
      const planes = bitPlanes(levels, size);
      expect(Array.from(kernel.planeDots(planes, codes, size)), `draw ${draw}`).toEqual([...want.dots, ...want.pops]);
      expect(Array.from(planeDotsTS(planes, codes, size)), `draw ${draw}`).toEqual([...want.dots, ...want.pops]);
    }
  });
  it("resident codes: any row range, reused across queries, reloaded after planeDots", () => {
    const r = rng(5);
    const dims = 200;
    const size = 25;
    const kernel = new RabitqKernel();
    const codes = randomCodes(1001, dims, r);
    for (const [a, b] of [[0, 1001], [500, 1001], [17, 400], [1000, 1001], [3, 3]] as const) {
      const levels = Array.from({ length: dims }, () => Math.floor(r() * 16));
      const planes = bitPlanes(levels, size);
      const want = planeDotsTS(planes, codes.subarray(a * size, b * size), size);
      expect(Array.from(kernel.residentPlaneDots(planes, codes, size, a, b))).toEqual(Array.from(want));
    }
    const planes = bitPlanes(Array.from({ length: dims }, (_, j) => j % 16), size);
    kernel.planeDots(planes, randomCodes(900, dims, r), size);
    expect(Array.from(kernel.residentPlaneDots(planes, codes, size, 0, 1001))).toEqual(Array.from(planeDotsTS(planes, codes, size)));
  });
  it("grows its memory for large blocks", () => {
    const r = rng(9);
    const codes = randomCodes(40_000, 128, r);
    const planes = bitPlanes(Array.from({ length: 128 }, () => Math.floor(r() * 16)), 16);
    const got = new RabitqKernel().planeDots(planes, codes, 16);
    expect(Array.from(got)).toEqual(Array.from(planeDotsTS(planes, codes, 16)));
  });
});
