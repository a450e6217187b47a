import { describe, expect, it } from "vitest";
import { blockHash, spatialSplit } from "../../src/lib/blocks";
import { readJson } from "./helpers";

interface Fixture {
  hash: { cells: number[]; seed_0: number[]; seed_7: number[] };
  cases: { seed: number; test_fraction: number; blocks_per_side: number; lon: number[]; lat: number[]; test: number[] }[];
}

const FIXTURE = readJson<Fixture>("blocks.json");

describe("spatial blocks (spec/fixtures/blocks.json, Python's spatial_split order=hash)", () => {
  it("hashes block numbers as Python does", () => {
    expect(FIXTURE.hash.cells.map((c) => blockHash(c))).toEqual(FIXTURE.hash.seed_0);
    expect(FIXTURE.hash.cells.map((c) => blockHash(c, 7))).toEqual(FIXTURE.hash.seed_7);
  });

  it("splits every case as Python does", () => {
    for (const c of FIXTURE.cases) {
      const got = spatialSplit(c.lon, c.lat, { testFraction: c.test_fraction, seed: c.seed, blocksPerSide: c.blocks_per_side });
      expect(got.map(Number)).toEqual(c.test);
    }
  });

  it("splits nothing when there is nothing", () => {
    expect(spatialSplit([], [])).toEqual([]);
  });
});
