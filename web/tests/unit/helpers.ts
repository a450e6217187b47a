/// <reference types="node" />
/** Test helpers: the fixture corpus served from disk through a FileStore (no server). */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openCorpus } from "../../src/lib/corpus/reader";
import type { WebCorpus } from "../../src/lib/corpus/reader";
import type { FileStore } from "../../src/lib/corpus/sources";

export const SPEC = join(dirname(fileURLToPath(import.meta.url)), "../../../spec/fixtures");
export const TINY = join(SPEC, "tiny");

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A FileStore over a folder, counting bytes and range requests. */
export class FsStore implements FileStore {
  bytesRead = 0;
  ranges: { path: string; start: number; end: number }[] = [];

  constructor(readonly root: string) {}

  readAll(path: string): Promise<ArrayBuffer> {
    const b = readFileSync(join(this.root, path));
    this.bytesRead += b.length;
    return Promise.resolve(toArrayBuffer(b));
  }

  readRange(path: string, start: number, end: number, byteLength: number): Promise<ArrayBuffer> {
    const full = join(this.root, path);
    const size = statSync(full).size;
    if (size !== byteLength) throw new Error(`${path}: ${size} bytes, expected ${byteLength}`);
    const b = readFileSync(full).subarray(start, end);
    this.bytesRead += b.length;
    this.ranges.push({ path, start, end });
    return Promise.resolve(toArrayBuffer(Buffer.from(b)));
  }
}

export async function openTiny(): Promise<{ corpus: WebCorpus; store: FsStore }> {
  const store = new FsStore(TINY);
  const corpus = await openCorpus("corpus", { store });
  return { corpus, store };
}

export function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(join(SPEC, name), "utf8")) as T;
}

/** `value`, which must be defined (a test's non-null assertion). */
export function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error("expected a value");
  return value;
}
