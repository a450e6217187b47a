/**
 * The labels box under the examples: export them (GeoJSON or GeoParquet: `id`, footprint,
 * `label`) and import a labels file back, adding its examples to the query. A bad file
 * (not lon/lat, no geometry, unknown ids, another corpus's labels) is said here, in one
 * visible line, and changes nothing (unknown ids alone are left out, by name).
 */
import type { WebCorpus } from "../lib/corpus/reader";
import type { ExemplarRef, ExemplarRow } from "../lib/types";
import { el } from "./dom";
import { labelsToGeoJSON, labelsToGeoParquet, LabelsError, parseLabels, type Label } from "./labelfile";
import { refKey, type QueryStore } from "./store";

/** Ids of `wanted` that no row of the corpus has (reads the id column shard by shard). */
export async function unknownIds(corpus: WebCorpus, wanted: readonly string[]): Promise<string[]> {
  const left = new Set(wanted);
  for (const row of corpus.manifest) {
    if (left.size === 0) break;
    for (const id of await corpus.readIds(row)) left.delete(id);
  }
  return wanted.filter((id) => left.has(id));
}

function quoteList(ids: readonly string[]): string {
  const head = ids.slice(0, 5).map((id) => `“${id}”`).join(", ");
  return ids.length > 5 ? `${head} (and ${ids.length - 5} more)` : head;
}

function download(bytes: Uint8Array | string, name: string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export class LabelsBox {
  private readonly geojsonButton: HTMLButtonElement;
  private readonly parquetButton: HTMLButtonElement;
  private readonly input: HTMLInputElement;
  private readonly message: HTMLElement;
  private rows: ExemplarRow[] = [];
  /** Examples in the query that are not resolved (not exportable yet). */
  private unresolved = 0;

  constructor(
    container: HTMLElement,
    private readonly corpus: WebCorpus,
    private readonly store: QueryStore,
    private readonly hint: (text: string) => void,
  ) {
    this.geojsonButton = el(
      "button",
      { type: "button", class: "small", "data-testid": "export-labels", disabled: true, title: "Download the examples as labels (GeoJSON: id, footprint, label)" },
      "⤓ Labels GeoJSON",
    );
    this.parquetButton = el(
      "button",
      { type: "button", class: "small", "data-testid": "export-labels-parquet", disabled: true, title: "Download the examples as labels (GeoParquet)" },
      "⤓ GeoParquet",
    );
    this.input = el("input", {
      id: "labels-file",
      type: "file",
      accept: ".geojson,.json,.parquet,application/geo+json,application/json",
      class: "visually-hidden",
      "data-testid": "import-labels",
    });
    const importLabel = el("label", { for: "labels-file", class: "button small", title: "Add the examples of a labels file (GeoJSON or GeoParquet with id, geometry, label)" }, "⤒ Import labels…");
    this.message = el("p", { class: "labels-message", "data-testid": "labels-message", role: "alert", hidden: true });
    container.append(el("div", { class: "button-row labels-row" }, this.geojsonButton, this.parquetButton, this.input, importLabel), this.message);
    this.geojsonButton.addEventListener("click", () => this.export("geojson"));
    this.parquetButton.addEventListener("click", () => this.export("parquet"));
    this.input.addEventListener("change", () => {
      const file = this.input.files?.[0];
      this.input.value = "";
      if (file) void this.import(file);
    });
  }

  /** The resolved examples (what an export writes) and how many are not resolved. */
  set(rows: ExemplarRow[], unresolved: number): void {
    this.rows = rows;
    this.unresolved = unresolved;
    this.geojsonButton.disabled = rows.length === 0;
    this.parquetButton.disabled = rows.length === 0;
  }

  private say(text: string, error: boolean): void {
    this.message.hidden = text === "";
    this.message.textContent = text;
    this.message.dataset["kind"] = error ? "error" : "info";
  }

  private export(format: "geojson" | "parquet"): void {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    if (format === "geojson") {
      download(labelsToGeoJSON(this.rows), `terrabit-labels-${stamp}.geojson`, "application/geo+json");
    } else {
      download(labelsToGeoParquet(this.rows), `terrabit-labels-${stamp}.parquet`, "application/vnd.apache.parquet");
    }
    const left = this.unresolved ? `; ${this.unresolved} unresolved or failed example(s) left out` : "";
    this.say(`Exported ${this.rows.length} label(s)${left}.`, false);
  }

  private async import(file: File): Promise<void> {
    this.say(`Reading ${file.name}…`, false);
    let labels: Label[];
    try {
      labels = await parseLabels(file.name, await file.arrayBuffer());
    } catch (err) {
      this.say(err instanceof LabelsError ? err.message : `Labels file “${file.name}” could not be read: ${String(err)}`, true);
      return;
    }
    const ids = labels.flatMap((l) => (l.ref.kind === "id" ? [l.ref.id] : []));
    let unknown: string[];
    try {
      unknown = ids.length ? await unknownIds(this.corpus, ids) : [];
    } catch (err) {
      this.say(`Could not check the ids of “${file.name}” against the corpus: ${String(err)}`, true);
      return;
    }
    if (unknown.length && unknown.length === labels.length) {
      this.say(
        `Labels file “${file.name}”: none of its ${labels.length} ids is in this corpus (${quoteList(unknown)}); ` +
          "is it the labels of another corpus?",
        true,
      );
      return;
    }
    const skip = new Set(unknown);
    const kept = labels.filter((l) => l.ref.kind !== "id" || !skip.has(l.ref.id));
    const added = this.add(kept);
    const pos = kept.filter((l) => l.positive).length;
    let text = `Imported ${added} label(s) from “${file.name}” (${pos} positive, ${kept.length - pos} negative)`;
    if (added < kept.length) text += `; ${kept.length - added} were already examples`;
    if (unknown.length) text += `; left out ${unknown.length} whose ids are not in this corpus: ${quoteList(unknown)}`;
    this.say(`${text}.`, unknown.length > 0);
    this.hint(`${text}.`);
  }

  /** Add labels to the query (a row labelled both ways keeps the file's label). */
  private add(labels: readonly Label[]): number {
    const q = this.store.get();
    const incoming = new Set(labels.map((l) => refKey(l.ref)));
    const positives: ExemplarRef[] = q.positives.filter((r) => !incoming.has(refKey(r)));
    const negatives: ExemplarRef[] = q.negatives.filter((r) => !incoming.has(refKey(r)));
    const before = new Set([...q.positives.map((r) => `p${refKey(r)}`), ...q.negatives.map((r) => `n${refKey(r)}`)]);
    let added = 0;
    for (const l of labels) {
      const key = `${l.positive ? "p" : "n"}${refKey(l.ref)}`;
      if (!before.has(key)) added++;
      before.add(key);
      (l.positive ? positives : negatives).push(l.ref);
    }
    this.store.update({ positives: dedupe(positives), negatives: dedupe(negatives) });
    return added;
  }
}

function dedupe(refs: ExemplarRef[]): ExemplarRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = refKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
