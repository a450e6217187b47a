/**
 * Manifest summary codes for global search: balls that together cover every code of a
 * shard. The lower bound of a query `q` for a shard is `min_j max(0, d(q, c_j) - r_j)`.
 * Reads the multi-ball columns (`summary_codes`, `summary_radii`) and the older single
 * ball (`summary_code`, `summary_radius_bits`).
 */
import { TerrabitError } from "../errors";
import { hammingDistancesTS } from "../kernels/hamming";
import type { ManifestRow } from "../types";

export interface Ball {
  code: Uint8Array;
  radius: number;
}

/** A shard's covering balls, or null when the manifest has none for it. */
export function shardBalls(row: ManifestRow, codeSize: number): Ball[] | null {
  const codes = row.extra["summary_codes"];
  const radii = row.extra["summary_radii"];
  if (Array.isArray(codes) && Array.isArray(radii) && codes.length === radii.length && codes.length > 0) {
    return codes.map((c, j) => {
      if (!(c instanceof Uint8Array) || c.length !== codeSize) {
        throw new TerrabitError(`manifest row ${row.path}: summary code ${j} is not ${codeSize} bytes`, "format");
      }
      return { code: c, radius: Number(radii[j]) };
    });
  }
  const code = row.extra["summary_code"];
  const radius = row.extra["summary_radius_bits"];
  if (code instanceof Uint8Array && code.length === codeSize && radius !== null && radius !== undefined) {
    return [{ code, radius: Number(radius) }];
  }
  return null;
}

/** `min_j max(0, d(q, c_j) - r_j)` for each manifest row. */
export function shardLowerBounds(rows: readonly ManifestRow[], query: Uint8Array, codeSize: number): number[] {
  return rows.map((row) => {
    const balls = shardBalls(row, codeSize);
    if (balls === null) {
      throw new TerrabitError(
        "this corpus's manifest has no summary codes, so global search cannot rank its shards; " +
          "turn global off (or republish the corpus with a Hamming codec)",
      );
    }
    let bound = Infinity;
    for (const b of balls) {
      const d = hammingDistancesTS(query, b.code, codeSize)[0] as number;
      bound = Math.min(bound, Math.max(0, d - b.radius));
    }
    return bound;
  });
}
