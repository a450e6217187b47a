/**
 * Exact global top-k, scanning shards best-first by the manifest summary codes (as
 * `terrabit.search.globalsearch`): shards are ranked by the lower bound
 * `min_j max(0, d(q, c_j) - r_j)`, scanned in that order keeping the running top-k by
 * `(distance, id)`, and the scan stops before a shard whose bound is greater than the
 * k-th best distance (every later bound is at least as large): the result is exactly
 * the brute-force top-k.
 */
import type { TimeWindow, WebCorpus } from "../corpus/reader";
import { exactRows, rowAttributes } from "../corpus/candidates";
import { checkAbort, TerrabitError } from "../errors";
import { invertCodes } from "./exemplars";
import { hammingDistances } from "../kernels/hamming";
import type { Region } from "../region";
import { legendFor } from "./query";
import { resolveExemplarsWith, toExemplarRow } from "./resolve";
import { compareIds } from "./select";
import { shardLowerBounds } from "../corpus/summary";
import type { Query, ResultRow, SearchOptions, SearchResult } from "../types";
import { wkbToGeoJSON } from "../wkb";

interface Hit {
  id: string;
  distance: number;
  wkb: Uint8Array;
  bbox: [number, number, number, number];
  attributes: Record<string, unknown>;
}

function better(a: Hit, b: Hit): number {
  return a.distance - b.distance || compareIds(a.id, b.id);
}

export async function globalSearch(
  corpus: WebCorpus,
  query: Query,
  region: Region | null,
  window: TimeWindow | null,
  options: SearchOptions,
  t0: number,
): Promise<SearchResult> {
  const bytes0 = corpus.bytesRead;
  if (query.view !== "topk") {
    throw new TerrabitError(`global search shows a top-k only; turn global off for the ${query.view} view (or pick top-k)`);
  }
  if (query.dedupe) throw new TerrabitError("global search does not dedupe; turn off dedupe or global");
  if (query.asymmetric) {
    throw new TerrabitError("global search ranks by Hamming distance, not asymmetrically; turn off asymmetric or global");
  }
  if (query.positives.length !== 1 || query.negatives.length) {
    throw new TerrabitError(
      "global search takes exactly one positive exemplar and no negatives (its shard bound holds for " +
        `one query code); got ${query.positives.length} positives and ${query.negatives.length} negatives — ` +
        "turn global off to combine several",
    );
  }
  const codeSize = corpus.info.codeSize;
  const k = query.k;
  const exemplars = await resolveExemplarsWith(corpus, { positives: query.positives, negatives: [] }, {
    window,
    candidates: null,
    region,
    rerank: false,
    signal: options.signal,
  });
  const ex = exemplars[0];
  if (ex === undefined) throw new TerrabitError("global search needs one positive exemplar");
  const code = query.invert ? invertCodes(ex.code) : ex.code;
  const shards = corpus.selectShards(region?.boxes ?? null, window);
  const bounds = shardLowerBounds(shards, code, codeSize);
  const order = shards.map((_, i) => i).sort((a, b) => (bounds[a] as number) - (bounds[b] as number) || compareIds((shards[a] as { path: string }).path, (shards[b] as { path: string }).path));
  let top: Hit[] = [];
  let scanned = 0;
  let candidates = 0;
  const failed: string[] = [];
  for (const i of order) {
    checkAbort(options.signal);
    const kth = top[k - 1];
    if (top.length >= k && kth !== undefined && kth.distance < (bounds[i] as number)) break;
    const row = shards[i];
    if (row === undefined) continue;
    options.onProgress?.({ shardsDone: scanned, shardsTotal: shards.length, failed: failed.length, candidates });
    let t;
    try {
      t = await corpus.readShard(row, { boxes: region?.boxes ?? null, window, geometry: true, attributes: true, signal: options.signal });
    } catch (err) {
      if (err instanceof TerrabitError && (err.kind === "abort" || err.kind === "range")) throw err;
      failed.push(row.path);
      scanned += 1;
      continue;
    }
    scanned += 1;
    const rows = exactRows(t, region).filter((j) => t.ids[j] !== ex.id);
    candidates += rows.length;
    if (!rows.length) continue;
    const codes = new Uint8Array(rows.length * codeSize);
    rows.forEach((j, r) => codes.set(t.codes.subarray(j * codeSize, (j + 1) * codeSize), r * codeSize));
    const d = hammingDistances(code, codes, codeSize);
    const hits: Hit[] = rows.map((j, r) => {
      return {
        id: t.ids[j] as string,
        distance: d[r] as number,
        wkb: t.wkb[j] as Uint8Array,
        bbox: [t.bbox[4 * j] as number, t.bbox[4 * j + 1] as number, t.bbox[4 * j + 2] as number, t.bbox[4 * j + 3] as number],
        attributes: rowAttributes(t, j),
      };
    });
    top = top.concat(hits).sort(better).slice(0, k);
  }
  options.onProgress?.({ shardsDone: scanned, shardsTotal: shards.length, failed: failed.length, candidates });
  const rows: ResultRow[] = top.map((h, r) => ({
    id: h.id,
    lon: (h.bbox[0] + h.bbox[2]) / 2,
    lat: (h.bbox[1] + h.bbox[3]) / 2,
    geometry: wkbToGeoJSON(h.wkb),
    score: h.distance,
    rank: r + 1,
    value: h.distance,
    shown: true,
    attributes: h.attributes,
  }));
  const scores = Float64Array.from(rows, (r) => r.score);
  const legend = legendFor(
    "topk",
    { view: "topk", scores, rank: Int32Array.from(rows, (r) => r.rank), value: scores, shown: new Uint8Array(rows.length).fill(1), extra: {} },
  );
  let message: string | null = null;
  if (!rows.length) {
    message = shards.length
      ? "no row of the corpus lies in the region and time window besides the exemplar"
      : "the region lies outside the corpus";
  } else if (failed.length) {
    message = `${failed.length} shards failed to load; the global top-k may miss their rows (retry)`;
  }
  return {
    query,
    view: "topk",
    rows,
    exemplars: exemplars.map(toExemplarRow),
    stats: {
      shardsRead: scanned - failed.length,
      shardsTotal: shards.length,
      failedShards: failed,
      bytesRead: corpus.bytesRead - bytes0,
      candidates,
      seconds: (performance.now() - t0) / 1000,
      reranked: false,
    },
    legend,
    message,
  };
}
