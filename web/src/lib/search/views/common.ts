/** What a view makes of `n` candidates (as Python's `ViewResult`). */
import { TerrabitError } from "../../errors";
import { rankScores } from "../select";
import type { ViewName } from "../../types";

export interface ViewOutput {
  view: ViewName;
  /** What the view ranks by, ascending. */
  scores: Float64Array;
  /** 1 = best; unique, ties by id. */
  rank: Int32Array;
  value: Float64Array;
  shown: Uint8Array;
  extra: Record<string, unknown>;
}

export function checkPositive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new TerrabitError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function checkFinite(scores: ArrayLike<number>): void {
  const bad: number[] = [];
  for (let i = 0; i < scores.length && bad.length < 10; i++) if (!Number.isFinite(scores[i])) bad.push(i);
  if (bad.length) throw new TerrabitError(`scores must be finite; rows ${JSON.stringify(bad)} are not`);
}

/** A view where higher `value` ranks first: `scores = -value`, every row shown. */
export function descending(
  view: ViewName,
  value: Float64Array,
  ids: readonly string[],
  extra: Record<string, unknown> = {},
): ViewOutput {
  const scores = value.map((v) => -v);
  return { view, scores, rank: rankScores(scores, ids), value, shown: new Uint8Array(value.length).fill(1), extra };
}
