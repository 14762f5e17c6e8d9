import { encodeValue, type MetricPoint, type MetricSeries } from '@swanlog/protocol';
import type { Series } from '@swanlog/store';
import { downsample } from './downsample.js';

export const DEFAULT_MAX_POINTS = 10_000;

export interface MetricQuery {
  maxPoints?: number;
  from?: number;
  to?: number;
  superseded?: boolean;
}

/**
 * The metrics answer (docs/api.md) from a series built by the visible-series rule: the points with
 * `from ≤ step ≤ to`, the visible ones downsampled to `maxPoints` (each bucket keeps its extremes)
 * and, when the series carries them, every superseded point. Shared by the server and `swanlog watch`.
 */
export function seriesResponse(series: Series, query: MetricQuery): MetricSeries {
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  // Steps are sorted: the range is one slice, found by binary search.
  const lo = firstAtOrAbove(series.steps, from);
  const hi = firstAtOrAbove(series.steps, to + 1);
  const marks = series.superseded;
  let count = 0;
  for (let i = lo; i < hi; i++) if (marks?.[i] !== 1) count++;
  const visible = new Int32Array(count);
  for (let i = lo, k = 0; i < hi; i++) if (marks?.[i] !== 1) visible[k++] = i;
  const maxPoints = query.maxPoints ?? DEFAULT_MAX_POINTS;
  const downsampled = visible.length > maxPoints;
  const kept = downsampled ? downsample(series, visible, maxPoints) : visible;
  const point = (i: number): MetricPoint => ({
    step: series.steps[i]!,
    value: encodeValue(series.values[i]!),
    ts: series.ts[i]!,
  });
  const points: MetricPoint[] = [];
  if (marks === undefined) {
    for (let k = 0; k < kept.length; k++) points.push(point(kept[k]!));
  } else {
    // Superseded points are never downsampled away: merge them with the kept visible ones.
    const keep = new Set(kept);
    for (let i = lo; i < hi; i++) {
      if (marks[i] === 1) points.push({ ...point(i), superseded: true });
      else if (keep.has(i)) points.push(point(i));
    }
  }
  return { key: series.key, points, total: visible.length, downsampled };
}

/** The first index whose step is at least `step` (steps sorted ascending). */
export function firstAtOrAbove(steps: Float64Array, step: number): number {
  let a = 0;
  let b = steps.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (steps[mid]! < step) a = mid + 1;
    else b = mid;
  }
  return a;
}
