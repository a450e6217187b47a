/**
 * Geohashes (standard base-32 alphabet, longitude bit first), as `terrabit.geohash`:
 * classic bisection where `value >= mid` goes to the upper half.
 */
import { TerrabitError } from "./errors";
import type { BBox } from "./types";

export const ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz";
export const MAX_PRECISION = 12;

function checkPrecision(precision: number): void {
  if (!Number.isInteger(precision) || precision < 1 || precision > MAX_PRECISION) {
    throw new TerrabitError(
      `geohash precision must be an integer from 1 to ${MAX_PRECISION}, got ${precision}`,
    );
  }
}

/** The geohash of a point (`lon` in [-180, 180], 180 wrapping to -180; `lat` in [-90, 90]). */
export function encode(lonIn: number, lat: number, precision = 9): string {
  let lon = lonIn;
  checkPrecision(precision);
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
    throw new TerrabitError(
      `geohash needs lon in [-180, 180] and lat in [-90, 90], got (${lon}, ${lat})`,
    );
  }
  if (lon === 180) lon = -180; // the same meridian (as terrabit.geohash)
  let lo0 = -180;
  let lo1 = 180;
  let la0 = -90;
  let la1 = 90;
  let out = "";
  let even = true;
  for (let c = 0; c < precision; c++) {
    let digit = 0;
    for (let b = 0; b < 5; b++) {
      if (even) {
        const mid = (lo0 + lo1) / 2;
        if (lon >= mid) {
          digit = (digit << 1) | 1;
          lo0 = mid;
        } else {
          digit <<= 1;
          lo1 = mid;
        }
      } else {
        const mid = (la0 + la1) / 2;
        if (lat >= mid) {
          digit = (digit << 1) | 1;
          la0 = mid;
        } else {
          digit <<= 1;
          la1 = mid;
        }
      }
      even = !even;
    }
    out += ALPHABET.charAt(digit);
  }
  return out;
}

/** The cell box `[minx, miny, maxx, maxy]` of a geohash. */
export function bbox(hash: string): BBox {
  if (hash.length < 1 || hash.length > MAX_PRECISION) {
    throw new TerrabitError(
      `a geohash has 1 to ${MAX_PRECISION} characters, got ${JSON.stringify(hash)}`,
    );
  }
  let lo0 = -180;
  let lo1 = 180;
  let la0 = -90;
  let la1 = 90;
  let even = true;
  for (const ch of hash) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) {
      throw new TerrabitError(
        `${JSON.stringify(hash)} is not a geohash: the alphabet is "${ALPHABET}" (lowercase)`,
      );
    }
    for (let b = 4; b >= 0; b--) {
      const bit = (digit >> b) & 1;
      if (even) {
        const mid = (lo0 + lo1) / 2;
        if (bit) lo0 = mid;
        else lo1 = mid;
      } else {
        const mid = (la0 + la1) / 2;
        if (bit) la0 = mid;
        else la1 = mid;
      }
      even = !even;
    }
  }
  return [lo0, la0, lo1, la1];
}

/** The centre `[lon, lat]` of a geohash cell. */
export function decode(hash: string): [number, number] {
  const [x0, y0, x1, y1] = bbox(hash);
  return [(x0 + x1) / 2, (y0 + y1) / 2];
}
