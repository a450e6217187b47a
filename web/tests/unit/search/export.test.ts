/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { exportGeoParquet } from "../../../src/lib/search/export";
import { search } from "../../../src/lib/search/query";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import { wkbToGeoJSON } from "../../../src/lib/wkb";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openCorpus } from "../../../src/lib/corpus/reader";
import { FsStore, must, openTiny, SPEC, TINY } from "../helpers";

describe("exportGeoParquet", () => {
  it("writes the shown rows and exemplars with GeoParquet metadata", async () => {
    const { corpus } = await openTiny();
    const query = {
      ...DEFAULT_QUERY,
      regions: [{ kind: "bbox" as const, bbox: [90, 0, 130, 40] as [number, number, number, number] }],
      positives: [{ kind: "id" as const, id: "p000000180" }],
      view: "threshold" as const,
      k: 5,
    };
    const result = await search(corpus, query);
    const shown = result.rows.filter((r) => r.shown);
    expect(shown.length).toBeGreaterThanOrEqual(5);
    const bytes = await exportGeoParquet(result);
    const buffer = bytes.slice().buffer;
    const md = parquetMetadata(buffer);
    const kv = Object.fromEntries((md.key_value_metadata ?? []).map((e) => [e.key, e.value ?? ""]));
    const geo = JSON.parse(kv["geo"] ?? "{}") as {
      version: string;
      primary_column: string;
      columns: Record<string, { encoding: string; geometry_types: string[]; crs: { id?: { authority: string; code: string } }; bbox: number[] }>;
    };
    expect(geo.version).toBe("1.1.0");
    expect(geo.primary_column).toBe("geometry");
    expect(geo.columns["geometry"]?.encoding).toBe("WKB");
    expect(geo.columns["geometry"]?.geometry_types).toEqual(["Polygon"]);
    expect(geo.columns["geometry"]?.crs.id).toEqual({ authority: "OGC", code: "CRS84" });
    const prov = JSON.parse(kv["terrabit"] ?? "{}") as { hash: string; view: string };
    expect(prov.view).toBe("threshold");
    expect(prov.hash).toMatch(/view=threshold/);
    const rows = await parquetReadObjects({ file: buffer, geoparquet: false, utf8: false });
    expect(rows.length).toBe(shown.length + 1);
    const dec = new TextDecoder();
    const id = (v: unknown): string => (typeof v === "string" ? v : dec.decode(v as Uint8Array));
    // the exemplar first, then the shown rows in rank order (as Python's export)
    expect(id(rows[0]?.["role"])).toBe("positive");
    expect(id(rows[0]?.["id"])).toBe("p000000180");
    expect(rows[0]?.["score"]).toBeNull();
    expect(rows.slice(1).map((r) => id(r["id"]))).toEqual(shown.map((r) => r.id));
    expect(rows.slice(1).map((r) => r["score"])).toEqual(shown.map((r) => r.score));
    expect(rows.slice(1).map((r) => r["value"])).toEqual(shown.map((r) => r.value));
    expect(rows.slice(1).map((r) => Number(r["rank"]))).toEqual(shown.map((r) => r.rank));
    // the list's columns: the fixture corpus has datetime
    expect(rows.slice(1).map((r) => (r["datetime"] as Date).toISOString())).toEqual(shown.map((r) => r.attributes["datetime"]));
    expect(rows[0]?.["datetime"]).toBeInstanceOf(Date); // the exemplar row has its time too
    expect("code" in (rows[0] ?? {})).toBe(false);
    // geometry round-trips through WKB
    expect(wkbToGeoJSON(rows[1]?.["geometry"] as Uint8Array)).toEqual(shown[0]?.geometry);
    const [x0, y0, x1, y1] = (geo.columns["geometry"]?.bbox ?? []).map(must);
    for (const r of shown) expect(r.lon >= must(x0) && r.lon <= must(x1) && r.lat >= must(y0) && r.lat <= must(y1)).toBe(true);
  });

  it("writes codes and a spatial split with withCodes", async () => {
    const { corpus } = await openTiny();
    const query = {
      ...DEFAULT_QUERY,
      regions: [{ kind: "bbox" as const, bbox: [-180, -90, 180, 90] as [number, number, number, number] }],
      positives: [{ kind: "id" as const, id: "p000000180" }],
      view: "topk" as const,
      k: 40,
    };
    const result = await search(corpus, query);
    const buffer = (await exportGeoParquet(result, { withCodes: true, codecSpec: "binary" })).slice().buffer;
    const rows = await parquetReadObjects({ file: buffer, geoparquet: false, utf8: false });
    // the codes as the shards store them, read independently with hyparquet
    const dec = new TextDecoder();
    const text = (v: unknown): string => (typeof v === "string" ? v : dec.decode(v as Uint8Array));
    const stored = new Map<string, Uint8Array>();
    for (const path of corpus.manifest.map((m) => m.path)) {
      const file = readFileSync(join(TINY, path));
      const shard = await parquetReadObjects({ file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength), columns: ["id", "embedding"], utf8: false, compressors });
      for (const r of shard) stored.set(text(r["id"]), r["embedding"] as Uint8Array);
    }
    for (const r of rows) expect(Array.from(r["code"] as Uint8Array)).toEqual(Array.from(must(stored.get(text(r["id"])))));
    const split = rows.map((r) => text(r["split"]));
    expect(new Set(split)).toEqual(new Set(["train", "validation"]));
    expect(split.filter((s) => s === "validation").length).toBeGreaterThanOrEqual(0.2 * rows.length);
  });

  it("adds the classifier's probability and the change view's earlier ids", async () => {
    const { corpus } = await openTiny();
    const clf = await search(corpus, {
      ...DEFAULT_QUERY,
      regions: [{ kind: "bbox", bbox: [90, 0, 130, 40] }],
      positives: [{ kind: "id", id: "p000000009" }],
      score: "classifier",
      k: 4,
    });
    const buffer = (await exportGeoParquet(clf)).slice().buffer;
    const rows = await parquetReadObjects({ file: buffer, geoparquet: false });
    const shown = clf.rows.filter((r) => r.shown);
    expect(rows.map((r) => r["probability"])).toEqual([null, ...shown.map((r) => r.probability)]);
    expect(shown.every((r) => r.probability !== undefined && Math.abs(r.score + r.probability - 1) < 1e-12)).toBe(true);
    const kv = Object.fromEntries((parquetMetadata(buffer).key_value_metadata ?? []).map((e) => [e.key, e.value ?? ""]));
    expect((JSON.parse(kv["terrabit"] ?? "{}") as { classifier: { positives: number } }).classifier.positives).toBe(1);

    const twin = await openCorpus("tiny_twin", { store: new FsStore(join(SPEC, "tiny_twin")) });
    const change = await search(twin, { ...DEFAULT_QUERY, view: "change", k: 3 });
    const back = await parquetReadObjects({ file: (await exportGeoParquet(change)).slice().buffer, geoparquet: false });
    expect(back.map((r) => [r["id"], r["earlier"]])).toEqual(change.rows.slice(0, 3).map((r) => [r.id, r.earlier]));
    expect(back.every((r) => !("probability" in r))).toBe(true);
  });
});
