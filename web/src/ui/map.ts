/**
 * The map: MapLibre GL with a bundled, offline basemap.
 *
 * The default style fetches nothing off-host: Natural Earth land and country borders
 * (npm `world-atlas`, TopoJSON shipped with the app) become GeoJSON sources; there are
 * no tiles, glyphs or sprites. An online imagery basemap is a setting, off by default,
 * remembered in `localStorage`; when its tiles fail (offline, blocked), the map falls
 * back to the bundled basemap and `onImageryFailure`'s listener is told why.
 */
import "maplibre-gl/dist/maplibre-gl.css";
import {
  AttributionControl,
  Map as MapLibreMap,
  NavigationControl,
  ScaleControl,
  setWorkerUrl,
  type GeoJSONSource,
  type StyleSpecification,
} from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import landUrl from "world-atlas/land-50m.json?url";
import countriesUrl from "world-atlas/countries-50m.json?url";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

import { boundsOf, geometryCovers } from "../lib/region";
import { fixAntimeridian } from "./antimeridian";
import type { BBox } from "../lib/types";

setWorkerUrl(workerUrl);

const IMAGERY_KEY = "terrabit.imagery";
/** Esri World Imagery: only requested when the user turns the imagery basemap on. */
const IMAGERY_TILES =
  "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };

export const COLORS = {
  ocean: "#dfe9f3",
  land: "#f7f5ef",
  border: "#b9b2a4",
  coast: "#9fb4c8",
};

function offlineStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: EMPTY, attribution: "Natural Earth" },
      borders: { type: "geojson", data: EMPTY },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": COLORS.ocean } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": COLORS.land } },
      {
        id: "coast",
        type: "line",
        source: "land",
        paint: { "line-color": COLORS.coast, "line-width": 0.6 },
      },
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: { "line-color": COLORS.border, "line-width": 0.6, "line-dasharray": [3, 2] },
      },
    ],
  };
}

async function loadTopology(url: string): Promise<Topology> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`basemap ${url}: HTTP ${response.status}`);
  return (await response.json()) as Topology;
}

/** The bundled land polygons with their bboxes, once loaded (for `isLand`). */
let LAND: { geometry: GeoJSON.Geometry; bbox: BBox }[] | null = null;

/**
 * Whether the bundled basemap puts a point on land (`null` until it has loaded). Coarse
 * (Natural Earth 1:50m): for messages only ("that is sea"), never for search.
 */
export function isLand(lon: number, lat: number): boolean | null {
  if (LAND === null) return null;
  for (const part of LAND) {
    const [x0, y0, x1, y1] = part.bbox;
    if (lon < x0 || lon > x1 || lat < y0 || lat > y1) continue;
    if (geometryCovers(part.geometry, lon, lat)) return true;
  }
  return false;
}

function landParts(land: GeoJSON.FeatureCollection | GeoJSON.Feature): { geometry: GeoJSON.Geometry; bbox: BBox }[] {
  const features = land.type === "FeatureCollection" ? land.features : [land];
  const out: { geometry: GeoJSON.Geometry; bbox: BBox }[] = [];
  for (const f of features) {
    const g = f.geometry;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const coordinates of polys) {
      const geometry: GeoJSON.Polygon = { type: "Polygon", coordinates };
      const b = boundsOf([geometry]);
      if (b) out.push({ geometry, bbox: b });
    }
  }
  return out;
}

/**
 * Fill the land and border sources from the bundled Natural Earth TopoJSON, fetched at
 * once but parsed and drawn only once `after` settles (see `createMap`).
 */
async function loadBasemap(map: MapLibreMap, after: Promise<unknown>): Promise<void> {
  const topologies = Promise.all([loadTopology(landUrl), loadTopology(countriesUrl)]);
  topologies.catch(() => undefined); // reported below, once awaited
  await after;
  const [land, countries] = await topologies;
  const landObject = land.objects["land"] as GeometryCollection;
  const countryObject = countries.objects["countries"] as GeometryCollection;
  const landGeo = fixAntimeridian(feature(land, landObject) as GeoJSON.FeatureCollection | GeoJSON.Feature);
  const borderGeo = mesh(countries, countryObject, (a, b) => a !== b);
  LAND = landParts(landGeo);
  (map.getSource("land") as GeoJSONSource).setData(landGeo);
  (map.getSource("borders") as GeoJSONSource).setData(borderGeo);
}

let imageryFailure: ((why: string) => void) | null = null;
/** A failure before anyone listened (the map loads before the app's settings exist). */
let unheardFailure: string | null = null;

/** Hear when the imagery basemap fails and the map falls back to the bundled one. */
export function onImageryFailure(listener: (why: string) => void): void {
  imageryFailure = listener;
  if (unheardFailure !== null) listener(unheardFailure);
  unheardFailure = null;
}

function removeImagery(map: MapLibreMap): void {
  if (map.getLayer("imagery")) map.removeLayer("imagery");
  if (map.getSource("imagery")) map.removeSource("imagery");
  map.setLayoutProperty("land", "visibility", "visible");
}

export function imageryEnabled(): boolean {
  try {
    return localStorage.getItem(IMAGERY_KEY) === "1";
  } catch {
    return false;
  }
}

