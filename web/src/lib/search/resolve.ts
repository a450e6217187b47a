/**
 * Exemplars (ids and points) resolved to corpus rows, as Python's `terrabit.search.resolve`:
 * rows inside the region come from the candidates already read; an id elsewhere is found
 * by scanning the shards' id columns; a point elsewhere reads only the row groups whose
 * bbox holds it (in-time rows first, then the lowest id).
 */
import { rowAttributes } from "../corpus/candidates";
import type { Candidates } from "../corpus/candidates";
import type { TimeWindow, WebCorpus } from "../corpus/reader";
import { checkAbort, firstTen, TerrabitError } from "../errors";
import { geometryCovers } from "../region";
import type { Region } from "../region";
import type { BBox, ExemplarRef, ExemplarRow, Query } from "../types";
import { wkbToGeoJSON } from "../wkb";
import { compareIds } from "./select";

/** An exemplar resolved to a corpus row (with its code). */
export interface ResolvedExemplar extends ExemplarRow {
  code: Uint8Array;
  wkb: Uint8Array;
  rerank: Uint8Array | null;
}

function rowExemplar(
  ref: ExemplarRef,
  positive: boolean,
  t: Candidates,
  i: number,
  codeSize: number,
  rerankSize: number,
): ResolvedExemplar {
  const b = t.bbox;
  return {
    ref,
    positive,
    id: t.ids[i] as string,
    lon: ((b[4 * i] as number) + (b[4 * i + 2] as number)) / 2,
    lat: ((b[4 * i + 1] as number) + (b[4 * i + 3] as number)) / 2,
    geometry: wkbToGeoJSON(t.wkb[i] as Uint8Array),
    code: t.codes.slice(i * codeSize, (i + 1) * codeSize),
    wkb: t.wkb[i] as Uint8Array,
    rerank: t.rerank === null ? null : t.rerank.slice(i * rerankSize, (i + 1) * rerankSize),
    attributes: rowAttributes(t, i),
  };
}

/** The row at a point: in-time rows first, then the lowest id (as Python). */
async function pointRow(
  corpus: WebCorpus,
  ref: { lon: number; lat: number },
  window: TimeWindow | null,
  rerank: boolean,
  candidates: Candidates | null,
  region: Region | null,
  signal?: AbortSignal,
): Promise<{ table: Candidates; i: number }> {
  const { lon, lat } = ref;
  const key = `${lon},${lat}`;
  if (!(Number.isFinite(lon) && Number.isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90)) {
    throw new TerrabitError(`exemplar point ${key} is out of range: lon in [-180, 180], lat in [-90, 90]`);
  }
  const covers = (wkb: Uint8Array, b: Float64Array, i: number): boolean =>
    (b[4 * i] as number) <= lon &&
    lon <= (b[4 * i + 2] as number) &&
    (b[4 * i + 1] as number) <= lat &&
    lat <= (b[4 * i + 3] as number) &&
    geometryCovers(wkbToGeoJSON(wkb), lon, lat);
  // inside the region, every in-time row covering the point is a candidate: no I/O
  if (candidates !== null && candidates.length && (region === null || region.polygons.some((p) => geometryCovers({ type: "Polygon", coordinates: p }, lon, lat)))) {
    let hit = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (covers(candidates.wkb[i] as Uint8Array, candidates.bbox, i)) {
        if (hit < 0 || compareIds(candidates.ids[i] as string, candidates.ids[hit] as string) < 0) hit = i;
      }
    }
    if (hit >= 0 && (!rerank || candidates.rerank !== null)) return { table: candidates, i: hit };
  }
  // elsewhere: the shards whose extent holds the point, the row groups whose bbox does
  const box: BBox = [lon, lat, lon, lat];
  let bestHit: { table: Candidates; i: number; inTime: boolean } | null = null;
  for (const row of corpus.selectShards([box], null)) {
    const t = await corpus.readShard(row, { boxes: [box], geometry: true, rerank, signal });
    for (let i = 0; i < t.length; i++) {
      if (!covers(t.wkb[i] as Uint8Array, t.bbox, i)) continue;
      const time = t.times?.[i] ?? NaN;
      const inTime =
        window === null ||
        (!Number.isNaN(time) && (window.start === null || time >= window.start) && (window.end === null || time < window.end));
      if (
        bestHit === null ||
        (inTime && !bestHit.inTime) ||
        (inTime === bestHit.inTime && compareIds(t.ids[i] as string, bestHit.table.ids[bestHit.i] as string) < 0)
      ) {
        bestHit = { table: t, i, inTime };
      }
    }
  }
  if (bestHit === null) {
    throw new TerrabitError(
      `no patch at ${key}: no row's footprint of this corpus contains the point; click on a patch`,
    );
  }
  return bestHit;
}

