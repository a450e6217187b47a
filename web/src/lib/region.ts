/**
 * Search regions (rectangles and polygons, antimeridian aware) and the exact geometry
 * tests a search runs, as `terrabit.region` + shapely's `intersects` (boundaries count).
 */
import { TerrabitError } from "./errors";
import type { BBox, RegionSpec } from "./types";

type Ring = number[][];
/** A polygon: outer ring first, then holes. */
type Poly = Ring[];

export interface Region {
  /** Non-crossing boxes covering the region (one per part), for pruning. */
  boxes: BBox[];
  /** The region's polygon parts, each within [-180, 180]. */
  polygons: Poly[];
  /** The rectangular parts: a row whose bbox lies inside one needs no geometry test. */
  rects: BBox[];
}

export const WORLD: BBox = [-180, -90, 180, 90];

function checkBox(b: readonly number[], where: string): BBox {
  if (b.length !== 4 || !b.every((v) => Number.isFinite(v))) {
    throw new TerrabitError(`${where} must be 4 finite numbers minx,miny,maxx,maxy`);
  }
  const [x0, y0, x1, y1] = b as BBox;
  if (Math.abs(x0) > 180 || Math.abs(x1) > 180 || Math.abs(y0) > 90 || Math.abs(y1) > 90) {
    throw new TerrabitError(
      `${where} [${b.join(", ")}] is out of range: lon in [-180, 180], lat in [-90, 90] (lon first)`,
    );
  }
  if (y0 > y1) {
    throw new TerrabitError(`${where} [${b.join(", ")}] has miny > maxy; give minx,miny,maxx,maxy`);
  }
  return [x0, y0, x1, y1];
}

function boxPoly(x0: number, y0: number, x1: number, y1: number): Poly {
  return [
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ],
  ];
}

function ringBounds(ring: Ring): BBox {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of ring) {
    const x = p[0] ?? 0;
    const y = p[1] ?? 0;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

/** Clip a ring to `x <= at` (keep = "below") or `x >= at` ("above"), Sutherland–Hodgman. */
function clipRing(ring: Ring, at: number, keep: "below" | "above"): Ring {
  const inside = (p: number[]): boolean =>
    keep === "below" ? (p[0] ?? 0) <= at : (p[0] ?? 0) >= at;
  const out: Ring = [];
  const pts = ring.slice(0, -1);
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i] as number[];
    const b = pts[(i + 1) % pts.length] as number[];
    const ia = inside(a);
    const ib = inside(b);
    if (ia) out.push([a[0] ?? 0, a[1] ?? 0]);
    if (ia !== ib) {
      const ax = a[0] ?? 0;
      const ay = a[1] ?? 0;
      const t = (at - ax) / ((b[0] ?? 0) - ax);
      out.push([at, ay + t * ((b[1] ?? 0) - ay)]);
    }
  }
  if (out.length) out.push([...(out[0] as number[])]);
  return out;
}

function polygonParts(coords: Poly, where: string): Poly[] {
  const rings = coords.map((ring) => {
    if (ring.length < 4) {
      throw new TerrabitError(`${where}: a polygon ring needs at least 4 positions (closed)`);
    }
    const closed = ring.map((p) => {
      const x = Number(p[0]);
      const y = Number(p[1]);
      if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(y) > 90) {
        throw new TerrabitError(`${where}: position ${JSON.stringify(p)} is not a lon,lat pair`);
      }
      return [x, y];
    });
    const first = closed[0] as number[];
    const last = closed[closed.length - 1] as number[];
    if (first[0] !== last[0] || first[1] !== last[1]) closed.push([...first]);
    return closed;
  });
  const crosses = rings.some((ring) =>
    ring.some((p, i) => i > 0 && Math.abs((p[0] ?? 0) - ((ring[i - 1] as number[])[0] ?? 0)) > 180),
  );
  if (!crosses) {
    const b = ringBounds(rings[0] as Ring);
    if (b[0] < -180 || b[2] > 180) {
      throw new TerrabitError(`${where}: longitudes must lie in [-180, 180]`);
    }
    return [rings];
  }
  // the shorter way round: unwrap negative longitudes past 180, split at 180
  const unwrapped = rings.map((ring) => ring.map((p) => [(p[0] ?? 0) < 0 ? (p[0] ?? 0) + 360 : (p[0] ?? 0), p[1] ?? 0]));
  const west = unwrapped.map((r) => clipRing(r, 180, "below")).filter((r) => r.length >= 4);
  const east = unwrapped
    .map((r) => clipRing(r, 180, "above").map((p) => [(p[0] ?? 0) - 360, p[1] ?? 0]))
    .filter((r) => r.length >= 4);
  return [west, east].filter((p) => p.length > 0);
}

