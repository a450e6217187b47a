/**
 * Drawing regions: rectangles (drag) and freehand polygons (drag a lasso), several
 * regions at once, a chip per region to remove it (with undo), "zoom to all", and a
 * keyboard way in ("use the current view" adds the visible map as a rectangle).
 *
 * Esc cancels a drawing in progress and never deletes anything already drawn.
 */
import type { GeoJSONSource, LngLat, MapTouchEvent, Point } from "maplibre-gl";

/** What drawing needs of a mouse or touch event. */
interface Pointer {
  point: Point;
  lngLat: LngLat;
  preventDefault: () => void;
}

import type { BBox, RegionSpec } from "../lib/types";
import { chip, el, fmt } from "./dom";
import { boundsOf } from "../lib/region";
import { fitBBox, type MapLibreMap } from "./map";
import type { QueryStore } from "./store";
import type { UndoStack } from "./undo";

type Mode = "none" | "rect" | "poly";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
/** Freehand: keep a vertex every this many screen pixels. */
const FREEHAND_STEP_PX = 4;
/** A rectangle smaller than this (pixels, either side) is a slip of the mouse, not a region. */
const MIN_RECT_PX = 4;

/** A region as a GeoJSON geometry (a bbox crossing the antimeridian is unwrapped east). */
export function regionGeometry(region: RegionSpec): GeoJSON.Polygon | GeoJSON.MultiPolygon {
  if (region.kind === "polygon") return region.geometry;
  const [minx, miny, x1, maxy] = region.bbox;
  const maxx = minx > x1 ? x1 + 360 : x1;
  return {
    type: "Polygon",
    coordinates: [
      [
        [minx, miny],
        [maxx, miny],
        [maxx, maxy],
        [minx, maxy],
        [minx, miny],
      ],
    ],
  };
}

export function regionLabel(region: RegionSpec, index: number): string {
  if (region.kind === "bbox") {
    const [a, b, c, d] = region.bbox;
    return `Box ${index + 1}: ${fmt(a, 5)}, ${fmt(b, 5)} → ${fmt(c, 5)}, ${fmt(d, 5)}`;
  }
  const g = region.geometry;
  const rings = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
  const points = rings.reduce((n, poly) => n + (poly[0]?.length ?? 1) - 1, 0);
  return `Polygon ${index + 1}: ${points} points`;
}

export class Drawer {
  private mode: Mode = "none";
  /** Where the drag began (`rawLon`: unwrapped, to tell a drag across 180° from a wide one). */
  private start: { x: number; y: number; lon: number; lat: number; rawLon: number } | null = null;
  private lasso: [number, number][] = [];
  private lastPx: { x: number; y: number } | null = null;
  /** The click that ends a drag (drawn or cancelled) is not an example. */
  private swallowClick = false;
  private lastEvent: Pointer | null = null;
  private readonly rectButton: HTMLButtonElement;
  private readonly polyButton: HTMLButtonElement;
  private readonly undoButton: HTMLButtonElement;
  private readonly zoomButton: HTMLButtonElement;
  private readonly chips: HTMLUListElement;

