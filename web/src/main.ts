/**
 * terrabit's browser app: wires the map, the controls and the library together.
 *
 * Boot: read the query from the URL hash, draw the map (offline basemap), open the
 * corpus (`?corpus=`, `config.json` or `corpus/`), then run the query whenever it can
 * run and changes. `document.body.dataset.state` is `booting`, `idle`, `searching`,
 * `done` or `error`, and `dataset.runs` counts finished searches (tests wait on them).
 */
import "./styles.css";

import { openCorpus, resolveCorpusUrl, type WebCorpus } from "./lib/corpus/reader";
import type { Place } from "./lib/places";
import { asymmetricUnavailable } from "./lib/search/asymmetric";
import { boundsOf } from "./lib/region";
import { resolveExemplars, search, startReaders } from "./lib/search/query";
import type { BBox, ExemplarRef, ManifestRow, Query, ResultRow, SearchProgress, SearchResult } from "./lib/types";
import { byId, el, fmtLonLat } from "./ui/dom";
import { Drawer } from "./ui/draw";
import { ExampleStates } from "./ui/examples";
import { ExportButton } from "./ui/export-button";
import { describe, GotoBox } from "./ui/goto";
import { LabelsBox } from "./ui/labels";
import { PatchLayer } from "./ui/patches";
import { ResultLayers } from "./ui/layers";
import {
  createMap,
  fitBBox,
  imageryEnabled,
  isLand,
  onImageryFailure,
  setImagery,
  showFirstView,
  type MapLibreMap,
} from "./ui/map";
import { ResultsView } from "./ui/results";
import { SearchPanel } from "./ui/search-panel";
import { QueryStore, runnable } from "./ui/store";
import { UndoStack } from "./ui/undo";
import { readHash, syncUrl } from "./ui/urlsync";

type AppState = "booting" | "idle" | "searching" | "done" | "error";

/** Wait this long after the last change before searching (sliders, typing). */
const DEBOUNCE_MS = 120;
/** How long a hint stays over the map. */
const HINT_MS = 6000;