/** Turn the online imagery basemap on or off (and remember the choice). */
export function setImagery(map: MapLibreMap, on: boolean): void {
  try {
    localStorage.setItem(IMAGERY_KEY, on ? "1" : "0");
  } catch {
    // private mode: the setting just isn't remembered
  }
  if (on && !map.getSource("imagery")) {
    map.addSource("imagery", {
      type: "raster",
      tiles: [IMAGERY_TILES],
      tileSize: 256,
      maxzoom: 18,
      attribution: "Imagery © Esri, Maxar, Earthstar Geographics",
    });
    map.addLayer({ id: "imagery", type: "raster", source: "imagery" }, "coast");
    map.setLayoutProperty("land", "visibility", "none");
  } else if (!on) {
    removeImagery(map);
  }
}

/** The longest the bundled basemap waits for a first search (`createMap`). */
export const BASEMAP_WAIT_MS = 3000;

/**
 * Create the map in `container`; resolves once the style is loaded (sources can be
 * added). The bundled land and borders arrive a moment later: once `basemapAfter` settles
 * (a shared link's first search: tiling and drawing the land would take the cores its
 * reading needs, most of all where WebGL is rendered in software), or after
 * `BASEMAP_WAIT_MS` at the latest.
 */
export async function createMap(container: HTMLElement, basemapAfter: Promise<unknown> = Promise.resolve()): Promise<MapLibreMap> {
  const map = new MapLibreMap({
    container,
    style: offlineStyle(),
    center: [0, 20],
    zoom: 1.3,
    attributionControl: false,
    boxZoom: false,
    doubleClickZoom: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0,
    maxPitch: 0,
  });
  // imagery tiles that fail: fall back to the bundled map (once) and say why; any other
  // error is logged as MapLibre would without a listener
  map.on("error", (e) => {
    const source = (e as { sourceId?: string }).sourceId;
    if (source !== "imagery") {
      console.error(e.error);
      return;
    }
    if (!map.getSource("imagery")) return;
    removeImagery(map);
    const why = e.error instanceof Error ? e.error.message : String(e.error);
    if (imageryFailure === null) unheardFailure = why;
    else imageryFailure(why);
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new ScaleControl({ unit: "metric" }), "bottom-left");
  map.addControl(new AttributionControl({ compact: true }), "bottom-right");
  await new Promise<void>((resolve) => {
    if (map.loaded()) resolve();
    else map.once("load", () => resolve());
  });
  // the basemap fills in once the first search has its results (or after the wait)
  const after = Promise.race([basemapAfter.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, BASEMAP_WAIT_MS))]);
  loadBasemap(map, after).catch((err: unknown) => console.error("terrabit: the basemap failed to load", err));
  if (imageryEnabled()) setImagery(map, true);
  return map;
}

/** Where people live: the world without Antarctica and the high Arctic. */
export const POPULATED: BBox = [-170, -56, 180, 72];

/**
 * The first view of a corpus: its extent within the populated land (a world corpus
 * opens on the continents, not on Antarctica); the extent itself when they do not meet.
 */
export function firstView(extent: BBox): BBox {
  const [x0, y0, x1, y1] = extent;
  if (x0 > x1) return extent; // across the antimeridian: as it is
  const [p0, q0, p1, q1] = POPULATED;
  const b: BBox = [Math.max(x0, p0), Math.max(y0, q0), Math.min(x1, p1), Math.min(y1, q1)];
  return b[0] <= b[2] && b[1] <= b[3] ? b : extent;
}

/** The first view zooms in at most this far: a city-sized corpus (a pixel corpus of a few
 * AEF tiles) fills the view, its patches drawn, rather than a speck at zoom 6. */
export const FIRST_VIEW_MAX_ZOOM = 12;

/**
 * Show the first view of a corpus (`firstView`): fitted to its width, but never so far
 * out that the view reaches beyond its latitudes (a narrow window crops the sides rather
 * than show Antarctica).
 */
export function showFirstView(map: MapLibreMap, extent: BBox): void {
  const [x0, y0, x1, y1] = firstView(extent);
  const maxx = x0 > x1 ? x1 + 360 : x1;
  const whole = map.cameraForBounds([[x0, y0], [maxx, y1]], { padding: 20 });
  const cx = (x0 + maxx) / 2;
  const tall = map.cameraForBounds([[cx - 0.01, y0], [cx + 0.01, y1]], { padding: 20 });
  if (!whole || !tall) return;
  const zoom = Math.min(FIRST_VIEW_MAX_ZOOM, Math.max(whole.zoom ?? 0, tall.zoom ?? 0));
  map.jumpTo({ center: whole.center ?? [cx, (y0 + y1) / 2], zoom });
}

/**
 * Fit the map to a bbox (handles `minx > maxx`, the antimeridian); `animate: false` jumps
 * (the first view: a flight there would render a dozen frames while the first search reads).
 */
export function fitBBox(map: MapLibreMap, bbox: BBox, maxZoom = 12, animate = true): void {
  const [minx, miny, x1, maxy] = bbox;
  const maxx = minx > x1 ? x1 + 360 : x1;
  if (minx === maxx && miny === maxy) {
    const camera = { center: [minx, miny] as [number, number], zoom: Math.min(maxZoom, 10) };
    if (animate) map.flyTo(camera);
    else map.jumpTo(camera);
    return;
  }
  map.fitBounds(
    [
      [minx, miny],
      [maxx, maxy],
    ],
    { padding: 40, maxZoom, duration: animate ? 600 : 0 },
  );
}

export type { MapLibreMap };
