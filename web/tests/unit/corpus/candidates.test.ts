import { describe, expect, it } from "vitest";
import { concatCandidates, concatCandidatesSliced, takeCandidates } from "../../../src/lib/corpus/candidates";
import type { Candidates } from "../../../src/lib/corpus/candidates";
import { TimeSlicer } from "../../../src/lib/corpus/slices";

const CS = 3;
const RR = 2;

/** A table of `n` rows whose every column encodes the row (`offset + i`). */
function table(n: number, offset: number): Candidates {
  const r = (i: number): number => offset + i;
  return {
    length: n,
    ids: Array.from({ length: n }, (_, i) => `r${r(i)}`),
    wkb: Array.from({ length: n }, (_, i) => Uint8Array.of(r(i) & 255, 7)),
    bbox: Float64Array.from({ length: 4 * n }, (_, k) => r(k >> 2) * 10 + (k & 3)),
    codes: Uint8Array.from({ length: n * CS }, (_, k) => (r(Math.floor(k / CS)) * 3 + (k % CS)) & 255),
    times: Float64Array.from({ length: n }, (_, i) => r(i) * 1000),
    rerank: Uint8Array.from({ length: n * RR }, (_, k) => (r(Math.floor(k / RR)) + k) & 255),
    factors: Float32Array.from({ length: 3 * n }, (_, k) => r(Math.floor(k / 3)) + k / 10),
    attributes: { label: Array.from({ length: n }, (_, i) => `L${r(i)}`) },
  };
}

/** Row `i` of `c`, every column (the oracle: read row by row). */
function row(c: Candidates, i: number): unknown[] {
  return [
    c.ids[i],
    Array.from(c.wkb[i] ?? []),
    Array.from(c.bbox.subarray(4 * i, 4 * i + 4)),
    Array.from(c.codes.subarray(i * CS, (i + 1) * CS)),
    c.times?.[i],
    Array.from(c.rerank?.subarray(i * RR, (i + 1) * RR) ?? []),
    Array.from(c.factors?.subarray(3 * i, 3 * i + 3) ?? []),
    c.attributes["label"]?.[i],
  ];
}

describe("candidate tables", () => {
  it("take rows in runs and singly, each row whole and in the asked order", () => {
    const c = table(40, 100);
    for (const keep of [
      Array.from({ length: 40 }, (_, i) => i),
      [0, 1, 2, 5, 6, 9, 10, 11, 12, 39],
      [39, 38, 3, 4, 5, 0],
      [7],
      [],
    ]) {
      const t = takeCandidates(c, keep, CS, RR);
      expect(t.length).toBe(keep.length);
      keep.forEach((i, at) => expect(row(t, at)).toEqual(row(c, i)));
    }
  });
  it("concatenate in slices exactly as at once", async () => {
    const parts = [
      { table: table(5, 0), rows: [0, 1, 2, 3, 4] },
      { table: table(6, 50), rows: [5, 1, 2] },
      { table: table(3, 90), rows: [0, 1, 2] },
    ];
    const whole = concatCandidates(parts, CS, RR);
    const sliced = await concatCandidatesSliced(parts, CS, RR, new TimeSlicer(0));
    expect(sliced.length).toBe(11);
    for (let i = 0; i < whole.length; i++) expect(row(sliced, i)).toEqual(row(whole, i));
    expect(row(sliced, 6)).toEqual(row(table(6, 50), 1));
  });
});
