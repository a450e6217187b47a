/**
 * The embedding false colour (format 1.5, spec/corpus-v1.md §4.3), as Python's
 * `terrabit.corpus.falsecolour`: three principal directions of the codes' ±1 bits, fitted
 * once at publish and stored in the manifest metadata (`false_colour`), so a row has the
 * same colour here as in Python.
 *
 * A code's projection on direction `k` is summed byte by byte from a lookup table
 * (`3 × codeSize × 256` doubles, built once per corpus), in the order the spec fixes, so
 * the float64 sums — and the colours — are Python's to the byte:
 * `channel_k = clamp(floor(256 * ((p_k - lo_k) / (hi_k - lo_k))), 0, 255)`.
 */
import { f32Array } from "./arrays";
import { formatAtLeast } from "./manifest";
import type { CorpusInfo } from "../types";

/** The manifest metadata key. */
export const FALSE_COLOUR_KEY = "false_colour";
/** Directions, one per channel: red, green, blue. */
export const DIRECTIONS = 3;

/** A corpus's false colour, ready to colour its codes. */
export interface FalseColour {
  codeSize: number;
  /** `T[(k * codeSize + b) * 256 + v]`: direction `k`'s share from byte `b` holding `v`. */
  tables: Float64Array;
  lo: readonly number[];
  hi: readonly number[];
  /** Sample codes the directions were fitted on. */
  rows: number;
}

/** The corpus's false colour, or why it has none (`reason`, said to the user). */
export type FalseColourState = { params: FalseColour; reason: null } | { params: null; reason: string };

function finiteTriple(v: unknown): number[] | null {
  if (!Array.isArray(v) || v.length !== DIRECTIONS) return null;
  const out = v.map(Number);
  return v.every((x) => typeof x === "number") && out.every(Number.isFinite) ? out : null;
}

/**
 * The lookup tables of §4.3: `t_i = components[k][8b + i] * (s_i(v) - mean[8b + i])`,
 * `s_i(v) = +1` if bit `7 - i` of `v` is set else `-1`, summed `t_0 + t_1 + … + t_7`.
 */
export function falseColourTables(components: Float32Array, mean: Float32Array, codeSize: number): Float64Array {
  const bits = 8 * codeSize;
  const tables = new Float64Array(DIRECTIONS * codeSize * 256);
  for (let k = 0; k < DIRECTIONS; k++) {
    for (let b = 0; b < codeSize; b++) {
      const at = (k * codeSize + b) * 256;
      for (let v = 0; v < 256; v++) {
        let total = 0;
        for (let i = 0; i < 8; i++) {
          const s = (v >> (7 - i)) & 1 ? 1 : -1;
          const t = (components[k * bits + 8 * b + i] as number) * (s - (mean[8 * b + i] as number));
          total += t;
        }
        tables[at + v] = total;
      }
    }
  }
  return tables;
}

/** Parse the `false_colour` metadata of a corpus (or say why there is none). */
export function falseColourOf(info: CorpusInfo): FalseColourState {
  const raw = info.metadata[FALSE_COLOUR_KEY];
  if (raw === undefined || raw === null) {
    const older = !formatAtLeast(info, 1, 5);
    return {
      params: null,
      reason: older
        ? `This corpus was published in format ${info.formatVersion}, before embedding colours (format 1.5): republish it to get them.`
        : `This corpus's codec (${info.codecSpec}) is not compared by Hamming distance, so it has no embedding colour.`,
    };
  }
  const bad = (what: string): FalseColourState => ({
    params: null,
    reason: `This corpus's embedding colour metadata is malformed (${what}): republish it.`,
  });
  if (typeof raw !== "object") return bad("not an object");
  const o = raw as Record<string, unknown>;
  const bits = 8 * info.codeSize;
  const components = f32Array(o["components"]);
  const mean = f32Array(o["mean"]);
  if (components === null || components.length !== DIRECTIONS * bits) return bad(`components must be f4 [3, ${bits}]`);
  if (mean === null || mean.length !== bits) return bad(`mean must be f4 [${bits}]`);
  if (!components.every(Number.isFinite) || !mean.every(Number.isFinite)) return bad("NaN or infinite values");
  const lo = finiteTriple(o["lo"]);
  const hi = finiteTriple(o["hi"]);
  if (lo === null || hi === null) return bad("lo and hi must be 3 finite numbers");
  if (lo.some((v, k) => !(v < (hi[k] as number)))) return bad("lo must be below hi");
  return {
    params: { codeSize: info.codeSize, tables: falseColourTables(components, mean, info.codeSize), lo, hi, rows: Number(o["rows"] ?? 0) },
    reason: null,
  };
}

/**
 * RGB of `n` packed codes (`codes`: `n * codeSize` bytes), 3 bytes per row: red, green,
 * blue, each `clamp(floor(256 * ((p - lo) / (hi - lo))), 0, 255)`.
 */
export function falseColours(fc: FalseColour, codes: Uint8Array, n: number): Uint8Array {
  const { codeSize, tables, lo, hi } = fc;
  const out = new Uint8Array(3 * n);
  for (let r = 0; r < n; r++) {
    const base = r * codeSize;
    for (let k = 0; k < DIRECTIONS; k++) {
      const t0 = k * codeSize * 256;
      let p = 0;
      for (let b = 0; b < codeSize; b++) p = p + (tables[t0 + b * 256 + (codes[base + b] as number)] as number);
      const l = lo[k] as number;
      const v = Math.floor(256 * ((p - l) / ((hi[k] as number) - l)));
      out[3 * r + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** `#rrggbb` of row `r` of `falseColours`' output. */
export function hexColour(rgb: Uint8Array, r: number): string {
  let s = "#";
  for (let k = 0; k < 3; k++) s += (rgb[3 * r + k] as number).toString(16).padStart(2, "0");
  return s;
}
