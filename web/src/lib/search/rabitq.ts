/**
 * RaBitQ's asymmetric estimator (as Python's `terrabit.codecs.rabitq.rabitq_scores` with
 * `query_bits=4`): a float query against the 1-bit codes of a `rabitq` corpus and their
 * correction factors (the `rabitq` column). Lower is more similar.
 *
 * With `Q` the codec's rotation, `c` its centre, `D` the dimension and `q_r = q Q - c`:
 * `q_r` is quantized to 16 uniform levels on `[min q_r, max q_r]`
 * (`q_r ≈ v_min + delta * L`, levels rounded half to even as numpy's `rint`), the kernel
 * (`lib/kernels/rabitq.ts`) gives per code the sum of `L` over its set bits and its popcount,
 * and from them `<x̄, q_r> = (2 * sum_{set} q_r - sum q_r) / sqrt(D)`,
 * `est = norm / ip_code * <x̄, q_r>`, and
 * - `"l2"`: `norm² + |q_r|² - 2 est` (the squared distance `|o - q|²`);
 * - `"ip"`: `-(est + ip_centroid + <q Q, c>)` (minus the inner product `<o, q>`);
 * - `"cos"`: `1 - <o, q> / (|o| |q|)` with that inner product and
 *   `|o|² = norm² + 2 ip_centroid + |c|²` (spec/corpus-v1.md §3.4; `0` where a norm is 0).
 */
import { bitPlanes, planeDots, QUERY_BITS } from "../kernels/rabitq";
import { f32Array } from "../corpus/arrays";

/** A fitted `rabitq` codec, from a manifest's `codec` entry. */
export interface RabitqCodec {
  dims: number;
  codeSize: number;
  /** `[dims, dims]`, row-major: `y = x @ rotation`. */
  rotation: Float32Array;
  /** `[dims]`, the centre in the rotated space. */
  center: Float32Array;
  /** `|center|²`. */
  cc: number;
}

/** What `rabitqScores` estimates: squared L2 distance, the negated inner product, or the
 * cosine distance. */
export type RabitqMetric = "l2" | "ip" | "cos";

/**
 * The codec described by `codec` (a manifest's `codec` metadata: `{spec, state}` as Python's
 * `Codec.to_dict()` writes it), or null when it is not a fitted `rabitq` quantizer (a chain
 * such as `pca:64+rabitq` is not scored here).
 */
export function rabitqCodec(codec: unknown): RabitqCodec | null {
  if (codec === null || typeof codec !== "object") return null;
  const o = codec as { spec?: unknown; state?: unknown };
  if (typeof o.spec !== "string" || o.spec.split(":")[0] !== "rabitq") return null;
  if (o.state === null || typeof o.state !== "object") return null;
  const state = o.state as Record<string, unknown>;
  const dims = Number(state["d_in_"]);
  const rotation = f32Array(state["rotation_"]);
  const center = f32Array(state["center_"]);
  if (!Number.isInteger(dims) || dims <= 0 || rotation === null || center === null) return null;
  if (rotation.length !== dims * dims || center.length !== dims) return null;
  let cc = 0;
  for (const c of center) cc += c * c;
  return { dims, codeSize: Math.ceil(dims / 8), rotation, center, cc };
}

/** A float query, rotated, centred and quantized for the kernel. */
export interface RabitqQuery {
  dims: number;
  codeSize: number;
  /** The levels `L_j` (0..15) of `q_r ≈ vMin + delta * L`. */
  levels: Int32Array;
  /** The levels' bit planes (`lib/kernels/rabitq.ts` `bitPlanes`). */
  planes: Uint8Array;
  vMin: number;
  delta: number;
  /** `sum q_r` of the quantized query: `delta * sum L + D * vMin`. */
  sumQ: number;
  /** `|q_r|²` of the float query. */
  qq: number;
  /** `<q Q, c>`. */
  yc: number;
  /** `|q Q|` (= `|q|`: the rotation keeps norms). */
  yNorm: number;
  /** `|c|²`. */
  cc: number;
}