function setState(state: AppState): void {
  document.body.dataset["state"] = state;
  performance.mark(`terrabit:${state}`); // for benchmarks/web_ui_load.py
  if (state === "done" || state === "error") {
    // how many searches have finished: tests wait for this to move
    document.body.dataset["runs"] = String(Number(document.body.dataset["runs"] ?? "0") + 1);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  if (err instanceof Error && err.name === "AbortError") return true;
  return (err as { kind?: unknown } | null)?.kind === "abort";
}

/** The calendar years the corpus covers (from the manifest's time ranges). */
function corpusYears(manifest: ManifestRow[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of manifest) {
    if (m.tmin) lo = Math.min(lo, m.tmin.getUTCFullYear());
    if (m.tmax) hi = Math.max(hi, m.tmax.getUTCFullYear());
  }
  if (!Number.isFinite(lo) || hi - lo > 200) return [];
  const years: number[] = [];
  for (let y = lo; y <= hi; y++) years.push(y);
  return years;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/**
 * The URL's search, started as soon as the corpus is open — while the map is still being
 * created — so that a shared link's reads and scoring overlap the map's start. The app's
 * first run takes it over when its query is the same (its progress so far, then live).
 */
class EarlySearch {
  readonly key: string;
  readonly controller = new AbortController();
  readonly result: Promise<SearchResult>;
  private last: SearchProgress | null = null;
  private listener: ((p: SearchProgress) => void) | null = null;

  constructor(corpus: WebCorpus, query: Query) {
    this.key = JSON.stringify(query);
    this.result = search(corpus, query, {
      signal: this.controller.signal,
      onProgress: (p) => {
        this.last = p;
        this.listener?.(p);
      },
    });
    this.result.catch(() => undefined); // the taker handles the error
  }

  /** The search's result for `query` (progress to `onProgress`), or null for another query. */
  take(query: Query, onProgress: (p: SearchProgress) => void): Promise<SearchResult> | null {
    if (JSON.stringify(query) !== this.key) {
      this.controller.abort();
      return null;
    }
    this.listener = onProgress;
    if (this.last !== null) onProgress(this.last);
    return this.result;
  }
}

class App {
  private readonly undo = new UndoStack();
  /** The URL's search, started before the map (see `EarlySearch`); taken by the first run. */
  early: EarlySearch | null = null;
  private readonly layers: ResultLayers;
  private readonly results: ResultsView;
  private readonly panel: SearchPanel;
  private readonly drawer: Drawer;
  private readonly exporter: ExportButton;
  private readonly labels: LabelsBox;
  private readonly patches: PatchLayer;
  private readonly layerMenu = el("div", { class: "layer-menu" });
  private controller: AbortController | null = null;
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private hintTimer: ReturnType<typeof setTimeout> | null = null;
  /** The examples as resolved to corpus rows, and those that failed. */
  private readonly examples: ExampleStates;
  /** The result last clicked in the list (stays highlighted). */
  private selected: ResultRow | null = null;
  /** Regions + examples of the last search the map flew to (flies once per new query). */
  private flownFor = "";

  constructor(
    private readonly map: MapLibreMap,
    private readonly corpus: WebCorpus,
    private readonly store: QueryStore,
    results: ResultsView,
  ) {
    this.results = results;
    this.examples = new ExampleStates(corpus, isLand);
    // regions first, so that results and examples draw above them
    this.drawer = new Drawer(map, store, this.undo, byId("draw-section"), (t) => this.hint(t));
    this.patches = new PatchLayer(map, corpus, this.layerMenu);
    this.layers = new ResultLayers(map, byId("legend"), (row, positive) => this.mark(row, positive));
    const years = corpus.info.columns.includes("datetime") ? corpusYears(corpus.manifest) : [];
    this.panel = new SearchPanel(byId("exemplar-section"), byId("search-section"), store, this.undo, years, {
      run: () => this.runNow(),
      cancel: () => this.cancel(),
      addAtCentre: (positive) => {
        const c = map.getCenter().wrap();
        this.addExemplar(positive, c.lng, c.lat);
      },
      retryExample: (ref, positive) => {
        if (this.examples.retry(ref, positive)) this.hint("Trying that example again.");
        this.store.update({});
      },
    }, asymmetricUnavailable(corpus));
    this.labels = new LabelsBox(byId("exemplar-section"), corpus, store, (t) => this.hint(t));
    const exportBox = el("div", { class: "export-box" });
    byId("results-section").prepend(exportBox);
    this.exporter = new ExportButton(
      exportBox,
      (text, error) => (error ? this.results.showError(text) : this.hint(text)),
      corpus.info.codecSpec,
    );
    new GotoBox(byId("goto"), (place) => this.goto(place), (text) => this.hint(text));
    this.settings(byId("settings-section"));

    map.on("click", (e) => {
      if (this.drawer.capturesClick()) return;
      this.clickAt(!e.originalEvent.shiftKey, e.point.x, e.point.y, e.lngLat.wrap());
    });
    map.on("contextmenu", (e) => {
      e.preventDefault();
      if (this.drawer.capturesClick()) return;
      this.clickAt(false, e.point.x, e.point.y, e.lngLat.wrap());
    });
    document.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement | null;
      const typing = Boolean(target?.closest("input[type=search], input[type=text], textarea"));
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && !typing) {
        if (this.undo.undo()) {
          e.preventDefault();
          this.hint("Restored.");
        }
      }
    });

    let regions = "";
    const regionsChanged = (q: Query): void => {
      const key = JSON.stringify(q.regions);
      if (key === regions) return;
      regions = key;
      this.patches.setRegions(q.regions);
    };
    // the patches of the year searched: a click on one resolves to that year's row
    store.subscribe((q) => {
      this.patches.setYear(q.year, q.view !== "change");
      regionsChanged(q);
      this.showExemplars();
      this.schedule();
    });
    this.patches.setYear(store.get().year, store.get().view !== "change");
    regionsChanged(store.get());
    this.showExemplars();
  }

  start(): void {
    // the visible bounds, for tests and benchmarks ("west,south,east,north")
    const bounds = (): void => {
      const b = this.map.getBounds();
      document.body.dataset["bounds"] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    };
    this.map.on("moveend", bounds);
    bounds();
    const q = this.store.get();
    if (q.regions.length || q.positives.length || q.negatives.length) this.drawer.zoomToAll(false);
    else showFirstView(this.map, this.corpus.extent);
    this.schedule(0);
  }

  private settings(box: HTMLElement): void {
    const imagery = el("input", { id: "imagery", type: "checkbox" });
    const message = el("p", { class: "labels-message", "data-testid": "imagery-message", role: "alert", hidden: true });
    message.dataset["kind"] = "error";
    imagery.checked = imageryEnabled();
    imagery.addEventListener("change", () => {
      message.hidden = true;
      setImagery(this.map, imagery.checked);
    });
    onImageryFailure((why) => {
      imagery.checked = false;
      message.hidden = false;
      message.textContent =
        `The imagery basemap could not be loaded (${why || "the network failed"}); ` +
        "showing the bundled offline map instead. Tick it again to retry.";
      this.hint("Imagery unavailable: back to the bundled offline map.");
    });
    box.append(
      el("h2", {}, "Map"),
      el(
        "div",
        { class: "row check" },
        imagery,
        el("label", { for: "imagery" }, "Imagery basemap (online; off = bundled offline map)"),
      ),
      message,
    );
    // the layer menu floats on the map, open, with the patches' legend
    byId("map-wrap").append(
      el("details", { class: "layers-control", open: true, "data-testid": "layers" }, el("summary", {}, "Layers"), this.layerMenu),
    );
  }

  hint(text: string): void {
    const box = byId("map-hint");
    box.textContent = text;
    if (this.hintTimer !== null) clearTimeout(this.hintTimer);
    this.hintTimer = setTimeout(() => {
      box.textContent = "";
      this.hintTimer = null;
    }, HINT_MS);
  }

  /** A click on the map: snap to the nearest drawn patch or result within a few pixels. */
  private clickAt(positive: boolean, x: number, y: number, at: { lng: number; lat: number }): void {
    const hit = this.patches.snap(x, y, ["results-fill", "results-dots"]);
    if (hit === null) {
      this.addExemplar(positive, at.lng, at.lat);
      return;
    }
    const snapped = hit.px > 0.5 ? ` (snapped ${Math.round(hit.px)} px)` : "";
    this.addExemplar(positive, hit.lon, hit.lat, `patch ${hit.id}${snapped}`);
  }

  private addExemplar(positive: boolean, lon: number, lat: number, what?: string): void {
    const ref: ExemplarRef = { kind: "point", lon: round6(lon), lat: round6(lat) };
    const q = this.store.get();
    if (positive) this.store.update({ positives: [...q.positives, ref] });
    else this.store.update({ negatives: [...q.negatives, ref] });
    const where = what ?? fmtLonLat(ref.lon, ref.lat);
    this.hint(`${positive ? "Positive" : "Negative"} example: ${where}.`);
  }

  /** ✓ / ✗ on a result: it becomes a positive / negative example (by its id). */
  mark(row: ResultRow, positive: boolean): void {
    const ref: ExemplarRef = { kind: "id", id: row.id };
    const q = this.store.get();
    const other = (refs: ExemplarRef[]): ExemplarRef[] => refs.filter((r) => r.kind !== "id" || r.id !== row.id);
    const positives = other(q.positives);
    const negatives = other(q.negatives);
    if (positive) positives.push(ref);
    else negatives.push(ref);
    this.store.update({ positives, negatives });
    this.hint(`Result #${row.rank} (${row.id}) is now a ${positive ? "positive" : "negative"} example.`);
  }

  private goto(place: Place): void {
    if (place.bbox) fitBBox(this.map, place.bbox, 10);
    else this.map.flyTo({ center: [place.lon, place.lat], zoom: 10, duration: 800 });
    const what = describe(place);
    this.hint(`Went to ${place.name}${what ? ` (${what})` : ""}.`);
  }

  /** Resolved examples that are still in the query, the clicked points, the failed ones. */
  private showExemplars(): void {
    const q = this.store.get();
    const keep = this.examples.visible(q);
    const failure = (ref: ExemplarRef, positive: boolean): string | undefined => this.examples.failure(ref, positive);
    this.layers.setExemplars(q.positives, q.negatives, keep, (ref, positive) => failure(ref, positive) !== undefined);
    this.panel.setExemplars(keep, failure);
    this.labels.set(keep, q.positives.length + q.negatives.length - keep.length);
  }

  /** What to say when failed examples leave the search without what it needs. */
  private whyNot(query: Query, effective: Query): string | null {
    const why = runnable(effective);
    if (why !== null && effective.positives.length === 0 && query.positives.length > 0 && runnable(query) === null) {
      return "Every positive example failed (⚠ under Examples): click a drawn patch, or Retry it.";
    }
    return why;
  }

  /**
   * Fly to the shown results (and the examples) of a new query (new regions, examples or
   * year) when they are off screen or a speck in the view; other changes keep the view.
   */
  private flyToResults(result: SearchResult): void {
    const q = result.query;
    const key = JSON.stringify([q.regions, q.positives, q.negatives, q.year]);
    if (key === this.flownFor) return;
    this.flownFor = key;
    const points: GeoJSON.Geometry[] = [];
    for (const row of result.rows) if (row.shown) points.push({ type: "Point", coordinates: [row.lon, row.lat] });
    for (const row of result.exemplars) points.push({ type: "Point", coordinates: [row.lon, row.lat] });
    const b = boundsOf(points);
    if (b === null) return;
    const view = this.map.getBounds();
    const inView = (x: number, y: number): boolean => view.contains([x, y]);
    // lost in a world view (a tenth of it or less) counts as off screen too
    const tiny = b[2] - b[0] < (view.getEast() - view.getWest()) / 10 && b[3] - b[1] < (view.getNorth() - view.getSouth()) / 10;
    if (inView(b[0], b[1]) && inView(b[2], b[3]) && !tiny) return;
    const pad = (v: BBox): BBox => {
      const dx = (v[2] - v[0]) * 0.05;
      const dy = (v[3] - v[1]) * 0.05;
      return [Math.max(-180, v[0] - dx), Math.max(-85, v[1] - dy), Math.min(180, v[2] + dx), Math.min(85, v[3] + dy)];
    };
    fitBBox(this.map, pad(b));
  }

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.timer !== null) clearTimeout(this.timer);
    // a search still running answers the old query: stop it, and say work is pending
    this.controller?.abort();
    this.generation++;
    setState("searching");
    this.panel.setRunning(true);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delay);
  }

  private runNow(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    void this.run();
  }

  /** Stop the running (or pending) search; its partial work is dropped. */
  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
    this.generation++;
    this.panel.setRunning(false);
    this.results.setStatus("Search cancelled. Search runs it again.");
    setState("idle");
  }

  private show(result: SearchResult | null): void {
    if (result) this.examples.rows = result.exemplars;
    this.selected = null;
    this.layers.highlight(null);
    this.layers.setResult(result);
    this.patches.setMuted(result !== null && result.rows.some((r) => r.shown));
    this.panel.setResult(result);
    this.exporter.set(result);
    this.showExemplars();
  }

  private async run(): Promise<void> {
    const full: Query = this.store.get();
    const query = this.examples.effective(full);
    const why = this.whyNot(full, query);
    this.controller?.abort();
    const gen = ++this.generation;
    if (why) {
      this.early?.controller.abort();
      this.early = null;
      this.controller = null;
      this.panel.setRunning(false);
      this.results.clear();
      this.results.setStatus(why);
      this.show(null);
      await this.preview(full, gen);
      if (gen === this.generation) setState("idle");
      return;
    }
    const early = this.early;
    this.early = null;
    const onProgress = (p: SearchProgress): void => {
      if (gen === this.generation) this.results.showProgress(p);
    };
    const taken = early?.take(query, onProgress) ?? null;
    const controller = taken !== null && early !== null ? early.controller : new AbortController();
    this.controller = controller;
    this.panel.setRunning(true);
    this.results.setStatus("Searching…", "busy");
    setState("searching");
    try {
      const result = await (taken ?? search(this.corpus, query, { signal: controller.signal, onProgress }));
      if (gen !== this.generation) return;
      this.results.showResult(result);
      this.noteFailures(full);
      this.show(result);
      this.flyToResults(result);
      setState("done");
    } catch (err) {
      if (gen !== this.generation) return;
      if (isAbort(err, controller.signal)) {
        this.results.setStatus("Search stopped. Search runs it again.");
        setState("idle");
      } else if (await this.failedExamples(query, controller.signal, gen)) {
        // an example failed: it is marked, and the search runs again without it
        this.schedule(0);
      } else if (gen === this.generation) {
        this.results.clear();
        this.show(null);
        this.results.showError(errorText(err));
        setState("error");
      }
    } finally {
      if (gen === this.generation) {
        this.controller = null;
        this.panel.setRunning(false);
      }
    }
  }

  /**
   * After a search failed: did an example fail (then it is marked, and true)? Resolves
   * each example alone; false when none fails (the error is the query's own).
   */
  private async failedExamples(query: Query, signal: AbortSignal, gen: number): Promise<boolean> {
    if (query.positives.length + query.negatives.length === 0) return false;
    try {
      const found = await this.examples.diagnose(query, signal);
      if (gen !== this.generation || found === 0) return false;
      this.showExemplars();
      return true;
    } catch {
      return false;
    }
  }

  /** Say, under the status, which examples were left out of the search. */
  private noteFailures(query: Query): void {
    const failed = this.examples.failed(query);
    if (failed.length === 0) return;
    const n = failed.length;
    this.results.note(
      `${n} example${n === 1 ? "" : "s"} failed and ${n === 1 ? "was" : "were"} left out (⚠ under Examples): ` +
        (failed[0]?.message ?? ""),
    );
  }

  /**
   * Before a search can run (no region yet), resolve the clicked examples anyway: their
   * patches show on the map and their ids in the chips (a click off every patch is said).
   */
  private async preview(full: Query, gen: number): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const query = this.examples.effective(full);
        if (query.positives.length + query.negatives.length === 0) break;
        try {
          const rows = await resolveExemplars(this.corpus, query, { signal: controller.signal });
          if (gen !== this.generation) return;
          this.examples.rows = rows;
          break;
        } catch (err) {
          if (gen !== this.generation || isAbort(err, controller.signal)) return;
          if (!(await this.failedExamples(query, controller.signal, gen))) {
            this.results.showError(errorText(err));
            return;
          }
        }
      }
      this.showExemplars();
      this.noteFailures(full);
    } finally {
      if (gen === this.generation) this.controller = null;
    }
  }

  /** The result row for hover / select (for the results view). */
  hover(row: ResultRow | null): void {
    this.layers.highlight(row ?? this.selected);
  }

  select(row: ResultRow): void {
    this.selected = row;
    this.map.flyTo({ center: [row.lon, row.lat], zoom: Math.max(this.map.getZoom(), 12), duration: 700 });
    this.layers.highlight(row);
    this.layers.openPopup(row, true);
  }
}

