/**
 * `search`: a query (regions + exemplars + view) -> ranked candidates, in the browser,
 * with the semantics of `terrabit.search.search` (the Python package is the reference):
 * manifest pruning -> row-group pruning -> exact region test -> exclude the exemplars ->
 * Hamming score (or, with `asymmetric`, RaBitQ's estimated cosine distance of the
 * exemplars' decoded rerank vectors; or, with `score=classifier`, `1 - p` of a logistic
 * regression fitted on the exemplars and a background of the region, `classifier.ts`) ->
 * optional dedupe -> optional re-rank -> view. The change view instead pairs each place's
 * rows of two years (`change.ts`) and ranks the places.
 */
import { concatCandidatesSliced, emptyCandidates, exactRows, rowAttributes, takeCandidates, wkbKey } from "../corpus/candidates";
import type { Candidates } from "../corpus/candidates";
import type { TimeWindow, WebCorpus } from "../corpus/reader";
import { defaultReaderPool } from "../corpus/readerpool";
import { TimeSlicer } from "../corpus/slices";
import { HttpStore } from "../corpus/sources";
import { checkAbort, TerrabitError } from "../errors";
import { DEFAULT_MAX_CANDIDATES, READER_POOL_MIN_ROWS, rerankShortlist, SCORER_POOL_MIN_ROWS, VIEW_POOL_MIN_ROWS } from "./constants";
import { asymmetricJob, asymmetricUnavailable } from "./asymmetric";
import { checkChange, pickYears, placePairs, rowYears } from "./change";
import { checkClassifier, classifierInfo, probabilities, trainingSet } from "./classifier";
import { classifierBackground, fitClassifier } from "./classifierpool";
import { prepareQuery } from "./exemplars";
import { globalSearch } from "./globalsearch";
import { progressAt } from "./progress";
import { resolveExemplarsWith, toExemplarRow } from "./resolve";
import type { ResolvedExemplar } from "./resolve";
import { defaultPool, scoreAsymmetric, scoreCandidates, scoreClassifier } from "./scorerpool";
import { regionFromSpecs } from "../region";
import type { Region } from "../region";
import { rerankScores, rerankSupported } from "./rerank";
import { best, compareIds } from "./select";
import { COMBINES, SCORES, VIEWS } from "../types";
import type {
  ClassifierInfo,
  ExemplarRow,
  Legend,
  ManifestRow,
  Query,
  ResultRow,
  ScoreName,
  SearchOptions,
  SearchResult,
  SearchStats,
  ViewName,
} from "../types";
import type { ViewOutput } from "./views";
import { defaultViewPool, runView, runViewOn } from "./viewpool";
import type { ViewInput } from "./viewpool";
import { wkbToGeoJSON } from "../wkb";

/** Shards read at once (on the page, or by workers when the region may pass the cap). */
export const CONCURRENCY = 6;
const NEEDS_EXEMPLAR: readonly ViewName[] = ["topk", "heatmap", "threshold", "gradient"];
/** Region reads remembered per open corpus (a corpus is immutable once opened). */
export const REGION_CACHE_ENTRIES = 2;
const REGION_CACHE = new WeakMap<WebCorpus, Map<string, Candidates>>();

function regionCache(corpus: WebCorpus): Map<string, Candidates> {
  let cache = REGION_CACHE.get(corpus);
  if (cache === undefined) {
    cache = new Map();
    REGION_CACHE.set(corpus, cache);
  }
  return cache;
}

/**
 * Start the reading workers for an HTTP corpus large enough to use them, so that they are
 * ready by the first search (call it on opening the corpus, while the user draws a region).
 */
export function startReaders(corpus: WebCorpus): void {
  if (corpus.store instanceof HttpStore && corpus.info.rows >= READER_POOL_MIN_ROWS) defaultReaderPool();
}


// ------------------------------------------------------------------ validation

