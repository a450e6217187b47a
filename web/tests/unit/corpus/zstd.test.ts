/// <reference types="node" />
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata, parquetRead } from "hyparquet";
import { describe, expect, it } from "vitest";
import { jsZstd, readyCompressors, zstdDecompress, zstdIsWasm } from "../../../src/lib/corpus/zstd";
import { SPEC } from "../helpers";

/** Every ZSTD page of the fixtures' shards and manifests, as hyparquet hands them over. */
async function fixturePages(): Promise<{ input: Uint8Array; length: number }[]> {
  const pages: { input: Uint8Array; length: number }[] = [];
  const record = (input: Uint8Array, length: number): Uint8Array => {
    pages.push({ input: input.slice(), length });
    return jsZstd(input, length);
  };
  for (const corpus of ["tiny", "tiny_rabitq"]) {
    const files = [join(SPEC, corpus, "manifest.parquet")];
    for (const f of readdirSync(join(SPEC, corpus, "shards"))) files.push(join(SPEC, corpus, "shards", f));
    for (const path of files) {
      const b = readFileSync(path);
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      await parquetRead({ file, metadata: parquetMetadata(file), compressors: { ZSTD: record } });
    }
  }
  return pages;
}

describe("ZSTD decompression", () => {
  it("decodes every fixture page with WebAssembly exactly as the JavaScript decoder does", async () => {
    await readyCompressors();
    expect(zstdIsWasm()).toBe(true);
    const pages = await fixturePages();
    expect(pages.length).toBeGreaterThan(50);
    let bytes = 0;
    for (const { input, length } of pages) {
      const out = zstdDecompress(input, length);
      expect(out.length).toBe(length);
      expect(Buffer.from(out).equals(Buffer.from(jsZstd(input, length)))).toBe(true);
      bytes += length;
    }
    expect(bytes).toBeGreaterThan(10_000);
  });

  it("a corrupt page fails as the JavaScript decoder fails, never with wrong bytes", async () => {
    await readyCompressors();
    const page = (await fixturePages()).find((p) => p.length > 256);
    expect(page).toBeDefined();
    if (page === undefined) return;
    const bad = page.input.slice();
    bad.fill(0xff, 4, Math.min(bad.length, 40)); // past the magic number: a broken frame header
    expect(() => jsZstd(bad, page.length)).toThrow();
    expect(() => zstdDecompress(bad, page.length)).toThrow();
  });
});