async function boot(): Promise<void> {
  setState("booting");
  const { query, errors } = readHash(location.hash);
  const store = new QueryStore(query);
  let app: App | null = null;
  const results = new ResultsView(byId("status-box"), byId("results-section"), {
    hover: (row) => app?.hover(row),
    select: (row) => app?.select(row),
    retry: () => store.update({}),
    mark: (row, positive) => app?.mark(row, positive),
  });
  results.setStatus("Opening the corpus…", "busy");
  const corpusPromise = resolveCorpusUrl(location)
    .then((url) => openCorpus(url))
    .then((opened) => {
      startReaders(opened); // the reading workers start while the user draws a region
      return opened;
    });
  corpusPromise.catch(() => undefined); // handled below, after the map
  // a shared link's search starts with the corpus, not after the map
  const earlyPromise = corpusPromise.then((opened) => (runnable(query) === null ? new EarlySearch(opened, query) : null));
  earlyPromise.catch(() => undefined);
  // the basemap waits for that search (see `createMap`), whatever its outcome
  const firstSearch = earlyPromise.then((early) => early?.result).catch(() => undefined);
  const map = await createMap(byId("map"), firstSearch);
  let corpus: WebCorpus;
  try {
    corpus = await corpusPromise;
  } catch (err) {
    results.showError(errorText(err));
    setState("error");
    return;
  }
  const info = corpus.info;
  byId("corpus-info").textContent =
    `${info.rows.toLocaleString()} places · ${info.shards} shards · ${info.dims}-d ${info.codecSpec}`;
  app = new App(map, corpus, store, results);
  app.early = await earlyPromise.catch(() => null);
  const shown = app;
  syncUrl(store, (errs) => shown.hint(`Ignored in the URL: ${errs.join("; ")}`));
  app.start();
  if (errors.length) app.hint(`Ignored in the URL: ${errors.join("; ")}`);
}

boot().catch((err: unknown) => {
  setState("error");
  console.error(err);
  const status = document.querySelector("[data-testid=status]");
  if (status) status.textContent = `The app failed to start: ${errorText(err)}`;
});