  constructor(
    private readonly map: MapLibreMap,
    private readonly store: QueryStore,
    private readonly undo: UndoStack,
    container: HTMLElement,
    private readonly hint: (text: string) => void,
  ) {
    this.rectButton = el(
      "button",
      { type: "button", "aria-pressed": "false", title: "Drag on the map to draw a rectangle" },
      "▭ Rectangle",
    );
    this.polyButton = el(
      "button",
      { type: "button", "aria-pressed": "false", title: "Drag on the map to draw a freehand shape" },
      "✎ Freehand",
    );
    const viewButton = el(
      "button",
      { type: "button", title: "Add the visible map as a rectangle region" },
      "Current view",
    );
    this.zoomButton = el("button", { type: "button" }, "Zoom to all");
    this.undoButton = el(
      "button",
      { type: "button", disabled: true, "aria-keyshortcuts": "Control+Z" },
      "↶ Undo",
    );
    this.chips = el("ul", { class: "chips", "aria-label": "Regions", "data-testid": "region-chips" });
    container.append(
      el("h2", {}, "Regions"),
      el("div", { class: "button-row" }, this.rectButton, this.polyButton, viewButton),
      this.chips,
      el("div", { class: "button-row" }, this.zoomButton, this.undoButton),
    );
    this.zoomButton.classList.add("small");
    this.undoButton.classList.add("small");
    this.rectButton.addEventListener("click", () => this.toggle("rect"));
    this.polyButton.addEventListener("click", () => this.toggle("poly"));
    viewButton.addEventListener("click", () => this.addCurrentView());
    this.zoomButton.addEventListener("click", () => this.zoomToAll());
    this.undoButton.addEventListener("click", () => this.undo.undo());
    this.undo.onChange(() => this.renderUndo());

    map.addSource("regions", { type: "geojson", data: EMPTY });
    map.addSource("draft", { type: "geojson", data: EMPTY });
    map.addLayer({
      id: "regions-fill",
      type: "fill",
      source: "regions",
      paint: { "fill-color": "#2f6fd6", "fill-opacity": 0.06 },
    });
    map.addLayer({
      id: "regions-line",
      type: "line",
      source: "regions",
      paint: { "line-color": "#2f6fd6", "line-width": 2 },
    });
    map.addLayer({
      id: "draft-line",
      type: "line",
      source: "draft",
      paint: { "line-color": "#e07b00", "line-width": 2, "line-dasharray": [2, 1] },
    });

    map.on("mousedown", (e) => {
      if (this.mode === "none") this.swallowClick = false; // a new gesture
      if (e.originalEvent.button === 0) this.onDown(e);
    });
    map.on("mousemove", (e) => this.onMove(e));
    map.on("mouseup", (e) => this.onUp(e));
    // one finger draws on a touch screen
    const oneFinger = (e: MapTouchEvent): boolean => e.points.length <= 1;
    map.on("touchstart", (e) => {
      if (this.mode === "none") this.swallowClick = false;
      if (oneFinger(e)) this.onDown(e);
    });
    map.on("touchmove", (e) => {
      if (oneFinger(e)) this.onMove(e);
    });
    map.on("touchend", (e) => {
      if (this.lastEvent) this.onUp(e.points.length ? e : this.lastEvent);
    });
    // a drag that ends off the map still ends the shape (at the last point on the map)
    window.addEventListener("mouseup", () => {
      if (this.start && this.lastEvent) this.onUp(this.lastEvent);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.mode !== "none") {
        e.preventDefault();
        this.cancel();
      }
    });
    store.subscribe((q) => this.render(q.regions));
    this.render(store.get().regions);
  }

  /** True while drawing, and for the click that ends a drag (it is not an example). */
  capturesClick(): boolean {
    if (this.mode !== "none") return true;
    const swallow = this.swallowClick;
    this.swallowClick = false;
    return swallow;
  }

  /** Cancel a drawing in progress (Esc): nothing already drawn is touched. */
  cancel(): void {
    const wasDrawing = this.start !== null || this.lasso.length > 0;
    if (this.start !== null) this.swallowClick = true; // the button is still down
    this.setMode("none");
    this.hint(wasDrawing ? "Drawing cancelled; your regions are kept." : "Drawing mode off.");
  }

  /** Fit the map to the regions and the clicked examples (`animate: false` jumps there). */
  zoomToAll(animate = true): void {
    const q = this.store.get();
    const geoms: GeoJSON.Geometry[] = q.regions.map(regionGeometry);
    for (const e of [...q.positives, ...q.negatives]) {
      if (e.kind === "point") geoms.push({ type: "Point", coordinates: [e.lon, e.lat] });
    }
    const b = boundsOf(geoms);
    if (b) fitBBox(this.map, b, 12, animate);
  }

  private toggle(mode: Mode): void {
    this.setMode(this.mode === mode ? "none" : mode);
    if (this.mode !== "none") {
      this.hint(
        mode === "rect"
          ? "Drag on the map to draw a rectangle (Esc cancels)."
          : "Drag on the map to draw a freehand shape (Esc cancels).",
      );
    }
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    this.start = null;
    this.lastEvent = null;
    this.lasso = [];
    this.lastPx = null;
    this.setDraft(null);
    this.rectButton.setAttribute("aria-pressed", String(mode === "rect"));
    this.polyButton.setAttribute("aria-pressed", String(mode === "poly"));
    this.map.getCanvas().style.cursor = mode === "none" ? "" : "crosshair";
    if (mode === "none") this.map.dragPan.enable();
    else this.map.dragPan.disable();
  }

  private onDown(e: Pointer): void {
    if (this.mode === "none") return;
    e.preventDefault();
    const [lng, lat] = this.lonLat(e);
    this.start = { x: e.point.x, y: e.point.y, lon: lng, lat, rawLon: e.lngLat.lng };
    this.lastEvent = e;
    this.lasso = [[lng, lat]];
    this.lastPx = { x: e.point.x, y: e.point.y };
  }

  private onMove(e: Pointer): void {
    if (!this.start || this.mode === "none") return;
    this.lastEvent = e;
    const [lng, lat] = this.lonLat(e);
    if (this.mode === "rect") {
      this.setDraft(regionGeometry({ kind: "bbox", bbox: this.rectBBox(e.lngLat.lng, lat) }));
      return;
    }
    const last = this.lastPx;
    if (last && Math.hypot(e.point.x - last.x, e.point.y - last.y) < FREEHAND_STEP_PX) return;
    this.lastPx = { x: e.point.x, y: e.point.y };
    this.lasso.push([lng, lat]);
    this.setDraft({ type: "LineString", coordinates: this.lasso });
  }

  private onUp(e: Pointer): void {
    if (!this.start || this.mode === "none") return;
    const [lng, lat] = this.lonLat(e);
    const start = this.start;
    let region: RegionSpec | null = null;
    if (this.mode === "rect") {
      const big =
        Math.abs(e.point.x - start.x) >= MIN_RECT_PX && Math.abs(e.point.y - start.y) >= MIN_RECT_PX;
      if (big) region = { kind: "bbox", bbox: this.rectBBox(e.lngLat.lng, lat) };
    } else {
      this.lasso.push([lng, lat]);
      if (this.lasso.length >= 3) {
        const ring = [...this.lasso, this.lasso[0] as [number, number]];
        region = { kind: "polygon", geometry: { type: "Polygon", coordinates: [ring] } };
      }
    }
    this.swallowClick = true;
    this.setMode("none");
    if (region) {
      this.store.update({ regions: [...this.store.get().regions, region] });
      this.hint("Region added. Click inside it (or anywhere) to add a positive example.");
    } else {
      this.hint("That shape was too small; try again.");
    }
  }

  /** The event's position, wrapped to [-180, 180] and rounded to 1e-6° (~0.1 m). */
  private lonLat(e: Pointer): [number, number] {
    const { lng, lat } = e.lngLat.wrap();
    return [Math.round(lng * 1e6) / 1e6, Math.round(lat * 1e6) / 1e6];
  }

  /**
   * The dragged rectangle from the start to `rawLon` (unwrapped) and `lat`: its west edge
   * is east of its east edge when it crosses the antimeridian (the `BBox` convention).
   */
  private rectBBox(rawLon: number, lat: number): BBox {
    const s = this.start;
    if (!s) throw new Error("no drawing in progress");
    const round = (v: number): number => Math.round(v * 1e6) / 1e6;
    const wrap = (v: number): number => round(((((v + 180) % 360) + 360) % 360) - 180);
    const lo = Math.min(s.rawLon, rawLon);
    const hi = Math.max(s.rawLon, rawLon);
    const miny = Math.min(s.lat, lat);
    const maxy = Math.max(s.lat, lat);
    if (hi - lo >= 360) return [-180, miny, 180, maxy];
    const west = wrap(lo);
    let east = wrap(hi);
    if (east === -180 && hi > lo) east = 180;
    return [west, miny, east, maxy];
  }

  private addCurrentView(): void {
    const b = this.map.getBounds();
    const clamp = (v: number, lim: number): number => Math.max(-lim, Math.min(lim, v));
    const round = (v: number): number => Math.round(v * 1e6) / 1e6;
    const west = b.getWest();
    const east = b.getEast();
    const bbox: BBox =
      east - west >= 360
        ? [-180, round(clamp(b.getSouth(), 90)), 180, round(clamp(b.getNorth(), 90))]
        : [
            round(((((west + 180) % 360) + 360) % 360) - 180),
            round(clamp(b.getSouth(), 90)),
            round(((((east + 180) % 360) + 360) % 360) - 180),
            round(clamp(b.getNorth(), 90)),
          ];
    this.store.update({ regions: [...this.store.get().regions, { kind: "bbox", bbox }] });
    this.hint("Added the current view as a region.");
  }

  private remove(index: number): void {
    const regions = [...this.store.get().regions];
    const [removed] = regions.splice(index, 1);
    if (!removed) return;
    this.store.update({ regions });
    this.undo.push({
      label: `region ${index + 1}`,
      restore: () => {
        const now = [...this.store.get().regions];
        now.splice(Math.min(index, now.length), 0, removed);
        this.store.update({ regions: now });
      },
    });
    this.hint(`Region ${index + 1} removed. Undo (Ctrl+Z) puts it back.`);
  }

  private setDraft(geometry: GeoJSON.Geometry | null): void {
    const source = this.map.getSource<GeoJSONSource>("draft");
    source?.setData(
      geometry ? { type: "Feature", geometry, properties: {} } : EMPTY,
    );
  }

  private render(regions: RegionSpec[]): void {
    const features: GeoJSON.Feature[] = regions.map((r, i) => ({
      type: "Feature",
      geometry: regionGeometry(r),
      properties: { index: i },
    }));
    this.map.getSource<GeoJSONSource>("regions")?.setData({ type: "FeatureCollection", features });
    this.chips.replaceChildren(
      ...regions.map((r, i) => chip(regionLabel(r, i), "region", () => this.remove(i))),
    );
    if (regions.length === 0) {
      this.chips.append(el("li", { class: "muted empty" }, "No region yet: draw one on the map."));
    }
  }

  private renderUndo(): void {
    const top = this.undo.peek();
    this.undoButton.disabled = !top;
    this.undoButton.textContent = top ? `↶ Undo (${top.label})` : "↶ Undo";
  }
}
