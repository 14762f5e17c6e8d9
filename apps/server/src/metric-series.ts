import { type MetricSeries, SwanlogError } from '@swanlog/protocol';
import { buildSeries, decodeChunk, type RankedPoints, type Series } from '@swanlog/store';
import { rankedRewinds, rankOf, ranksOf } from './experiment-view.js';
import { type MetricQuery, seriesResponse } from './series-response.js';
import type { ExperimentRef, Storage } from './storage/storage.js';

export type { MetricQuery } from './series-response.js';
export { DEFAULT_MAX_POINTS } from './series-response.js';

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
  const series =
    (rewinds.length === 0 && query.superseded !== true ? concatIfOrdered(key, parts) : undefined) ??
    buildSeries(key, parts, rewinds, query.superseded === true);
  return seriesResponse(series, query);
}

/**
 * Fast path of the visible-series rule: without rewinds, when the chunks laid end to end by first
 * step have strictly increasing steps, every (key, step) was written once, so every point is
 * visible and the series is the concatenation (no sort, no clock comparisons). Else undefined.
 */
function concatIfOrdered(key: string, parts: RankedPoints[]): Series | undefined {
  const sorted = parts.filter((p) => p.steps.length > 0).sort((a, b) => a.steps[0]! - b.steps[0]!);
  let total = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const p of sorted) {
    for (let i = 0; i < p.steps.length; i++) {
      if (!(p.steps[i]! > last)) return undefined;
      last = p.steps[i]!;
    }
    total += p.steps.length;
  }
  const series: Series = {
    key,
    steps: new Float64Array(total),
    values: new Float64Array(total),
    ts: new Float64Array(total),
  };
  let at = 0;
  for (const p of sorted) {
    series.steps.set(p.steps, at);
    series.values.set(p.values, at);
    series.ts.set(p.ts, at);
    at += p.steps.length;
  }
  return series;
}
