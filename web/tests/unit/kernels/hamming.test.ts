import { describe, expect, it } from "vitest";
import { combineCodes, invertCodes, prepareQuery, score, scoreBlock } from "../../../src/lib/search/exemplars";
import { hammingDistancesTS, POPCOUNT8, WasmKernel } from "../../../src/lib/kernels/hamming";
import { best, kthSmallest, rankScores } from "../../../src/lib/search/select";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomCodes(n: number, size: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n * size }, () => Math.floor(r() * 256));
}

/** Bit-by-bit oracle, independent of the lookup table. */
function bitDistance(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) for (let bit = 0; bit < 8; bit++) d += (((a[i] as number) ^ (b[i] as number)) >> bit) & 1;
  return d;
}

describe("hamming kernels", () => {
  it("the byte table counts bits", () => {
    expect(POPCOUNT8[0]).toBe(0);
    expect(POPCOUNT8[255]).toBe(8);
    expect(POPCOUNT8[0b1011]).toBe(3);
  });
  for (const size of [1, 7, 8, 16, 24, 33, 64]) {
    it(`WASM equals the TS fallback and a bitwise oracle (code size ${size})`, () => {
      const q = randomCodes(3, size, size);
      const c = randomCodes(257, size, size + 1);
      const kernel = new WasmKernel();
      const ts = hammingDistancesTS(q, c, size);
      const wasm = kernel.distances(q, c, size);
      expect(Array.from(wasm)).toEqual(Array.from(ts));
      const one = kernel.distances(q.subarray(0, size), c, size);
      expect(Array.from(one)).toEqual(Array.from(ts.subarray(0, 257)));
      for (let j = 0; j < 3; j++) {
        for (const i of [0, 100, 256]) {
          expect(ts[j * 257 + i]).toBe(bitDistance(q.subarray(j * size, (j + 1) * size), c.subarray(i * size, (i + 1) * size)));
        }
      }
    });
  }
  for (const size of [7, 16, 128]) {
    it(`resident codes: any row range, any query count, equal to the TS oracle (code size ${size})`, () => {
      const kernel = new WasmKernel();
      const c = randomCodes(1001, size, 7 * size);
      for (const [m, a, b] of [[1, 0, 1001], [1, 500, 1001], [3, 17, 400], [1, 0, 3], [2, 1000, 1001]] as const) {
        const q = randomCodes(m, size, m + a + size);
        const got = kernel.residentDistances(q, c, size, a, b);
        const want = hammingDistancesTS(q, c.subarray(a * size, b * size), size);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
      // `distances` overwrites the memory: the next resident call copies the codes again
      const q = randomCodes(1, size, 99);
      kernel.distances(q, randomCodes(900, size, 5), size);
      expect(Array.from(kernel.residentDistances(q, c, size, 0, 1001))).toEqual(Array.from(hammingDistancesTS(q, c, size)));
    });
  }
  it("grows its memory for large blocks", () => {
    const kernel = new WasmKernel();
    const c = randomCodes(50_000, 16, 3);
    const q = randomCodes(2, 16, 4);
    expect(Array.from(kernel.distances(q, c, 16).subarray(49_990))).toEqual(Array.from(hammingDistancesTS(q, c, 16).subarray(49_990)));
  });
});

describe("exemplar algebra (Python docstring examples)", () => {
  const codes = Uint8Array.from([0b0000_0000, 0b0000_1111, 0b1111_1111]);
  it("scores like terrabit.search.score", () => {
    expect(Array.from(score(codes, codes.subarray(0, 1), null, 1))).toEqual([0, 4, 8]);
    expect(Array.from(score(codes, codes.subarray(0, 1), null, 1, { invert: true }))).toEqual([8, 4, 0]);
    expect(Array.from(score(codes, codes.subarray(0, 1), codes.subarray(2), 1))).toEqual([-8, 0, 8]);
    const c2 = Uint8Array.from([0b1100, 0b0011]);
    const pos = Uint8Array.from([0b1000, 0b0100]);
    expect(Array.from(score(c2, pos, null, 1))).toEqual([1, 3]);
    expect(Array.from(score(c2, pos, null, 1, { combine: "or" }))).toEqual([0, 4]);
  });
  it("combines codes bit by bit", () => {
    const c = Uint8Array.from([0b1100, 0b1010, 0b1001]);
    expect(combineCodes(c, 1, "majority")[0]).toBe(0b1000);
    expect(combineCodes(c, 1, "and")[0]).toBe(0b1000);
    expect(combineCodes(c, 1, "or")[0]).toBe(0b1111);
    expect(combineCodes(c, 1, "xor")[0]).toBe(0b1111);
    expect(combineCodes(Uint8Array.from([1, 0]), 1, "majority")[0]).toBe(0); // a tie gives 0
    expect(Array.from(invertCodes(Uint8Array.from([0b0000_1111, 255])))).toEqual([240, 0]);
  });
  it("needs a positive", () => {
    expect(() => prepareQuery(new Uint8Array(0), null, 2)).toThrow(/at least one positive/);
  });
  it("scores large blocks in chunks like one pass", () => {
    const c = randomCodes(70_000, 16, 9);
    const q = prepareQuery(randomCodes(2, 16, 10), randomCodes(1, 16, 11), 16, "mean", true);
    const s = scoreBlock(q, c);
    const d = hammingDistancesTS(q.queries, c.subarray(69_000 * 16), 16);
    for (let i = 0; i < 1000; i += 97) {
      const want = -((d[i] as number) + (d[1000 + i] as number)) / 2 + (d[2000 + i] as number);
      expect(s[69_000 + i]).toBe(want === 0 ? 0 : want);
    }
  });
});

describe("selection", () => {
  it("kthSmallest equals sorting", () => {
    const r = rng(5);
    const v = Float64Array.from({ length: 1000 }, () => Math.floor(r() * 50));
    const sorted = Array.from(v).sort((a, b) => a - b);
    for (const k of [1, 2, 10, 999, 1000, 5000]) expect(kthSmallest(v, k)).toBe(sorted[Math.min(k, 1000) - 1]);
  });
  it("best keeps ties at the cut", () => {
    expect(best([3, 1, 2, 1], 1)).toEqual([1, 3]);
    expect(best([3, 1, 2, 1], 9)).toEqual([0, 1, 2, 3]);
  });
  it("ranks ties by id (Python rank_scores)", () => {
    expect(Array.from(rankScores([2, 1, 2], ["9", "5", "1"]))).toEqual([3, 1, 2]);
  });
});
