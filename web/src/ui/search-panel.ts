/**
 * The search controls: the examples (positive / negative chips), the view, the score
 * (distance or classifier), the top-k slider, the change view's pair of years, the
 * threshold slider with its histogram, combine, invert, the year filter, same-place
 * dedupe, the global toggle, asymmetric scoring, and run / cancel. Options a choice cannot
 * work with are disabled (unless a shared URL set them: then the search says why).
 *
 * Every control writes the query (`QueryStore`) and is redrawn from it, so the URL hash,
 * the controls and the search always agree.
 */
import {
  COMBINES,
  SCORES,
  VIEWS,
  type Combine,
  type ExemplarRef,
  type ExemplarRow,
  type Query,
  type ScoreName,
  type SearchResult,
  type ViewName,
} from "../lib/types";
import { chip, el, fmt, fmtLonLat, labelled } from "./dom";
import { countAtMost, cutAt, positionOf, STEPS } from "./quantiles";
import { refKey, type QueryStore } from "./store";
import type { UndoStack } from "./undo";

export const VIEW_LABELS: Record<ViewName, string> = {
  topk: "Top k (most similar)",
  heatmap: "Heatmap (all, by score)",
  threshold: "Threshold (score ≤ cut-off)",
  outlier: "Outlier (unlike the rest)",
  surprise: "Surprise (unlike neighbours)",
  gradient: "Gradient (where scores change)",
  change: "Change (between two years)",
};

export const SCORE_LABELS: Record<ScoreName, string> = {
  distance: "Distance",
  classifier: "Classifier",
};

/** Views that rank by the codes alone: the classifier has nothing to rank there. */
const CODES_ONLY: readonly ViewName[] = ["outlier", "surprise"];

const COMBINE_LABELS: Record<Combine, string> = {
  mean: "mean distance",
  majority: "majority of bits",
  and: "AND of bits",
  or: "OR of bits",
  xor: "XOR of bits",
};

export interface PanelActions {
  run: () => void;
  cancel: () => void;
  /** Add an example at the map centre (the keyboard way to click). */
  addAtCentre: (positive: boolean) => void;
  /** Try a failed example again. */
  retryExample: (ref: ExemplarRef, positive: boolean) => void;
}

/** Why an example failed (undefined: it did not). */
export type FailureOf = (ref: ExemplarRef, positive: boolean) => string | undefined;

export function exemplarLabel(ref: ExemplarRef, row?: ExemplarRow): string {
  const where = ref.kind === "id" ? ref.id : fmtLonLat(ref.lon, ref.lat);
  return row && ref.kind === "point" ? `${where} (${row.id})` : where;
}

export class SearchPanel {
  private readonly positives: HTMLUListElement;
  private readonly negatives: HTMLUListElement;
  private readonly combine: HTMLSelectElement;
  private readonly invert: HTMLInputElement;
  private readonly view: HTMLSelectElement;
  private readonly score: HTMLSelectElement;
  private readonly pair: HTMLSelectElement;
  private readonly pairRow: HTMLElement;
  private readonly k: HTMLInputElement;
  private readonly kOut: HTMLOutputElement;
  private readonly kRow: HTMLElement;
  private readonly thresholdBox: HTMLElement;
  private readonly threshold: HTMLInputElement;
  private readonly tOut: HTMLOutputElement;
  private readonly histogram: HTMLCanvasElement;
  private readonly axis: HTMLElement;
  /** The threshold view's scores, sorted (the slider's quantiles). */
  private sorted = new Float64Array(0);
  private readonly year: HTMLSelectElement;
  private readonly dedupe: HTMLInputElement;
  private readonly global: HTMLInputElement;
  private readonly asymmetric: HTMLInputElement;
  private readonly runButton: HTMLButtonElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly options: HTMLDetailsElement;
  private result: SearchResult | null = null;
  private exemplarRows: ExemplarRow[] = [];
  private failureOf: FailureOf = () => undefined;

