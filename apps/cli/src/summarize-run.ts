import { type EncodedValue, encodeValue } from '@swanlog/protocol';
import { type RunReader, type RunState, readSyncRecords, type SyncRecord } from '@swanlog/store';

export interface RunListing {
  id: string;
  name: string | null;
  project: string;
  workspace: string | null;
  state: RunState;
  dir: string;
  createdAt: string;
  lastStep: number | null;
  keyCount: number;
  copiedFrom: string | null;
  /** Where the run was uploaded, per server and purpose (empty when never uploaded). */
  sync: SyncStatusEntry[];
}

export interface SyncStatusEntry {
  instanceId: string;
  purpose: SyncRecord['purpose'];
  experimentId: string;
  complete: boolean;
  url: string;
  /** ISO 8601 */
  updatedAt: string;
}

export interface KeySummary {
  count: number;
  lastStep: number | null;
  lastValue: EncodedValue | null;
}

export interface RunDetails extends Omit<RunListing, 'keyCount'> {
  partial: boolean;
  config: Record<string, unknown>;
  configRevisions: {
    revision: number;
    createdAt: string;
    source: string | null;
    patch: Record<string, unknown>;
  }[];
  keys: Record<string, KeySummary>;
  segments: {
    id: string;
    source: string;
    host: string;
    pid: number;
    startedAt: string;
    endedAt: string | null;
    resumed: boolean;
    fromStep: number | null;
    state: RunState;
  }[];
}

/** What `ls` shows of a run: answered from summaries, no scan of its points. */
export function listRun(reader: RunReader): RunListing {
  const m = reader.meta;
  return {
    id: m.id,
    name: m.name,
    project: m.project,
    workspace: m.workspace,
    state: reader.state(),
    dir: reader.dir,
    createdAt: new Date(m.createdAt).toISOString(),
    lastStep: reader.lastVisibleStep(),
    keyCount: reader.keys().length,
    copiedFrom: m.copiedFrom,
    sync: readSyncRecords(reader.dir).map((r) => ({
      instanceId: r.instanceId,
      purpose: r.purpose,
      experimentId: r.experimentId,
      complete: r.complete,
      url: r.url,
      updatedAt: new Date(r.updatedAt).toISOString(),
    })),
  };
}

/** What `show` prints: the listing plus config, per-key figures and segments. */
export function describeRun(reader: RunReader): RunDetails {
  const { keyCount: _keyCount, ...listing } = listRun(reader);
  // fromEntries defines properties, so a key named `__proto__` is listed instead of setting the prototype.
  const keys: Record<string, KeySummary> = Object.fromEntries(
    reader.keys().map((key): [string, KeySummary] => {
      const s = reader.series(key);
      const n = s.steps.length;
      return [
        key,
        {
          count: n,
          lastStep: n === 0 ? null : s.steps[n - 1]!,
          lastValue: n === 0 ? null : encodeValue(s.values[n - 1]!),
        },
      ];
    }),
  );
  return {
    ...listing,
    partial: reader.meta.partial,
    config: reader.config(),
    configRevisions: reader.configRevisions().map((r) => ({
      revision: r.revision,
      createdAt: new Date(r.ts).toISOString(),
      source: r.source,
      patch: r.patch,
    })),
    keys,
    segments: reader.segments().map((s) => ({
      id: s.id,
      source: s.source,
      host: s.host,
      pid: s.pid,
      startedAt: new Date(s.startedAt).toISOString(),
      endedAt: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
      resumed: s.resumed,
      fromStep: s.fromStep,
      state: s.state,
    })),
  };
}
