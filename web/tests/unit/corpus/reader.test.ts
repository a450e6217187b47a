/// <reference types="node" />
import { describe, expect, it, vi } from "vitest";
import { openCorpus, resolveCorpusUrl } from "../../../src/lib/corpus/reader";
import { TerrabitError } from "../../../src/lib/errors";
import { CACHE_WRITE_DELAY_MS, HttpStore } from "../../../src/lib/corpus/sources";
import { openTiny, readJson, TINY, FsStore } from "../helpers";
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Expected {
  rows: number;
  code_size: number;
  codec: string;
  box: [number, number, number, number];
  ids_in_box: string[];
  codes: Record<string, string>;
  shards: {
    geohash: string;
    path: string;
    rows: number;
    summary_radius_bits?: number;
    summary_code?: string;
    summary_radii?: number[];
    summary_codes?: string[];
  }[];
}

/** Seal a manifest again after a test changed it (as the writer does: spec §4.2). */
async function reseal(bytes: Uint8Array): Promise<Uint8Array> {
  const text = new TextDecoder("latin1").decode(bytes);
  const at = text.indexOf("sha256:", text.indexOf("terrabit.sha256"));
  const out = bytes.slice();
  out.set(new TextEncoder().encode("sha256:" + "~".repeat(64)), at);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", out));
  out.set(new TextEncoder().encode("sha256:" + hex(digest)), at);
  return out;
}

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");