  constructor(
    exemplarBox: HTMLElement,
    searchBox: HTMLElement,
    private readonly store: QueryStore,
    private readonly undo: UndoStack,
    private readonly years: number[],
    private readonly actions: PanelActions,
    /** Why the corpus cannot be scored asymmetrically (null: it can). */
    private readonly asymmetricUnavailable: string | null = null,
  ) {
    // ---- examples
    const list = (label: string, testid: string): HTMLUListElement =>
      el("ul", { class: "chips", "aria-label": label, "data-testid": testid });
    this.positives = list("Positive examples", "positives");
    this.negatives = list("Negative examples", "negatives");
    const centre = (sign: string, role: string): HTMLButtonElement =>
      el(
        "button",
        { type: "button", class: "small", title: `Add the place at the map centre as a ${role}` },
        `${sign} Map centre`,
      );
    const addPos = centre("+", "positive");
    const addNeg = centre("−", "negative");
    addPos.addEventListener("click", () => actions.addAtCentre(true));
    addNeg.addEventListener("click", () => actions.addAtCentre(false));
    exemplarBox.append(
      el("h2", {}, "Examples"),
      el("p", { class: "hint" }, "Click the map: more like this · right- or shift-click: less like this."),
      el("h3", { class: "pos-title" }, "Positive"),
      this.positives,
      el("h3", { class: "neg-title" }, "Negative"),
      this.negatives,
      el("div", { class: "button-row" }, addPos, addNeg),
    );

    // ---- search settings
    this.combine = el("select", { id: "combine" });
    for (const c of COMBINES) this.combine.append(el("option", { value: c }, COMBINE_LABELS[c]));
    this.invert = el("input", { id: "invert", type: "checkbox" });
    this.view = el("select", { id: "view" });
    for (const v of VIEWS) this.view.append(el("option", { value: v }, VIEW_LABELS[v]));
    this.score = el("select", { id: "score" });
    for (const v of SCORES) this.score.append(el("option", { value: v }, SCORE_LABELS[v]));
    this.score.title =
      "Distance: Hamming distance to the examples. Classifier: a logistic regression on the codes' bits, " +
      "trained on the examples and a background sample of the region";
    // the change view's pair of years: the two latest by default, or any pair the corpus spans
    this.pair = el("select", { id: "years" });
    this.pair.append(el("option", { value: "" }, "The two latest years"));
    for (const [i, a] of years.entries()) {
      for (const b of years.slice(i + 1)) this.pair.append(el("option", { value: `${a},${b}` }, `${a} → ${b}`));
    }
    this.k = el("input", { id: "k", type: "range", min: 1, max: 100, step: 1 });
    this.kOut = el("output", { for: "k", id: "k-out" });
    this.threshold = el("input", { id: "threshold", type: "range", min: 0, max: STEPS, step: 1 });
    this.tOut = el("output", { for: "threshold", id: "t-out" });
    this.histogram = el("canvas", {
      class: "histogram",
      width: 280,
      height: 56,
      role: "img",
      "aria-label": "Histogram of scores",
    });
    this.axis = el("div", { class: "histogram-axis", "data-testid": "histogram-axis" });
    const tReset = el("button", { type: "button", class: "small" }, "Reset");
    tReset.title = "Put the cut-off back at the k-th best score";
    this.year = el("select", { id: "year" });
    this.year.append(el("option", { value: "" }, "All years"));
    for (const y of years) this.year.append(el("option", { value: String(y) }, String(y)));
    this.dedupe = el("input", { id: "dedupe", type: "checkbox" });
    this.global = el("input", { id: "global", type: "checkbox" });
    this.asymmetric = el("input", { id: "asymmetric", type: "checkbox" });
    this.runButton = el("button", { type: "button", class: "primary", "data-testid": "run" }, "Search");
    this.cancelButton = el("button", { type: "button", disabled: true, "data-testid": "cancel" }, "Cancel");

    this.kRow = labelled("Top k", this.k);
    this.kRow.append(this.kOut);
    this.pairRow = labelled("Years", this.pair);
    const tRow = labelled("Threshold", this.threshold);
    tRow.append(this.tOut, tReset);
    this.thresholdBox = el(
      "div",
      { class: "threshold-box" },
      tRow,
      this.histogram,
      this.axis,
      el("p", { class: "hint" }, "The slider steps through the scores' quantiles: each step shows about as many more rows."),
    );

    const check = (input: HTMLInputElement, text: string, hint: string): HTMLElement =>
      el("div", { class: "row check" }, input, el("label", { for: input.id, title: hint }, text));

    this.options = el(
      "details",
      { class: "options" },
      el("summary", {}, "Options: combine, invert, year, dedupe, global, asymmetric"),
      labelled("Combine", this.combine),
      check(this.invert, "Invert (look for the opposite)", "Bitwise NOT of the query"),
      labelled("Year", this.year),
      check(this.dedupe, "One row per place (drop other years)", "Same-place dedupe"),
      check(
        this.global,
        "Search everywhere (global, top k)",
        "Rank shards by the manifest summary codes and scan the best first",
      ),
      check(
        this.asymmetric,
        "Asymmetric (RaBitQ estimator)",
        asymmetricUnavailable === null
          ? "Score the examples' float vectors (decoded rerank codes) against the codes with RaBitQ's correction factors, instead of Hamming distance"
          : `Unavailable: ${asymmetricUnavailable}`,
      ),
    );
    searchBox.append(
      el("h2", {}, "Search"),
      labelled("View", this.view),
      labelled("Score", this.score),
      this.pairRow,
      this.kRow,
      this.thresholdBox,
      this.options,
      el("div", { class: "button-row" }, this.runButton, this.cancelButton),
    );

    // ---- wiring
    this.combine.addEventListener("change", () => store.update({ combine: this.combine.value as Combine }));
    this.invert.addEventListener("change", () => store.update({ invert: this.invert.checked }));
    this.view.addEventListener("change", () => {
      const view = this.view.value as ViewName;
      // the change view compares a pair of years (no year filter); the others take no pair
      const q = store.get();
      store.update({ view, threshold: null, years: view === "change" ? q.years : null, year: view === "change" ? null : q.year });
    });
    this.score.addEventListener("change", () => store.update({ score: this.score.value as ScoreName, threshold: null }));
    this.pair.addEventListener("change", () => {
      const [a, b] = this.pair.value.split(",").map(Number);
      store.update({ years: a === undefined || b === undefined || this.pair.value === "" ? null : [a, b] });
    });
    this.k.addEventListener("input", () => (this.kOut.value = this.k.value));
    this.k.addEventListener("change", () => store.update({ k: Number(this.k.value) }));
    this.threshold.addEventListener("input", () => {
      const t = cutAt(this.sorted, Number(this.threshold.value));
      this.tOut.value = this.cutText(t);
      this.drawHistogram(t);
    });
    this.threshold.addEventListener("change", () =>
      store.update({ threshold: cutAt(this.sorted, Number(this.threshold.value)) }),
    );
    tReset.addEventListener("click", () => store.update({ threshold: null }));
    this.year.addEventListener("change", () =>
      store.update({ year: this.year.value === "" ? null : Number(this.year.value) }),
    );
    this.dedupe.addEventListener("change", () => store.update({ dedupe: this.dedupe.checked }));
    this.global.addEventListener("change", () => store.update({ global: this.global.checked }));
    this.asymmetric.addEventListener("change", () => store.update({ asymmetric: this.asymmetric.checked }));
    this.runButton.addEventListener("click", actions.run);
    this.cancelButton.addEventListener("click", actions.cancel);

    store.subscribe((q) => this.render(q));
    this.render(store.get());
  }

