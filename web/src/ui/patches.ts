/**
 * Seeing what to click: the corpus's patches on the map before any search.
 *
 * - Zoomed out, the shard coverage from the manifest (where the corpus has data).
 * - Once a region is drawn, its patches; zoomed in past `PATCH_ZOOM`, the visible
 *   area's patches too: footprints (dots when zoomed out), plain, in the embedding
 *   false colour fitted at publish (format 1.5; the default when the corpus has it), or
 *   coloured by a pass-through column (a colour and a legend entry per category).
 * - A layer menu switches coverage, patches and their colouring.
 * - `snap` finds the patch nearest a click, within `SNAP_PX` pixels.
 */
import type { GeoJSONSource, PointLike } from "maplibre-gl";

import { falseColourOf, falseColours, hexColour } from "../lib/corpus/falsecolour";
import type { FalseColour } from "../lib/corpus/falsecolour";
import type { WebCorpus } from "../lib/corpus/reader";
import { regionFromSpecs } from "../lib/region";
import type { BBox, ManifestRow, RegionSpec } from "../lib/types";
import { wkbToGeoJSON } from "../lib/wkb";
import { el } from "./dom";
import type { MapLibreMap } from "./map";

/** The visible area's patches are read from this zoom on. */
export const PATCH_ZOOM = 9;
/** Shard coverage is drawn below this zoom. */
export const COVERAGE_ZOOM = 8;
/** At most this many patches are drawn (a bigger area says "zoom in"). */
export const PATCH_CAP = 20_000;
/** Footprints are drawn from the zoom where a patch is this many pixels wide. */
const FOOTPRINT_PX = 6;
/** A click snaps to a patch at most this many pixels away. */
export const SNAP_PX = 8;

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
/** Tableau 10: distinct categorical colours. */
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const OTHER = "#6b7280";
const PLAIN = "#5b6b7b";
/** The layer menu's value for the embedding false colour. */
const EMBEDDING = "embedding";
const EMBEDDING_LEGEND = "embedding colour: similar colours = similar embeddings; 3 principal directions fitted at publish";

/** Shard extents as polygons (the manifest's bboxes). */
export function coverageFeatures(manifest: readonly ManifestRow[]): GeoJSON.FeatureCollection {
  return {
    type: "FeatureCollection",
    features: manifest.map((m) => {
      const x1 = m.xmin > m.xmax ? m.xmax + 360 : m.xmax;
      return {
        type: "Feature",
        geometry: {
          type: "Polygon",
          coordinates: [[[m.xmin, m.ymin], [x1, m.ymin], [x1, m.ymax], [m.xmin, m.ymax], [m.xmin, m.ymin]]],
        },
        properties: { path: m.path, rows: m.rows },
      };
    }),
  };
}

/** The categories of `values` (most frequent first, at most the palette's size) with colours. */
export function categories(values: readonly string[]): { value: string; color: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, PALETTE.length)
    .map(([value, count], i) => ({ value, count, color: PALETTE[i] as string }));
}

interface Loaded {
  key: string;
  features: GeoJSON.Feature[];
  capped: boolean;
}

export class PatchLayer {
  private readonly colourBy: HTMLSelectElement;
  private readonly coverage: HTMLInputElement;
  private readonly legend: HTMLElement;
  private readonly note: HTMLElement;
  private readonly falseColour: FalseColour | null;
  private region: Loaded = { key: "", features: [], capped: false };
  private view: Loaded = { key: "", features: [], capped: false };
  private regionAbort: AbortController | null = null;
  private viewAbort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private regions: RegionSpec[] = [];
  /** Only the patches of this year (the search's year filter), when set. */
  private year: number | null = null;
  /** Whether a year can be picked now (the note suggests it when the patches are too many). */
  private yearPickable = true;
  /** Patches as drawn: id -> centre. */
  private centres = new Map<string, [number, number]>();

