/**
 * What became of each example: resolved to a corpus row, or failed (and why).
 *
 * A failed example stays in the query (and the URL) but is left out of the searches, so
 * one bad click never blocks the rest: the outlier view (which needs no example) and the
 * searches of the other examples still run. Its message names the point in the chip's
 * own format ("20.000° S, 140.000° W"), never in the URL's "lon,lat".
 */
import type { WebCorpus } from "../lib/corpus/reader";
import { resolveExemplars } from "../lib/search/query";
import type { ExemplarRef, ExemplarRow, Query } from "../lib/types";
import { fmtLonLat } from "./dom";
import { refKey } from "./store";

/** A key of an example in its list ("true:pt:2.35,48.85"). */
export function exampleKey(ref: ExemplarRef, positive: boolean): string {
  return `${positive}:${refKey(ref)}`;
}

/** Why the land / sea test knows where a point is (see `map.ts`). */
export type IsLand = (lon: number, lat: number) => boolean | null;

/**
 * The message of an example that could not be resolved, naming it as its chip does.
 * `coveredByShard` says whether a shard's extent holds the point; `onLand` whether the
 * bundled basemap puts the point on land (`null`: not known).
 */
export function failureMessage(
  ref: ExemplarRef,
  error: string,
  coveredByShard: boolean,
  onLand: boolean | null,
): string {
  if (ref.kind === "id") {
    if (/unknown exemplar ids/.test(error)) {
      return `No row of this corpus has id “${ref.id}”; check the id or click a place instead.`;
    }
    return `Could not read the row “${ref.id}”: ${error}`;
  }
  const where = fmtLonLat(ref.lon, ref.lat);
  if (/^no patch at /.test(error)) {
    if (!coveredByShard) {
      return `Nothing at ${where}: it lies outside this corpus's data; click where patches are drawn.`;
    }
    if (onLand === false) {
      return `Nothing at ${where}: that is sea, with no patch of this corpus; click on a patch.`;
    }
    return `No patch at ${where}: it falls between this corpus's patches; zoom in and click on a patch.`;
  }
  if (/out of range/.test(error)) return `${where} is not a place on Earth: ${error}`;
  return `Could not read the patch at ${where}: ${error}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ExampleStates {
  /** Examples resolved to rows (by the last search or preview). */
  rows: ExemplarRow[] = [];
  private readonly failures = new Map<string, string>();

  constructor(
    private readonly corpus: WebCorpus,
    private readonly isLand: IsLand,
  ) {}

  failure(ref: ExemplarRef, positive: boolean): string | undefined {
    return this.failures.get(exampleKey(ref, positive));
  }

  /** Every failed example of `q` with its message, positives first. */
  failed(q: Query): { ref: ExemplarRef; positive: boolean; message: string }[] {
    const out: { ref: ExemplarRef; positive: boolean; message: string }[] = [];
    for (const [refs, positive] of [
      [q.positives, true],
      [q.negatives, false],
    ] as const) {
      for (const ref of refs) {
        const message = this.failure(ref, positive);
        if (message !== undefined) out.push({ ref, positive, message });
      }
    }
    return out;
  }

  /** `q` without its failed examples (what is searched). */
  effective(q: Query): Query {
    if (this.failures.size === 0) return q;
    return {
      ...q,
      positives: q.positives.filter((r) => this.failure(r, true) === undefined),
      negatives: q.negatives.filter((r) => this.failure(r, false) === undefined),
    };
  }

  /** Forget a failure (its Retry); true when there was one. */
  retry(ref: ExemplarRef, positive: boolean): boolean {
    return this.failures.delete(exampleKey(ref, positive));
  }

  /** Keep only the rows of examples still in `q`. */
  visible(q: Query): ExemplarRow[] {
    return this.rows.filter((row) =>
      (row.positive ? q.positives : q.negatives).some((ref) => refKey(ref) === refKey(row.ref)),
    );
  }

  /**
   * After a search or preview failed: resolve each example of `q` alone and record those
   * that fail. Returns how many new failures were found (0: the error was not an
   * example's, and is the query's own).
   */
  async diagnose(q: Query, signal: AbortSignal): Promise<number> {
    // a query-wide problem (e.g. a year on a corpus without dates) is not an example's
    await resolveExemplars(this.corpus, { ...q, positives: [], negatives: [] }, { signal });
    let found = 0;
    const one = async (ref: ExemplarRef, positive: boolean): Promise<void> => {
      if (this.failure(ref, positive) !== undefined) return;
      const single = { ...q, positives: positive ? [ref] : [], negatives: positive ? [] : [ref] };
      try {
        await resolveExemplars(this.corpus, single, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
        this.failures.set(exampleKey(ref, positive), this.describe(ref, errorText(err)));
        found++;
      }
    };
    for (const ref of q.positives) await one(ref, true);
    for (const ref of q.negatives) await one(ref, false);
    return found;
  }

  private describe(ref: ExemplarRef, error: string): string {
    if (ref.kind === "id") return failureMessage(ref, error, true, null);
    const box: [number, number, number, number] = [ref.lon, ref.lat, ref.lon, ref.lat];
    const covered = this.corpus.selectShards([box]).length > 0;
    return failureMessage(ref, error, covered, this.isLand(ref.lon, ref.lat));
  }
}