  setRunning(running: boolean): void {
    this.cancelButton.disabled = !running;
    this.runButton.textContent = running ? "Searching…" : "Search";
  }

  setResult(result: SearchResult | null): void {
    this.result = result;
    this.render(this.store.get());
  }

  /**
   * The examples as resolved to corpus rows (their chips then name the row ids) and the
   * failed ones (their chips say why, with a Retry).
   */
  setExemplars(rows: ExemplarRow[], failureOf: FailureOf = () => undefined): void {
    this.exemplarRows = rows;
    this.failureOf = failureOf;
    this.renderExemplars(this.store.get());
  }

  private render(q: Query): void {
    this.combine.value = q.combine;
    this.invert.checked = q.invert;
    this.view.value = q.view;
    const classifier = q.score === "classifier";
    for (const option of this.view.options) option.disabled = classifier && CODES_ONLY.includes(option.value as ViewName) && option.value !== q.view;
    this.score.value = q.score;
    this.pairRow.hidden = q.view !== "change";
    const pairText = q.years === null ? "" : q.years.join(",");
    if (pairText !== "" && ![...this.pair.options].some((o) => o.value === pairText)) {
      // a pair from the URL that the manifest does not list: still show it
      this.pair.append(el("option", { value: pairText }, `${q.years?.[0]} → ${q.years?.[1]}`));
    }
    this.pair.value = pairText;
    this.k.value = String(q.k);
    this.kOut.value = String(q.k);
    this.kRow.hidden = q.view !== "topk" && q.view !== "threshold" && q.view !== "change";
    // the classifier learns from the examples' bits: no combine, invert or asymmetric scoring
    this.combine.disabled = classifier && q.combine === "mean";
    this.invert.disabled = classifier && !q.invert;
    this.year.disabled = (this.years.length === 0 || q.view === "change") && q.year === null;
    this.year.value = q.year === null ? "" : String(q.year);
    if (q.year !== null && this.year.value === "") {
      // a year from the URL that the manifest does not list: still show it
      this.year.append(el("option", { value: String(q.year) }, String(q.year)));
      this.year.value = String(q.year);
    }
    this.dedupe.checked = q.dedupe;
    // options set (e.g. by a shared URL) are never hidden
    if (q.combine !== "mean" || q.invert || q.year !== null || q.dedupe || q.global || q.asymmetric) this.options.open = true;
    this.asymmetric.checked = q.asymmetric;
    // unavailable on this corpus: off, unless a shared URL turned it on (then it can be turned off)
    this.asymmetric.disabled = (this.asymmetricUnavailable !== null || classifier) && !q.asymmetric;
    this.global.checked = q.global;
    // global search ranks shards by their summary codes for a top k of distances only
    this.global.disabled = (q.view !== "topk" || classifier) && !q.global;
    this.renderExemplars(q);
    this.renderThreshold(q);
  }

