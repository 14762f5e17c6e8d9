import { encodeValue } from '@swanlog/protocol';
import type { RunReader } from '@swanlog/store';
import { readSyncRecords } from '@swanlog/store';
import type {
  DashboardExperiment,
  ExperimentDetails,
  MetricSummary,
  RunsTableRow,
} from '../dashboard-types.js';
import { extremesOf, flattenConfig } from '../runs-table.js';

/** The workspace every local run is shown in. */
export const LOCAL_WORKSPACE = 'local';

/** A run directory as an element of the runs list (ExperimentInfo, segments, dir, sync). */
export function localExperiment(reader: RunReader): DashboardExperiment {
  const meta = reader.meta;
  const keys = reader.keys();
  const lastStep = reader.lastVisibleStep() ?? (meta.partial ? meta.seedLastStep : null);
  return {
    id: meta.id,
    workspace: LOCAL_WORKSPACE,
    project: meta.project,
    name: meta.name,
    state: reader.state(),
    config: reader.config(),
    createdAt: new Date(meta.createdAt).toISOString(),
    lastStep,
    keys,
    copiedFrom: meta.copiedFrom,
    source: meta.source,
    segments: reader.sessionRows().length,
    dir: reader.dir,
    sync: syncOf(reader.dir),
  };
}

/** A run directory as a row of the runs table: its flattened config and each key's last/min/max. */
export function localTableRow(reader: RunReader): RunsTableRow {
  const e = localExperiment(reader);
  const metrics: Record<string, MetricSummary> = {};
  for (const key of e.keys) {
    const s = reader.series(key);
    const n = s.steps.length;
    if (n === 0) continue;
    const values: ReturnType<typeof encodeValue>[] = new Array(n);
    for (let i = 0; i < n; i++) values[i] = encodeValue(s.values[i]!);
    metrics[key] = { last: values[n - 1]!, ...extremesOf(values), step: s.steps[n - 1]! };
  }
  let updatedAt = reader.meta.createdAt;
  for (const row of reader.sessionRows()) updatedAt = Math.max(updatedAt, row.ended_at ?? row.started_at);
  return {
    id: e.id,
    name: e.name,
    project: e.project,
    state: e.state,
    createdAt: reader.meta.createdAt,
    updatedAt,
    lastStep: e.lastStep,
    segments: e.segments,
    tags: [],
    note: '',
    archived: false,
    config: flattenConfig(e.config),
    metrics,
    copiedFrom: e.copiedFrom,
    dir: reader.dir,
    sync: e.sync,
  };
}

/** `GET /experiments/:id/details` of a run directory. */
export function localDetails(reader: RunReader): ExperimentDetails {
  const firstSteps = new Map<string, number | null>();
  for (const w of reader.writerFiles()) {
    const row = w.db.prepare('SELECT min(step_min) AS s FROM chunks').get() as { s: number | null };
    firstSteps.set(w.source, row.s);
  }
  return {
    segments: reader.segments().map((s) => ({
      id: s.id,
      source: s.source,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      resumed: s.resumed,
      fromStep: s.fromStep,
      state: s.state,
      firstStep: firstSteps.get(s.source) ?? null,
      host: s.host,
      pid: s.pid,
    })),
    configRevisions: reader.configRevisions().map((r) => ({ ts: r.ts, source: r.source, patch: r.patch })),
    rewinds: reader
      .rewinds()
      .map((r) => ({ step: r.step, ts: r.ts }))
      .sort((a, b) => a.ts - b.ts),
  };
}

/** synced: the latest upload held everything; partial: uploaded, not all; never: no upload. */
function syncOf(dir: string): 'synced' | 'partial' | 'never' {
  const records = readSyncRecords(dir);
  if (records.length === 0) return 'never';
  const latest = records.reduce((a, b) => (b.updatedAt > a.updatedAt ? b : a));
  return latest.complete ? 'synced' : 'partial';
}