/** The region of a query's specs; `null` means the whole Earth (no region given). */
export function regionFromSpecs(specs: readonly RegionSpec[]): Region | null {
  if (specs.length === 0) return null;
  const polygons: Poly[] = [];
  const rects: BBox[] = [];
  specs.forEach((spec, i) => {
    const where = `region ${i + 1}`;
    if (spec.kind === "bbox") {
      const [x0, y0, x1, y1] = checkBox(spec.bbox, where);
      if (x0 > x1) {
        polygons.push(boxPoly(-180, y0, x1, y1), boxPoly(x0, y0, 180, y1));
        rects.push([-180, y0, x1, y1], [x0, y0, 180, y1]);
      } else {
        polygons.push(boxPoly(x0, y0, x1, y1));
        rects.push([x0, y0, x1, y1]);
      }
    } else {
      const g = spec.geometry;
      const list = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      for (const coords of list) polygons.push(...polygonParts(coords as Poly, where));
    }
  });
  const boxes = polygons.map((p) => ringBounds(p[0] as Ring));
  return { boxes, polygons, rects };
}

/** Does the box `[x0, y0, x1, y1]` meet any of `boxes` (edges count)? */
export function overlapsAny(x0: number, y0: number, x1: number, y1: number, boxes: readonly BBox[]): boolean {
  for (const [qx0, qy0, qx1, qy1] of boxes) {
    if (x0 <= qx1 && x1 >= qx0 && y0 <= qy1 && y1 >= qy0) return true;
  }
  return false;
}

// ------------------------------------------------------------------ exact predicates

/** -1 / 0 / 1: point p against ring (0 = on the boundary). Even-odd rule. */
function ringSide(x: number, y: number, ring: Ring): number {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i] as number[];
    const b = ring[j] as number[];
    const ax = a[0] ?? 0;
    const ay = a[1] ?? 0;
    const bx = b[0] ?? 0;
    const by = b[1] ?? 0;
    // on the segment?
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (
      cross === 0 &&
      Math.min(ax, bx) <= x &&
      x <= Math.max(ax, bx) &&
      Math.min(ay, by) <= y &&
      y <= Math.max(ay, by)
    ) {
      return 0;
    }
    if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside ? 1 : -1;
}

/** Is the point in or on the polygon (holes excluded, their boundary included)? */
export function pointInPoly(x: number, y: number, poly: Poly): boolean {
  const outer = ringSide(x, y, poly[0] as Ring);
  if (outer < 0) return false;
  if (outer === 0) return true;
  for (let h = 1; h < poly.length; h++) {
    if (ringSide(x, y, poly[h] as Ring) > 0) return false;
  }
  return true;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSeg(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean {
  return Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);
}

function segmentsMeet(a: number[], b: number[], c: number[], d: number[]): boolean {
  const [ax = 0, ay = 0] = a;
  const [bx = 0, by = 0] = b;
  const [cx = 0, cy = 0] = c;
  const [dx = 0, dy = 0] = d;
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 !== o2 && o3 !== o4) return true;
  if (o1 === 0 && onSeg(ax, ay, bx, by, cx, cy)) return true;
  if (o2 === 0 && onSeg(ax, ay, bx, by, dx, dy)) return true;
  if (o3 === 0 && onSeg(cx, cy, dx, dy, ax, ay)) return true;
  if (o4 === 0 && onSeg(cx, cy, dx, dy, bx, by)) return true;
  return false;
}

interface Parts {
  points: number[][];
  lines: Ring[];
  polys: Poly[];
}

function parts(g: GeoJSON.Geometry, out: Parts = { points: [], lines: [], polys: [] }): Parts {
  switch (g.type) {
    case "Point":
      out.points.push(g.coordinates);
      break;
    case "MultiPoint":
      out.points.push(...g.coordinates);
      break;
    case "LineString":
      out.lines.push(g.coordinates);
      break;
    case "MultiLineString":
      out.lines.push(...g.coordinates);
      break;
    case "Polygon":
      out.polys.push(g.coordinates);
      break;
    case "MultiPolygon":
      out.polys.push(...g.coordinates);
      break;
    case "GeometryCollection":
      for (const c of g.geometries) parts(c, out);
      break;
  }
  return out;
}

