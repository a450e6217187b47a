/**
 * Natural Earth's land (npm `world-atlas`, TopoJSON) keeps a few rings whole across the
 * antimeridian (Wrangel Island, Chukotka's coast, a Fiji islet): a ring steps from
 * −179.7° to 179.9°, and a renderer joins them across the whole map — the horizontal
 * lines at ~65–72° N and ~16° S and the wedge in the Bering Sea. `fixAntimeridian`
 * unwraps such rings (179.9° becomes −180.1°), which MapLibre draws where they belong.
 */

type Ring = number[][];

/**
 * A ring unwrapped so that no step jumps more than 180° of longitude. A ring that goes
 * around a pole (Antarctica: unwrapping would not close it) is left as it is.
 */
export function fixRing(ring: Ring): Ring {
  let out: Ring | null = null;
  let shift = 0;
  for (let i = 1; i < ring.length; i++) {
    const step = ((ring[i] as number[])[0] as number) + shift - (((out ?? ring)[i - 1] as number[])[0] as number);
    if (step > 180) shift -= 360;
    else if (step < -180) shift += 360;
    if (shift !== 0) {
      out ??= ring.map((p) => p.slice());
      (out[i] as number[])[0] = ((ring[i] as number[])[0] as number) + shift;
    }
  }
  if (out === null) return ring;
  const first = (out[0] as number[])[0] as number;
  const last = (out[out.length - 1] as number[])[0] as number;
  if (Math.abs(last - first) > 180) return ring;
  // a ring that starts on the far side (Eurasia's starts at Chukotka's −180°) is moved
  // back whole, so that most of it lies in [−180°, 180°]
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of out) {
    lo = Math.min(lo, p[0] as number);
    hi = Math.max(hi, p[0] as number);
  }
  const back = -360 * Math.round((lo + hi) / 2 / 360);
  if (back !== 0) for (const p of out) p[0] = (p[0] as number) + back;
  return out;
}

/** The same geometry with every polygon ring fixed (see the module notes). */
export function fixGeometry(g: GeoJSON.Geometry): GeoJSON.Geometry {
  if (g.type === "Polygon") return { ...g, coordinates: g.coordinates.map(fixRing) };
  if (g.type === "MultiPolygon") return { ...g, coordinates: g.coordinates.map((poly) => poly.map(fixRing)) };
  if (g.type === "GeometryCollection") return { ...g, geometries: g.geometries.map(fixGeometry) };
  return g;
}

/** A feature collection (or one feature) with its polygon rings fixed. */
export function fixAntimeridian<T extends GeoJSON.FeatureCollection | GeoJSON.Feature>(data: T): T {
  if (data.type === "Feature") return { ...data, geometry: fixGeometry(data.geometry) };
  return { ...data, features: data.features.map((f) => ({ ...f, geometry: fixGeometry(f.geometry) })) };
}
