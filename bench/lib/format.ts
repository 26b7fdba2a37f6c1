/** Number formats of the generated tables and analysis ('–' for a figure that was not measured). */
const finite = (v: number | undefined): v is number => v !== undefined && v !== null && Number.isFinite(v);

export const n0 = (v: number | undefined) => (finite(v) ? Math.round(v).toLocaleString('en-US') : '–');
export const n1 = (v: number | undefined) => (finite(v) ? (Math.round(v * 10) / 10).toLocaleString('en-US') : '–');
export const n2 = (v: number | undefined) => (finite(v) ? (Math.round(v * 100) / 100).toString() : '–');

/** A median with the spread of its runs: "10,912 (10,800–11,020, 3 runs)"; one run: the figure alone. */
export function spread(median: number, min: number | undefined, max: number | undefined, runs: number, f = n0): string {
  if (runs <= 1 || min === undefined || max === undefined) return f(median);
  return `${f(median)} (${f(min)}–${f(max)}, ${runs} runs)`;
}

/** A ratio as "6.01×". */
export const times = (v: number | undefined) => (finite(v) ? `${n2(v)}×` : '–');
