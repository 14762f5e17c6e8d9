/** What the x axis of the charts measures: the step, the time since the run was created, or the wall clock. */
export type XMode = 'step' | 'relative' | 'wall';

export const X_MODES: readonly { mode: XMode; label: string }[] = [
  { mode: 'step', label: 'step' },
  { mode: 'relative', label: 'relative time' },
  { mode: 'wall', label: 'wall clock' },
];

/** The x mode of a URL parameter (`x=relative`); anything else is the step. */
export function parseXMode(value: string | null): XMode {
  return value === 'relative' || value === 'wall' ? value : 'step';
}

/**
 * A point's x in seconds for a time axis: since `originMs` (relative) or since the epoch (wall,
 * as uPlot's time scale wants). Timestamps are milliseconds since the epoch.
 */
export function timeX(tsMs: number, mode: 'relative' | 'wall', originMs: number): number {
  return mode === 'wall' ? tsMs / 1000 : (tsMs - originMs) / 1000;
}

/** Tick steps for a relative-time axis, in seconds: round durations. */
export const DURATION_INCRS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
  3600, 7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000,
];

/** A duration in seconds, short: `250ms`, `45s`, `12m`, `12m30s`, `2h`, `1h05m`, `3d4h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s === 0) return '0s';
  if (s < 1) return `${sign}${Number((s * 1000).toPrecision(3))}ms`;
  if (s < 60) return `${sign}${Number(s.toPrecision(3))}s`;
  const total = Math.round(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${sign}${d}d${h ? `${h}h` : ''}`;
  if (h > 0) return `${sign}${h}h${m ? String(m).padStart(2, '0') : ''}`;
  return `${sign}${m}m${sec ? `${String(sec).padStart(2, '0')}s` : ''}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * A wall-clock tick (seconds since the epoch) in local time: `HH:MM:SS` when the axis spans less
 * than ten minutes, `HH:MM` within a day, `MM-DD HH:MM` beyond.
 */
export function formatWall(seconds: number, spanSeconds: number): string {
  const d = new Date(seconds * 1000);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (spanSeconds < 600) {
    const ms = d.getMilliseconds();
    const base = `${hm}:${pad2(d.getSeconds())}`;
    return spanSeconds <= 10 && ms ? `${base}.${String(ms).padStart(3, '0')}` : base;
  }
  if (spanSeconds < 86400) return hm;
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}`;
}

/** The value at quantile q (0..1) of sorted numbers, interpolated. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The quantiles the "clip outliers" y range is made of, and the margin added around them. */
export const CLIP_QUANTILES = { low: 0.05, high: 0.95, margin: 0.1 } as const;

/**
 * The y range that clips outliers: from the 5th to the 95th percentile of the values, widened by
 * 10% of that span on each side (in log space on a log axis), never beyond the data itself.
 * Null when there is nothing to clip (fewer than 10 values, or every value inside the range).
 */
export function clippedRange(
  values: Iterable<number | null>,
  log = false,
): { min: number; max: number } | null {
  const finite: number[] = [];
  for (const v of values) {
    if (v === null || !Number.isFinite(v) || (log && v <= 0)) continue;
    finite.push(log ? Math.log10(v) : v);
  }
  if (finite.length < 10) return null;
  finite.sort((a, b) => a - b);
  const lo = quantile(finite, CLIP_QUANTILES.low);
  const hi = quantile(finite, CLIP_QUANTILES.high);
  const margin = (hi - lo) * CLIP_QUANTILES.margin || Math.abs(hi) * 0.05 || 1;
  const min = Math.max(finite[0]!, lo - margin);
  const max = Math.min(finite.at(-1)!, hi + margin);
  if (min <= finite[0]! && max >= finite.at(-1)!) return null;
  if (!(max > min)) return null;
  return log ? { min: 10 ** min, max: 10 ** max } : { min, max };
}
