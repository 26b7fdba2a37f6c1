/** Small statistics helpers shared by the runner and the load generators. */

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function pct(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function dist(values: ArrayLike<number>): Dist {
  const a = Float64Array.from(values as ArrayLike<number>).sort();
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]!;
  return {
    n: a.length,
    p50: round(pct(a, 0.5)),
    p95: round(pct(a, 0.95)),
    p99: round(pct(a, 0.99)),
    max: round(a.length ? a[a.length - 1]! : NaN),
    mean: round(a.length ? sum / a.length : NaN),
  };
}

/** Concatenate typed/plain arrays into one Float64Array. */
export function concat(parts: ArrayLike<number>[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, o);
    o += p.length;
  }
  return out;
}

export function median(values: number[]): number {
  const a = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

export function round(v: number, digits = 2): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Median, field by field, of several run records of the same shape. Numbers take the median;
 * nested objects recurse; anything else is taken from the first run.
 */
export function medianRecord<T>(runs: T[]): T {
  if (runs.length === 0) throw new Error('no runs');
  const first = runs[0] as unknown;
  if (typeof first === 'number') return median(runs as unknown as number[]) as unknown as T;
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(first as object)) {
      out[k] = medianRecord(runs.map((r) => (r as Record<string, unknown>)[k]));
    }
    return out as T;
  }
  return first as T;
}

/** Sum of a numeric field over records. */
export function sum(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