  constructor(
    private readonly map: MapLibreMap,
    private readonly corpus: WebCorpus,
    menuBox: HTMLElement,
  ) {
    map.addSource("coverage", { type: "geojson", data: coverageFeatures(corpus.manifest) });
    map.addSource("patches", { type: "geojson", data: EMPTY });
    // the dots are points at the footprints' centres: zoomed out, the tiler drops footprints
    // smaller than a pixel (and a circle layer on polygons draws one dot per vertex)
    map.addSource("patch-centres", { type: "geojson", data: EMPTY });
    map.addLayer({
      id: "coverage-fill",
      type: "fill",
      source: "coverage",
      maxzoom: COVERAGE_ZOOM,
      paint: { "fill-color": "#2f6fd6", "fill-opacity": 0.07 },
    });
    map.addLayer({
      id: "coverage-line",
      type: "line",
      source: "coverage",
      maxzoom: COVERAGE_ZOOM,
      paint: { "line-color": "#2f6fd6", "line-opacity": 0.45, "line-width": 0.8, "line-dasharray": [2, 2] },
    });
    map.addLayer({
      id: "patches-fill",
      type: "fill",
      source: "patches",
      minzoom: 7,
      paint: { "fill-color": ["get", "color"], "fill-opacity": 0.6 },
    });
    map.addLayer({
      id: "patches-dots",
      type: "circle",
      source: "patch-centres",
      maxzoom: 8,
      paint: { "circle-color": ["get", "color"], "circle-radius": 2.5, "circle-opacity": 0.8 },
    });

    // ---- the layer menu
    this.coverage = el("input", { id: "layer-coverage", type: "checkbox", checked: true });
    this.colourBy = el("select", { id: "layer-patches", "data-testid": "layer-patches" });
    this.colourBy.append(el("option", { value: "off" }, "off"), el("option", { value: "plain" }, "plain"));
    const colour = falseColourOf(corpus.info);
    this.falseColour = colour.params;
    this.colourBy.append(
      el(
        "option",
        { value: EMBEDDING, disabled: colour.params === null, title: colour.reason ?? EMBEDDING_LEGEND },
        colour.params ? "embedding colour" : "embedding colour (not in this corpus)",
      ),
    );
    const columns = corpus.attributeColumns.filter((c) => c !== "rerank");
    for (const c of columns) this.colourBy.append(el("option", { value: `col:${c}` }, `coloured by ${c}`));
    if (corpus.hasColumn("datetime") && !columns.includes("year")) {
      this.colourBy.append(el("option", { value: "year" }, "coloured by year"));
    }
    this.colourBy.value = colour.params ? EMBEDDING : columns.includes("label") ? "col:label" : "plain";
    this.legend = el("ul", { class: "patch-legend", "data-testid": "patch-legend", "aria-label": "Patch colours" });
    this.note = el("p", { class: "hint", "data-testid": "patch-note" });
    menuBox.append(
      el(
        "div",
        { class: "row check" },
        this.coverage,
        el("label", { for: "layer-coverage" }, "Data coverage (the corpus's shards, zoomed out)"),
      ),
      el("div", { class: "row" }, el("label", { for: "layer-patches" }, "Patches"), this.colourBy),
      this.legend,
      this.note,
    );
    this.coverage.addEventListener("change", () => {
      const v = this.coverage.checked ? "visible" : "none";
      map.setLayoutProperty("coverage-fill", "visibility", v);
      map.setLayoutProperty("coverage-line", "visibility", v);
    });
    this.colourBy.addEventListener("change", () => {
      this.region.key = "";
      this.view.key = "";
      this.setRegions(this.regions);
      this.refresh();
    });
    map.on("moveend", () => this.schedule());
    this.draw();
  }

  /**
   * Fade the patches while results are on the map (the results' markers then stand out
   * against patches coloured, say, by the embedding colour); full strength otherwise.
   */
  setMuted(muted: boolean): void {
    this.map.setPaintProperty("patches-dots", "circle-opacity", muted ? 0.3 : 0.8);
    this.map.setPaintProperty("patches-fill", "fill-opacity", muted ? 0.25 : 0.6);
  }

  /** The regions changed: read their patches (unless too many). */
  setRegions(regions: readonly RegionSpec[]): void {
    this.regions = [...regions];
    const r = regionFromSpecs(this.regions);
    const boxes = r?.boxes ?? [];
    this.regionAbort?.abort();
    void this.load(boxes, "region").catch(() => undefined);
  }

  /**
   * Draw only the patches of `year` (null: every year). An annual corpus has one patch per
   * place and year on the same footprint: the year searched is the one to see and click.
   * `pickable`: whether the year filter can be set now (not in the change view).
   */
  setYear(year: number | null, pickable = true): void {
    this.yearPickable = pickable;
    if (year === this.year) {
      this.say();
      return;
    }
    this.year = year;
    this.region.key = "";
    this.view.key = "";
    this.setRegions(this.regions);
    this.refresh();
  }