/** numpy's `rint`: round to nearest, ties to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Rotate and centre `vector` (float32, as Python casts it; each rotated value rounded to
 * float32, as numpy's float32 product) and quantize it to 4 bits as Python's `_quantize_query`.
 */
export function prepareRabitqQuery(codec: RabitqCodec, vector: ArrayLike<number>): RabitqQuery {
  const d = codec.dims;
  if (vector.length !== d) throw new Error(`the query has ${vector.length} dimensions, the codec ${d}`);
  const q = Float32Array.from(vector);
  const qr = new Float64Array(d);
  let yc = 0;
  let yy = 0;
  let qq = 0;
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (q[k] as number) * (codec.rotation[k * d + j] as number);
    const y = Math.fround(s);
    const c = codec.center[j] as number;
    qr[j] = y - c;
    yc += y * c;
    yy += y * y;
    qq += (qr[j] as number) * (qr[j] as number);
  }
  let vMin = Infinity;
  let vMax = -Infinity;
  for (const v of qr) {
    vMin = Math.min(vMin, v);
    vMax = Math.max(vMax, v);
  }
  const top = (1 << QUERY_BITS) - 1;
  let delta = (vMax - vMin) / top;
  const levels = new Int32Array(d);
  if (delta > 0) {
    for (let j = 0; j < d; j++) levels[j] = Math.min(top, Math.max(0, rint(((qr[j] as number) - vMin) / delta)));
  } else {
    delta = 0;
  }
  let sumLevels = 0;
  for (const l of levels) sumLevels += l;
  const sumQ = delta * sumLevels + d * vMin;
  return { dims: d, codeSize: codec.codeSize, levels, planes: bitPlanes(levels, codec.codeSize), vMin, delta, sumQ, qq, yc, yNorm: Math.sqrt(yy), cc: codec.cc };
}

/**
 * The estimates of `n` codes from the kernel's output `dotsPops` (dots in `[0, n)`, pops in
 * `[n, 2n)`) and their factors (`3 n`, from `decodeFactors`), into `out`.
 */
export function rabitqEstimates(
  query: RabitqQuery,
  dotsPops: Int32Array,
  factors: ArrayLike<number>,
  metric: RabitqMetric,
  out: Float64Array = new Float64Array(dotsPops.length >> 1),
): Float64Array {
  const n = dotsPops.length >> 1;
  const sqrtD = Math.sqrt(query.dims);
  const { delta, vMin, sumQ, qq, yc, yNorm, cc } = query;
  for (let i = 0; i < n; i++) {
    const dot = delta * (dotsPops[i] as number) + vMin * (dotsPops[n + i] as number);
    const ipXq = (2 * dot - sumQ) / sqrtD;
    const norm = factors[3 * i] as number;
    const ipCode = factors[3 * i + 1] as number;
    const est = (norm / (ipCode !== 0 ? ipCode : 1)) * ipXq;
    if (metric === "l2") {
      out[i] = norm * norm + qq - 2 * est;
      continue;
    }
    const ipCentroid = factors[3 * i + 2] as number;
    const ip = est + ipCentroid + yc;
    if (metric === "ip") {
      out[i] = -ip;
      continue;
    }
    const denom = Math.sqrt(Math.max(norm * norm + 2 * ipCentroid + cc, 0)) * yNorm;
    out[i] = 1 - (denom > 0 ? ip / denom : 0);
  }
  return out;
}

/** `rabitqEstimates` of every code in `codes` (`codeSize` bytes each) for a prepared query. */
export function rabitqScores(
  query: RabitqQuery,
  codes: Uint8Array,
  factors: ArrayLike<number>,
  metric: RabitqMetric,
): Float64Array {
  const n = Math.floor(codes.length / query.codeSize);
  if (factors.length < 3 * n) throw new Error(`${n} codes but factors for ${Math.floor(factors.length / 3)} rows`);
  return rabitqEstimates(query, planeDots(query.planes, codes, query.codeSize), factors, metric);
}
