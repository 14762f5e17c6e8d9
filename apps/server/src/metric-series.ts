import { encodeValue, type MetricPoint, type MetricSeries, SwanlogError } from '@swanlog/protocol';
import { buildSeries, decodeChunk, type RankedPoints } from '@swanlog/store';
import { downsample } from './downsample.js';
import { rankedRewinds, rankOf, ranksOf } from './experiment-view.js';
import type { ExperimentRef, Storage } from './storage/storage.js';

export const DEFAULT_MAX_POINTS = 10_000;

export interface MetricQuery {
  maxPoints?: number;
  from?: number;
  to?: number;
  superseded?: boolean;
}

/**
 * The visible points of one key (GET /experiments/:id/metrics/:key) by the one visible-series
 * rule of `@swanlog/store`. Only chunks whose step range meets [from, to] are read: a point's
 * visibility depends on writes of its own step and on rewinds, both of which are at hand.
 */
export async function metricSeries(
  storage: Storage,
  ref: ExperimentRef,
  key: string,
  query: MetricQuery,
): Promise<MetricSeries> {
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  if ((await storage.chunkSummaries(ref, key)).length === 0)
    throw new SwanlogError('NOT_FOUND', `experiment ${ref.id} has no metric ${JSON.stringify(key)}`);
  const ranks = ranksOf(await storage.sources(ref));
  const rewinds = rankedRewinds(await storage.rewinds(ref), ranks);
  const parts: RankedPoints[] = (await storage.chunks(ref, key, { from, to })).map((c) => ({
    rank: rankOf(ranks, c.source),
    ...decodeChunk(c.data),
  }));
  const series = buildSeries(key, parts, rewinds, query.superseded === true);
  const inRange: number[] = [];
  const visible: number[] = [];
  for (let i = 0; i < series.steps.length; i++) {
    const step = series.steps[i]!;
    if (step < from || step > to) continue;
    inRange.push(i);
    if (series.superseded?.[i] !== 1) visible.push(i);
  }
  const maxPoints = query.maxPoints ?? DEFAULT_MAX_POINTS;
  const kept = visible.length > maxPoints ? new Set(downsample(series, visible, maxPoints)) : undefined;
  const points: MetricPoint[] = [];
  for (const i of inRange) {
    const superseded = series.superseded?.[i] === 1;
    if (!superseded && kept !== undefined && !kept.has(i)) continue;
    const point: MetricPoint = {
      step: series.steps[i]!,
      value: encodeValue(series.values[i]!),
      ts: series.ts[i]!,
    };
    if (superseded) point.superseded = true;
    points.push(point);
  }
  return { key, points, total: visible.length, downsampled: kept !== undefined };
}
