import { describe, expect, it } from "vitest";
import { concatCandidates, emptyCandidates, exactRows, takeCandidates } from "../../../src/lib/corpus/candidates";
import type { Candidates } from "../../../src/lib/corpus/candidates";
import { packedBuffers, packTable, ReadHandler, ReaderPool, unpackTable } from "../../../src/lib/corpus/readerpool";
import type { ReadRequest, ReadResponse, ReaderWorkerLike } from "../../../src/lib/corpus/readerpool";
import { regionFromSpecs } from "../../../src/lib/region";
import { FsStore, openTiny, TINY } from "../helpers";

/** A Worker stand-in running the reader worker's code in this thread (over the fixture files). */
class FakeReader implements ReaderWorkerLike {
  onmessage: ((ev: MessageEvent<ReadResponse>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  private readonly handler = new ReadHandler(() => new FsStore(TINY));
  requests = 0;

  postMessage(message: ReadRequest): void {
    this.requests += 1;
    const copy = structuredClone(message); // what crossing to a worker does
    void this.handler.answer(copy).then(({ response }) => this.onmessage?.({ data: response } as MessageEvent<ReadResponse>));
  }

  terminate(): void {}
}

describe("ReaderPool", () => {
  it("reads shards in workers exactly as in place (region applied, rows packed)", async () => {
    const { corpus } = await openTiny();
    const fakes: FakeReader[] = [];
    const pool = new ReaderPool(2, () => {
      const f = new FakeReader();
      fakes.push(f);
      return f;
    });
    const region = regionFromSpecs([
      { kind: "polygon", geometry: { type: "Polygon", coordinates: [[[90, 0], [130, 0], [110, 40], [90, 0]]] } },
      { kind: "bbox", bbox: [-20, -40, 0, -30] },
    ]);
    const options = { boxes: region?.boxes ?? null, window: null, geometry: true, attributes: true };
    const shards = corpus.selectShards(region?.boxes ?? null);
    const remote = await Promise.all(shards.map((row) => pool.read(corpus, row, options, region)));
    for (const [s, row] of shards.entries()) {
      const local = await corpus.readShard(row, options);
      const keep = exactRows(local, region);
      const { table, bytes } = remote[s] ?? { table: local, bytes: 0 };
      expect(bytes).toBeGreaterThan(0);
      expect(table.ids).toEqual(keep.map((i) => local.ids[i]));
      expect(table.wkb.map((w) => Array.from(w))).toEqual(keep.map((i) => Array.from(local.wkb[i] ?? [])));
      expect(Array.from(table.codes)).toEqual(keep.flatMap((i) => Array.from(local.codes.subarray(16 * i, 16 * i + 16))));
      expect(Array.from(table.times ?? [])).toEqual(keep.map((i) => local.times?.[i]));
    }
    expect(shards.length).toBeGreaterThanOrEqual(2);
    expect(fakes.every((f) => f.requests > 0)).toBe(true); // spread over the workers
    pool.terminate();
  });
  it("packs whole shards (no region) as read, and concatenates them like row by row", async () => {
    const { corpus } = await openTiny();
    const pool = new ReaderPool(2, () => new FakeReader());
    const options = { boxes: null, window: null, geometry: true, attributes: true };
    const cs = corpus.info.codeSize;
    const parts = [];
    for (const row of corpus.manifest) {
      const local = await corpus.readShard(row, options);
      const { table } = await pool.read(corpus, row, options, null);
      expect(table.length).toBe(local.length);
      expect(table.ids).toEqual(local.ids);
      expect(Array.from(table.bbox)).toEqual(Array.from(local.bbox));
      expect(Array.from(table.codes)).toEqual(Array.from(local.codes));
      expect(table.wkb.map((w) => Array.from(w))).toEqual(local.wkb.map((w) => Array.from(w)));
      expect(table.attributes).toEqual(local.attributes);
      parts.push({ table, rows: Array.from({ length: table.length }, (_, i) => i) });
    }
    // the bulk path (all rows in order) equals the row-by-row path (rows 0 and 1 swapped)
    const swapped = (m: number): number[] => (m > 1 ? [1, 0, ...Array.from({ length: m - 2 }, (_, i) => i + 2)] : [0]);
    const bulk = concatCandidates(parts, cs, 0);
    const rowwise = concatCandidates(
      parts.map((p) => ({ table: p.table, rows: swapped(p.table.length) })),
      cs,
      0,
    );
    expect(bulk.length).toBe(corpus.info.rows);
    expect(bulk.length).toBe(rowwise.length);
    let at = 0;
    for (const p of parts) {
      const m = p.table.length;
      swapped(m).forEach((src, j) => {
        expect(rowwise.ids[at + j]).toBe(bulk.ids[at + src]);
        expect(Array.from(rowwise.codes.subarray((at + j) * cs, (at + j + 1) * cs))).toEqual(
          Array.from(bulk.codes.subarray((at + src) * cs, (at + src + 1) * cs)),
        );
        expect(Array.from(rowwise.bbox.subarray(4 * (at + j), 4 * (at + j) + 4))).toEqual(Array.from(bulk.bbox.subarray(4 * (at + src), 4 * (at + src) + 4)));
        expect(rowwise.times?.[at + j]).toEqual(bulk.times?.[at + src]);
        for (const [key, values] of Object.entries(bulk.attributes)) expect(rowwise.attributes[key]?.[at + j]).toEqual(values[at + src]);
      });
      at += m;
    }
    pool.terminate();
  });
  it("passes errors back with their kind", async () => {
    const { corpus } = await openTiny();
    const pool = new ReaderPool(1, () => new FakeReader());
    const row = { ...corpus.manifest[0], footerChecksum: "sha256:" + "0".repeat(64) } as (typeof corpus.manifest)[number];
    await expect(pool.read(corpus, row, {}, null)).rejects.toMatchObject({ kind: "format" });
  });
});

describe("RaBitQ factors travel with their rows", () => {
  const table = (n: number, offset: number): Candidates => ({
    ...emptyCandidates(),
    length: n,
    ids: Array.from({ length: n }, (_, i) => `r${offset + i}`),
    bbox: new Float64Array(4 * n),
    codes: Uint8Array.from({ length: n }, (_, i) => offset + i),
    factors: Float32Array.from({ length: 3 * n }, (_, k) => offset * 10 + k),
  });
  it("through packing (all rows, and some), concatenation and taking", () => {
    const a = table(4, 0);
    const whole = unpackTable(packTable(a, [0, 1, 2, 3], 1, 0));
    expect(Array.from(whole.factors ?? [])).toEqual(Array.from(a.factors ?? []));
    const some = unpackTable(packTable(a, [3, 1], 1, 0));
    expect(Array.from(some.factors ?? [])).toEqual([9, 10, 11, 3, 4, 5]);
    const b = table(2, 7);
    const both = concatCandidates([{ table: a, rows: [0, 1, 2, 3] }, { table: b, rows: [1] }], 1, 0);
    expect(Array.from(both.factors ?? [])).toEqual([...Array.from(a.factors ?? []), 73, 74, 75]);
    const taken = takeCandidates(both, [4, 0], 1, 0);
    expect(Array.from(taken.factors ?? [])).toEqual([73, 74, 75, 0, 1, 2]);
    expect(Array.from(taken.codes)).toEqual([8, 0]);
    expect(packedBuffers(packTable(a, [0, 1, 2, 3], 1, 0))).toContain(whole.factors?.buffer);
    expect(concatCandidates([{ table: { ...a, factors: null }, rows: [0] }], 1, 0).factors).toBeNull();
  });
});
