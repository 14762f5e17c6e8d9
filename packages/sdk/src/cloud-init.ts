import { resolve } from 'node:path';
import { createClient, type SwanlogClient } from '@swanlog/client';
import { type ServerInfo, SwanlogError, type SyncStatus } from '@swanlog/protocol';
import {
  createRun,
  findRunDir,
  generateRunId,
  type JsonObject,
  RunReader,
  readSyncRecords,
  writeSyncRecord,
} from '@swanlog/store';
import type { ResolvedOptions } from './options.js';

/** Where a cloud run writes locally, and what the server says about it. */
export interface CloudTarget {
  dir: string;
  created: boolean;
  /** The writer's clock must start above the server's highest timestamp. */
  minClock: number;
  /** The run's last step as the server knows it (the counter continues after the larger of local and server). */
  serverLastStep: number | null;
}

/**
 * Resolves a cloud-mode init (DESIGN.md "Resume", cloud half): a local directory with the id is
 * reused (its counter is max(local, server); writes the server holds that it lacks are
 * RUN_DIVERGED unless fromStep is given); without one, a directory is seeded from the server and
 * marked partial. The server unreachable: must/allow fail with SERVER_UNREACHABLE unless a local
 * directory exists, and logging goes on offline.
 */
export async function resolveCloudTarget(
  o: ResolvedOptions,
  host: string,
  apiKey: string,
): Promise<CloudTarget> {
  const logdir = resolve(o.logdir);
  if (o.id === undefined)
    return { ...newLocalRun(o, logdir, generateRunId()), minClock: 0, serverLastStep: null };
  const local = findRunDir(logdir, o.id);
  const client = createClient({ host, apiKey, retryLimit: 1, timeoutMs: 10_000 });
  let remote: { info: ServerInfo; status: SyncStatus | undefined; experimentId: string } | undefined;
  try {
    remote = await fetchRemote(client, o.id, local);
  } catch (error) {
    if (!(error instanceof SwanlogError && error.code === 'SERVER_UNREACHABLE') || local === undefined)
      throw error;
    process.emitWarning(`${error.message}; logging run ${o.id} offline, it uploads when the server is back`, {
      code: 'SWANLOG_OFFLINE',
    });
  }
  if (local !== undefined) return reuseLocal(o, local, remote);
  if (remote?.status !== undefined)
    return seedFromServer(logdir, client, { ...remote, status: remote.status });
  if (o.resume === 'must') {
    throw new SwanlogError(
      'RUN_NOT_FOUND',
      `no experiment ${o.id} on ${host} and no local run with that id under ${logdir}`,
      {
        hint: "check the id and the workspace of your API key, or use resume: 'allow' to create it",
      },
    );
  }
  return { ...newLocalRun(o, logdir, o.id), minClock: 0, serverLastStep: null };
}

async function fetchRemote(client: SwanlogClient, id: string, local: string | undefined) {
  const info = await client.serverInfo();
  const live =
    local === undefined
      ? undefined
      : readSyncRecords(local).find((r) => r.instanceId === info.instanceId && r.purpose === 'live');
  const experimentId = live?.experimentId ?? id;
  let status: SyncStatus | undefined;
  try {
    status = await client.syncStatus(experimentId);
  } catch (error) {
    if (!(error instanceof SwanlogError && error.code === 'RUN_NOT_FOUND')) throw error;
  }
  return { info, status, experimentId };
}

function reuseLocal(
  o: ResolvedOptions,
  dir: string,
  remote: { info: ServerInfo; status: SyncStatus | undefined; experimentId: string } | undefined,
): CloudTarget {
  const status = remote?.status;
  if (status === undefined) return { dir, created: false, minClock: 0, serverLastStep: null };
  const reader = RunReader.open(dir);
  let localSeqs: Record<string, number>;
  try {
    localSeqs = reader.sourceMaxSeqs();
  } finally {
    reader.close();
  }
  const missing = Object.entries(status.watermarks).filter(([source, w]) => w > (localSeqs[source] ?? -1));
  if (missing.length > 0 && o.fromStep === undefined) {
    throw new SwanlogError(
      'RUN_DIVERGED',
      `run ${o.id}: the server holds writes that ${dir} lacks (${missing.length} writer session(s) from elsewhere)`,
      {
        hint: 'resume with fromStep: <the step of the checkpoint you restored>, or move this directory away to resume from the server',
      },
    );
  }
  if (remote !== undefined) ensureLiveRecord(dir, remote.info, remote.experimentId);
  return { dir, created: false, minClock: status.maxTs, serverLastStep: status.lastStep };
}

async function seedFromServer(
  logdir: string,
  client: SwanlogClient,
  remote: { info: ServerInfo; status: SyncStatus; experimentId: string },
): Promise<CloudTarget> {
  const experiment = await client.getExperiment(remote.experimentId);
  const created = createRun({
    logdir,
    id: remote.experimentId,
    project: experiment.project,
    workspace: experiment.workspace,
    name: experiment.name,
    config: remote.status.config as JsonObject,
    seed: { lastStep: remote.status.lastStep, maxTs: remote.status.maxTs },
  });
  ensureLiveRecord(created.dir, remote.info, remote.experimentId);
  return {
    dir: created.dir,
    created: false,
    minClock: remote.status.maxTs,
    serverLastStep: remote.status.lastStep,
  };
}

function ensureLiveRecord(dir: string, info: ServerInfo, experimentId: string): void {
  const existing = readSyncRecords(dir).find((r) => r.instanceId === info.instanceId && r.purpose === 'live');
  if (existing?.experimentId === experimentId) return;
  writeSyncRecord(dir, {
    instanceId: info.instanceId,
    purpose: 'live',
    experimentId,
    requestKey: existing?.requestKey ?? `resumed:${experimentId}`,
    url: info.publicUrl ?? '',
    complete: false,
    uploadedPoints: existing?.uploadedPoints ?? 0,
    updatedAt: Date.now(),
  });
}

function newLocalRun(o: ResolvedOptions, logdir: string, id: string): { dir: string; created: boolean } {
  return createRun({
    logdir,
    id,
    project: o.project,
    workspace: o.workspace,
    name: o.name,
    ...(o.config !== undefined ? { config: o.config } : {}),
  });
}
