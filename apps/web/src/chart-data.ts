import type { MetricPoint } from '@swanlog/protocol';
import { decodeValue } from './decode-value.js';

/** One line of a chart: a run's visible points of one key. */
export interface LineInput {
  label: string;
  points: MetricPoint[];
}

/** Columns for uPlot: shared x (steps), one column per line, then the superseded layers. */
export interface ChartData {
  steps: number[];
  lines: (number | null)[][];
  /** Superseded points; a step with k superseded points spreads them over k layers. */
  supersededLayers: (number | null)[][];
  /** Points that have no place on a numeric axis (NaN, ±Infinity), per line. */
  nonFinite: number[];
  pointCount: number;
}

/**
 * Aligns the series of several lines (and the superseded points of the first) on one x axis, as
 * uPlot wants: a step missing from a line is null there, and lines span those gaps.
 */
export function buildChartData(lines: LineInput[], superseded: MetricPoint[] = []): ChartData {
  const stepSet = new Set<number>();
  for (const line of lines) for (const p of line.points) if (!p.superseded) stepSet.add(p.step);
  for (const p of superseded) stepSet.add(p.step);
  const steps = [...stepSet].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const nonFinite: number[] = [];
  let pointCount = 0;
  const columns = lines.map((line) => {
    const col: (number | null)[] = new Array(steps.length).fill(null);
    let bad = 0;
    for (const p of line.points) {
      if (p.superseded) continue;
      const v = decodeValue(p.value);
      pointCount++;
      if (Number.isFinite(v)) col[index.get(p.step)!] = v;
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
    const d = depth.get(p.step) ?? 0;
    depth.set(p.step, d + 1);
    layers[d] ??= new Array(steps.length).fill(null);
    layers[d]![index.get(p.step)!] = v;
  }
  return { steps, lines: columns, supersededLayers: layers, nonFinite, pointCount };
}
