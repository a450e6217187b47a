/**
 * Parquet columns read leaf by leaf, page by page, with hyparquet: no object per row. A
 * struct's leaves stay apart (`bbox.xmin` as one `Float32Array` per page, never a
 * `{xmin, …}` per row) and timestamps are numbers (no `Date` per row); the shard reader
 * (`reader.ts`) turns the pages into dense columns over a run of row groups.
 */
import { parquetRead } from "hyparquet";
import type { AsyncBuffer, DecodedArray, FileMetaData, ParquetParsers } from "hyparquet";
import { compressors } from "./zstd";

/** The pages of each leaf column (by its dotted path) of one read: values and first row. */
export type LeafPages = Map<string, { data: DecodedArray; rowStart: number }[]>;

export const BBOX_LEAVES = ["bbox.xmin", "bbox.ymin", "bbox.xmax", "bbox.ymax"];

/** `Date`'s range (ECMAScript TimeClip): a time beyond it is NaN, as `new Date(t)` makes it. */
const MAX_TIME_MS = 8.64e15;

function clipTime(ms: number): number {
  return Math.abs(ms) > MAX_TIME_MS ? NaN : ms + 0;
}

/**
 * hyparquet's timestamp and date parsers, giving milliseconds since the epoch (the
 * `getTime()` of the `Date` its defaults build) instead of a `Date` per row.
 */
export const TIME_AS_NUMBER: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (millis: bigint) => clipTime(Number(millis)),
  timestampFromMicroseconds: (micros: bigint) => clipTime(Number(micros / 1000n)),
  timestampFromNanoseconds: (nanos: bigint) => clipTime(Number(nanos / 1000000n)),
  dateFromDays: (days: number) => clipTime(days * 86400000),
};

/**
 * Decode `columns` over rows `[rowStart, rowEnd)` page by page, leaf by leaf: a struct's
 * leaves stay apart (a `float` leaf is one `Float32Array` per page, never an object per row).
 */
export async function readLeafPages(
  file: AsyncBuffer,
  metadata: FileMetaData,
  columns: readonly string[],
  rowStart: number,
  rowEnd: number,
  parsers: Partial<ParquetParsers>,
): Promise<LeafPages> {
  const pages: LeafPages = new Map();
  await parquetRead({
    file,
    metadata,
    columns: [...columns],
    rowStart,
    rowEnd,
    compressors,
    parsers: { geometryFromBytes: (b: Uint8Array) => b, ...parsers },
    // no onChunk/onComplete: hyparquet then assembles nothing
    onPage: (page) => {
      const key = page.pathInSchema.join(".");
      let list = pages.get(key);
      if (list === undefined) {
        list = [];
        pages.set(key, list);
      }
      list.push({ data: page.columnData, rowStart: page.rowStart });
    },
  });
  return pages;
}

/** Leaf `name`'s values over rows `[rowStart, rowEnd)` (pages may reach outside it). */
export function denseColumn(pages: LeafPages, name: string, rowStart: number, rowEnd: number): ArrayLike<unknown> {
  const list = pages.get(name) ?? [];
  const len = rowEnd - rowStart;
  const only = list[0];
  if (list.length === 1 && only !== undefined && only.rowStart === rowStart && only.data.length === len) return only.data;
  const out: unknown[] = new Array<unknown>(len);
  for (const { data, rowStart: s0 } of list) {
    for (let i = Math.max(0, rowStart - s0); i < data.length && s0 + i < rowEnd; i++) out[s0 + i - rowStart] = data[i];
  }
  return out;
}

/**
 * A numeric leaf over rows `[rowStart, rowEnd)` as float64, and which rows have no value
 * (null, or in no page; NaN there). A nullable struct's leaf comes as one-element lists.
 */
export function denseNumbers(pages: LeafPages, name: string, rowStart: number, rowEnd: number): { values: Float64Array; missing: Uint8Array } {
  const values = new Float64Array(rowEnd - rowStart).fill(NaN);
  const missing = new Uint8Array(rowEnd - rowStart).fill(1);
  for (const { data, rowStart: s0 } of pages.get(name) ?? []) {
    const from = Math.max(0, rowStart - s0);
    const to = Math.min(data.length, rowEnd - s0);
    if (from >= to) continue;
    if (data instanceof Float32Array || data instanceof Float64Array) {
      values.set(data.subarray(from, to), s0 + from - rowStart);
      missing.fill(0, s0 + from - rowStart, s0 + to - rowStart);
      continue;
    }
    for (let i = from; i < to; i++) {
      let v: unknown = data[i];
      while (Array.isArray(v)) v = v[0];
      if (typeof v === "number") {
        values[s0 + i - rowStart] = v;
        missing[s0 + i - rowStart] = 0;
      }
    }
  }
  return { values, missing };
}
