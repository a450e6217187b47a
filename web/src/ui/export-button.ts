/**
 * Export: download exactly what is shown (the view's shown rows plus the examples) as
 * GeoParquet (`exportGeoParquet` writes the file; this only offers it as a download).
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
  private result: SearchResult | null = null;

  constructor(
    container: HTMLElement,
    private readonly report: (text: string, error?: boolean) => void,
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
    container.append(this.button);
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
      const bytes = await exportGeoParquet(result);
      const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/vnd.apache.parquet" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: exportFilename(result) });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const n = result.rows.filter((r) => r.shown).length;
      this.report(`Exported ${n.toLocaleString()} rows (+ ${result.exemplars.length} examples).`);
    } catch (err) {
      this.report(`Export failed: ${err instanceof Error ? err.message : String(err)}`, true);
    } finally {
      this.button.disabled = this.result !== result ? !this.result : false;
    }
  }
}
