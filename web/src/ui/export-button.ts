/**
 * Export: download exactly what is shown (the examples plus the view's shown rows, with their
 * label state, score and the list's columns) as GeoParquet; "with codes" adds each row's code
 * and a spatial train/validation split — training data (`exportGeoParquet` writes the file;
 * this only offers it as a download).
 */
import { exportGeoParquet } from "../lib/search/export";
import type { SearchResult } from "../lib/types";
import { el } from "./dom";

export function exportFilename(result: SearchResult, now: Date = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return `terrabit-${result.view}-${stamp}.parquet`;
}

export class ExportButton {
  private readonly button: HTMLButtonElement;
  private readonly withCodes: HTMLInputElement;
  private result: SearchResult | null = null;

  constructor(
    container: HTMLElement,
    private readonly report: (text: string, error?: boolean) => void,
    private readonly codecSpec: string,
  ) {
    this.button = el(
      "button",
      {
        type: "button",
        "data-testid": "export",
        disabled: true,
        title: "Download the shown rows and the examples as GeoParquet",
      },
      "⤓ Export GeoParquet",
    );
    this.button.addEventListener("click", () => void this.download());
    this.withCodes = el("input", { type: "checkbox", "data-testid": "export-codes" });
    const label = el(
      "label",
      {
        class: "export-codes",
        title: "Also write each row's code (the corpus codec's bytes) and a train/validation split by whole grid blocks: training data",
      },
      this.withCodes,
      " with codes + split",
    );
    container.append(this.button, label);
  }

  set(result: SearchResult | null): void {
    this.result = result;
    const shown = result ? result.rows.some((r) => r.shown) : false;
    this.button.disabled = !shown;
  }

  private async download(): Promise<void> {
    const result = this.result;
    if (!result) return;
    this.button.disabled = true;
    try {
      const withCodes = this.withCodes.checked;
      const bytes = await exportGeoParquet(result, { withCodes, codecSpec: this.codecSpec });
      const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/vnd.apache.parquet" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: exportFilename(result) });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const n = result.rows.filter((r) => r.shown).length;
      const extra = withCodes ? ", with codes and a train/validation split" : "";
      this.report(`Exported ${n.toLocaleString()} rows (+ ${result.exemplars.length} examples)${extra}.`);
    } catch (err) {
      this.report(`Export failed: ${err instanceof Error ? err.message : String(err)}`, true);
    } finally {
      this.button.disabled = this.result !== result ? !this.result : false;
    }
  }
}
