/**
 * `view=change`: each place's two years side by side, as `terrabit.search.change` (the
 * Python package is the reference).
 *
 * A **place** is what dedupe collapses: rows whose geometry WKB is byte-identical (the
 * world, like most yearly embedding products, writes the same footprint for each year of
 * a place). A row's **year** is the UTC calendar year of its `datetime`. For the years
 * `(earlier, later)` (`years`, default the two latest years among the region's rows),
 * every place with a row in each is paired; a place with several rows in one year uses
 * the one with the smallest id. The change view (`views/change.ts`) ranks the pairs.
 */
import { wkbKey } from "../corpus/candidates";
import type { TimeSlicer } from "../corpus/slices";
import { TerrabitError } from "../errors";
import type { CorpusInfo, Query } from "../types";
import { compareIds } from "./select";

/** The first and last calendar years of the corpus's `datetime` (manifest metadata), or null. */
export function corpusSpan(info: CorpusInfo): [number, number] | null {
  const tmin = info.metadata["tmin"];
  const tmax = info.metadata["tmax"];
  if (!tmin || !tmax) return null;
  return [Number(String(tmin).slice(0, 4)), Number(String(tmax).slice(0, 4))];
}

function spanText(span: [number, number]): string {
  return span[0] === span[1] ? String(span[0]) : `${span[0]}-${span[1]}`;
}

/**
 * The `[earlier, later]` years a change view compares (null: the two latest among the
 * region's rows), after checking the query's options against the corpus; a one-line
 * error naming the fix where they cannot work (Python's `check_change`).
 */
export function checkChange(
  info: CorpusInfo,
  query: Pick<Query, "view" | "years" | "year" | "global">,
): [number, number] | null {
  const years = query.years ?? null;
  if (query.view !== "change") {
    if (years !== null) {
      throw new TerrabitError(
        `years=${years.join(",")} picks the pair that the change view compares; pick view change, or clear years`,
      );
    }
    return null;
  }
  if (query.year !== null) {
    throw new TerrabitError(
      `the change view compares the rows of each place in a pair of years (years=A,B); clear the year filter (${query.year})`,
    );
  }
  if (query.global) {
    throw new TerrabitError("the change view compares the places of a drawn region; turn global search off");
  }
  if (!info.columns.includes("datetime")) {
    throw new TerrabitError(
      `the change view pairs each place's rows of an earlier and a later year, but this corpus has no datetime ` +
        `column (columns ${info.columns.join(", ")}); use another view`,
    );
  }
  const have = corpusSpan(info);
  if (have !== null && have[0] === have[1]) {
    throw new TerrabitError(
      `the change view pairs each place's rows of an earlier and a later year, but every row of this corpus is ` +
        `from ${have[0]}; use another view`,
    );
  }
  if (years === null) return null;
  const [a, b] = years;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a === b) {
    throw new TerrabitError(
      `years must be two different calendar years (earlier, later), like 2023,2024; got ${years.join(",")}`,
    );
  }
  const pair: [number, number] = a < b ? [a, b] : [b, a];
  if (have !== null && !(have[0] <= pair[0] && pair[1] <= have[1])) {
    throw new TerrabitError(
      `years=${pair.join(",")} lie outside the corpus's span ${spanText(have)}; pick a pair within it`,
    );
  }
  return pair;
}

/** The start (milliseconds since the epoch) of each UTC calendar year `first … last + 1`. */
function yearStarts(first: number, last: number): Float64Array {
  const starts = new Float64Array(last - first + 2);
  const d = new Date(0);
  for (let y = first; y <= last + 1; y++) {
    d.setUTCFullYear(y, 0, 1);
    d.setUTCHours(0, 0, 0, 0);
    starts[y - first] = d.getTime();
  }
  return starts;
}

/** The UTC calendar year of each time (milliseconds since the epoch; -1 where NaN). */
export function rowYears(times: ArrayLike<number>): Int32Array {
  const out = new Int32Array(times.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < times.length; i++) {
    const t = times[i] as number;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  if (!(lo <= hi)) return out.fill(-1);
  // the years' starts, then a binary search per row (no Date per row)
  const first = new Date(lo).getUTCFullYear();
  const starts = yearStarts(first, new Date(hi).getUTCFullYear());
  for (let i = 0; i < times.length; i++) {
    const t = times[i] as number;
    if (Number.isNaN(t)) {
      out[i] = -1;
      continue;
    }
    let a = 0;
    let b = starts.length - 1; // starts[a] <= t < starts[b]
    while (b - a > 1) {
      const m = (a + b) >> 1;
      if ((starts[m] as number) <= t) a = m;
      else b = m;
    }
    out[i] = first + a;
  }
  return out;
}

/**
 * `asked`, or the two latest years in `present` (the rows' years); a one-line error when
 * the region's rows hold fewer than two years (Python's `pick_years`).
 */
export function pickYears(present: ArrayLike<number>, asked: [number, number] | null, info: CorpusInfo | null): [number, number] {
  if (asked !== null) return asked;
  const distinct = new Set<number>();
  for (let i = 0; i < present.length; i++) if ((present[i] as number) >= 0) distinct.add(present[i] as number);
  const sorted = [...distinct].sort((x, y) => x - y);
  if (sorted.length < 2) {
    const have = info === null ? null : corpusSpan(info);
    const where = have !== null ? ` (the corpus spans ${spanText(have)})` : "";
    const found = sorted.length ? sorted.join(" and ") : "no year";
    throw new TerrabitError(
      `the change view pairs each place's rows of an earlier and a later year, but the region's rows are from ` +
        `${found} only${where}; draw a region observed in both, or pick a pair of years`,
    );
  }
  return [sorted[sorted.length - 2] as number, sorted[sorted.length - 1] as number];
}

/**
 * Row indices `[earlier, later]` of every place (identical geometry WKB) with a row in
 * each year of `pair`, ordered by the later row; in a year with several rows of a place,
 * the smallest id is taken (Python's `place_pairs`). `rows` lists the rows to consider
 * (indices into `wkb`, `years` and `ids`).
 */
export async function placePairs(
  wkb: readonly Uint8Array[],
  years: ArrayLike<number>,
  ids: readonly string[],
  rows: readonly number[],
  pair: [number, number],
  slicer?: TimeSlicer,
): Promise<{ earlier: number[]; later: number[] }> {
  // each place's rows in the two years (-1: none yet)
  const places = new Map<string, Int32Array>();
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j] as number;
    const y = years[i] as number;
    const slot = y === pair[0] ? 0 : y === pair[1] ? 1 : -1;
    if (slot < 0) continue;
    const key = wkbKey(wkb[i] as Uint8Array);
    let place = places.get(key);
    if (place === undefined) {
      place = Int32Array.of(-1, -1);
      places.set(key, place);
    }
    const held = place[slot] as number;
    if (held < 0 || compareIds(ids[i] as string, ids[held] as string) < 0) place[slot] = i;
    if ((j & 511) === 511) await slicer?.tick();
  }
  // ordered by the later row: each later row's earlier row, then one pass in row order
  const earlierOf = new Int32Array(wkb.length).fill(-1);
  for (const place of places.values()) {
    const [e, l] = place as unknown as [number, number];
    if (e >= 0 && l >= 0) earlierOf[l] = e;
  }
  const earlier: number[] = [];
  const later: number[] = [];
  for (let i = 0; i < earlierOf.length; i++) {
    const e = earlierOf[i] as number;
    if (e < 0) continue;
    earlier.push(e);
    later.push(i);
  }
  return { earlier, later };
}