  private renderExemplars(q: Query): void {
    const rows = new Map<string, ExemplarRow>();
    for (const row of this.exemplarRows) rows.set(`${row.positive}:${refKey(row.ref)}`, row);
    const make = (refs: ExemplarRef[], positive: boolean): HTMLElement[] => {
      if (refs.length === 0) {
        return [el("li", { class: "muted empty" }, positive ? "None yet: click the map." : "None.")];
      }
      return refs.map((ref, i) => this.exampleChip(ref, positive, i, rows.get(`${positive}:${refKey(ref)}`)));
    };
    this.positives.replaceChildren(...make(q.positives, true));
    this.negatives.replaceChildren(...make(q.negatives, false));
  }

  /** A chip with its state: resolved (names the row), pending, or failed (why + Retry). */
  private exampleChip(ref: ExemplarRef, positive: boolean, index: number, row?: ExemplarRow): HTMLElement {
    const label = exemplarLabel(ref, row);
    const failure = this.failureOf(ref, positive);
    const state = failure !== undefined ? "failed" : row ? "resolved" : "pending";
    const title =
      failure ?? (row ? `${label}: resolved to row ${row.id}` : `${label}: not resolved yet (the next search resolves it)`);
    const item = chip(failure !== undefined ? `⚠ ${label}` : label, positive ? "pos" : "neg", () =>
      this.removeExemplar(positive, index),
    title);
    item.dataset["state"] = state;
    if (failure !== undefined) {
      item.classList.add("chip-failed");
      const retry = el("button", { type: "button", class: "chip-retry small", "data-testid": "retry-example" }, "Retry");
      retry.addEventListener("click", () => this.actions.retryExample(ref, positive));
      item.append(el("span", { class: "chip-error", "data-testid": "example-error", role: "alert" }, failure, " ", retry));
    }
    return item;
  }

