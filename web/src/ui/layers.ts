/**
 * Results on the map, coloured by what the view shows (`value`), with a legend of real
 * values; the examples (positive green, negative red, failed grey); the hovered row's
 * highlight; a popup per result (hover, or pinned by a click in the list) with ✓ / ✗.
 *
 * Patches are drawn as their footprints when zoomed in and as dots when zoomed out
 * (a 10 m–1 km patch is invisible at world scale).
 */
import { Popup, type GeoJSONSource, type MapLayerMouseEvent } from "maplibre-gl";

import { colorFor } from "../lib/colors";
import type { ExemplarRef, ExemplarRow, ResultRow, SearchResult } from "../lib/types";
import { el, fmt } from "./dom";
import { legendValue, renderLegend, shownValue, valueHeading } from "./legend";
import type { MapLibreMap } from "./map";
import { whatOf } from "./results";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
const POSITIVE = "#1a9b4b";
const NEGATIVE = "#d63a2f";
const FAILED = "#8a8f94";
/** A hover popup stays this long after the pointer leaves the patch (time to reach ✓ / ✗). */
const POPUP_GRACE_MS = 600;
/** Dots below this zoom, footprints from it. */
const FOOTPRINT_ZOOM = 8;

function rgb(c: [number, number, number]): string {
  return `rgb(${Math.round(c[0])}, ${Math.round(c[1])}, ${Math.round(c[2])})`;
}

function collection(features: GeoJSON.Feature[]): GeoJSON.FeatureCollection {
  return { type: "FeatureCollection", features };
}

