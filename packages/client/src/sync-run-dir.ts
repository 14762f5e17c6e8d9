import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { isSwanlogError } from '@swanlog/protocol';
import { RunReader, readSyncRecords, type SyncRecord, syncRequestKey, writeSyncRecord } from '@swanlog/store';
import type { SwanlogClient } from './create-client.js';
import type { BatchBudget } from './cut-batches.js';
import { type LocalRun, readLocalRun, uploadRun } from './upload-run.js';

/** Which experiment a run directory goes to (DESIGN.md "Sync"). */
export type SyncTarget = { kind: 'auto' } | { kind: 'new' } | { kind: 'id'; id: string } | { kind: 'live' };

export type SyncAction = 'created' | 'continued' | 'copied' | 'appended' | 'up-to-date';

export interface SyncProgress {
  dir: string;
  experimentId: string;
  /** Points stored by the server so far in this call. */
  uploadedPoints: number;
  /** Points this call found missing on the server. */
  totalPoints: number;
}

export interface SyncRunDirOptions {
  dir: string;
  client: SwanlogClient;
  target?: SyncTarget;
  /** Project of an experiment created by this sync (default: the run's). */
  project?: string;
  onProgress?: (progress: SyncProgress) => void;
  /** Points per ingest request (default and most 1,000,000; a batch never splits one log call). */
  batchPoints?: number;
  /** Bytes of chunk data per ingest request (default 16 MiB). */
  batchBytes?: number;
}

export interface SyncResult {
  dir: string;
  /** The local run's id (differs from experimentId when the server gave a new one). */
  runId: string;
  experimentId: string;
  action: SyncAction;
  /**
   * Points the server stored because of this call, superseded ones included, and how many of them
   * are superseded in the run's visible series as it stands now (docs/format.md).
   */
  uploaded: { points: number; superseded: number };
  url: string;
  /** The server holds every local point, session end and config revision, and the run has ended. */
  complete: boolean;
  /** What the user should know and nothing stopped: e.g. a sync record of another run was ignored. */
  warnings: string[];
}

interface Plan {
  experimentId: string;
  action: SyncAction;
  /** The record this upload keeps up to date, if any (`--id` keeps none). */
  record?: { purpose: SyncRecord['purpose']; requestKey: string; previous: SyncRecord | undefined };
}

/**
 * Uploads what the server lacks of one run directory, exactly once per point: each writer session
 * goes up from the server's per-source watermark, so a sync killed at any moment, a server restart
 * or a dropped connection resumes with no duplicate and no loss. The experiment it goes to follows
 * DESIGN.md "Sync"; creating it is idempotent per directory (a request key derived from the run).
 */
export async function syncRunDir(options: SyncRunDirOptions): Promise<SyncResult> {
  const dir = resolve(options.dir);
  const { client } = options;
  const info = await client.serverInfo();
  const reader = RunReader.open(dir);
  try {
    const local = readLocalRun(reader);
    const warnings: string[] = [];
    const plan = await planTarget(options, local, info.instanceId, warnings);
    const url = client.experimentUrl(plan.experimentId);
    const save = (complete: boolean, uploadedPoints: number) => {
      if (plan.record === undefined) return;
      saveRecord(dir, {
        instanceId: info.instanceId,
        purpose: plan.record.purpose,
        experimentId: plan.experimentId,
        requestKey: plan.record.requestKey,
        url,
        complete,
        uploadedPoints,
        updatedAt: Date.now(),
      });
    };
    const previous = plan.record?.previous;
    const before = previous?.uploadedPoints ?? 0;
    // The record names the experiment before any point goes up, so an interrupted upload continues it.
    if (previous === undefined || previous.experimentId !== plan.experimentId) save(false, before);
    const up = await uploadRun({
      client,
      experimentId: plan.experimentId,
      reader,
      local,
      budget: batchBudget(options),
      // A record that says complete stops saying so before anything new goes up.
      beforeWrite: () => {
        if (previous?.complete === true && previous.experimentId === plan.experimentId) save(false, before);
      },
      onProgress: (uploadedPoints, totalPoints) =>
        options.onProgress?.({ dir, experimentId: plan.experimentId, uploadedPoints, totalPoints }),
    });
    const unchanged =
      previous !== undefined &&
      previous.experimentId === plan.experimentId &&
      previous.complete === up.complete &&
      !up.changed;
    if (!unchanged || options.target?.kind !== 'live') save(up.complete, before + up.points);
    return {
      dir,
      runId: local.meta.id,
      experimentId: plan.experimentId,
      action: finalAction(plan.action, up.changed),
      uploaded: { points: up.points, superseded: up.superseded },
      url,
      complete: up.complete,
      warnings,
    };
  } finally {
    reader.close();
  }
}

function finalAction(planned: SyncAction, changed: boolean): SyncAction {
  if (planned === 'continued' || planned === 'appended') return changed ? planned : 'up-to-date';
  return planned;
}

