import { describe, expect, it } from "vitest";
import { planeDotsTS } from "../../../src/lib/kernels/rabitq";
import { decodeFactors } from "../../../src/lib/corpus/factors";
import {
  prepareRabitqQuery,
  rabitqCodec,
  rabitqEstimates,
  rabitqScores,
} from "../../../src/lib/search/rabitq";
import type { RabitqCodec, RabitqMetric } from "../../../src/lib/search/rabitq";
import { must, readJson } from "../helpers";

interface FixtureQuery {
  vector: number[];
  levels: number[];
  v_min: number;
  delta: number;
  ip: { scores: number[]; top: number[] };
  l2: { scores: number[]; top: number[] };
  cos: { scores: number[]; top: number[] };
}

interface FixtureCase {
  d: number;
  rows: number;
  code_size: number;
  codec: unknown;
  codes: string[];
  factors: string[];
  queries: FixtureQuery[];
}

interface Fixture {
  query_bits: number;
  k: number;
  cases: FixtureCase[];
}

function hexRows(rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join("").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function topK(scores: Float64Array, k: number): number[] {
  return Array.from(scores.keys())
    .sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b)
    .slice(0, k);
}

const FIXTURE = readJson<Fixture>("rabitq.json");

describe("RaBitQ 4-bit-query estimator: the same scores and ranking as Python (spec/fixtures/rabitq.json)", () => {
  it("the fixture has the cases it promises (d = 64, and 100: not a multiple of 64)", () => {
    expect(FIXTURE.query_bits).toBe(4);
    expect(FIXTURE.cases.map((c) => c.d)).toEqual([64, 100]);
  });
  for (const c of FIXTURE.cases) {
    const codec = must(rabitqCodec(c.codec));
    const codes = hexRows(c.codes);
    const factors = decodeFactors(hexRows(c.factors), 6);
    it(`d=${c.d}: codec state, codes and factors decode`, () => {
      expect(codec.dims).toBe(c.d);
      expect(codec.codeSize).toBe(c.code_size);
      expect(codes.length).toBe(c.rows * c.code_size);
      expect(factors.length).toBe(3 * c.rows);
      for (let i = 0; i < c.rows; i++) {
        expect(factors[3 * i] as number).toBeGreaterThan(0); // norm
        expect(factors[3 * i + 1] as number).toBeGreaterThanOrEqual(1 / Math.sqrt(c.d) - 1e-3); // ip_code
        expect(factors[3 * i + 1] as number).toBeLessThanOrEqual(1 + 1e-3);
      }
    });
    c.queries.forEach((q, qi) => {
      it(`d=${c.d}, query ${qi}: the same quantized query`, () => {
        const p = prepareRabitqQuery(codec, q.vector);
        expect(Array.from(p.levels)).toEqual(q.levels);
        expect(p.vMin).toBeCloseTo(q.v_min, 5);
        expect(Math.abs(p.delta - q.delta) / q.delta).toBeLessThan(1e-6);
      });
      for (const metric of ["ip", "l2", "cos"] as RabitqMetric[]) {
        it(`d=${c.d}, query ${qi}, ${metric}: the same scores and top-${FIXTURE.k}, WASM and TS`, () => {
          const want = q[metric].scores;
          const scale = Math.max(...want.map(Math.abs));
          const p = prepareRabitqQuery(codec, q.vector);
          const wasm = rabitqScores(p, codes, factors, metric);
          const ts = rabitqEstimates(p, planeDotsTS(p.planes, codes, c.code_size), factors, metric);
          for (const got of [wasm, ts]) {
            expect(got.length).toBe(c.rows);
            let worst = 0;
            for (let i = 0; i < c.rows; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
            expect(worst / scale).toBeLessThan(1e-6);
            expect(topK(got, FIXTURE.k)).toEqual(q[metric].top);
          }
        });
      }
    });
  }
});

describe("RaBitQ codec state and factors", () => {
  it("only a fitted rabitq quantizer is read", () => {
    const c = FIXTURE.cases[0] as FixtureCase;
    const dict = c.codec as { spec: string; state: Record<string, unknown> };
    expect(rabitqCodec({ ...dict, spec: "rabitq:seed=3" })).not.toBeNull();
    expect(rabitqCodec({ ...dict, spec: "rot+binary" })).toBeNull();
    expect(rabitqCodec({ ...dict, spec: "pca:64+rabitq" })).toBeNull();
    expect(rabitqCodec({ ...dict, state: null })).toBeNull();
    expect(rabitqCodec({ ...dict, state: { ...dict.state, d_in_: 63 } })).toBeNull();
    expect(rabitqCodec(null)).toBeNull();
  });
  it("float16 factors: known bit patterns, little-endian", () => {
    // 1.0, -2.0, 65504 (largest), 2^-24 (smallest subnormal), 0.333251953125, -0
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000];
    const bytes = new Uint8Array(bits.flatMap((b) => [b & 255, b >> 8]));
    expect(Array.from(decodeFactors(bytes, 6))).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125, -0]);
  });
  it("float32 factors (12 bytes a row)", () => {
    const values = [1.5, -0.25, 3.0e-8, 123456.5, 2, -7];
    const bytes = new Uint8Array(24);
    const dv = new DataView(bytes.buffer);
    values.forEach((v, k) => dv.setFloat32(4 * k, v, true));
    expect(Array.from(decodeFactors(bytes, 12))).toEqual(values.map(Math.fround));
    expect(() => decodeFactors(bytes, 8)).toThrow(/6 or 12 bytes/);
  });
  // identity rotation, zero centre, 8 dims: q_r = q, worked by hand
  const identity: RabitqCodec = {
    dims: 8,
    codeSize: 1,
    rotation: Float32Array.from({ length: 64 }, (_, k) => (k % 9 === 0 ? 1 : 0)),
    center: new Float32Array(8),
    cc: 0,
  };
  it("a hand-worked query: levels rounded to nearest, estimates from the formula", () => {
    const p = prepareRabitqQuery(identity, [0, 1, 2, 3, 4, 5, 6, 7]);
    // delta = 7/15: j * 15/7 = 0, 2.14, 4.29, 6.43, 8.57, 10.71, 12.86, 15
    expect(Array.from(p.levels)).toEqual([0, 2, 4, 6, 9, 11, 13, 15]);
    expect(p.sumQ).toBeCloseTo(28, 12); // (7/15) * 60
    // code 0xff: sum over all = 28, <x̄, q_r> = (56 - 28)/sqrt 8; code 0x81: dims 0 and 7,
    // sum 7, (14 - 28)/sqrt 8; factors norm 2, ip_code 0.5 (est = 4 <x̄, q_r>), ip_centroid 1
    const codes = Uint8Array.from([0xff, 0x81]);
    const factors = Float64Array.from([2, 0.5, 1, 2, 0.5, 1]);
    const ip = rabitqScores(p, codes, factors, "ip");
    expect(ip[0]).toBeCloseTo(-(4 * (28 / Math.sqrt(8)) + 1), 12);
    expect(ip[1]).toBeCloseTo(-(4 * (-14 / Math.sqrt(8)) + 1), 12);
    const l2 = rabitqScores(p, codes, factors, "l2");
    expect(l2[0]).toBeCloseTo(4 + 140 - 8 * (28 / Math.sqrt(8)), 10); // |q|^2 = 140
    expect(l2[1]).toBeCloseTo(4 + 140 - 8 * (-14 / Math.sqrt(8)), 10);
    // |o| = sqrt(norm² + 2 ip_centroid + |c|²) = sqrt 6, |q| = sqrt 140
    const cos = rabitqScores(p, codes, factors, "cos");
    expect(cos[0]).toBeCloseTo(1 - (4 * (28 / Math.sqrt(8)) + 1) / Math.sqrt(6 * 140), 12);
    // a zero |o| (norm² + 2 ip_centroid + |c|² <= 0): cosine 0, distance 1
    expect(rabitqScores(p, codes.subarray(0, 1), Float64Array.from([1, 1, -0.5]), "cos")[0]).toBe(1);
  });
  it("ties round to even, as numpy's rint", () => {
    // q = [0, 1.5, 2.5, 15] -> delta 1: levels 0, 2 (1.5), 2 (2.5), 15
    const codec: RabitqCodec = { ...identity, dims: 4, rotation: Float32Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 1 : 0)), center: new Float32Array(4) };
    expect(Array.from(prepareRabitqQuery(codec, [0, 1.5, 2.5, 15]).levels)).toEqual([0, 2, 2, 15]);
  });
  it("a constant query: every level 0, the step 0, scores from the offset alone", () => {
    const p = prepareRabitqQuery(identity, new Array<number>(8).fill(0.5));
    expect(p.delta).toBe(0);
    expect(Array.from(p.levels)).toEqual(new Array<number>(8).fill(0));
    // 0xff: (2 * 8 * 0.5 - 8 * 0.5) / sqrt 8; 0xf0: (2 * 4 * 0.5 - 4) = 0
    const ip = rabitqScores(p, Uint8Array.from([0xff, 0xf0]), Float64Array.from([1, 1, 0, 1, 1, 0]), "ip");
    expect(ip[0]).toBeCloseTo(-4 / Math.sqrt(8), 12);
    expect(ip[1]).toBeCloseTo(0, 12);
  });
  it("a query of the wrong dimension, and too few factors, are refused", () => {
    expect(() => prepareRabitqQuery(identity, [1, 2, 3])).toThrow(/3 dimensions, the codec 8/);
    const p = prepareRabitqQuery(identity, [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(() => rabitqScores(p, Uint8Array.from([1, 2]), new Float64Array(3), "ip")).toThrow(/2 codes but factors for 1/);
  });
});
