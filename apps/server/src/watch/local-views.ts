import type { RunReader } from '@swanlog/store';
import { readSyncRecords } from '@swanlog/store';
import type { DashboardExperiment, ExperimentDetails } from '../dashboard-types.js';

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