/** Check a query's fields; throws TerrabitError naming the field. */
export function checkQuery(query: Query): void {
  if (!VIEWS.includes(query.view)) {
    throw new TerrabitError(`unknown view ${JSON.stringify(query.view)}; pick one of ${VIEWS.join(", ")}`);
  }
  if (!COMBINES.includes(query.combine)) {
    throw new TerrabitError(`unknown combine ${JSON.stringify(query.combine)}; pick one of ${COMBINES.join(", ")}`);
  }
  if (query.score !== undefined && !SCORES.includes(query.score)) {
    throw new TerrabitError(`unknown score ${JSON.stringify(query.score)}; pick one of ${SCORES.join(", ")}`);
  }
  if (!Number.isInteger(query.k) || query.k < 1) {
    throw new TerrabitError(`k must be a positive integer (rows to show), got ${query.k}`);
  }
  if (query.year !== null && (!Number.isInteger(query.year) || query.year < 1 || query.year > 9998)) {
    throw new TerrabitError(`year must be an integer year like 2024, got ${query.year}`);
  }
  if (query.threshold !== null && !Number.isFinite(query.threshold)) {
    throw new TerrabitError(`the threshold must be a finite score, got ${query.threshold}`);
  }
  if (query.asymmetric && !query.global && (query.combine !== "mean" || query.invert)) {
    throw new TerrabitError("asymmetric scoring works with combine mean and no invert; turn asymmetric off or those options");
  }
}

/** The `[start, end)` window of `year` (UTC), checked against the corpus. */
export function timeWindow(corpus: WebCorpus, year: number | null): TimeWindow | null {
  if (year === null) return null;
  if (!corpus.hasColumn("datetime")) {
    throw new TerrabitError(
      `this corpus has no datetime column (columns ${corpus.info.columns.join(", ")}), so a year ` +
        "cannot filter it; clear the year",
    );
  }
  const start = new Date(0);
  start.setUTCFullYear(year, 0, 1);
  start.setUTCHours(0, 0, 0, 0);
  const end = new Date(0);
  end.setUTCFullYear(year + 1, 0, 1);
  end.setUTCHours(0, 0, 0, 0);
  return { start: start.getTime(), end: end.getTime() };
}

// ------------------------------------------------------------------ reading

interface Part {
  table: Candidates;
  /** The rows meeting the region exactly. */
  rows: number[];
}

interface ReadOutcome {
  tables: (Part | null)[];
  failed: string[];
  capped: boolean;
}

/** Read `shards` (at most `concurrency` at once); results stay in manifest order. */
async function readShards(
  shards: readonly ManifestRow[],
  read: (row: ManifestRow) => Promise<Part>,
  options: SearchOptions,
  cap: number,
  concurrency: number,
): Promise<ReadOutcome> {
  const tables: (Part | null)[] = shards.map(() => null);
  const failed: string[] = [];
  let next = 0;
  let done = 0;
  let candidates = 0;
  let capped = false;
  let fatal: unknown = null;
  const report = (): void =>
    options.onProgress?.(progressAt("reading", { shardsDone: done, shardsTotal: shards.length, failed: failed.length, candidates }));
  report();
  const worker = async (): Promise<void> => {
    while (next < shards.length && fatal === null && !capped) {
      const i = next++;
      const row = shards[i] as ManifestRow;
      try {
        const t = await read(row);
        tables[i] = t;
        candidates += t.rows.length;
        if (candidates > cap) capped = true;
      } catch (err) {
        if (err instanceof TerrabitError && (err.kind === "abort" || err.kind === "range")) {
          fatal = err;
          return;
        }
        if (options.signal?.aborted) {
          fatal = new TerrabitError("the search was cancelled", "abort");
          return;
        }
        failed.push(row.path);
        console.warn(`terrabit: shard ${row.path} failed:`, err);
      }
      done += 1;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, shards.length) }, worker));
  if (fatal !== null) throw fatal;
  return { tables, failed: failed.sort(), capped };
}

/** Shards wholly inside a rectangular part of the region: their rows are all candidates. */
function surelyInside(shards: readonly ManifestRow[], region: Region | null): number {
  let rows = 0;
  for (const s of shards) {
    if (region === null) {
      rows += s.rows;
      continue;
    }
    for (const [x0, y0, x1, y1] of region.rects) {
      if (s.xmin >= x0 && s.xmax <= x1 && s.ymin >= y0 && s.ymax <= y1) {
        rows += s.rows;
        break;
      }
    }
  }
  return rows;
}

function capMessage(rows: number, cap: number, atLeast: boolean): string {
  return (
    `the region holds ${atLeast ? "at least " : ""}${rows.toLocaleString("en-US")} candidate rows, more than ` +
    `this app's limit of ${cap.toLocaleString("en-US")}; draw a smaller region or pick a year`
  );
}

// ------------------------------------------------------------------ exemplars

