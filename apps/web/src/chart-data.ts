import type { MetricPoint } from '@swanlog/protocol';
import { decodeValue } from './decode-value.js';

/** One line of a chart: a run's visible points of one key. */
export interface LineInput {
  label: string;
  points: MetricPoint[];
}

/** Columns for uPlot: shared x (steps, or times), one column per line, then the superseded layers. */
export interface ChartData {
  /** The x values: steps by default, or what `xOf` gives (seconds on a time axis). */
  steps: number[];
  lines: (number | null)[][];
  /** Superseded points; a step with k superseded points spreads them over k layers. */
  supersededLayers: (number | null)[][];
  /** Points that have no place on a numeric axis (NaN, ±Infinity), per line. */
  nonFinite: number[];
  pointCount: number;
}

/** Where a point stands on the x axis; `line` is its line's index (-1 for the superseded points). */
export type XOf = (point: MetricPoint, line: number) => number;

const byStep: XOf = (p) => p.step;

/**
 * Aligns the series of several lines (and the superseded points of the first) on one x axis, as
 * uPlot wants: an x missing from a line is null there, and lines span those gaps. The x axis is
 * the step unless `xOf` says otherwise (relative or wall-clock time).
 */
export function buildChartData(
  lines: LineInput[],
  superseded: MetricPoint[] = [],
  xOf: XOf = byStep,
): ChartData {
  const stepSet = new Set<number>();
  lines.forEach((line, i) => {
    for (const p of line.points) if (!p.superseded) stepSet.add(xOf(p, i));
  });
  for (const p of superseded) stepSet.add(xOf(p, 0));
  const steps = [...stepSet].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const nonFinite: number[] = [];
  let pointCount = 0;
  const columns = lines.map((line, i) => {
    const col: (number | null)[] = new Array(steps.length).fill(null);
    let bad = 0;
    for (const p of line.points) {
      if (p.superseded) continue;
      const v = decodeValue(p.value);
      pointCount++;
      if (Number.isFinite(v)) col[index.get(xOf(p, i))!] = v;
      else bad++;
    }
    nonFinite.push(bad);
    return col;
  });
  const layers: (number | null)[][] = [];
  const depth = new Map<number, number>();
  for (const p of superseded) {
    const v = decodeValue(p.value);
    if (!Number.isFinite(v)) continue;
    const x = xOf(p, 0);
    const d = depth.get(x) ?? 0;
    depth.set(x, d + 1);
    layers[d] ??= new Array(steps.length).fill(null);
    layers[d]![index.get(x)!] = v;
  }
  return { steps, lines: columns, supersededLayers: layers, nonFinite, pointCount };
}
