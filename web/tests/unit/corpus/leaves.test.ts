/// <reference types="node" />
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { denseNumbers, readLeafPages, TIME_AS_NUMBER } from "../../../src/lib/corpus/leaves";
import { openCorpus } from "../../../src/lib/corpus/reader";
import type { BBox } from "../../../src/lib/types";
import { compressors, readyCompressors } from "../../../src/lib/corpus/zstd";
import { FsStore, SPEC } from "../helpers";

interface OracleRow {
  id: string;
  geometry: Uint8Array;
  bbox: { xmin: number; ymin: number; xmax: number; ymax: number };
  datetime: Date | null;
  label?: string | null;
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe("shard reads leaf by leaf", () => {
  // the oracle: hyparquet's row objects with its default parsers (a struct per bbox, a Date per time)
  it.each([
    ["tiny", null],
    ["tiny_twin", null],
    ["tiny", [-12, -36, -10, -33] as BBox],
  ])("match hyparquet's row objects (%s, box %s)", async (name, box) => {
    await readyCompressors();
    const root = join(SPEC, name);
    const corpus = await openCorpus("corpus", { store: new FsStore(root) });
    let compared = 0;
    for (const shard of corpus.manifest) {
      const t = await corpus.readShard(shard, { boxes: box === null ? null : [box], geometry: true, attributes: true });
      const file = toArrayBuffer(readFileSync(join(root, shard.path)));
      const rows = (await parquetReadObjects({ file, compressors, parsers: { geometryFromBytes: (b: Uint8Array) => b } })) as unknown as OracleRow[];
      const kept = rows.filter(({ bbox: b }) => box === null || (b.xmin <= box[2] && b.xmax >= box[0] && b.ymin <= box[3] && b.ymax >= box[1]));
      expect(t.ids).toEqual(kept.map((r) => r.id));
      expect(Array.from(t.bbox)).toEqual(kept.flatMap((r) => [r.bbox.xmin, r.bbox.ymin, r.bbox.xmax, r.bbox.ymax]));
      expect(Array.from(t.times ?? [])).toEqual(kept.map((r) => (r.datetime === null ? NaN : r.datetime.getTime())));
      expect(t.wkb).toEqual(kept.map((r) => r.geometry));
      if (name === "tiny_twin") expect(t.attributes["label"]).toEqual(kept.map((r) => r.label));
      compared += kept.length;
    }
    expect(compared).toBeGreaterThan(0);
    if (box !== null) expect(compared).toBeLessThan(corpus.manifest.reduce((s, m) => s + m.rows, 0));
  });

  it("reads a nullable struct's leaves, flagging its null rows", async () => {
    const leaf = (name: string) => ({ name, type: "FLOAT" as const, repetition_type: "OPTIONAL" as const });
    const file = parquetWriteBuffer({
      columnData: [{ name: "bbox", data: [{ xmin: 1, ymin: 2, xmax: 3, ymax: 4 }, null, { xmin: 5, ymin: null, xmax: 7, ymax: 8 }] }],
      schema: [
        { name: "root", num_children: 1 },
        { name: "bbox", repetition_type: "OPTIONAL", num_children: 4 },
        leaf("xmin"),
        leaf("ymin"),
        leaf("xmax"),
        leaf("ymax"),
      ],
    });
    const pages = await readLeafPages(file, parquetMetadata(file), ["bbox"], 0, 3, TIME_AS_NUMBER);
    const x = denseNumbers(pages, "bbox.xmin", 0, 3);
    expect(Array.from(x.values)).toEqual([1, NaN, 5]);
    expect(Array.from(x.missing)).toEqual([0, 1, 0]);
    expect(Array.from(denseNumbers(pages, "bbox.ymin", 0, 3).missing)).toEqual([0, 1, 1]);
    // a leaf the read did not hold: every row missing
    expect(Array.from(denseNumbers(pages, "bbox.other", 1, 3).missing)).toEqual([1, 1]);
  });

  it("gives times in milliseconds as Date would, NaN beyond its range", () => {
    const micros = TIME_AS_NUMBER.timestampFromMicroseconds as (v: bigint) => number;
    const nanos = TIME_AS_NUMBER.timestampFromNanoseconds as (v: bigint) => number;
    const millis = TIME_AS_NUMBER.timestampFromMilliseconds as (v: bigint) => number;
    const days = TIME_AS_NUMBER.dateFromDays as (v: number) => number;
    expect(micros(1_700_000_000_123_999n)).toBe(Date.UTC(2023, 10, 14, 22, 13, 20, 123));
    expect(micros(-1_999n)).toBe(-1); // truncated towards zero, as hyparquet's default
    expect(Object.is(micros(-999n), 0)).toBe(true); // never -0
    expect(nanos(86_400_000_000_001n)).toBe(86_400_000);
    expect(millis(8_640_000_000_000_001n)).toBeNaN();
    expect(days(19_000)).toBe(Date.UTC(2022, 0, 8));
  });
});
