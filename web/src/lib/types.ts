/**
 * The contract between the app's library (`src/lib/`) and its interface (`src/ui/`).
 *
 * The semantics mirror the Python package (`terrabit.search`): scores are ascending
 * (lower ranks first), ranks are unique with ties broken by id, and every view returns
 * all candidates with `value` (what is shown) and `shown` (whether it is displayed).
 */

/** `[minx, miny, maxx, maxy]` in lon/lat degrees; `minx > maxx` crosses the antimeridian. */
export type BBox = [number, number, number, number];

/** One region the user drew or typed: a rectangle or a (multi)polygon. */
export type RegionSpec =
  | { kind: "bbox"; bbox: BBox }
  | { kind: "polygon"; geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon };

/** An exemplar: a place (the row whose footprint contains it) or a corpus id. */
export type ExemplarRef = { kind: "point"; lon: number; lat: number } | { kind: "id"; id: string };

export type Combine = "mean" | "majority" | "and" | "or" | "xor";
export type ViewName = "topk" | "heatmap" | "threshold" | "outlier" | "surprise" | "gradient" | "change";
/**
 * How candidates are scored against the examples (lower = more similar in both):
 * `distance` (Hamming, or RaBitQ's estimate with `asymmetric`) or `classifier` (`1 - p` of
 * a logistic regression on the codes' bits, `lib/search/classifier.ts`).
 */
export type ScoreName = "distance" | "classifier";

export const COMBINES: readonly Combine[] = ["mean", "majority", "and", "or", "xor"];
export const VIEWS: readonly ViewName[] = [
  "topk",
  "heatmap",
  "threshold",
  "outlier",
  "surprise",
  "gradient",
  "change",
];
export const SCORES: readonly ScoreName[] = ["distance", "classifier"];

/** Everything that defines a search; it round-trips through the URL hash. */
export interface Query {
  regions: RegionSpec[];
  positives: ExemplarRef[];
  negatives: ExemplarRef[];
  combine: Combine;
  invert: boolean;
  view: ViewName;
  /** top-k size (topk view; also the default threshold's k). */
  k: number;
  /** threshold view: keep scores <= t; `null` picks the k-th best score. */
  threshold: number | null;
  /** keep rows of this year only (`datetime` column); `null` for all. */
  year: number | null;
  /** drop the same place's other-year rows. */
  dedupe: boolean;
  /** rank shards by the manifest summary codes and scan best-first (topk only). */
  global: boolean;
  /**
   * score the exemplars' float vectors (decoded rerank codes) against the candidates'
   * codes with RaBitQ's estimator instead of Hamming distance (a `rabitq` corpus with a
   * rerank column; combine "mean", no invert; not with `global`).
   */
  asymmetric: boolean;
  /**
   * `distance` (the default) or `classifier` (needs a positive; not with the outlier and
   * surprise views, global, asymmetric, invert or a bitwise combine).
   */
  score: ScoreName;
  /** change view: the `[earlier, later]` years compared; `null` picks the two latest of the region's rows. */
  years: [number, number] | null;
}

/** One manifest row (one shard), as in `spec/corpus-v1.md`. */
export interface ManifestRow {
  path: string;
  geohash: string;
  rows: number;
  bytes: number;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  tmin: Date | null;
  tmax: Date | null;
  checksum: string;
  footerChecksum: string;
  /** Every other manifest column (the summary columns among them), as read. */
  extra: Record<string, unknown>;
}

/** The `terrabit` key-value metadata of the manifest (codec, dims, code size, totals…). */
export interface CorpusInfo {
  formatVersion: string;
  codec: Record<string, unknown>;
  codecSpec: string;
  dims: number;
  codeSize: number;
  rows: number;
  shards: number;
  rerankCodeSize: number | null;
  columns: string[];
  metadata: Record<string, unknown>;
}

