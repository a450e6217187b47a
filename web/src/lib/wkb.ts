/**
 * ISO WKB <-> GeoJSON for the 2-D geometry types a corpus holds.
 */
import { TerrabitError } from "./errors";

type Position = number[];

class Reader {
  private offset = 0;
  private little = true;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  geometry(): GeoJSON.Geometry {
    this.little = this.view.getUint8(this.offset) === 1;
    this.offset += 1;
    const raw = this.view.getUint32(this.offset, this.little);
    this.offset += 4;
    let type = raw;
    let dims = 2;
    if (raw & 0x80000000 || raw & 0x40000000) {
      // EWKB flags: Z / M; SRID
      dims += (raw & 0x80000000 ? 1 : 0) + (raw & 0x40000000 ? 1 : 0);
      if (raw & 0x20000000) this.offset += 4;
      type = raw & 0xffff;
    } else if (raw >= 1000) {
      dims = raw >= 3000 ? 4 : 3;
      type = raw % 1000;
    }
    switch (type) {
      case 1:
        return { type: "Point", coordinates: this.point(dims) };
      case 2:
        return { type: "LineString", coordinates: this.points(dims) };
      case 3:
        return { type: "Polygon", coordinates: this.rings(dims) };
      case 4:
        return { type: "MultiPoint", coordinates: this.many((g) => (g as GeoJSON.Point).coordinates) };
      case 5:
        return {
          type: "MultiLineString",
          coordinates: this.many((g) => (g as GeoJSON.LineString).coordinates),
        };
      case 6:
        return {
          type: "MultiPolygon",
          coordinates: this.many((g) => (g as GeoJSON.Polygon).coordinates),
        };
      case 7: {
        const n = this.count();
        const geometries: GeoJSON.Geometry[] = [];
        for (let i = 0; i < n; i++) geometries.push(this.geometry());
        return { type: "GeometryCollection", geometries };
      }
      default:
        throw new TerrabitError(`unsupported WKB geometry type ${raw}`, "format");
    }
  }

  private count(): number {
    const n = this.view.getUint32(this.offset, this.little);
    this.offset += 4;
    return n;
  }

  private point(dims: number): Position {
    const out: Position = [];
    for (let d = 0; d < dims; d++) {
      const v = this.view.getFloat64(this.offset, this.little);
      this.offset += 8;
      if (d < 2) out.push(v);
    }
    return out;
  }

  private points(dims: number): Position[] {
    const n = this.count();
    const out: Position[] = [];
    for (let i = 0; i < n; i++) out.push(this.point(dims));
    return out;
  }

  private rings(dims: number): Position[][] {
    const n = this.count();
    const out: Position[][] = [];
    for (let i = 0; i < n; i++) out.push(this.points(dims));
    return out;
  }

  private many<T>(pick: (g: GeoJSON.Geometry) => T): T[] {
    const n = this.count();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(pick(this.geometry()));
    return out;
  }
}

/** Parse WKB (ISO or EWKB, either byte order; Z/M dropped) to a GeoJSON geometry. */
export function wkbToGeoJSON(bytes: Uint8Array): GeoJSON.Geometry {
  try {
    return new Reader(bytes).geometry();
  } catch (err) {
    if (err instanceof TerrabitError) throw err;
    throw new TerrabitError(`a geometry is not valid WKB (${String(err)})`, "format");
  }
}

/** GeoJSON geometry -> little-endian 2-D ISO WKB. */
export function geoJSONToWkb(geometry: GeoJSON.Geometry): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const u8 = (v: number): void => {
    const b = new Uint8Array([v]);
    chunks.push(b);
    size += 1;
  };
  const u32 = (v: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    chunks.push(b);
    size += 4;
  };
  const f64s = (xs: Position): void => {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setFloat64(0, xs[0] ?? NaN, true);
    dv.setFloat64(8, xs[1] ?? NaN, true);
    chunks.push(b);
    size += 16;
  };
  const ring = (pts: Position[]): void => {
    u32(pts.length);
    for (const p of pts) f64s(p);
  };
  const write = (g: GeoJSON.Geometry): void => {
    u8(1);
    switch (g.type) {
      case "Point":
        u32(1);
        f64s(g.coordinates);
        break;
      case "LineString":
        u32(2);
        ring(g.coordinates);
        break;
      case "Polygon":
        u32(3);
        u32(g.coordinates.length);
        for (const r of g.coordinates) ring(r);
        break;
      case "MultiPoint":
        u32(4);
        u32(g.coordinates.length);
        for (const p of g.coordinates) write({ type: "Point", coordinates: p });
        break;
      case "MultiLineString":
        u32(5);
        u32(g.coordinates.length);
        for (const l of g.coordinates) write({ type: "LineString", coordinates: l });
        break;
      case "MultiPolygon":
        u32(6);
        u32(g.coordinates.length);
        for (const p of g.coordinates) write({ type: "Polygon", coordinates: p });
        break;
      case "GeometryCollection":
        u32(7);
        u32(g.geometries.length);
        for (const c of g.geometries) write(c);
        break;
    }
  };
  write(geometry);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
