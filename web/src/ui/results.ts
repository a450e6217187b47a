/**
 * The result list and the status line.
 *
 * The status line (`data-testid="status"`) says what the app is doing: "Reading 3 / 12
 * shards…", "20 results from 1,234 candidates in 0.4 s", a failed-shard count with a
 * Retry button, or the library's message (a candidate cap, a region outside the corpus).
 * The list shows rank, place (year and label first, then the coordinates) and the value
 * the legend shows for each shown row (`data-testid="result-row"`), with ✓ / ✗ to make
 * it a positive or negative example; hovering a row highlights it on the map, clicking
 * (or Enter) flies there.
 */
import type { ClassifierInfo, ResultRow, SearchProgress, SearchResult } from "../lib/types";
import { el, fmt, fmtLonLat } from "./dom";
import { shownValue, signNote, valueHeading } from "./legend";
import type { Shown } from "./legend";

/** At most this many rows go into the list (the map and the export have all of them). */
export const LIST_LIMIT = 500;

export interface ResultActions {
  hover: (row: ResultRow | null) => void;
  select: (row: ResultRow) => void;
  retry: () => void;
  /** Make a result a positive (✓) or negative (✗) example. */
  mark: (row: ResultRow, positive: boolean) => void;
}

/** The row's year: its `year` column, else the year of its `datetime`. */
export function yearOf(row: ResultRow): string | null {
  const year = row.attributes["year"];
  if (year !== undefined && year !== null && year !== "") return String(year);
  const when = row.attributes["datetime"];
  return typeof when === "string" && /^\d{4}/.test(when) ? when.slice(0, 4) : null;
}

/** "2024 · bare" (year, then the other short pass-through values), or "". */
export function whatOf(row: ResultRow): string {
  const parts: string[] = [];
  const year = yearOf(row);
  if (year !== null) parts.push(year);
  for (const [key, v] of Object.entries(row.attributes)) {
    if (key === "year" || key === "datetime" || v === null || v === undefined) continue;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") parts.push(String(v));
  }
  return parts.join(" · ");
}

