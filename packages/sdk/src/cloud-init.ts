import { resolve } from 'node:path';
import { createClient, pullRun } from '@swanlog/client';
import { SwanlogError } from '@swanlog/protocol';
import { createRun, findRunDir, generateRunId } from '@swanlog/store';
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
 * marked partial (`pullRun`, which `swanlog pull` runs too). The server unreachable: must/allow
 * fail with SERVER_UNREACHABLE unless a local directory exists, and logging goes on offline.
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
  try {
    const pulled = await pullRun({ client, logdir, id: o.id, fromStep: o.fromStep });
    if (pulled !== undefined) {
      // A seeded directory is resumed, not new: the writer opens it as a resume of the server's run.
      return {
        dir: pulled.dir,
        created: false,
        minClock: pulled.minClock,
        serverLastStep: pulled.serverLastStep,
      };
    }
  } catch (error) {
    if (!(error instanceof SwanlogError && error.code === 'SERVER_UNREACHABLE') || local === undefined)
      throw error;
    process.emitWarning(`${error.message}; logging run ${o.id} offline, it uploads when the server is back`, {
      code: 'SWANLOG_OFFLINE',
    });
    return { dir: local, created: false, minClock: 0, serverLastStep: null };
  }
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

function newLocalRun(o: ResolvedOptions, logdir: string, id: string): { dir: string; created: boolean } {
  return createRun({
    logdir,
    id,
    project: o.project,
    workspace: o.workspace,
    name: o.name,
    formatVersion: o.formatVersion,
    ...(o.config !== undefined ? { config: o.config } : {}),
  });
}
