import { type MetricSeries, SwanlogError } from '@swanlog/protocol';
import { buildSeries, decodeChunk, type RankedPoints } from '@swanlog/store';
import { blockSeries } from './block-series.js';
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
  const summaries = await storage.chunkSummaries(ref, key);
  if (summaries.length === 0) throw metricNotFound(`experiment ${ref.id}`, ref.id, key);
  const ranks = ranksOf(await storage.sources(ref));
  const rewinds = rankedRewinds(await storage.rewinds(ref), ranks);
  const fromBlocks = await blockSeries(storage, ref, key, summaries, ranks, rewinds, query);
  if (fromBlocks !== undefined) return fromBlocks;
  const parts: RankedPoints[] = (await storage.chunks(ref, key, { from, to })).map((c) => ({
    rank: rankOf(ranks, c.source),
    ...decodeChunk(c.data),
  }));
  return seriesResponse(buildSeries(key, parts, rewinds, query.superseded === true), query);
}

/** NOT_FOUND for a metric key that `what` (an experiment, a local run) does not have. */
export function metricNotFound(what: string, id: string, key: string): SwanlogError {
  return new SwanlogError('NOT_FOUND', `${what} has no metric ${JSON.stringify(key)}`, {
    hint: `the keys it has are the \`keys\` of GET /api/v1/experiments/${id}; a key with "/" goes URL-encoded in the path (%2F)`,
  });
}