function placeOf(row: ResultRow): string {
  const what = whatOf(row);
  return what ? `${what} · ${fmtLonLat(row.lon, row.lat)}` : fmtLonLat(row.lon, row.lat);
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * What a classifier was fitted on, in a line: "Classifier fitted on 1 positive and no
 * negatives: the background alone (256 of the region's rows, weight 0.01 each) is the
 * negative class; 6 Newton steps."
 */
export function classifierText(info: ClassifierInfo): string {
  const back = `${info.background.toLocaleString()} of the region's rows, weight ${info.background_weight} each`;
  const fitted =
    info.negatives === 0
      ? `${plural(info.positives, "positive")} and no negatives: the background alone (${back}) is the negative class`
      : `${plural(info.positives, "positive")}, ${plural(info.negatives, "negative")} and a background (${back})`;
  const steps = info.converged ? plural(info.iterations, "Newton step") : `not converged after ${plural(info.iterations, "Newton step")}`;
  return `Classifier fitted on ${fitted}; ${steps}.`;
}

export class ResultsView {
  private readonly status: HTMLElement;
  private readonly failed: HTMLElement;
  private readonly retryButton: HTMLButtonElement;
  private readonly message: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly progress: HTMLProgressElement;
  private readonly valueHead: HTMLElement;
  private readonly classifierNote: HTMLElement;
  private shownBy: Shown | null = null;

  constructor(
    statusBox: HTMLElement,
    container: HTMLElement,
    private readonly actions: ResultActions,
  ) {
    this.status = el("p", {
      class: "status",
      "data-testid": "status",
      role: "status",
      "aria-live": "polite",
    });
    this.progress = el("progress", { max: 1, value: 0, "aria-label": "Shards read", hidden: true });
    this.retryButton = el("button", { type: "button", class: "small", "data-testid": "retry" }, "Retry");
    this.failed = el(
      "p",
      { class: "failed", "data-testid": "failed", hidden: true, role: "alert" },
      el("span", {}),
      this.retryButton,
    );
    this.message = el("p", { class: "message", "data-testid": "message", hidden: true });
    this.classifierNote = el("p", { class: "muted classifier-note", "data-testid": "classifier-note", hidden: true });
    this.summary = el("p", { class: "muted summary" });
    this.list = el("ol", { class: "results", "aria-label": "Results", "data-testid": "results" });
    this.valueHead = el("span", { class: "value-head" }, "score");
    statusBox.append(this.status, this.progress, this.failed, this.message, this.classifierNote);
    container.append(
      el("h2", {}, "Results"),
      el(
        "div",
        { class: "results-head", "aria-hidden": "true" },
        el("span", {}, "#"),
        el("span", {}, "place"),
        this.valueHead,
        el("span", { class: "marks-head", title: "Make a result an example" }, "✓ ✗"),
      ),
      this.list,
      this.summary,
    );
    this.retryButton.addEventListener("click", () => actions.retry());
  }

  setStatus(text: string, kind: "info" | "error" | "busy" = "info"): void {
    this.status.textContent = text;
    this.status.dataset["kind"] = kind;
  }

  showProgress(p: SearchProgress): void {
    this.progress.hidden = false;
    this.progress.max = Math.max(1, p.shardsTotal);
    this.progress.value = p.shardsDone;
    const failed = p.failed ? `, ${p.failed} failed` : "";
    const candidates = p.candidates.toLocaleString();
    this.setStatus(
      `Reading ${p.shardsDone} / ${p.shardsTotal} shards${failed} · ${candidates} candidates…`,
      "busy",
    );
  }

  clear(): void {
    this.list.replaceChildren();
    this.summary.textContent = "";
    this.message.hidden = true;
    this.failed.hidden = true;
    this.progress.hidden = true;
    this.classifierNote.hidden = true;
  }

  /** Add a line to the result's message box (e.g. which examples were left out). */
  note(text: string): void {
    this.message.hidden = false;
    this.message.textContent = this.message.textContent ? `${this.message.textContent} ${text}` : text;
  }

  showError(text: string): void {
    this.progress.hidden = true;
    this.setStatus(text, "error");
  }

  showResult(result: SearchResult): void {
    this.progress.hidden = true;
    const shown = result.rows.filter((r) => r.shown);
    const s = result.stats;
    const secs = s.seconds < 10 ? s.seconds.toFixed(2) : s.seconds.toFixed(0);
    this.setStatus(
      `${shown.length.toLocaleString()} shown of ${s.candidates.toLocaleString()} candidates · ` +
        `${s.shardsRead} / ${s.shardsTotal} shards · ${secs} s` +
        (s.reranked ? " · re-ranked" : ""),
    );
    const failedCount = s.failedShards.length;
    this.failed.hidden = failedCount === 0;
    const failedText = this.failed.firstElementChild;
    if (failedText) {
      failedText.textContent =
        failedCount === 0
          ? ""
          : `${failedCount} shard${failedCount === 1 ? "" : "s"} failed to load; results miss their rows. `;
      failedText.setAttribute("title", s.failedShards.slice(0, 10).join("\n"));
    }
    this.message.hidden = !result.message;
    this.message.textContent = result.message ?? "";

    this.classifierNote.hidden = result.classifier === undefined;
    this.classifierNote.textContent = result.classifier === undefined ? "" : classifierText(result.classifier);
    this.shownBy = result;
    this.valueHead.textContent = valueHeading(result);
    this.valueHead.title = signNote(result);
    const rows = shown.slice(0, LIST_LIMIT);
    this.list.replaceChildren(...rows.map((row) => this.rowElement(row)));
    this.summary.textContent =
      shown.length > LIST_LIMIT
        ? `The list shows the first ${LIST_LIMIT} of ${shown.length.toLocaleString()}; ` +
          "the map and the export have all."
        : "";
  }

  private rowElement(row: ResultRow): HTMLElement {
    const value = this.shownBy === null ? "" : fmt(shownValue(this.shownBy, row));
    const what = whatOf(row);
    const earlier = row.earlier === undefined ? "" : ` (earlier year: ${row.earlier})`;
    const place = el("span", { class: "place", title: `${row.id}${earlier} · ${placeOf(row)}` });
    if (what) place.append(el("span", { class: "what" }, what));
    place.append(el("span", { class: "where" }, fmtLonLat(row.lon, row.lat)));
    const mark = (positive: boolean): HTMLButtonElement => {
      const button = el(
        "button",
        {
          type: "button",
          class: `mark ${positive ? "mark-pos" : "mark-neg"}`,
          "data-testid": positive ? "mark-positive" : "mark-negative",
          "aria-label": `Rank ${row.rank} is a ${positive ? "positive" : "negative"} example`,
          title: positive ? "✓ More like this (positive example)" : "✗ Not this (negative example)",
        },
        positive ? "✓" : "✗",
      );
      button.addEventListener("click", (e) => {
        e.stopPropagation();
        item.dataset["marked"] = positive ? "positive" : "negative";
        this.actions.mark(row, positive);
      });
      button.addEventListener("keydown", (e) => e.stopPropagation());
      return button;
    };
    const item = el(
      "li",
      {
        class: "result-row",
        tabindex: 0,
        "data-testid": "result-row",
        "data-id": row.id,
        "data-rank": row.rank,
        "aria-label": `Rank ${row.rank}: ${placeOf(row)}, ${this.valueHead.textContent} ${value}. Enter flies there.`,
      },
      el("span", { class: "rank" }, String(row.rank)),
      place,
      el("span", { class: "score" }, value),
      el("span", { class: "marks" }, mark(true), mark(false)),
    );
    item.addEventListener("mouseenter", () => this.actions.hover(row));
    item.addEventListener("mouseleave", () => this.actions.hover(null));
    item.addEventListener("focus", () => this.actions.hover(row));
    item.addEventListener("blur", () => this.actions.hover(null));
    item.addEventListener("click", () => this.actions.select(row));
    item.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        this.actions.select(row);
      } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const next = e.key === "ArrowDown" ? item.nextElementSibling : item.previousElementSibling;
        if (next instanceof HTMLElement) next.focus();
      }
    });
    return item;
  }
}