describe("openCorpus", () => {
  it("reads the manifest and its metadata like tiny.expected.json", async () => {
    const expected = readJson<Expected>("tiny.expected.json");
    const { corpus } = await openTiny();
    expect(corpus.info.formatVersion).toMatch(/^1\.\d+$/);
    expect(corpus.info.codeSize).toBe(expected.code_size);
    expect(corpus.info.codecSpec).toBe(expected.codec);
    expect(corpus.info.rows).toBe(expected.rows);
    expect(corpus.manifest.map((m) => [m.path, m.geohash, m.rows])).toEqual(
      expected.shards.map((s) => [s.path, s.geohash, s.rows]),
    );
    // the summary balls: the multi-ball columns, or the older single ball
    corpus.manifest.forEach((m, i) => {
      const e = expected.shards[i];
      if (e?.summary_radii !== undefined) {
        expect(m.extra["summary_radii"]).toEqual(e.summary_radii);
        expect((m.extra["summary_codes"] as Uint8Array[]).map(hex)).toEqual(e.summary_codes);
      } else {
        expect(m.extra["summary_radius_bits"]).toEqual(e?.summary_radius_bits);
        expect(hex(m.extra["summary_code"] as Uint8Array)).toEqual(e?.summary_code);
      }
    });
    expect(corpus.extent[0]).toBeCloseTo(-169.015, 3);
  });

  it("reads every row once, with the expected codes (bit order)", async () => {
    const expected = readJson<Expected>("tiny.expected.json");
    const { corpus } = await openTiny();
    const seen = new Map<string, string>();
    for (const row of corpus.manifest) {
      const t = await corpus.readShard(row);
      expect(t.length).toBe(row.rows);
      t.ids.forEach((id, i) => seen.set(id, hex(t.codes.subarray(16 * i, 16 * i + 16))));
    }
    expect(seen.size).toBe(expected.rows);
    for (const [id, code] of Object.entries(expected.codes)) expect(seen.get(id)).toBe(code);
  });

  it("prunes row groups by bbox statistics and reads fewer bytes", async () => {
    const { corpus, store } = await openTiny();
    corpus.tailBytes = 1024; // a small first tail read: the data pages are fetched apart
    const w = corpus.manifest.find((m) => m.geohash === "w");
    expect(w).toBeDefined();
    if (w === undefined) return;
    await corpus.footer(w);
    const before = store.bytesRead;
    const all = await corpus.readShard(w);
    const allBytes = store.bytesRead - before;
    // a tiny box around one row
    const b = all.bbox;
    const box: [number, number, number, number] = [b[0] as number, b[1] as number, b[2] as number, b[3] as number];
    const before2 = store.bytesRead;
    const one = await corpus.readShard(w, { boxes: [box] });
    const oneBytes = store.bytesRead - before2;
    expect(one.ids).toContain(all.ids[0]);
    expect(one.length).toBeLessThan(all.length);
    expect(oneBytes).toBeLessThan(allBytes);
  });

  it("fetches a shard the region wholly holds in one request with its footer, the same rows", async () => {
    const { corpus, store } = await openTiny();
    corpus.tailBytes = 1024; // a footer read alone would start 1 KiB before the end
    const { corpus: apart } = await openTiny();
    apart.tailBytes = 1024; // the footer first, then the data pages
    apart.wholeShardBytes = 0;
    for (const row of corpus.manifest) {
      const inside: [number, number, number, number] = [row.xmin - 1, row.ymin - 1, row.xmax + 1, row.ymax + 1];
      const before = store.ranges.length;
      const t = await corpus.readShard(row, { boxes: [inside], geometry: true, attributes: true });
      expect(store.ranges.slice(before)).toEqual([{ path: row.path, start: 0, end: row.bytes }]);
      const u = await apart.readShard(row, { boxes: [inside], geometry: true, attributes: true });
      expect(t.ids).toEqual(u.ids);
      expect(Array.from(t.codes)).toEqual(Array.from(u.codes));
      expect(t.wkb.map((g) => Array.from(g))).toEqual(u.wkb.map((g) => Array.from(g)));
      expect(t.attributes).toEqual(u.attributes);
    }
    // a box cutting a shard: the footer's tail first, as before
    const row = corpus.manifest.find((m) => m.rows > 1) as (typeof corpus.manifest)[number];
    const { corpus: fresh, store: s2 } = await openTiny();
    fresh.tailBytes = 1024;
    await fresh.readShard(row, { boxes: [[row.xmin, row.ymin, (row.xmin + row.xmax) / 2, row.ymax]] });
    expect(s2.ranges[0]?.start).toBeGreaterThan(0);
  });

  it("rejects a footer that does not match the manifest checksum", async () => {
    const { corpus } = await openTiny();
    const row = { ...(corpus.manifest[0] as (typeof corpus.manifest)[number]) };
    row.footerChecksum = "sha256:" + "0".repeat(64);
    await expect(corpus.footer(row)).rejects.toThrow(/shards\/7.parquet: its footer does not match/);
    // the right checksum passes
    await expect(corpus.footer(corpus.manifest[0] as typeof row)).resolves.toBeDefined();
  });

  it("refuses an unknown major format version", async () => {
    const store = new FsStore(TINY);
    const real = store.readAll.bind(store);
    store.readAll = async (path: string) => {
      const bytes = new Uint8Array(await real(path));
      // patch "format_version": "1.x" -> "2.x" in the footer JSON (same length)
      const text = new TextDecoder("latin1").decode(bytes);
      const at = text.indexOf('"format_version": "1.');
      expect(at).toBeGreaterThan(0);
      bytes[at + '"format_version": "'.length] = "2".charCodeAt(0);
      return (path === "manifest.parquet" ? await reseal(bytes) : bytes).buffer as ArrayBuffer;
    };
    await expect(openCorpus("x", { store })).rejects.toThrow(/format version "2\.\d+"; this app reads version 1\.x/);
  });

  it("checks the manifest's own digest before trusting a byte", async () => {
    const clean = new Uint8Array(readFileSync(join(TINY, "manifest.parquet")));
    // one flipped bit anywhere: in the data, in the metadata JSON, in the digest itself
    const text = new TextDecoder("latin1").decode(clean);
    const places = [10, text.indexOf('"rows": '), text.indexOf("sha256:", text.indexOf("terrabit.sha256")) + 9];
    for (const at of places) {
      expect(at).toBeGreaterThan(0);
      const store = new FsStore(TINY);
      const real = store.readAll.bind(store);
      store.readAll = async (path: string) => {
        const bytes = new Uint8Array(await real(path));
        if (path === "manifest.parquet") bytes[at] = (bytes[at] as number) ^ 4;
        return bytes.buffer;
      };
      await expect(openCorpus("x", { store })).rejects.toThrow(
        /x\/manifest\.parquet: its (bytes do not match its own digest|digest \(terrabit\.sha256\) is malformed)/,
      );
    }
  });

  it("refuses a 1.6 manifest without its digest", async () => {
    const store = new FsStore(TINY);
    const real = store.readAll.bind(store);
    store.readAll = async (path: string) => {
      const bytes = new Uint8Array(await real(path));
      if (path !== "manifest.parquet") return bytes.buffer;
      // rename the key (same length): the footer stays valid, the digest is gone
      const at = new TextDecoder("latin1").decode(bytes).indexOf("terrabit.sha256");
      bytes.set(new TextEncoder().encode("terrabit.xxxxxx"), at);
      return bytes.buffer;
    };
    await expect(openCorpus("x", { store })).rejects.toThrow(/carries no digest of its own \(terrabit\.sha256\)/);
  });

  it("names a missing corpus", async () => {
    await expect(openCorpus("nowhere", { store: new FsStore("/nonexistent") })).rejects.toThrow(/no corpus at nowhere/);
  });
});

describe("resolveCorpusUrl", () => {
  const loc = (href: string): Pick<Location, "href" | "search"> => ({ href, search: new URL(href).search });
  it("prefers ?corpus=", async () => {
    expect(await resolveCorpusUrl(loc("http://h/app/?corpus=https://x.org/c/"))).toBe("https://x.org/c");
  });
  it("reads config.json, relative to it", async () => {
    const url = await resolveCorpusUrl(loc("http://h/app/index.html"), async (u) => {
      expect(u).toBe("http://h/app/config.json");
      return new Response(JSON.stringify({ corpus: "../data/c" }), { status: 200 });
    });
    expect(url).toBe("http://h/data/c");
  });
  it("falls back to corpus/", async () => {
    const url = await resolveCorpusUrl(loc("http://h/app/"), async () => new Response("", { status: 404 }));
    expect(url).toBe("http://h/app/corpus");
  });
});