/**
 * Resolve the query's exemplars: rows inside the regions come from the candidates (read
 * if needed), a point far outside fetches only the row groups whose bbox holds it.
 */
export async function resolveExemplars(
  corpus: WebCorpus,
  query: Query,
  options: SearchOptions = {},
): Promise<ExemplarRow[]> {
  const window = timeWindow(corpus, query.year);
  const rows = await resolveExemplarsWith(corpus, query, {
    window,
    candidates: null,
    region: regionFromSpecs(query.regions),
    rerank: false,
    signal: options.signal,
  });
  return rows.map(({ ref, positive, id, lon, lat, geometry }) => ({ ref, positive, id, lon, lat, geometry }));
}

// ------------------------------------------------------------------ results


/**
 * A result row whose `geometry` (parsed from WKB) and `attributes` are built on first use:
 * enumerable accessors of an object literal (spreading or serializing the row reads them;
 * assigning replaces them), so a 300K-row heatmap neither builds 300K GeoJSON polygons
 * that the map never asks for nor formats 300K dates, and the row stays a fast object.
 */
function lazyRow(c: Candidates, i: number, lon: number, lat: number, v: ViewOutput): ResultRow {
  let geometry: GeoJSON.Geometry | null = null;
  let attributes: Record<string, unknown> | null = null;
  const row: ResultRow = {
    id: c.ids[i] as string,
    lon,
    lat,
    score: v.scores[i] as number,
    rank: v.rank[i] as number,
    value: v.value[i] as number,
    shown: v.shown[i] === 1,
    get attributes(): Record<string, unknown> {
      attributes ??= rowAttributes(c, i);
      return attributes;
    },
    set attributes(value: Record<string, unknown>) {
      attributes = value;
    },
    get geometry(): GeoJSON.Geometry {
      geometry ??= wkbToGeoJSON(c.wkb[i] as Uint8Array);
      return geometry;
    },
    set geometry(value: GeoJSON.Geometry) {
      geometry = value;
    },
  };
  // not enumerable: a row that is spread, cloned or serialized does not carry (a view of) every
  // candidate's codes
  Object.defineProperty(row, "code", {
    get: (): Uint8Array => {
      const size = c.codes.length / c.length;
      return c.codes.subarray(i * size, (i + 1) * size);
    },
    enumerable: false,
  });
  return row;
}

/** Per-row columns a result adds (one value per candidate, in the candidates' order). */
export interface RowColumns {
  /** score=classifier: each row's probability. */
  probability?: Float64Array | null;
  /** change view: the earlier year's id of each place. */
  earlier?: readonly string[];
}

/**
 * Result rows of every candidate, sorted by rank (row objects only; see `lazyRow`), built
 * in slices so that 200K rows do not block the page.
 */
export async function resultRows(
  c: Candidates,
  v: ViewOutput,
  slicer: TimeSlicer = new TimeSlicer(),
  columns: RowColumns = {},
): Promise<ResultRow[]> {
  const rows = new Array<ResultRow>(c.length);
  const prob = columns.probability ?? null;
  const earlier = columns.earlier ?? null;
  for (let i = 0; i < c.length; i++) {
    const b = 4 * i;
    const lon = ((c.bbox[b] as number) + (c.bbox[b + 2] as number)) / 2;
    const lat = ((c.bbox[b + 1] as number) + (c.bbox[b + 3] as number)) / 2;
    const row = lazyRow(c, i, lon, lat, v);
    if (prob !== null) row.probability = prob[i] as number;
    if (earlier !== null) row.earlier = earlier[i] as string;
    rows[(v.rank[i] as number) - 1] = row;
    if ((i & 4095) === 4095) await slicer.tick();
  }
  return rows;
}

