/**
 * The app's one piece of shared state: the current query.
 *
 * Every control writes the query through `update`; every view listens with `subscribe`.
 * `source` says who changed it, so the URL sync does not write back a hash it just read.
 */
import type { ExemplarRef, Query } from "../lib/types";

export type ChangeSource = "url" | "user";
export type QueryListener = (query: Query, source: ChangeSource) => void;

export class QueryStore {
  private current: Query;
  private readonly listeners: QueryListener[] = [];

  constructor(initial: Query) {
    this.current = cloneQuery(initial);
  }

  get(): Query {
    return this.current;
  }

  /** Replace the query (or patch it) and tell every listener. */
  update(patch: Partial<Query>, source: ChangeSource = "user"): void {
    this.current = { ...this.current, ...patch };
    for (const listener of this.listeners) listener(this.current, source);
  }

  subscribe(listener: QueryListener): void {
    this.listeners.push(listener);
  }
}

export function cloneQuery(q: Query): Query {
  return {
    ...q,
    regions: [...q.regions],
    positives: [...q.positives],
    negatives: [...q.negatives],
  };
}

/** Whether a query has what a search needs (a place to look and, for most views, an example). */
export function runnable(q: Query): string | null {
  if (q.regions.length === 0 && !q.global) {
    return "Draw a region (or tick “Search everywhere”) to start.";
  }
  if (q.score === "classifier" && q.positives.length === 0) {
    return "The classifier learns from positive examples: left-click the map to add one (or pick Score: distance).";
  }
  const needsExample = q.view !== "outlier" && q.view !== "surprise" && q.view !== "change";
  if (needsExample && q.positives.length === 0) {
    return "Left-click the map to add a positive example.";
  }
  return null;
}

/** A stable key of an example reference ("id:p01", "pt:2.35,48.85"). */
export function refKey(ref: ExemplarRef): string {
  return ref.kind === "id" ? `id:${ref.id}` : `pt:${ref.lon},${ref.lat}`;
}
