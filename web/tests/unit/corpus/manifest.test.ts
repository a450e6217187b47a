/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkSanity, parseManifest } from "../../../src/lib/corpus/manifest";
import { TINY } from "../helpers";

const bytes = (): ArrayBuffer => new Uint8Array(readFileSync(join(TINY, "manifest.parquet"))).buffer;

describe("the manifest's sanity checks (spec §4.4)", () => {
  it("pass on a published manifest, which is GeoParquet (footprints, bbox) since 1.6", async () => {
    const m = await parseManifest(bytes());
    expect(() => checkSanity(m.rows, m.info, "m")).not.toThrow();
    const first = m.rows[0];
    expect(first?.extra["geometry"]).toMatchObject({ type: "Polygon" }); // hyparquet reads the `geo` metadata
    const codes = first?.extra["summary_codes"] as unknown[];
    expect(codes[0]).toBeInstanceOf(Uint8Array);
    expect((codes[0] as Uint8Array).length).toBe(m.info.codeSize);
  });

  const cases: [string, (r: Record<string, unknown>) => void, RegExp][] = [
    ["rows", (r) => (r["rows"] = 999), /its shards' rows sum to \d+ where its metadata says 200/],
    ["bytes", (r) => (r["bytes"] = 0), /its shards' bytes sum to/],
    ["x range", (r) => (r["xmin"] = 200), /1 shard extents are not finite, ordered and within/],
    ["inverted", (r) => (r["ymax"] = -89), /1 shard extents are not finite/],
    ["radii", (r) => ((r["extra"] as Record<string, unknown>)["summary_radii"] = [500]), /summary radii lie outside 0\.\.128 bits/],
  ];
  for (const [name, change, said] of cases) {
    it(`refuse a manifest that contradicts itself: ${name}`, async () => {
      const m = await parseManifest(bytes());
      const rows = m.rows.map((r) => ({ ...r, extra: { ...r.extra } }));
      change(rows[0] as unknown as Record<string, unknown>);
      expect(() => checkSanity(rows, m.info, "c/manifest.parquet")).toThrow(said);
      expect(() => checkSanity(rows, m.info, "c/manifest.parquet")).toThrow(/^c\/manifest\.parquet contradicts itself: .*republish the corpus$/);
    });
  }

  it("names a missing shard row", async () => {
    const m = await parseManifest(bytes());
    expect(() => checkSanity(m.rows.slice(1), m.info, "m")).toThrow(/it has 12 shard rows where its metadata says 13/);
  });
});
