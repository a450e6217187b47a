/// <reference types="node" />
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCorpus } from "../../../src/lib/corpus/reader";
import { falseColourOf, falseColours, falseColourTables, hexColour } from "../../../src/lib/corpus/falsecolour";
import type { CorpusInfo } from "../../../src/lib/types";
import { FsStore, must, readJson, SPEC } from "../helpers";

interface Case {
  corpus: string;
  code_size: number;
  saturated: number;
  rows: { id: string; code: string; rgb: string }[];
}

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
const cases = readJson<{ cases: Case[] }>("falsecolour.json").cases;

function info(metadata: Record<string, unknown>, formatVersion = "1.5", codeSize = 1): CorpusInfo {
  return { formatVersion, codec: {}, codecSpec: "int8", dims: 8, codeSize, rows: 0, shards: 0, rerankCodeSize: null, columns: [], metadata };
}

const f4 = (values: number[]): { dtype: string; shape: number[]; base64: string } => ({
  dtype: "f4",
  shape: [values.length],
  base64: Buffer.from(new Float32Array(values).buffer).toString("base64"),
});

describe("embedding false colour (spec §4.3), against Python (spec/fixtures/falsecolour.json)", () => {
  for (const c of cases) {
    it(`${c.corpus}: the same RGB bytes for every row, from the corpus's own manifest`, async () => {
      const corpus = await openCorpus(c.corpus, { store: new FsStore(join(SPEC, c.corpus)) });
      const state = falseColourOf(corpus.info);
      expect(state.reason).toBeNull();
      const fc = must(state.params);
      expect(fc.codeSize).toBe(c.code_size);
      const codes = new Uint8Array(c.rows.length * c.code_size);
      c.rows.forEach((r, i) => codes.set(fromHex(r.code), i * c.code_size));
      const rgb = falseColours(fc, codes, c.rows.length);
      const got = c.rows.map((_, i) => toHex(rgb.subarray(3 * i, 3 * i + 3)));
      expect(got).toEqual(c.rows.map((r) => r.rgb));
      expect(c.saturated).toBeGreaterThan(0); // the clipping is exercised
      // the codes the reader reads colour the same (ids matched)
      const want = new Map(c.rows.map((r) => [r.id, r.rgb]));
      let seen = 0;
      for (const row of corpus.manifest) {
        const t = await corpus.readShard(row);
        const shardRgb = falseColours(fc, t.codes, t.length);
        for (let i = 0; i < t.length; i++) {
          expect(hexColour(shardRgb, i)).toBe(`#${want.get(t.ids[i] as string)}`);
          seen++;
        }
      }
      expect(seen).toBe(c.rows.length);
    });
  }

  it("hand-worked: directions on bits 0-2, mean 0, ends -1 and 1", () => {
    const eye = new Float32Array(24);
    eye[0] = 1;
    eye[9] = 1;
    eye[18] = 1;
    const fc = { codeSize: 1, tables: falseColourTables(eye, new Float32Array(8), 1), lo: [-1, -3, 0], hi: [1, 1, 2], rows: 0 };
    // 0b1010_0000: p = (1, -1, 1) -> 256 (clipped 255), (2/4) 128, (1/2) 128
    expect(Array.from(falseColours(fc, Uint8Array.of(0b1010_0000, 0), 2))).toEqual([255, 128, 128, 0, 128, 0]);
  });

  it("sums in the spec's order: 0.5, 2^53, -2^53 make 0 left to right (0.5 reversed)", () => {
    const big = 2 ** 53;
    const comps = new Float32Array(3 * 32);
    [0.5, big, big].forEach((c, j) => {
      comps[[0, 8, 16][j] as number] = c; // red: the MSB of bytes 0, 1, 2
      comps[32 + 24 + j] = c; // green: bits 0, 1, 2 of byte 3
    });
    const fc = { codeSize: 4, tables: falseColourTables(comps, new Float32Array(32), 4), lo: [-1, -1, -1], hi: [1, 1, 1], rows: 0 };
    expect(Array.from(falseColours(fc, Uint8Array.of(0x80, 0x80, 0x00, 0b1100_0000), 1))).toEqual([128, 128, 128]);
  });

  it("a corpus without it says why, for the menu's tooltip", async () => {
    const older = await openCorpus("rerank", { store: new FsStore(join(import.meta.dirname, "../fixtures/rerank")) });
    expect(older.info.formatVersion).toBe("1.4");
    expect(falseColourOf(older.info).reason).toMatch(/published in format 1\.4, before embedding colours/);
    expect(falseColourOf(info({})).reason).toMatch(/codec \(int8\) is not compared by Hamming distance/);
  });

  it("malformed metadata is refused with the problem named", () => {
    const good = { components: f4(new Array<number>(24).fill(0.5)), mean: f4(new Array<number>(8).fill(0)), lo: [0, 0, 0], hi: [1, 1, 1], rows: 3 };
    expect(falseColourOf(info({ false_colour: good })).reason).toBeNull();
    expect(falseColourOf(info({ false_colour: { ...good, hi: [1, -1, 1] } })).reason).toMatch(/lo must be below hi/);
    expect(falseColourOf(info({ false_colour: { ...good, lo: [0, 0] } })).reason).toMatch(/3 finite numbers/);
    expect(falseColourOf(info({ false_colour: { ...good, mean: f4([0, 0]) } })).reason).toMatch(/mean must be f4 \[8\]/);
    expect(falseColourOf(info({ false_colour: good }, "1.5", 2)).reason).toMatch(/components must be f4 \[3, 16\]/);
    expect(falseColourOf(info({ false_colour: good })).params?.rows).toBe(3);
  });
});
