import type { MetricPoint } from '@swanlog/protocol';
import { flattenConfig } from '@swanlog/protocol/flatten-config';
import type { MetricSummary, RunsTable, RunsTableRow } from './dashboard-types.js';
import { experimentTableParts } from './experiment-view.js';
import { metricSeries } from './metric-series.js';
import type { ExperimentRecord, Storage } from './storage/storage.js';

export { flattenConfig } from '@swanlog/protocol/flatten-config';

/** The table from its rows: the union of config and metric keys, sorted. */
export function runsTableOf(runs: RunsTableRow[]): RunsTable {
  const configKeys = new Set<string>();
  const metricKeys = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.config)) configKeys.add(k);
    for (const k of Object.keys(r.metrics)) metricKeys.add(k);
  }
  return { runs, configKeys: [...configKeys].sort(), metricKeys: [...metricKeys].sort() };
}

/** NaN and the infinities travel as strings (`encodeValue`); as a min or max only numbers count. */
function numeric(v: MetricPoint['value']): number | undefined {
  return typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : undefined;
}

/** Lowest and highest value among points (NaN left out; ±Infinity kept, as strings). */
export function extremesOf(values: MetricPoint['value'][]): Pick<MetricSummary, 'min' | 'max'> {
  let min: MetricPoint['value'] | null = null;
  let max: MetricPoint['value'] | null = null;
  for (const v of values) {
    const n = numeric(v);
    if (n === undefined) continue;
    if (min === null || n < numeric(min)!) min = v;
    if (max === null || n > numeric(max)!) max = v;
  }
  return { min, max };
}

/**
 * Points read for a key's lowest and highest value: exact up to this many visible points; past it,
 * the extremes of 1,000 buckets (from block summaries), where a bucket holding NaN reports NaN as
 * its highest, so that bucket's highest number is not seen.
 */
const SUMMARY_POINTS = 2000;

interface CachedSummaries {
  version: string;
  metrics: Record<string, MetricSummary>;
}

/**
 * The runs table of `swanlog server`: one row per experiment, with its flattened config and each
 * key's last, lowest and highest visible value. Summaries are read through the downsampled
 * metrics read (buckets keep their extremes, from block summaries on long series) and cached
 * per experiment until its points change (its watermarks or rewinds), so a table of 1,000 runs
 * costs a few small queries per run once its summaries are known. The cache is per process:
 * replicas each keep their own, and each notices changes by the version.
 */
export function createRunsTable(storage: Storage) {
  const cache = new Map<string, CachedSummaries>();
  const summariesOf = async (
    record: ExperimentRecord,
    keyLastSteps: Map<string, number>,
  ): Promise<Record<string, MetricSummary>> => {
    const ref = { workspace: record.workspace, id: record.id };
    const metrics: Record<string, MetricSummary> = {};
    for (const [key, step] of keyLastSteps) {
      const range = await metricSeries(storage, ref, key, { maxPoints: SUMMARY_POINTS });
      const last = await metricSeries(storage, ref, key, { from: step, to: step, maxPoints: 2 });
      metrics[key] = {
        last: last.points.at(-1)?.value ?? null,
        ...extremesOf(range.points.map((p) => p.value)),
        step,
      };
    }
    return metrics;
  };
  return async (workspace: string, project: string | undefined): Promise<RunsTable> => {
    const now = Date.now();
    const records = await storage.listExperiments(workspace, project);
    const seen = new Set<string>();
    const rows: RunsTableRow[] = [];
    for (const record of records) {
      const { entry, keyLastSteps, version, updatedAt } = await experimentTableParts(storage, record, now);
      const id = `${record.workspace}\0${record.id}`;
      seen.add(id);
      let cached = cache.get(id);
      if (cached?.version !== version) {
        cached = { version, metrics: await summariesOf(record, keyLastSteps) };
        cache.set(id, cached);
      }
      rows.push({
        id: record.id,
        name: record.name,
        project: record.project,
        state: entry.state,
        createdAt: record.createdAt,
        updatedAt,
        lastStep: entry.lastStep,
        segments: entry.segments,
        tags: record.tags,
        note: record.note,
        archived: record.archived,
        config: flattenConfig(entry.config),
        metrics: cached.metrics,
        copiedFrom: record.copiedFrom,
      });
    }
    // Deleted experiments leave the cache with the next full table of their workspace.
    if (project === undefined)
      for (const id of cache.keys()) if (id.startsWith(`${workspace}\0`) && !seen.has(id)) cache.delete(id);
    return runsTableOf(rows);
  };
}