/** Rows of `ids` anywhere in the corpus (scans shards in manifest order). */
async function findIds(
  corpus: WebCorpus,
  wanted: Set<string>,
  rerank: boolean,
  signal?: AbortSignal,
): Promise<Map<string, { table: Candidates; i: number }>> {
  const found = new Map<string, { table: Candidates; i: number }>();
  for (const row of corpus.manifest) {
    if (found.size === wanted.size) break;
    // the id column first: a shard without the ids costs only that column
    const ids = await corpus.readIds(row, signal);
    if (!ids.some((id) => wanted.has(id) && !found.has(id))) continue;
    const t = await corpus.readShard(row, { geometry: true, rerank, signal });
    t.ids.forEach((id, i) => {
      if (wanted.has(id) && !found.has(id)) found.set(id, { table: t, i });
    });
  }
  return found;
}

/** Resolve a query's exemplars (ids and points) to corpus rows. */
export async function resolveExemplarsWith(
  corpus: WebCorpus,
  query: Pick<Query, "positives" | "negatives">,
  context: {
    window: TimeWindow | null;
    candidates: Candidates | null;
    region: Region | null;
    rerank: boolean;
    signal?: AbortSignal;
  },
): Promise<ResolvedExemplar[]> {
  const codeSize = corpus.info.codeSize;
  const rrSize = corpus.info.rerankCodeSize ?? 0;
  const refs: { ref: ExemplarRef; positive: boolean }[] = [
    ...query.positives.map((ref) => ({ ref, positive: true })),
    ...query.negatives.map((ref) => ({ ref, positive: false })),
  ];
  const out: (ResolvedExemplar | null)[] = refs.map(() => null);
  const candIndex = new Map<string, number>();
  const c = context.candidates;
  const wantedIds = refs.flatMap((r) => (r.ref.kind === "id" ? [r.ref.id] : []));
  if (c !== null && wantedIds.length) {
    const wanted = new Set(wantedIds);
    c.ids.forEach((id, i) => {
      if (wanted.has(id) && !candIndex.has(id)) candIndex.set(id, i);
    });
  }
  const pending = new Set<string>();
  for (const [slot, { ref, positive }] of refs.entries()) {
    checkAbort(context.signal);
    if (ref.kind === "id") {
      const i = candIndex.get(ref.id);
      if (i !== undefined && c !== null) out[slot] = rowExemplar(ref, positive, c, i, codeSize, rrSize);
      else pending.add(ref.id);
      continue;
    }
    const hit = await pointRow(corpus, ref, context.window, context.rerank, c, context.region, context.signal);
    out[slot] = rowExemplar(ref, positive, hit.table, hit.i, codeSize, rrSize);
  }
  if (pending.size) {
    const found = await findIds(corpus, pending, context.rerank, context.signal);
    const missing = [...pending].filter((id) => !found.has(id)).sort();
    if (missing.length) {
      throw new TerrabitError(
        `unknown exemplar ids ${firstTen(missing)}: no row of this corpus has them; check the ids ` +
          "(e.g. from a previous search) or click a place instead",
      );
    }
    refs.forEach(({ ref, positive }, slot) => {
      if (ref.kind !== "id" || out[slot] !== null) return;
      const f = found.get(ref.id);
      if (f !== undefined) out[slot] = rowExemplar(ref, positive, f.table, f.i, codeSize, rrSize);
    });
  }
  return out.filter((e): e is ResolvedExemplar => e !== null);
}

export function toExemplarRow(e: ResolvedExemplar): ExemplarRow {
  const { ref, positive, id, lon, lat, geometry, code, attributes } = e;
  return { ref, positive, id, lon, lat, geometry, code, attributes };
}
