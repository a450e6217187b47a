/**
 * The decompressors shard and manifest reads hand to hyparquet: hyparquet-compressors'
 * set with ZSTD (the corpus's codec, spec/corpus-v1.md) decoded by a WebAssembly build
 * of the reference zstd library (npm `zstddec`, MIT/BSD-3, ~75 KB with its wasm inlined)
 * instead of the JavaScript port (`fzstd`): about 2.5x less decoding time per page.
 *
 * hyparquet calls decompressors synchronously, so the WebAssembly module is instantiated
 * once, up front (`readyCompressors()`, awaited before a read). Until it is ready, where
 * WebAssembly is unavailable, or if it ever returns a page of the wrong length or throws,
 * the page is decoded by `fzstd` instead, so a read never fails for the decoder's sake.
 */
import type { Compressors } from "hyparquet";
import { compressors as jsCompressors } from "hyparquet-compressors";
import { ZSTDDecoder } from "zstddec";

const decoder = new ZSTDDecoder();
let wasmReady = false;
let starting: Promise<void> | null = null;

/** The JavaScript ZSTD decoder (hyparquet-compressors'), the fallback and the reference. */
export const jsZstd = jsCompressors.ZSTD as (input: Uint8Array, outputLength: number) => Uint8Array;

/** One ZSTD page: WebAssembly when ready (and correct), the JavaScript decoder otherwise. */
export function zstdDecompress(input: Uint8Array, outputLength: number): Uint8Array {
  if (wasmReady) {
    try {
      const out = decoder.decode(input, outputLength);
      if (out.length === outputLength) return out;
    } catch {
      // a page the WebAssembly decoder refused: the JavaScript decoder says why, if anything
    }
  }
  return jsZstd(input, outputLength);
}

/** hyparquet's decompressors with ZSTD through `zstdDecompress`. */
export const compressors: Compressors = { ...jsCompressors, ZSTD: zstdDecompress };

/**
 * Instantiate the WebAssembly decoder (once; later calls return the same promise). Never
 * rejects: without WebAssembly the reads go on with the JavaScript decoder.
 */
export function readyCompressors(): Promise<void> {
  starting ??= decoder.init().then(
    () => {
      wasmReady = true;
    },
    () => {
      wasmReady = false;
    },
  );
  return starting;
}

/** Whether ZSTD pages are decoded by WebAssembly (for tests and benchmarks). */
export function zstdIsWasm(): boolean {
  return wasmReady;
}