function minMax(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/** What a legend describes besides the view (see `legendFor`). */
export interface LegendContext {
  /** Scores are cosine distances of a re-ranked shortlist. */
  reranked?: boolean;
  /** Scores are RaBitQ's estimated cosine distances. */
  asymmetric?: boolean;
  /** Scores are `1 - p` of the classifier. */
  classifier?: boolean;
  /** score=classifier: each candidate's probability (aligned with the view's rows). */
  probability?: Float64Array | null;
  /** change view: the years compared, and whether by the exemplars' scores (else by the codes). */
  change?: { years: [number, number]; byScores: boolean };
}

/**
 * The colour scale of a view's `value`s (or, for the classifier's top k, threshold and
 * heatmap, of the rows' probabilities: higher = more like the positives, hotter).
 */
export function legendFor(view: ViewName, v: ViewOutput | null, context: LegendContext = {}): Legend {
  const { reranked = false, asymmetric = false, classifier = false } = context;
  const prob = context.probability ?? null;
  const metric = classifier
    ? "1 − p (classifier)"
    : reranked
      ? "cosine distance (re-ranked)"
      : asymmetric
        ? "estimated cosine distance (RaBitQ)"
        : "Hamming distance";
  const byProbability = classifier && (view === "topk" || view === "threshold" || view === "heatmap");
  const shownOf = (values: Float64Array): Float64Array => {
    if (v === null) return values;
    const shown = values.filter((_, i) => v.shown[i] === 1);
    return shown.length ? shown : values;
  };
  if (view === "change") {
    const c = context.change;
    const span = c === undefined ? "the two years" : `${c.years[0]} → ${c.years[1]}`;
    const byScores = c?.byScores ?? false;
    const label = byScores ? `change of ${metric}, ${span}` : `Hamming distance between the years, ${span}`;
    const [lo, hi] = v === null || v.value.length === 0 ? [0, 1] : minMax(shownOf(v.value));
    return { label, min: lo, max: hi, lowerIsBetter: byScores };
  }
  if (byProbability) {
    const label = "probability of being like the positives (classifier)";
    if (v === null || prob === null || prob.length === 0) return { label, min: 0, max: 1, lowerIsBetter: false, field: "probability" };
    const [lo, hi] = minMax(view === "heatmap" ? prob : shownOf(prob));
    return { label, min: lo, max: hi, lowerIsBetter: false, field: "probability" };
  }
  if (v === null || v.value.length === 0) {
    return { label: view === "heatmap" ? "score (0 = most similar)" : metric, min: 0, max: 1, lowerIsBetter: !["outlier", "surprise", "gradient"].includes(view) };
  }
  if (view === "heatmap") {
    const lo = v.extra["min"] as number;
    const hi = v.extra["max"] as number;
    return { label: `${metric}: ${fmt(lo)} (0, most similar) … ${fmt(hi)} (1)`, min: 0, max: 1, lowerIsBetter: true };
  }
  if (view === "topk" || view === "threshold") {
    const [lo, hi] = minMax(shownOf(v.value));
    return { label: metric, min: lo, max: hi, lowerIsBetter: true };
  }
  const [lo, hi] = minMax(v.value);
  const label =
    view === "outlier"
      ? "outlier-ness (mean Hamming distance to a sample)"
      : view === "surprise"
        ? "surprise (mean Hamming distance to ground neighbours)"
        : classifier
          ? "gradient (mean change of the classifier's probability to ground neighbours)"
          : "gradient (mean score change to ground neighbours)";
  return { label, min: lo, max: hi, lowerIsBetter: false };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

function stats(
  corpus: WebCorpus,
  t0: number,
  bytes0: number,
  shardsRead: number,
  shardsTotal: number,
  failed: string[],
  candidates: number,
  reranked: boolean,
): SearchStats {
  return {
    shardsRead,
    shardsTotal,
    failedShards: failed,
    bytesRead: corpus.bytesRead - bytes0,
    candidates,
    seconds: (performance.now() - t0) / 1000,
    reranked,
  };
}

// ------------------------------------------------------------------ dedupe

/** Keep, of rows with byte-identical geometry, the best `(score, id)`; ascending indices. */
export function dedupeRows(wkb: readonly Uint8Array[], scores: ArrayLike<number>, ids: readonly string[]): number[] {
  const bestOf = new Map<string, number>();
  wkb.forEach((g, i) => {
    const key = wkbKey(g);
    const j = bestOf.get(key);
    if (
      j === undefined ||
      (scores[i] as number) < (scores[j] as number) ||
      ((scores[i] as number) === (scores[j] as number) && compareIds(ids[i] as string, ids[j] as string) < 0)
    ) {
      bestOf.set(key, i);
    }
  });
  return [...bestOf.values()].sort((a, b) => a - b);
}

// ------------------------------------------------------------------ search

/** The `[start, end)` window of the years `[a, b]` (UTC): what a change view reads. */
function yearsWindow(corpus: WebCorpus, pair: [number, number]): TimeWindow {
  const first = timeWindow(corpus, pair[0]) as TimeWindow;
  const last = timeWindow(corpus, pair[1]) as TimeWindow;
  return { start: first.start, end: last.end };
}

/** `values` at `rows`. */
function pick(values: Float64Array, rows: readonly number[]): Float64Array {
  return Float64Array.from(rows, (i) => values[i] as number);
}

function examplesText(n: number): string {
  return `${n} example${n === 1 ? "" : "s"}`;
}

/** Search `corpus` for `query` (see the module notes). */
export async function search(corpus: WebCorpus, query: Query, options: SearchOptions = {}): Promise<SearchResult> {
  const t0 = performance.now();
  const bytes0 = corpus.bytesRead;
  checkQuery(query);
  const cap = options.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  const score: ScoreName = query.score ?? "distance";
  const asked = checkChange(corpus.info, query);
  if (score === "classifier") {
    checkClassifier({ ...query, positives: query.positives.length });
  }
  const window = asked !== null ? yearsWindow(corpus, asked) : timeWindow(corpus, query.year);
  const region = regionFromSpecs(query.regions);
  if (query.global) return globalSearch(corpus, query, region, window, options, t0);

  const codeSize = corpus.info.codeSize;
  const rrSize = corpus.info.rerankCodeSize ?? 0;
  const useRerank =
    score === "distance" && query.view === "topk" && query.combine === "mean" && !query.invert && rerankSupported(corpus);
  const useAsym = query.asymmetric;
  if (useAsym) {
    const why = asymmetricUnavailable(corpus);
    if (why !== null) throw new TerrabitError(`asymmetric scoring cannot score this corpus: ${why}; turn asymmetric off`);
  }
  const withRerankCodes = useRerank || useAsym;
  const shards = corpus.selectShards(region?.boxes ?? null, window);
  /** What a result adds besides its rows (the view's legend context, the classifier's fit, the change view's years). */
  const more: { classifier?: ClassifierInfo; change?: { years: [number, number]; places: number }; probability?: Float64Array | null } = {};
  const finish = (
    rows: ResultRow[],
    exemplars: ExemplarRow[],
    message: string | null,
    v: ViewOutput | null,
    failed: string[],
    candidates: number,
    shardsRead: number,
    reranked: boolean,
  ): SearchResult => {
    const byScores = query.view === "change" && exemplars.some((e) => e.positive);
    const result: SearchResult = {
      query,
      view: query.view,
      rows,
      exemplars,
      stats: stats(corpus, t0, bytes0, shardsRead, shards.length, failed, candidates, reranked),
      legend: legendFor(query.view, v, {
        reranked,
        asymmetric: useAsym,
        classifier: score === "classifier",
        probability: more.probability ?? null,
        change: more.change === undefined ? undefined : { years: more.change.years, byScores },
      }),
      message,
    };
    if (query.view === "threshold" && v !== null) {
      const h = v.extra["histogram"] as { counts: number[]; edges: number[] };
      result.threshold = { t: (v.extra["t"] as number | null) ?? 0, edges: h.edges, counts: h.counts };
    }
    if (more.classifier !== undefined) result.classifier = more.classifier;
    if (more.change !== undefined) result.change = more.change;
    return result;
  };
  const sure = surelyInside(shards, region);
  if (sure > cap) return finish([], [], capMessage(sure, cap, true), null, [], 0, 0, false);

  const slicer = new TimeSlicer();
  const counts = { shardsDone: shards.length, shardsTotal: shards.length, failed: 0, candidates: 0 };
  const stage = async (name: Parameters<typeof progressAt>[0], candidates: number, what = ""): Promise<void> => {
    performance.mark(`terrabit:stage:${name}`); // for benchmarks/web_ui_load.py
    counts.candidates = candidates;
    options.onProgress?.(progressAt(name, counts, what));
    await slicer.now(); // the page shows the stage before it runs
  };
  const cacheKey = JSON.stringify([query.regions, query.year, asked, withRerankCodes, useAsym]);
  const cache = regionCache(corpus);
  let cand: Candidates;
  let failed: string[] = [];
  const hit = cache.get(cacheKey);
  if (hit !== undefined) {
    // the same region again (another exemplar, another view): no I/O, no decoding
    cache.delete(cacheKey);
    cache.set(cacheKey, hit);
    cand = hit;
    options.onProgress?.(progressAt("reading", { ...counts, candidates: cand.length }));
  } else {
    const readOptions = {
      boxes: region?.boxes ?? null,
      window,
      geometry: true,
      rerank: withRerankCodes,
      factors: useAsym,
      attributes: true,
    };
    const rowsToRead = shards.reduce((sum, m) => sum + m.rows, 0);
    const pool = corpus.store instanceof HttpStore && rowsToRead >= READER_POOL_MIN_ROWS ? defaultReaderPool() : null;
    if (pool !== null) {
      // the workers that score and rank start while the shards are read (not at boot,
      // where they would compete with the page and the readers for the cores)
      if (rowsToRead >= SCORER_POOL_MIN_ROWS) defaultPool();
      if (query.view !== "topk" && rowsToRead >= VIEW_POOL_MIN_ROWS) defaultViewPool();
    }
    const inPlace = async (row: ManifestRow): Promise<Part> => {
      const table = await corpus.readShard(row, { ...readOptions, signal: options.signal });
      return { table, rows: exactRows(table, region) };
    };
    const viaPool = async (row: ManifestRow): Promise<Part> => {
      if (pool === null) return inPlace(row);
      checkAbort(options.signal);
      try {
        const { table, bytes } = await pool.read(corpus, row, readOptions, region);
        corpus.remoteBytes += bytes;
        return { table, rows: Array.from({ length: table.length }, (_, i) => i) };
      } catch (err) {
        if (err instanceof TerrabitError && err.kind === "worker") return inPlace(row);
        throw err;
      }
    };
    // the reading workers get every shard at once when the region cannot pass the cap:
    // they read on while the page is busy (painting the map), instead of waiting for it to
    // hand them the next shard
    const concurrency = pool !== null && rowsToRead <= cap ? shards.length : CONCURRENCY;
    const outcome = await readShards(shards, viaPool, options, cap, concurrency);
    checkAbort(options.signal);
    failed = outcome.failed;
    counts.failed = failed.length;
    const parts = outcome.tables.flatMap((t) => (t === null ? [] : [t]));
    await stage("gathering", parts.reduce((sum, p) => sum + p.rows.length, 0));
    cand = parts.length ? await concatCandidatesSliced(parts, codeSize, rrSize, slicer) : emptyCandidates();
    if (outcome.capped || cand.length > cap) {
      return finish([], [], capMessage(cand.length, cap, outcome.capped), null, failed, cand.length, shards.length - failed.length, false);
    }
    if (!failed.length) {
      cache.set(cacheKey, cand);
      while (cache.size > REGION_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    }
  }
  const shardsRead = shards.length - failed.length;
  const outcome = { failed };

  await stage("examples", cand.length);
  const exemplars = await resolveExemplarsWith(corpus, query, {
    window,
    candidates: cand,
    region,
    rerank: withRerankCodes,
    signal: options.signal,
  });
  const exRows = exemplars.map(toExemplarRow);
  const pos = exemplars.filter((e) => e.positive);
  const neg = exemplars.filter((e) => !e.positive);
  if (!pos.length && (NEEDS_EXEMPLAR.includes(query.view) || neg.length)) {
    throw new TerrabitError(
      `the ${query.view} view needs at least one positive exemplar: click a place (left click); ` +
        "only the outlier, surprise and change views work without",
    );
  }
  // exclude the exemplars (and, with dedupe, every row at an exemplar's place); the rows
  // kept are indices into `cand` (null: all), and only the rows the view shows are copied
  let keep: number[] | null = null;
  if (exemplars.length && cand.length) {
    const dropIds = new Set(exemplars.map((e) => e.id));
    const dropGeoms = query.dedupe ? new Set(exemplars.map((e) => wkbKey(e.wkb))) : null;
    const kept: number[] = [];
    for (let i = 0; i < cand.length; i++) {
      if (dropIds.has(cand.ids[i] as string)) continue;
      if (dropGeoms !== null && dropGeoms.has(wkbKey(cand.wkb[i] as Uint8Array))) continue;
      kept.push(i);
    }
    if (kept.length < cand.length) keep = kept;
  }
  // score every candidate of the (cached) region table, so that its codes stay resident
  // in the scoring workers from one search of the region to the next
  let scores: Float64Array;
  let prob: Float64Array | null = null;
  const concat = (list: ResolvedExemplar[]): Uint8Array => {
    const out = new Uint8Array(list.length * codeSize);
    list.forEach((e, j) => out.set(e.code, j * codeSize));
    return out;
  };
  if (pos.length && cand.length && score === "classifier") {
    await stage("scoring", cand.length, `a classifier of ${examplesText(exemplars.length)} and a background of the region`);
    // the background: candidates (exemplars left out) evenly spaced in id order
    const keptIds = keep === null ? cand.ids : keep.map((i) => cand.ids[i] as string);
    const back = await classifierBackground(keptIds, options.signal);
    const backRows = keep === null ? back : Int32Array.from(back, (j) => (keep as number[])[j] as number);
    const training = trainingSet(concat(pos), neg.length ? concat(neg) : null, cand.codes, backRows, codeSize);
    const fit = await fitClassifier(training, options.signal);
    const z = await scoreClassifier({ codeSize, coef: fit.coef, intercept: fit.intercept }, cand.codes, cand.length, options.signal);
    ({ scores, probability: prob } = probabilities(z));
    more.classifier = classifierInfo(training, fit);
  } else if (pos.length && cand.length && useAsym) {
    if (cand.factors === null) throw new TerrabitError("the candidates were read without their rabitq factors; search again");
    await stage("scoring", cand.length, `RaBitQ estimates against ${examplesText(exemplars.length)}`);
    scores = await scoreAsymmetric(asymmetricJob(corpus, exemplars), cand.codes, cand.factors, cand.length, options.signal);
  } else if (pos.length && cand.length) {
    await stage("scoring", cand.length, `Hamming distances to ${examplesText(exemplars.length)}`);
    const prepared = prepareQuery(concat(pos), neg.length ? concat(neg) : null, codeSize, query.combine, query.invert);
    scores = await scoreCandidates(prepared, cand.codes, cand.length, options.signal, true);
  } else {
    scores = new Float64Array(cand.length);
  }
  /** Every candidate's score (indexed as `cand`), for the change view. */
  const candScores = scores;
  if (keep !== null) {
    scores = pick(scores, keep);
    if (prob !== null) prob = pick(prob, keep);
  }
  const nKept = (): number => (keep === null ? cand.length : keep.length);
  if (nKept() === 0) {
    let message: string;
    if (shards.length === 0) {
      message =
        "the region lies outside the corpus (no shard's extent meets it" +
        (window !== null ? (asked !== null ? " in the chosen years" : " in the chosen year") : "") +
        `; the corpus covers [${corpus.extent.map((v) => v.toFixed(3)).join(", ")}])`;
    } else {
      message =
        "no row of the corpus lies in the region" +
        (window !== null ? (asked !== null ? " and the chosen years" : " and the chosen year") : "") +
        (exemplars.length ? " besides the exemplars" : "");
    }
    if (outcome.failed.length) message += ` (${outcome.failed.length} shard(s) failed to load: retry)`;
    return finish([], exRows, message, null, outcome.failed, 0, shardsRead, false);
  }

  const nCandidates = nKept();
  await stage("ranking", nCandidates, `${query.view} view`);
  // rows of the kept selection (indices into it) as rows of `cand`
  const inCand = (sel: readonly number[]): number[] => (keep === null ? [...sel] : sel.map((j) => (keep as number[])[j] as number));
  const failedMessage = outcome.failed.length
    ? `${outcome.failed.length} of ${shards.length} shards failed to load; the result misses their rows (retry)`
    : null;
  if (query.view === "change") {
    const kept = inCand(Array.from({ length: nCandidates }, (_, j) => j));
    const out = await changeView(corpus, query, cand, kept, pos.length ? candScores : null, asked, slicer, options.signal);
    more.change = { years: out.years, places: out.places };
    if (out.view === null) {
      const why = `no place in the region has rows in both ${out.years[0]} and ${out.years[1]}`;
      return finish([], exRows, failedMessage === null ? why : `${why}; ${failedMessage}`, null, outcome.failed, nCandidates, shardsRead, false);
    }
    await stage("rows", out.table.length);
    const rows = await resultRows(out.table, out.view, slicer, { earlier: out.earlier });
    return finish(rows, exRows, failedMessage, out.view, outcome.failed, nCandidates, shardsRead, false);
  }
  // copy rows `sel` of the kept selection into a table of their own (scores follow)
  const take = (sel: readonly number[]): void => {
    cand = takeCandidates(cand, inCand(sel), codeSize, rrSize);
    scores = pick(scores, sel);
    if (prob !== null) prob = pick(prob, sel);
    keep = null;
  };
  if (query.dedupe) {
    const rows = inCand(Array.from({ length: nKept() }, (_, j) => j));
    const unique = dedupeRows(rows.map((i) => cand.wkb[i] as Uint8Array), scores, rows.map((i) => cand.ids[i] as string));
    if (unique.length < rows.length) {
      keep = unique.map((j) => rows[j] as number);
      scores = pick(scores, unique);
      if (prob !== null) prob = pick(prob, unique);
    }
  }
  let reranked = false;
  if (useRerank && cand.rerank !== null && pos.length) {
    const n = nKept();
    const m = rerankShortlist(query.k, n);
    const idOf = (j: number): string => cand.ids[keep === null ? j : (keep[j] as number)] as string;
    let short = best(scores, Math.min(m, n));
    short.sort((a, b) => (scores[a] as number) - (scores[b] as number) || compareIds(idOf(a), idOf(b)));
    short = short.slice(0, m).sort((a, b) => a - b);
    take(short);
    scores = rerankScores(corpus, exemplars, cand.rerank as Uint8Array, cand.length);
    reranked = true;
  }
  if (query.view === "topk" && nKept() > query.k) take(best(scores, query.k));
  else if (keep !== null) take(Array.from({ length: nKept() }, (_, j) => j));
  const v = await runView(query, scores, cand, codeSize, options.signal);
  more.probability = prob;
  await stage("rows", cand.length);
  const rows = await resultRows(cand, v, slicer, { probability: prob });
  return finish(rows, exRows, failedMessage, v, outcome.failed, nCandidates, shardsRead, reranked);
}

/**
 * The change view of the candidates `kept` (indices into `cand`): their places observed
 * in both years paired (`change.ts`) and ranked by the view worker. `scores` are every
 * candidate's search scores (null without exemplars: by the codes). Returns the later rows
 * as a table of their own, the earlier rows' ids, and the view (null: no place in both
 * years).
 */
async function changeView(
  corpus: WebCorpus,
  query: Query,
  cand: Candidates,
  kept: number[],
  scores: Float64Array | null,
  asked: [number, number] | null,
  slicer: TimeSlicer,
  signal?: AbortSignal,
): Promise<{ years: [number, number]; places: number; table: Candidates; earlier: string[]; view: ViewOutput | null }> {
  if (cand.times === null) throw new TerrabitError("the candidates were read without their datetime; search again");
  const years = rowYears(cand.times);
  const keptYears = new Int32Array(kept.length);
  for (let j = 0; j < kept.length; j++) keptYears[j] = years[kept[j] as number] as number;
  const pair = pickYears(keptYears, asked, corpus.info);
  const { earlier, later } = await placePairs(cand.wkb, years, cand.ids, kept, pair, slicer);
  checkAbort(signal);
  const codeSize = corpus.info.codeSize;
  // the later rows as a table of their own, copied in slices of rows (a million places
  // would block the page)
  const parts: { table: Candidates; rows: number[] }[] = [];
  for (let a = 0; a < later.length; a += 16384) parts.push({ table: cand, rows: later.slice(a, a + 16384) });
  const table = await concatCandidatesSliced(parts, codeSize, corpus.info.rerankCodeSize ?? 0, slicer);
  const earlierIds = earlier.map((i) => cand.ids[i] as string);
  if (later.length === 0) return { years: pair, places: 0, table, earlier: earlierIds, view: null };
  const input: ViewInput = { scores: new Float64Array(0), ids: table.ids, codes: null, codeSize, bbox: null, later: null };
  if (scores !== null) {
    input.scores = Float64Array.from(later, (i, j) => (scores[i] as number) - (scores[earlier[j] as number] as number));
  } else {
    const codes = (rows: number[]): Uint8Array => {
      const out = new Uint8Array(rows.length * codeSize);
      rows.forEach((i, j) => out.set(cand.codes.subarray(i * codeSize, (i + 1) * codeSize), j * codeSize));
      return out;
    };
    input.codes = codes(earlier);
    input.later = table.codes.subarray(0, later.length * codeSize);
  }
  const view = await runViewOn({ view: "change", k: query.k, threshold: null }, input, signal);
  return { years: pair, places: later.length, table, earlier: earlierIds, view };
}
