/**
 * Reading corpus files: whole small files and HTTP Range reads of shards, with byte
 * counting and a small cache (the Cache API when the page has one, memory otherwise).
 *
 * A `FileStore` is what the corpus reads through; `HttpStore` is the browser's (over
 * `fetch`), tests pass a store over the file system.
 */
import type { AsyncBuffer } from "hyparquet";
import { TerrabitError } from "../errors";

/** A body this small is used whole when a server ignores Range (200 instead of 206). */
export const SMALL_BODY_BYTES = 4 << 20;

/**
 * Cache API writes wait until the store has read nothing for this long: a write costs the
 * reading thread as much as decoding the range does, so a search reads first and the
 * cache is filled once it is done.
 */
export const CACHE_WRITE_DELAY_MS = 1500;
/** Ranges waiting for their Cache API write, at most (past it they are not cached). */
export const CACHE_WRITE_QUEUE_BYTES = 64 << 20;

/** What the corpus reads files through. */
export interface FileStore {
  /** The root URL (or path) the store reads under, for messages. */
  readonly root: string;
  /** Bytes fetched so far (network bytes for HTTP, file bytes otherwise). */
  bytesRead: number;
  /** A whole (small) file. */
  readAll(path: string, signal?: AbortSignal): Promise<ArrayBuffer>;
  /**
   * `[start, end)` of a file of `byteLength` bytes. `key` names the file's content
   * (its checksum) so that cached ranges never outlive a republish.
   */
  readRange(
    path: string,
    start: number,
    end: number,
    byteLength: number,
    key: string,
    signal?: AbortSignal,
  ): Promise<ArrayBuffer>;
}

/** An `AsyncBuffer` (hyparquet) over one file of a store. */
export function storeBuffer(
  store: FileStore,
  path: string,
  byteLength: number,
  key: string,
  signal?: AbortSignal,
): AsyncBuffer {
  return {
    byteLength,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? byteLength, byteLength);
      if (start >= stop) return Promise.resolve(new ArrayBuffer(0));
      return store.readRange(path, start, stop, byteLength, key, signal);
    },
  };
}

/** Join a relative corpus path onto a root URL. */
export function joinUrl(root: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return path;
  return root.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
}

/** A small LRU of byte ranges held in memory, bounded by total bytes. */
export class MemoryCache {
  private readonly entries = new Map<string, ArrayBuffer>();
  private size = 0;

  constructor(readonly maxBytes = 64 << 20) {}

  get(key: string): ArrayBuffer | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: ArrayBuffer): void {
    if (value.byteLength > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.size -= old.byteLength;
      this.entries.delete(key);
    }
    this.entries.set(key, value);
    this.size += value.byteLength;
    for (const [k, v] of this.entries) {
      if (this.size <= this.maxBytes) break;
      this.entries.delete(k);
      this.size -= v.byteLength;
    }
  }

  get bytes(): number {
    return this.size;
  }
}

type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpStoreOptions {
  /** `fetch` to use (tests pass a fake). */
  fetch?: FetchFn;
  /** Use the Cache API for shard ranges when the page has it (default true). */
  cacheApi?: boolean;
  /** Name of the Cache API cache. */
  cacheName?: string;
}

