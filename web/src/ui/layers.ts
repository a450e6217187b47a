/**
 * Results on the map, coloured by what the view shows (`value`), with a legend of real
 * values; the examples (positive green, negative red); the hovered row's highlight.
 *
 * Patches are drawn as their footprints when zoomed in and as dots when zoomed out
 * (a 10 m–1 km patch is invisible at world scale).
 */
import { Popup, type GeoJSONSource, type MapLayerMouseEvent } from "maplibre-gl";

import { colorFor, legendStops } from "../lib/colors";
import type { ExemplarRef, ExemplarRow, Legend, ResultRow, SearchResult } from "../lib/types";
import { el, fmt } from "./dom";
import type { MapLibreMap } from "./map";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
const POSITIVE = "#1a9b4b";
const NEGATIVE = "#d63a2f";
/** Dots below this zoom, footprints from it. */
const FOOTPRINT_ZOOM = 8;

function rgb(c: [number, number, number]): string {
  return `rgb(${Math.round(c[0])}, ${Math.round(c[1])}, ${Math.round(c[2])})`;
}

function collection(features: GeoJSON.Feature[]): GeoJSON.FeatureCollection {
  return { type: "FeatureCollection", features };
}

export class ResultLayers {
  private readonly popup = new Popup({ closeButton: false, closeOnClick: false, offset: 8 });
  private rows = new Map<string, ResultRow>();
  private footprints: GeoJSON.FeatureCollection = EMPTY;
  private footprintsShown = false;

  constructor(
    private readonly map: MapLibreMap,
    private readonly legendBox: HTMLElement,
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
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 0, 2.5, 7, 5],
        "circle-stroke-color": "rgba(0,0,0,0.55)",
        "circle-stroke-width": 0.8,
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

  /** Hovering a result on the map names it (rank, score, id) and highlights it. */
  private hoverable(): void {
    const over = (e: MapLayerMouseEvent): void => {
      const id = e.features?.[0]?.properties?.["id"];
      const row = typeof id === "string" ? this.rows.get(id) : undefined;
      if (!row) return;
      this.map.getCanvas().style.cursor = "pointer";
      this.popup
        .setLngLat([row.lon, row.lat])
        .setDOMContent(
          el(
            "div",
            { class: "popup" },
            el("strong", {}, `#${row.rank}`),
            ` · score ${fmt(row.score)} · ${row.id}`,
          ),
        )
        .addTo(this.map);
    };
    const out = (): void => {
      this.map.getCanvas().style.cursor = "";
      this.popup.remove();
    };
    for (const layer of ["results-dots", "results-fill"]) {
      this.map.on("mousemove", layer, over);
      this.map.on("mouseleave", layer, out);
    }
  }

  private source(id: string): GeoJSONSource | undefined {
    return this.map.getSource<GeoJSONSource>(id);
  }

  /** Draw the shown rows, coloured by value, and the legend; `null` clears both. */
  setResult(result: SearchResult | null): void {
    this.rows = new Map(result ? result.rows.filter((r) => r.shown).map((r) => [r.id, r]) : []);
    this.popup.remove();
    if (!result) {
      this.footprints = EMPTY;
      this.source("results")?.setData(EMPTY);
      this.source("result-points")?.setData(EMPTY);
      this.renderLegend(null, 0);
      return;
    }
    const polys: GeoJSON.Feature[] = [];
    const points: GeoJSON.Feature[] = [];
    for (const row of result.rows) {
      if (!row.shown) continue;
      const properties = {
        id: row.id,
        rank: row.rank,
        value: row.value,
        color: rgb(colorFor(row.value, result.legend)),
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
    this.renderLegend(result.legend, points.length);
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

  /** The examples: resolved footprints (from the last result) and the clicked points. */
  setExemplars(positives: ExemplarRef[], negatives: ExemplarRef[], rows: ExemplarRow[]): void {
    const footprints: GeoJSON.Feature[] = rows.map((r) => ({
      type: "Feature",
      geometry: r.geometry,
      properties: { color: r.positive ? POSITIVE : NEGATIVE, id: r.id },
    }));
    const points: GeoJSON.Feature[] = [];
    const add = (refs: ExemplarRef[], color: string): void => {
      for (const ref of refs) {
        if (ref.kind !== "point") continue;
        points.push({
          type: "Feature",
          geometry: { type: "Point", coordinates: [ref.lon, ref.lat] },
          properties: { color },
        });
      }
    };
    add(positives, POSITIVE);
    add(negatives, NEGATIVE);
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

  /** A colour bar with the legend's real values (min, middle, max) and its label. */
  private renderLegend(legend: Legend | null, shown: number): void {
    const box = this.legendBox;
    if (!legend || shown === 0) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const stops = legendStops(legend);
    const span = legend.max - legend.min || 1;
    const gradient = stops
      .map((s) => `${rgb(s.color)} ${(((s.value - legend.min) / span) * 100).toFixed(1)}%`)
      .join(", ");
    const bar = el("div", { class: "legend-bar", role: "img" });
    bar.style.background = `linear-gradient(to right, ${gradient})`;
    bar.setAttribute(
      "aria-label",
      `Colour scale from ${fmt(legend.min)} to ${fmt(legend.max)}` +
        (legend.lowerIsBetter ? ", lower is better" : ", higher is more remarkable"),
    );
    const mid = (legend.min + legend.max) / 2;
    box.replaceChildren(
      el("div", { class: "legend-title" }, legend.label),
      bar,
      el(
        "div",
        { class: "legend-ticks" },
        el("span", {}, fmt(legend.min)),
        el("span", {}, fmt(mid)),
        el("span", {}, fmt(legend.max)),
      ),
      el(
        "div",
        { class: "legend-note" },
        legend.lowerIsBetter ? "lower = more similar (hotter)" : "higher = more remarkable (hotter)",
      ),
    );
    box.hidden = false;
  }
}