export class ResultLayers {
  private readonly popup = new Popup({ closeButton: false, closeOnClick: false, offset: 8, maxWidth: "280px" });
  private rows = new Map<string, ResultRow>();
  private footprints: GeoJSON.FeatureCollection = EMPTY;
  private footprintsShown = false;
  private result: SearchResult | null = null;
  /** The row whose popup is pinned (clicked in the list), if any. */
  private pinned: string | null = null;
  private hideTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly map: MapLibreMap,
    private readonly legendBox: HTMLElement,
    /** ✓ / ✗ in a popup: make the row a positive / negative example. */
    private readonly mark: (row: ResultRow, positive: boolean) => void,
  ) {
    for (const id of ["results", "result-points", "exemplars", "exemplar-points", "highlight"]) {
      map.addSource(id, { type: "geojson", data: EMPTY });
    }
    map.addLayer({
      id: "results-fill",
      type: "fill",
      source: "results",
      minzoom: FOOTPRINT_ZOOM - 1,
      layout: { "fill-sort-key": ["-", 0, ["get", "rank"]] },
      paint: { "fill-color": ["get", "color"], "fill-opacity": 0.8 },
    });
    map.addLayer({
      id: "results-dots",
      type: "circle",
      source: "result-points",
      maxzoom: FOOTPRINT_ZOOM,
      layout: { "circle-sort-key": ["-", 0, ["get", "rank"]] },
      paint: {
        "circle-color": ["get", "color"],
        // larger than the patches' dots (2.5 px) drawn under them
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 0, 3.5, 7, 6],
        "circle-stroke-color": "rgba(0,0,0,0.8)",
        "circle-stroke-width": 1.2,
      },
    });
    map.addLayer({
      id: "exemplars-fill",
      type: "fill",
      source: "exemplars",
      paint: { "fill-color": ["get", "color"], "fill-opacity": 0.35 },
    });
    map.addLayer({
      id: "exemplars-line",
      type: "line",
      source: "exemplars",
      paint: { "line-color": ["get", "color"], "line-width": 2.5 },
    });
    map.addLayer({
      id: "exemplar-points",
      type: "circle",
      source: "exemplar-points",
      paint: {
        "circle-color": ["get", "color"],
        "circle-radius": 6,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
      },
    });
    map.addLayer({
      id: "highlight-line",
      type: "line",
      source: "highlight",
      paint: { "line-color": "#111111", "line-width": 3 },
    });
    map.addLayer({
      id: "highlight-point",
      type: "circle",
      source: "highlight",
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-radius": 10,
        "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-color": "#111111",
        "circle-stroke-width": 2.5,
      },
    });
    this.hoverable();
    map.on("zoomend", () => this.showFootprints());
  }

  /** Hovering a result on the map opens its popup (rank, value, year…, ✓ / ✗). */
  private hoverable(): void {
    const over = (e: MapLayerMouseEvent): void => {
      const id = e.features?.[0]?.properties?.["id"];
      const row = typeof id === "string" ? this.rows.get(id) : undefined;
      if (!row) return;
      this.map.getCanvas().style.cursor = "pointer";
      if (this.pinned !== null && this.pinned !== row.id) return;
      this.openPopup(row, false);
    };
    const out = (): void => {
      this.map.getCanvas().style.cursor = "";
      if (this.pinned === null) this.hideSoon();
    };
    for (const layer of ["results-dots", "results-fill"]) {
      this.map.on("mousemove", layer, over);
      this.map.on("mouseleave", layer, out);
    }
  }

  private hideSoon(): void {
    if (this.hideTimer !== null) clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => {
      this.hideTimer = null;
      this.popup.remove();
    }, POPUP_GRACE_MS);
  }

  /** Open the popup of `row`; `pin` keeps it until closed or another row is picked. */
  openPopup(row: ResultRow, pin: boolean): void {
    if (this.hideTimer !== null) clearTimeout(this.hideTimer);
    this.hideTimer = null;
    if (pin) this.pinned = row.id;
    const heading = this.result ? valueHeading(this.result) : "score";
    const what = whatOf(row);
    const button = (positive: boolean): HTMLButtonElement => {
      const b = el(
        "button",
        {
          type: "button",
          class: `mark ${positive ? "mark-pos" : "mark-neg"}`,
          "data-testid": positive ? "mark-positive" : "mark-negative",
          "aria-label": `Rank ${row.rank} is a ${positive ? "positive" : "negative"} example`,
        },
        positive ? "✓ like this" : "✗ not this",
      );
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        this.closePopup();
        this.mark(row, positive);
      });
      return b;
    };
    const close = el("button", { type: "button", class: "popup-close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => this.closePopup());
    const content = el(
      "div",
      { class: "popup", "data-testid": "popup" },
      el("div", {}, el("strong", {}, `#${row.rank}`), ` · ${heading} ${this.result ? fmt(shownValue(this.result, row)) : ""}`, pin ? close : ""),
      what ? el("div", {}, what) : "",
      el("div", { class: "muted" }, row.id),
      el("div", { class: "button-row" }, button(true), button(false)),
    );
    content.addEventListener("mouseenter", () => {
      if (this.hideTimer !== null) clearTimeout(this.hideTimer);
      this.hideTimer = null;
    });
    content.addEventListener("mouseleave", () => {
      if (this.pinned === null) this.hideSoon();
    });
    this.popup.setLngLat([row.lon, row.lat]).setDOMContent(content).addTo(this.map);
  }

  closePopup(): void {
    this.pinned = null;
    if (this.hideTimer !== null) clearTimeout(this.hideTimer);
    this.hideTimer = null;
    this.popup.remove();
  }

  private source(id: string): GeoJSONSource | undefined {
    return this.map.getSource<GeoJSONSource>(id);
  }

  /** Draw the shown rows, coloured by value, and the legend; `null` clears both. */
  setResult(result: SearchResult | null): void {
    this.rows = new Map(result ? result.rows.filter((r) => r.shown).map((r) => [r.id, r]) : []);
    this.result = result;
    this.closePopup();
    renderLegend(this.legendBox, result);
    if (!result) {
      this.footprints = EMPTY;
      this.source("results")?.setData(EMPTY);
      this.source("result-points")?.setData(EMPTY);
      return;
    }
    const polys: GeoJSON.Feature[] = [];
    const points: GeoJSON.Feature[] = [];
    for (const row of result.rows) {
      if (!row.shown) continue;
      const properties = {
        id: row.id,
        lon: row.lon,
        lat: row.lat,
        rank: row.rank,
        value: row.value,
        color: rgb(colorFor(legendValue(result.legend, row), result.legend)),
      };
      polys.push({ type: "Feature", geometry: row.geometry, properties });
      points.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [row.lon, row.lat] },
        properties,
      });
    }
    this.footprints = collection(polys);
    this.footprintsShown = false;
    this.source("results")?.setData(EMPTY);
    this.showFootprints();
    this.source("result-points")?.setData(collection(points));
  }

  /**
   * Footprints are only drawn zoomed in, so they go to the map only then: a heatmap of
   * 100K rows zoomed out hands the map 100K dots, not 100K dots and 100K polygons.
   */
  private showFootprints(): void {
    if (this.footprintsShown || this.map.getZoom() < FOOTPRINT_ZOOM - 1) return;
    this.footprintsShown = true;
    this.source("results")?.setData(this.footprints);
  }

  /**
   * The examples: resolved footprints (from the last result) and the clicked points
   * (`failed` ones grey).
   */
  setExemplars(
    positives: ExemplarRef[],
    negatives: ExemplarRef[],
    rows: ExemplarRow[],
    failed: (ref: ExemplarRef, positive: boolean) => boolean = () => false,
  ): void {
    const footprints: GeoJSON.Feature[] = rows.map((r) => ({
      type: "Feature",
      geometry: r.geometry,
      properties: { color: r.positive ? POSITIVE : NEGATIVE, id: r.id },
    }));
    const points: GeoJSON.Feature[] = [];
    const add = (refs: ExemplarRef[], positive: boolean): void => {
      for (const ref of refs) {
        if (ref.kind !== "point") continue;
        points.push({
          type: "Feature",
          geometry: { type: "Point", coordinates: [ref.lon, ref.lat] },
          properties: { color: failed(ref, positive) ? FAILED : positive ? POSITIVE : NEGATIVE },
        });
      }
    };
    add(positives, true);
    add(negatives, false);
    for (const r of rows) {
      if (r.ref.kind === "id") {
        points.push({
          type: "Feature",
          geometry: { type: "Point", coordinates: [r.lon, r.lat] },
          properties: { color: r.positive ? POSITIVE : NEGATIVE },
        });
      }
    }
    this.source("exemplars")?.setData(collection(footprints));
    this.source("exemplar-points")?.setData(collection(points));
  }

  highlight(row: ResultRow | null): void {
    if (!row) {
      this.source("highlight")?.setData(EMPTY);
      return;
    }
    this.source("highlight")?.setData(
      collection([
        { type: "Feature", geometry: row.geometry, properties: {} },
        { type: "Feature", geometry: { type: "Point", coordinates: [row.lon, row.lat] }, properties: {} },
      ]),
    );
  }
}