/**
 * Up to 1,000,000 points and 16 MiB of chunk data per request by default: half the server's
 * 32 MiB body limit, so the header and the estimate for cut chunks have room.
 */
function batchBudget(options: SyncRunDirOptions): BatchBudget {
  return {
    points: Math.max(1, Math.min(options.batchPoints ?? 1_000_000, 1_000_000)),
    bytes: Math.max(1, options.batchBytes ?? 16 * 1024 * 1024),
  };
}

async function planTarget(
  options: SyncRunDirOptions,
  local: LocalRun,
  instanceId: string,
  warnings: string[],
): Promise<Plan> {
  const { client } = options;
  const target = options.target ?? { kind: 'auto' };
  const { meta } = local;
  const project = options.project ?? (meta.project === '' ? 'default' : meta.project);
  // A record written for another run (a directory copied by an older swanlog carries the
  // original's) would send this run's points into the original's experiment: never follow it.
  let foreign = 0;
  const records = readSyncRecords(local.dir, { onForeign: () => foreign++ }).filter(
    (r) => r.instanceId === instanceId,
  );
  if (foreign > 0) {
    warnings.push(
      `run ${meta.id}: ignored ${foreign} sync record${foreign === 1 ? '' : 's'} written for another run${
        meta.copiedFrom === null ? '' : ` (copied from ${meta.copiedFrom})`
      }; this run syncs into an experiment of its own`,
    );
  }
  const recordOf = (purpose: SyncRecord['purpose']) => records.find((r) => r.purpose === purpose);
  const createFor = async (purpose: 'sync' | 'live') => {
    const requestKey = syncRequestKey(meta.id, meta.createdAt, purpose);
    const res = await client.createExperiment({
      requestKey,
      requestedId: meta.id,
      exactId: false,
      project,
      name: meta.name,
      createdAt: meta.createdAt,
      ...(meta.copiedFrom === null ? {} : { copiedFrom: meta.copiedFrom }),
    });
    return { experimentId: res.experiment.id, requestKey };
  };

  switch (target.kind) {
    case 'id': {
      const exp = await client.getExperiment(target.id);
      return { experimentId: exp.id, action: 'appended' };
    }
    case 'new': {
      const requestKey = randomBytes(20).toString('hex');
      const res = await client.createExperiment({
        requestKey,
        project,
        name: meta.name,
        createdAt: meta.createdAt,
        copiedFrom: meta.id,
      });
      return {
        experimentId: res.experiment.id,
        action: 'copied',
        record: { purpose: 'copy', requestKey, previous: undefined },
      };
    }
    case 'live': {
      const live = recordOf('live');
      if (live !== undefined) {
        return {
          experimentId: live.experimentId,
          action: 'continued',
          record: { purpose: 'live', requestKey: live.requestKey, previous: live },
        };
      }
      const made = await createFor('live');
      return {
        ...made,
        action: 'created',
        record: { purpose: 'live', requestKey: made.requestKey, previous: undefined },
      };
    }
    case 'auto':
      return planAuto(options, recordOf('sync'), recordOf('live'), createFor, local);
  }
}

async function planAuto(
  options: SyncRunDirOptions,
  sync: SyncRecord | undefined,
  live: SyncRecord | undefined,
  createFor: (purpose: 'sync') => Promise<{ experimentId: string; requestKey: string }>,
  local: LocalRun,
): Promise<Plan> {
  if (sync !== undefined) {
    return {
      experimentId: sync.experimentId,
      action: 'continued',
      record: { purpose: 'sync', requestKey: sync.requestKey, previous: sync },
    };
  }
  if (live !== undefined && !live.complete) {
    return {
      experimentId: live.experimentId,
      action: 'continued',
      record: { purpose: 'live', requestKey: live.requestKey, previous: live },
    };
  }
  if (live !== undefined) {
    // A complete cloud-mode upload: sync makes a server-side copy to resume safely (SwanLab's habit).
    // The sync request key makes the copy idempotent, and it becomes this directory's sync record.
    const requestKey = syncRequestKey(local.meta.id, local.meta.createdAt, 'sync');
    const res = await options.client.copyExperiment(live.experimentId, { requestKey });
    return {
      experimentId: res.experiment.id,
      action: 'copied',
      record: { purpose: 'sync', requestKey, previous: undefined },
    };
  }
  const made = await createFor('sync');
  return {
    ...made,
    action: 'created',
    record: { purpose: 'sync', requestKey: made.requestKey, previous: undefined },
  };
}

/** Writes a sync record; a read-only run directory still syncs (the request key finds the experiment again). */
function saveRecord(dir: string, record: SyncRecord): void {
  try {
    writeSyncRecord(dir, record);
  } catch (error) {
    if (isSwanlogError(error, 'STORAGE_READ_ONLY')) return;
    throw error;
  }
}