  /** The patch nearest the click within `SNAP_PX` (its id and centre), or null. */
  snap(x: number, y: number, layers: string[] = []): { id: string; lon: number; lat: number; px: number } | null {
    const box: [PointLike, PointLike] = [
      [x - SNAP_PX, y - SNAP_PX],
      [x + SNAP_PX, y + SNAP_PX],
    ];
    const wanted = ["patches-fill", "patches-dots", ...layers].filter((l) => this.map.getLayer(l));
    let best: { id: string; lon: number; lat: number; px: number } | null = null;
    for (const f of this.map.queryRenderedFeatures(box, { layers: wanted })) {
      const id = f.properties?.["id"];
      if (typeof id !== "string") continue;
      const lon = Number(f.properties?.["lon"]);
      const lat = Number(f.properties?.["lat"]);
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) continue;
      const p = this.map.project([lon, lat]);
      const px = Math.hypot(p.x - x, p.y - y);
      if (best === null || px < best.px) best = { id, lon, lat, px };
    }
    return best;
  }

  /** Whether the patches around `lon, lat` are drawn (then a miss means "no patch there"). */
  shown(lon: number, lat: number): boolean {
    for (const [x, y] of this.centres.values()) if (Math.abs(x - lon) < 0.5 && Math.abs(y - lat) < 0.5) return true;
    return false;
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, 250);
  }

  /** Read the visible area's patches when zoomed in (and the regions' when re-coloured). */
  private refresh(): void {
    if (this.map.getZoom() < PATCH_ZOOM || this.colourBy.value === "off") {
      this.say();
      return;
    }
    const b = this.map.getBounds();
    const west = Math.max(-180, b.getWest());
    const east = Math.min(180, b.getEast());
    const view: BBox = [west, Math.max(-90, b.getSouth()), east, Math.min(90, b.getNorth())];
    this.viewAbort?.abort();
    void this.load([view], "view").catch(() => undefined);
  }

  /** Read the patches in `boxes` into the region or view set, then draw. */
  private async load(boxes: BBox[], which: "region" | "view"): Promise<void> {
    const key = JSON.stringify([boxes.map((b) => b.map((v) => v.toFixed(3))), this.colourBy.value, this.year]);
    const slot = which === "region" ? this.region : this.view;
    if (slot.key === key) return;
    const controller = new AbortController();
    if (which === "region") this.regionAbort = controller;
    else this.viewAbort = controller;
    if (boxes.length === 0 || this.colourBy.value === "off") {
      Object.assign(slot, { key, features: [], capped: false });
      this.draw();
      return;
    }
    const shards = this.corpus.selectShards(boxes);
    const upTo = shards.reduce((n, s) => n + s.rows, 0);
    const features: GeoJSON.Feature[] = [];
    let capped = false;
    for (const row of shards) {
      if (upTo > PATCH_CAP * 2) {
        capped = true; // too many to read just for a picture (the reads run on the page)
        break;
      }
      const read = (): ReturnType<WebCorpus["readShard"]> =>
        this.corpus.readShard(row, { boxes, geometry: true, attributes: true, signal: controller.signal });
      let t: Awaited<ReturnType<WebCorpus["readShard"]>>;
      try {
        t = await read();
      } catch {
        // a read shared with a load that was aborted (the colouring changed while the
        // region's patches were read) fails with that abort: read again, once
        if (controller.signal.aborted) return;
        t = await read();
      }
      if (controller.signal.aborted) return;
      const fc = this.colourBy.value === EMBEDDING ? this.falseColour : null;
      const rgb = fc ? falseColours(fc, t.codes, t.length) : null;
      for (let i = 0; i < t.length; i++) {
        if (this.year !== null && t.times && new Date(t.times[i] as number).getUTCFullYear() !== this.year) continue;
        const b = t.bbox;
        const lon = ((b[4 * i] as number) + (b[4 * i + 2] as number)) / 2;
        const lat = ((b[4 * i + 1] as number) + (b[4 * i + 3] as number)) / 2;
        features.push({
          type: "Feature",
          geometry: wkbToGeoJSON(t.wkb[i] as Uint8Array),
          properties: {
            id: t.ids[i],
            lon,
            lat,
            w: (b[4 * i + 2] as number) - (b[4 * i] as number),
            cat: this.category(t.attributes, t.times, i),
            rgb: rgb ? hexColour(rgb, i) : null,
          },
        });
      }
      if (features.length > PATCH_CAP) {
        capped = true;
        break;
      }
    }
    if (controller.signal.aborted) return;
    Object.assign(slot, { key, features: capped ? [] : features, capped });
    this.draw();
  }

  private category(attributes: Record<string, unknown[]>, times: Float64Array | null, i: number): string {
    const by = this.colourBy.value;
    if (by === "year") {
      const t = times?.[i];
      return t === undefined || Number.isNaN(t) ? "?" : String(new Date(t).getUTCFullYear());
    }
    if (!by.startsWith("col:")) return "";
    const v = attributes[by.slice(4)]?.[i];
    return v === null || v === undefined ? "?" : typeof v === "bigint" ? v.toString() : String(v as string | number);
  }

  /** Merge the region's and the view's patches, colour them, and redraw legend and note. */
  private draw(): void {
    const byId = new Map<string, GeoJSON.Feature>();
    for (const f of [...this.region.features, ...this.view.features]) byId.set(String(f.properties?.["id"]), f);
    const features = [...byId.values()];
    const embedding = this.colourBy.value === EMBEDDING;
    const plain = !this.colourBy.value.startsWith("col:") && this.colourBy.value !== "year";
    const cats = plain ? [] : categories(features.map((f) => String(f.properties?.["cat"])));
    const colour = new Map(cats.map((c) => [c.value, c.color]));
    for (const f of features) {
      const p = f.properties as Record<string, unknown>;
      p["color"] = embedding ? String(p["rgb"] ?? PLAIN) : plain ? PLAIN : (colour.get(String(p["cat"])) ?? OTHER);
    }
    this.zoomRange(features);
    this.centres = new Map(features.map((f) => [String(f.properties?.["id"]), [Number(f.properties?.["lon"]), Number(f.properties?.["lat"])]]));
    this.map.getSource<GeoJSONSource>("patches")?.setData({ type: "FeatureCollection", features });
    const centres = features.map(
      (f): GeoJSON.Feature => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [Number(f.properties?.["lon"]), Number(f.properties?.["lat"])] },
        properties: f.properties,
      }),
    );
    this.map.getSource<GeoJSONSource>("patch-centres")?.setData({ type: "FeatureCollection", features: centres });
    const shownCats = new Set(cats.map((c) => c.value));
    const others = features.filter((f) => !shownCats.has(String(f.properties?.["cat"]))).length;
    const entry = (color: string, text: string): HTMLElement => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = color;
      return el("li", {}, swatch, text);
    };
    this.legend.replaceChildren(...cats.map((c) => entry(c.color, `${c.value} (${c.count.toLocaleString()})`)));
    if (!plain && others > 0) this.legend.append(entry(OTHER, `other (${others.toLocaleString()})`));
    if (embedding && features.length > 0) {
      // the swatch: a strip of a few of the colours drawn
      const step = Math.max(1, Math.floor(features.length / 6));
      const some = features.filter((_, i) => i % step === 0).slice(0, 6).map((f) => String(f.properties?.["color"]));
      const stops = some.map((c, i) => `${c} ${(100 * i) / some.length}% ${(100 * (i + 1)) / some.length}%`);
      const line = entry(`linear-gradient(90deg, ${stops.join(", ")})`, EMBEDDING_LEGEND);
      line.firstElementChild?.classList.add("strip");
      this.legend.append(line);
    }
    this.legend.hidden = this.legend.childElementCount === 0;
    this.say(features.length);
  }

  /**
   * Dots while a footprint is smaller than a dot, footprints from the zoom where the
   * median patch is `FOOTPRINT_PX` wide (10 m patches: zoom ~15; 2 km: ~8).
   */
  private zoomRange(features: readonly GeoJSON.Feature[]): void {
    const widths: number[] = [];
    for (let i = 0; i < features.length; i += Math.max(1, Math.floor(features.length / 200))) {
      const w = Number((features[i]?.properties as Record<string, unknown>)["w"]);
      if (w > 0) widths.push(w);
    }
    if (widths.length === 0) return;
    widths.sort((a, b) => a - b);
    const w = widths[widths.length >> 1] as number;
    const zoom = Math.min(22, Math.max(0, Math.log2((FOOTPRINT_PX * 360) / (512 * w))));
    this.map.setLayerZoomRange("patches-fill", zoom, 24);
    this.map.setLayerZoomRange("patches-dots", 0, zoom);
  }

  private say(count = this.centres.size): void {
    const capped = this.region.capped || this.view.capped;
    let text: string;
    if (this.colourBy.value === "off") text = "Patches are hidden.";
    else if (capped && this.year === null && this.yearPickable && this.corpus.hasColumn("datetime"))
      text = `More than ${PATCH_CAP.toLocaleString()} patches here: pick a year (Options) or zoom in to see them.`;
    else if (capped) text = `More than ${PATCH_CAP.toLocaleString()} patches here: zoom in (or draw a smaller region) to see them.`;
    else if (count > 0) text = `${count.toLocaleString()} patches drawn: click one (clicks snap to a patch within ${SNAP_PX} px).`;
    else text = `Draw a region or zoom in (level ${PATCH_ZOOM}+) to see the patches you can click.`;
    this.note.textContent = text;
  }
}