describe("HttpStore", () => {
  const file = readFileSync(join(TINY, "shards/w.parquet"));
  const range = (init?: RequestInit): [number, number] | null => {
    const h = new Headers(init?.headers).get("range");
    const m = /bytes=(\d+)-(\d+)/.exec(h ?? "");
    return m ? [Number(m[1]), Number(m[2]) + 1] : null;
  };
  it("reads ranges with 206 and counts bytes; caches in memory", async () => {
    let calls = 0;
    const store = new HttpStore("http://h/c", {
      cacheApi: false,
      fetch: async (_u, init) => {
        calls += 1;
        const r = range(init);
        if (r === null) return new Response(file, { status: 200 });
        return new Response(file.subarray(r[0], r[1]), {
          status: 206,
          headers: { "content-range": `bytes ${r[0]}-${r[1] - 1}/${file.length}` },
        });
      },
    });
    const got = new Uint8Array(await store.readRange("shards/w.parquet", 10, 30, file.length, "k"));
    expect(Array.from(got)).toEqual(Array.from(file.subarray(10, 30)));
    expect(store.bytesRead).toBe(20);
    await store.readRange("shards/w.parquet", 10, 30, file.length, "k");
    expect(calls).toBe(1);
  });
  it("writes ranges to the Cache API only once reading has been quiet; a later store reads them from it", async () => {
    vi.useFakeTimers();
    const puts: string[] = [];
    const stored = new Map<string, ArrayBuffer>();
    const cache = {
      match: async (key: string) => (stored.has(key) ? new Response(stored.get(key)) : undefined),
      put: async (key: string, r: Response) => {
        puts.push(key);
        stored.set(key, await r.arrayBuffer());
      },
    };
    vi.stubGlobal("caches", { open: async () => cache });
    try {
      let calls = 0;
      const fetch = async (_u: string, init?: RequestInit): Promise<Response> => {
        calls += 1;
        const r = range(init) as [number, number];
        return new Response(file.subarray(r[0], r[1]), {
          status: 206,
          headers: { "content-range": `bytes ${r[0]}-${r[1] - 1}/${file.length}` },
        });
      };
      const store = new HttpStore("http://h/c", { fetch });
      await store.readRange("shards/w.parquet", 10, 30, file.length, "k");
      await vi.advanceTimersByTimeAsync(CACHE_WRITE_DELAY_MS - 100);
      await store.readRange("shards/w.parquet", 40, 50, file.length, "k");
      await vi.advanceTimersByTimeAsync(CACHE_WRITE_DELAY_MS - 100);
      expect(puts).toEqual([]); // still reading: nothing written yet
      await vi.advanceTimersByTimeAsync(200);
      expect(puts.length).toBe(2);
      const later = new HttpStore("http://h/c", { fetch });
      const got = new Uint8Array(await later.readRange("shards/w.parquet", 40, 50, file.length, "k"));
      expect(Array.from(got)).toEqual(Array.from(file.subarray(40, 50)));
      expect(calls).toBe(2); // the later store's read came from the cache
    } finally {
      vi.unstubAllGlobals();
      vi.useRealTimers();
    }
  });
  it("explains a server that ignores Range on a large file", async () => {
    const big = 64 << 20;
    const store = new HttpStore("http://h/c", {
      cacheApi: false,
      fetch: async () => new Response("x", { status: 200, headers: { "content-length": String(big) } }),
    });
    const err = await store.readRange("shards/a.parquet", 0, 10, big, "k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerrabitError);
    expect((err as TerrabitError).kind).toBe("range");
    expect((err as TerrabitError).message).toMatch(/ignores HTTP Range/);
  });
  it("uses a small whole body when Range is ignored", async () => {
    let calls = 0;
    const store = new HttpStore("http://h/c", {
      cacheApi: false,
      fetch: async () => {
        calls += 1;
        return new Response(file, { status: 200, headers: { "content-length": String(file.length) } });
      },
    });
    const a = new Uint8Array(await store.readRange("shards/w.parquet", 5, 9, file.length, "k"));
    const b = new Uint8Array(await store.readRange("shards/w.parquet", 100, 120, file.length, "k"));
    expect(Array.from(a)).toEqual(Array.from(file.subarray(5, 9)));
    expect(Array.from(b)).toEqual(Array.from(file.subarray(100, 120)));
    expect(calls).toBe(1);
  });
  it("reports HTTP errors with the status", async () => {
    const store = new HttpStore("http://h/c", { cacheApi: false, fetch: async () => new Response("no", { status: 500 }) });
    await expect(store.readRange("shards/w.parquet", 0, 4, file.length, "k")).rejects.toThrow(/HTTP 500/);
  });
});
