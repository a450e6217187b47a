/**
 * The legend and the list tell the same story: one sign convention per view, stated.
 *
 * - top k, threshold and heatmap show a distance: "lower = more similar"; the heatmap's
 *   colours are its scores normalised to 0…1, but its legend and list show the real
 *   distances;
 * - with score=classifier, those three show the classifier's probability instead: "higher
 *   = more like the positives" (the search ranks by `1 - p`; the list shows `p`);
 * - outlier, surprise and gradient show how remarkable a place is: "higher = more
 *   unusual" (the search ranks by the negated value; the list shows the value itself);
 * - change shows, without examples, the Hamming distance between a place's two years
 *   ("higher = changed more"), with examples the change of its score ("negative = became
 *   more like the examples").
 */
import { legendStops } from "../lib/colors";
import type { Legend, ResultRow, SearchResult, ViewName } from "../lib/types";
import { el, fmt } from "./dom";

const DESCENDING: readonly ViewName[] = ["outlier", "surprise", "gradient"];

/** What the legend and the list need of a result. */
export type Shown = Pick<SearchResult, "view" | "legend"> & Partial<Pick<SearchResult, "change">>;

/** What the list shows for a row: the value the legend colours (real, not normalised). */
export function shownValue(result: Shown, row: ResultRow): number {
  if (DESCENDING.includes(result.view) || result.view === "change") return row.value;
  if (result.legend.field === "probability") return row.probability ?? NaN;
  return row.score;
}

/** What the map colours a row by on `legend`'s scale. */
export function legendValue(legend: Legend, row: ResultRow): number {
  return legend.field === "probability" ? (row.probability ?? NaN) : row.value;
}

/** The list's column heading for a result. */
export function valueHeading(result: Shown): string {
  const { view, legend } = result;
  if (view === "outlier") return "unusual";
  if (view === "surprise") return "surprise";
  if (view === "gradient") return "change";
  if (view === "change") return legend.lowerIsBetter ? "Δ score" : "bits changed";
  if (legend.field === "probability") return "probability";
  return /cosine/.test(legend.label) ? "cosine" : "distance";
}

/** The sentence that says what the shown value means and which way is better. */
export function signNote(result: Shown): string {
  const { view, legend } = result;
  if (view === "change") {
    const years = result.change?.years;
    if (legend.lowerIsBetter) {
      const span = years ? ` (${years[0]} → ${years[1]})` : "";
      return `later − earlier score${span}; negative = became more like the examples (hotter)`;
    }
    const which = years ? `the ${years[0]} and ${years[1]} codes` : "the two years' codes";
    return `Hamming distance between ${which}; higher = changed more (hotter)`;
  }
  if (legend.field === "probability") return "probability of being like the positives; higher = more like them (hotter)";
  if (view === "gradient") return "higher = sharper change around it (hotter)";
  if (DESCENDING.includes(view)) return "higher = more unusual (hotter)";
  return "lower = more similar (hotter)";
}

/** The scale the legend draws: its title and the real values at its two ends. */
export interface Scale {
  title: string;
  lo: number;
  hi: number;
  note: string;
}

/** The legend's scale of a result (the heatmap's in real distances). */
export function scaleOf(result: SearchResult): Scale {
  const { legend, view } = result;
  if (view !== "heatmap" || legend.field === "probability") {
    return { title: legend.label, lo: legend.min, hi: legend.max, note: signNote(result) };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of result.rows) {
    if (!row.shown) continue;
    if (row.score < lo) lo = row.score;
    if (row.score > hi) hi = row.score;
  }
  if (!Number.isFinite(lo)) [lo, hi] = [0, 0];
  const metric = legend.label.split(":")[0] ?? legend.label;
  return { title: metric, lo, hi, note: signNote(result) };
}

function rgb(c: readonly number[]): string {
  return `rgb(${c.map((v) => Math.round(v)).join(", ")})`;
}

/** A colour bar with real values (low, middle, high), its title and its sign note. */
export function renderLegend(box: HTMLElement, result: SearchResult | null): void {
  const shown = result ? result.rows.some((r) => r.shown) : false;
  if (!result || !shown) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const { legend } = result;
  const scale = scaleOf(result);
  const stops = legendStops(legend);
  const span = legend.max - legend.min || 1;
  const gradient = stops
    .map((s) => `${rgb(s.color)} ${(((s.value - legend.min) / span) * 100).toFixed(1)}%`)
    .join(", ");
  const bar = el("div", { class: "legend-bar", role: "img" });
  bar.style.background = `linear-gradient(to right, ${gradient})`;
  bar.setAttribute("aria-label", `Colour scale from ${fmt(scale.lo)} to ${fmt(scale.hi)}; ${scale.note}`);
  box.replaceChildren(
    el("div", { class: "legend-title" }, scale.title),
    bar,
    el(
      "div",
      { class: "legend-ticks" },
      el("span", {}, fmt(scale.lo)),
      el("span", {}, fmt((scale.lo + scale.hi) / 2)),
      el("span", {}, fmt(scale.hi)),
    ),
    el("div", { class: "legend-note", "data-testid": "legend-note" }, scale.note),
  );
  box.hidden = false;
}