/** An exemplar resolved to a row of the corpus. */
export interface ExemplarRow {
  ref: ExemplarRef;
  positive: boolean;
  id: string;
  lon: number;
  lat: number;
  /** The row's footprint (GeoJSON, CRS84). */
  geometry: GeoJSON.Geometry;
  /** The row's packed code in the corpus codec (what an export with codes writes). */
  code?: Uint8Array;
  /** The row's time and pass-through attributes, when its shard was read with them. */
  attributes?: Record<string, unknown>;
}

/** One candidate of a search result. */
export interface ResultRow {
  id: string;
  /** Anchor point (footprint centre), for the map and the list. */
  lon: number;
  lat: number;
  geometry: GeoJSON.Geometry;
  /** What the view ranks by, ascending. */
  score: number;
  /** 1 = best; unique (ties by id). */
  rank: number;
  /** What the view shows (colour value). */
  value: number;
  shown: boolean;
  /** Pass-through attributes of the row (e.g. `label`, `year`), when the corpus has them. */
  attributes: Record<string, unknown>;
  /** The row's packed code in the corpus codec, when the search holds it. */
  code?: Uint8Array;
  /** score=classifier: the model's probability that the row is like the positives (`score = 1 - probability`). */
  probability?: number;
  /** change view: the id of the place's row in the earlier year (the row itself is the later one). */
  earlier?: string;
}

export interface SearchStats {
  shardsRead: number;
  shardsTotal: number;
  failedShards: string[];
  bytesRead: number;
  candidates: number;
  seconds: number;
  reranked: boolean;
}

export interface Legend {
  /** Label of the colour scale ("Hamming distance", "outlier-ness" …). */
  label: string;
  min: number;
  max: number;
  /** true when lower values are better (drawn hotter). */
  lowerIsBetter: boolean;
  /**
   * What the scale measures of each row: its `value` (absent), or its classifier
   * `probability` (the classifier's top k, threshold and heatmap: higher = more like the
   * positives).
   */
  field?: "probability";
}

/** A classifier fit's provenance, with the keys of Python's `result.query["classifier"]`. */
export interface ClassifierInfo {
  positives: number;
  negatives: number;
  /** Background rows drawn from the candidates. */
  background: number;
  background_weight: number;
  C: number;
  iterations: number;
  converged: boolean;
  /** Set when there is no negative: the background alone is the negative class. */
  note?: string;
}

export interface SearchResult {
  query: Query;
  view: ViewName;
  /** Candidates sorted by rank (topk: the shown rows plus ties at the cut). */
  rows: ResultRow[];
  exemplars: ExemplarRow[];
  stats: SearchStats;
  legend: Legend;
  /** threshold view: the threshold used and the histogram of all scores. */
  threshold?: { t: number; edges: number[]; counts: number[] };
  /** Why the result is empty or truncated (a candidate cap, a region outside the corpus). */
  message: string | null;
  /** score=classifier: the fit's provenance (rows trained on, iterations; a note without negatives). */
  classifier?: ClassifierInfo;
  /** change view: the years compared and the places observed in both. */
  change?: { years: [number, number]; places: number };
}

/**
 * What a search is doing: reading (fetching and decoding shards, in the reading workers),
 * gathering (the shards' rows into one table), examples (finding the exemplars' rows),
 * scoring (in the scoring workers), ranking (the view: sorting, neighbour work), rows
 * (building the result rows).
 */
export type SearchStage = "reading" | "gathering" | "examples" | "scoring" | "ranking" | "rows";

export interface SearchProgress {
  shardsDone: number;
  shardsTotal: number;
  failed: number;
  candidates: number;
  /** The stage (absent from older emitters: reading). */
  stage?: SearchStage;
  /** One line saying what the search is doing, e.g. "Scoring 199,999 candidates…". */
  text?: string;
}

export interface SearchOptions {
  signal?: AbortSignal;
  onProgress?: (p: SearchProgress) => void;
  /** Refuse more candidates than this with a clear message (default `DEFAULT_MAX_CANDIDATES`, `search/constants.ts`). */
  maxCandidates?: number;
}