function polyMeetsPoly(a: Poly, b: Poly): boolean {
  const [ax0, ay0, ax1, ay1] = ringBounds(a[0] as Ring);
  if (!overlapsAny(ax0, ay0, ax1, ay1, [ringBounds(b[0] as Ring)])) return false;
  for (const ring of a) for (const p of ring) if (pointInPoly(p[0] ?? 0, p[1] ?? 0, b)) return true;
  for (const ring of b) for (const p of ring) if (pointInPoly(p[0] ?? 0, p[1] ?? 0, a)) return true;
  for (const ra of a) {
    for (let i = 1; i < ra.length; i++) {
      for (const rb of b) {
        for (let j = 1; j < rb.length; j++) {
          if (segmentsMeet(ra[i - 1] as number[], ra[i] as number[], rb[j - 1] as number[], rb[j] as number[])) {
            return true;
          }
        }
      }
    }
  }
  return false;
}

function lineMeetsPoly(line: Ring, b: Poly): boolean {
  for (const p of line) if (pointInPoly(p[0] ?? 0, p[1] ?? 0, b)) return true;
  for (let i = 1; i < line.length; i++) {
    for (const rb of b) {
      for (let j = 1; j < rb.length; j++) {
        if (segmentsMeet(line[i - 1] as number[], line[i] as number[], rb[j - 1] as number[], rb[j] as number[])) {
          return true;
        }
      }
    }
  }
  return false;
}

/** Is the box inside one rectangular part of the region (so surely in it)? */
export function insideRect(region: Region, x0: number, y0: number, x1: number, y1: number): boolean {
  for (const [rx0, ry0, rx1, ry1] of region.rects) {
    if (x0 >= rx0 && x1 <= rx1 && y0 >= ry0 && y1 <= ry1) return true;
  }
  return false;
}

/** Does `geometry` intersect the region (shapely `intersects`: touching counts)? */
export function regionIntersects(region: Region, geometry: GeoJSON.Geometry): boolean {
  const p = parts(geometry);
  for (const poly of region.polygons) {
    for (const pt of p.points) if (pointInPoly(pt[0] ?? 0, pt[1] ?? 0, poly)) return true;
    for (const line of p.lines) if (lineMeetsPoly(line, poly)) return true;
    for (const q of p.polys) if (polyMeetsPoly(q, poly)) return true;
  }
  return false;
}

/** Does `geometry` contain the point (boundary included)? */
export function geometryCovers(geometry: GeoJSON.Geometry, lon: number, lat: number): boolean {
  const p = parts(geometry);
  for (const poly of p.polys) if (pointInPoly(lon, lat, poly)) return true;
  for (const pt of p.points) if (pt[0] === lon && pt[1] === lat) return true;
  for (const line of p.lines) {
    for (let i = 1; i < line.length; i++) {
      const a = line[i - 1] as number[];
      const b = line[i] as number[];
      if (
        orient(a[0] ?? 0, a[1] ?? 0, b[0] ?? 0, b[1] ?? 0, lon, lat) === 0 &&
        onSeg(a[0] ?? 0, a[1] ?? 0, b[0] ?? 0, b[1] ?? 0, lon, lat)
      ) {
        return true;
      }
    }
  }
  return false;
}

/** The bbox of any GeoJSON geometries (`null` when there are none). */
export function boundsOf(geometries: GeoJSON.Geometry[]): BBox | null {
  let minx = Infinity;
  let miny = Infinity;
  let maxx = -Infinity;
  let maxy = -Infinity;
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      const [x, y] = c as number[];
      if (x === undefined || y === undefined) return;
      minx = Math.min(minx, x);
      maxx = Math.max(maxx, x);
      miny = Math.min(miny, y);
      maxy = Math.max(maxy, y);
    } else if (Array.isArray(c)) {
      for (const inner of c) visit(inner);
    }
  };
  for (const g of geometries) {
    if (g.type === "GeometryCollection") {
      const b = boundsOf(g.geometries);
      if (b) visit([b.slice(0, 2), b.slice(2, 4)]);
    } else {
      visit(g.coordinates);
    }
  }
  return Number.isFinite(minx) ? [minx, miny, maxx, maxy] : null;
}
