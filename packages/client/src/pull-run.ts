import { type ServerInfo, SwanlogError, type SyncStatus } from '@swanlog/protocol';
import {
  assertRunId,
  createRun,
  findRunDir,
  type JsonObject,
  RunReader,
  readSyncRecords,
  writeSyncRecord,
} from '@swanlog/store';
import type { SwanlogClient } from './create-client.js';

export interface PullRunOptions {
  client: SwanlogClient;
  /** Absolute log directory. */
  logdir: string;
  id: string;
  /** A rewind is coming: writes the server holds that the local directory lacks are not RUN_DIVERGED. */
  fromStep?: number | undefined;
}

/** The local directory a run resumes in, and what the server said about the run. */
export interface PulledRun {
  dir: string;
  /** True when this call seeded the directory from the server (marked partial). */
  created: boolean;
  /** False when the server has no experiment with the id (the directory is the local one, untouched). */
  onServer: boolean;
  /** The writer's clock must start above the server's highest timestamp (0 when not on the server). */
  minClock: number;
  /** The run's last step as the server knows it (a resume counts on from the larger of this and the local one). */
  serverLastStep: number | null;
}

/**
 * Finds or seeds the local directory of run `id` for a resume (DESIGN.md "Resume", cloud half),
 * as cloud mode's init() and `swanlog pull` do. A local directory with the id is reused; if the
 * server holds writes it lacks that is RUN_DIVERGED, unless `fromStep` rewinds past them. Without
 * one, a directory is seeded from the server: its config and last step, marked partial, with the
 * live sync record so a later sync continues the same experiment. Answers undefined when neither
 * the directory nor the experiment exists. The server must be reachable (SERVER_UNREACHABLE).
 */
export async function pullRun(options: PullRunOptions): Promise<PulledRun | undefined> {
  const { client, logdir, id } = options;
  assertRunId(id, 'id');
  const local = findRunDir(logdir, id);
  const remote = await fetchRemote(client, id, local);
  if (local !== undefined) return reuseLocal(id, local, remote, options.fromStep);
  if (remote.status === undefined) return undefined;
  return seedFromServer(logdir, client, { ...remote, status: remote.status });
}

interface Remote {
  info: ServerInfo;
  status: SyncStatus | undefined;
  experimentId: string;
}

async function fetchRemote(client: SwanlogClient, id: string, local: string | undefined): Promise<Remote> {
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

function reuseLocal(id: string, dir: string, remote: Remote, fromStep: number | undefined): PulledRun {
  const status = remote.status;
  if (status === undefined)
    return { dir, created: false, onServer: false, minClock: 0, serverLastStep: null };
  const reader = RunReader.open(dir);
  let localSeqs: Record<string, number>;
  let seededAt: number | null;
  try {
    localSeqs = reader.sourceMaxSeqs();
    seededAt = reader.meta.partial ? reader.meta.seedMaxTs : null;
  } finally {
    reader.close();
  }
  const missing = Object.entries(status.watermarks).filter(
    ([source, w]) => w > (localSeqs[source] ?? -1) && !standsInSeed(status, source, seededAt),
  );
  if (missing.length > 0 && fromStep === undefined) {
    throw new SwanlogError(
      'RUN_DIVERGED',
      `run ${id}: the server holds writes that ${dir} lacks (${missing.length} writer session(s) from elsewhere)`,
      {
        hint: 'resume with fromStep: <the step of the checkpoint you restored>, or move this directory away to resume from the server',
      },
    );
  }
  ensureLiveRecord(dir, remote.info, remote.experimentId);
  return { dir, created: false, onServer: true, minClock: status.maxTs, serverLastStep: status.lastStep };
}

/**
 * A seeded (partial) directory lacks by design the writes its seed stands for: those of sessions
 * whose clock started at or below the seed's highest timestamp. A session that started above it
 * began after the seeding, elsewhere (a resume starts its clock above the run's highest timestamp).
 */
function standsInSeed(status: SyncStatus, source: string, seededAt: number | null): boolean {
  const session = status.sessions[source];
  return seededAt !== null && session !== undefined && session.clockStart <= seededAt;
}

async function seedFromServer(
  logdir: string,
  client: SwanlogClient,
  remote: Remote & { status: SyncStatus },
): Promise<PulledRun> {
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
    created: true,
    onServer: true,
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