/** A `FileStore` over HTTP: whole files by GET, shards by `Range` requests (206 required). */
export class HttpStore implements FileStore {
  bytesRead = 0;
  requests = 0;
  readonly memory = new MemoryCache();
  private readonly fetchFn: FetchFn;
  private readonly useCacheApi: boolean;
  private readonly cacheName: string;
  /** Whole files that a Range-ignoring server sent in full (small ones only). */
  private readonly whole = new Map<string, ArrayBuffer>();
  /** Ranges read but not yet written to the Cache API (see `CACHE_WRITE_DELAY_MS`). */
  private readonly unwritten: { key: string; body: ArrayBuffer }[] = [];
  private unwrittenBytes = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly root: string,
    options: HttpStoreOptions = {},
  ) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.useCacheApi = options.cacheApi ?? true;
    this.cacheName = options.cacheName ?? "terrabit-corpus-v1";
  }

  async readAll(path: string, signal?: AbortSignal): Promise<ArrayBuffer> {
    const url = joinUrl(this.root, path);
    const response = await this.get(url, { signal });
    if (!response.ok) {
      throw new TerrabitError(
        `could not read ${url}: HTTP ${response.status} ${response.statusText}`.trim(),
        "http",
      );
    }
    const body = await response.arrayBuffer();
    this.bytesRead += body.byteLength;
    return body;
  }

  async readRange(
    path: string,
    start: number,
    end: number,
    byteLength: number,
    key: string,
    signal?: AbortSignal,
  ): Promise<ArrayBuffer> {
    const url = joinUrl(this.root, path);
    const whole = this.whole.get(url);
    if (whole !== undefined) return whole.slice(start, end);
    const cacheKey = `${url}?v=${encodeURIComponent(key)}&r=${start}-${end}`;
    const mem = this.memory.get(cacheKey);
    if (mem !== undefined) return mem;
    const cached = await this.fromCacheApi(cacheKey);
    if (cached !== undefined) {
      this.memory.set(cacheKey, cached);
      return cached;
    }
    const response = await this.get(url, {
      headers: { Range: `bytes=${start}-${end - 1}` },
      signal,
    });
    let body: ArrayBuffer;
    if (response.status === 206) {
      const total = /\/(\d+)\s*$/.exec(response.headers.get("content-range") ?? "");
      if (total?.[1] !== undefined && Number(total[1]) !== byteLength) {
        await response.body?.cancel();
        throw new TerrabitError(
          `${url} has ${total[1]} bytes but the manifest says ${byteLength}: the corpus ` +
            "changed while it was open (republished?); reload the page",
          "format",
        );
      }
      body = await response.arrayBuffer();
      this.bytesRead += body.byteLength;
    } else if (response.status === 200) {
      const length = Number(response.headers.get("content-length") ?? NaN);
      if (!(length <= SMALL_BODY_BYTES) && !(byteLength <= SMALL_BODY_BYTES)) {
        await response.body?.cancel();
        throw new TerrabitError(
          `the server at ${this.root} ignores HTTP Range requests (it answered 200 with ` +
            `the whole ${byteLength}-byte file ${path} instead of 206 Partial Content); ` +
            "serve the corpus with a server that supports Range (e.g. `terrabit serve`, " +
            "S3, GitHub Pages, nginx) — reading whole shards would download the planet",
          "range",
        );
      }
      const all = await response.arrayBuffer();
      this.bytesRead += all.byteLength;
      if (all.byteLength !== byteLength) {
        throw new TerrabitError(
          `${url} has ${all.byteLength} bytes but the manifest says ${byteLength}: the ` +
            "corpus changed while it was open (republished?); reload the page",
          "format",
        );
      }
      this.whole.set(url, all);
      return all.slice(start, end);
    } else {
      await response.body?.cancel();
      throw new TerrabitError(
        `could not read ${url}: HTTP ${response.status} ${response.statusText}`.trim(),
        "http",
      );
    }
    if (body.byteLength !== end - start) {
      throw new TerrabitError(
        `${url}: asked for ${end - start} bytes at ${start}, got ${body.byteLength}`,
        "http",
      );
    }
    this.memory.set(cacheKey, body);
    this.queueCacheWrite(cacheKey, body); // written once reading is quiet: never delays a search
    return body;
  }

  private async get(url: string, init: RequestInit): Promise<Response> {
    this.requests += 1;
    try {
      return await this.fetchFn(url, init);
    } catch (err) {
      if (init.signal?.aborted) throw new TerrabitError("the search was cancelled", "abort");
      throw new TerrabitError(`could not reach ${url}: ${String(err)}`, "http", { cause: err });
    }
  }

  /** The opened Cache API cache (opened once: each `caches.open` is a browser round trip). */
  private cacheHandle: Promise<Cache> | null = null;

  private openCache(): Promise<Cache> | undefined {
    if (!this.useCacheApi || typeof caches === "undefined") return undefined;
    if (this.cacheHandle === null) {
      this.cacheHandle = caches.open(this.cacheName);
      this.cacheHandle.catch(() => (this.cacheHandle = null));
    }
    return this.cacheHandle;
  }

  private async fromCacheApi(key: string): Promise<ArrayBuffer | undefined> {
    const opened = this.openCache();
    if (opened === undefined) return undefined;
    try {
      const cache = await opened;
      const hit = await cache.match(key);
      return hit === undefined ? undefined : await hit.arrayBuffer();
    } catch {
      return undefined;
    }
  }

  /** Queue a Cache API write of `body`; the queue is written `CACHE_WRITE_DELAY_MS` after the last read. */
  private queueCacheWrite(key: string, body: ArrayBuffer): void {
    if (!this.useCacheApi || typeof caches === "undefined") return;
    if (this.unwrittenBytes + body.byteLength > CACHE_WRITE_QUEUE_BYTES) return; // only costs a refetch
    this.unwritten.push({ key, body: body.slice(0) });
    this.unwrittenBytes += body.byteLength;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => void this.flushCacheWrites(), CACHE_WRITE_DELAY_MS);
  }

  /** Write the queued ranges to the Cache API (their memory copies stay until evicted). */
  async flushCacheWrites(): Promise<void> {
    this.flushTimer = null;
    const batch = this.unwritten.splice(0);
    this.unwrittenBytes = 0;
    const opened = this.openCache();
    if (opened === undefined) return;
    try {
      const cache = await opened;
      for (const { key, body } of batch) await cache.put(key, new Response(body));
    } catch {
      // a full or unavailable cache only costs a refetch
    }
  }
}
