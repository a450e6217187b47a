/**
 * Heat colours for a view's values: a perceptual ramp (dark purple -> red -> yellow,
 * like matplotlib's "inferno") where the better end of the legend is the hotter colour.
 */
import type { Legend } from "./types";

export type RGB = [number, number, number];

/** Inferno, 9 evenly spaced stops (0 = cold, 1 = hot). */
export const RAMP: readonly RGB[] = [
  [0, 0, 4],
  [31, 12, 72],
  [85, 15, 109],
  [136, 34, 106],
  [186, 54, 85],
  [227, 89, 51],
  [249, 140, 10],
  [249, 201, 50],
  [252, 255, 164],
];

/** Where `value` falls on the legend, 0 (cold) … 1 (hot), clamped. */
export function heat(value: number, legend: Legend): number {
  const span = legend.max - legend.min;
  let t = span > 0 ? (value - legend.min) / span : 0;
  if (!Number.isFinite(t)) t = 0;
  t = Math.min(1, Math.max(0, t));
  return legend.lowerIsBetter ? 1 - t : t;
}

function ramp(t: number): RGB {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i] as RGB;
  const b = RAMP[i + 1] as RGB;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** The colour of `value` on `legend`. */
export function colorFor(value: number, legend: Legend): RGB {
  // keep the coldest end visible on a dark or light map: start the ramp at 15 %
  return ramp(0.15 + 0.85 * heat(value, legend));
}

/** Stops from `legend.min` to `legend.max` (ascending values) with their colours. */
export function legendStops(legend: Legend, count = 6): { value: number; color: RGB }[] {
  const n = Math.max(2, count);
  return Array.from({ length: n }, (_, i) => {
    const value = legend.min + ((legend.max - legend.min) * i) / (n - 1);
    return { value, color: colorFor(value, legend) };
  });
}