  private removeExemplar(positive: boolean, index: number): void {
    const key = positive ? "positives" : "negatives";
    const list = [...this.store.get()[key]];
    const [removed] = list.splice(index, 1);
    if (!removed) return;
    this.store.update({ [key]: list });
    this.undo.push({
      label: `${positive ? "positive" : "negative"} ${index + 1}`,
      restore: () => {
        const now = [...this.store.get()[key]];
        now.splice(Math.min(index, now.length), 0, removed);
        this.store.update({ [key]: now });
      },
    });
  }

  /**
   * "≤ 12 · 340 rows": the cut-off and how many rows it keeps; a classifier's cut-off on
   * `1 - p` as the probability it keeps ("p ≥ 0.44 · 30 rows").
   */
  private cutText(t: number): string {
    const cut = this.result?.query.score === "classifier" ? `p ≥ ${fmt(1 - t)}` : `≤ ${fmt(t)}`;
    return `${cut} · ${countAtMost(this.sorted, t).toLocaleString()} rows`;
  }

  private renderThreshold(q: Query): void {
    const th = this.result?.view === "threshold" ? this.result.threshold : undefined;
    this.thresholdBox.hidden = q.view !== "threshold";
    if (!th || th.edges.length < 2 || !this.result) {
      this.sorted = new Float64Array(0);
      this.threshold.disabled = true;
      this.tOut.value = q.threshold === null ? "k-th best" : fmt(q.threshold);
      this.drawHistogram(null);
      return;
    }
    this.sorted = Float64Array.from(this.result.rows, (r) => r.score).sort();
    this.threshold.disabled = false;
    this.threshold.value = String(positionOf(this.sorted, th.t));
    this.threshold.setAttribute("aria-valuetext", this.cutText(th.t));
    this.tOut.value = this.cutText(th.t);
    this.drawHistogram(th.t);
  }

  /** Bars of the score histogram; those at or under the cut-off in the accent colour. */
  private drawHistogram(t: number | null): void {
    const ctx = this.histogram.getContext("2d");
    if (!ctx) return;
    const { width, height } = this.histogram;
    ctx.clearRect(0, 0, width, height);
    const th = this.result?.threshold;
    if (!th || t === null || th.counts.length === 0) {
      this.axis.replaceChildren();
      return;
    }
    const max = Math.max(...th.counts, 1);
    const n = th.counts.length;
    const barW = width / n;
    th.counts.forEach((count, i) => {
      const left = th.edges[i] ?? 0;
      const h = count === 0 ? 0 : Math.max(1, (count / max) * (height - 2));
      ctx.fillStyle = left <= t ? "#d4462c" : "#b8c2cc";
      ctx.fillRect(i * barW + 0.5, height - h, Math.max(1, barW - 1), h);
    });
    // the cut-off as a line, where it falls between the first and last edge
    const lo = th.edges[0] as number;
    const hi = th.edges[th.edges.length - 1] as number;
    const x = hi > lo ? ((t - lo) / (hi - lo)) * width : 0;
    ctx.fillStyle = "#1d2328";
    ctx.fillRect(Math.min(width - 1, Math.max(0, x)), 0, 1, height);
    // the axis: real scores at both ends and the middle, the tallest bar's count
    this.axis.replaceChildren(
      el("span", {}, fmt(lo)),
      el("span", { class: "muted" }, `${this.result?.query.score === "classifier" ? "1 − p" : "score"} → (tallest bar ${max.toLocaleString()} rows)`),
      el("span", {}, fmt(hi)),
    );
    this.histogram.setAttribute(
      "aria-label",
      `Histogram of ${th.counts.reduce((a, b) => a + b, 0)} scores from ${fmt(lo)} to ${fmt(hi)}; cut-off ${fmt(t)}`,
    );
  }
}
