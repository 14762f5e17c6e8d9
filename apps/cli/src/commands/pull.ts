import { resolve } from 'node:path';
import { createClient, pullRun } from '@swanlog/client';
import { isSwanlogError, SwanlogError } from '@swanlog/protocol';
import { RunReader } from '@swanlog/store';
import { withCliHint } from '../with-cli-hint.js';

export interface PullOptions {
  cwd: string;
  id: string;
  logdir: string;
  host?: string | undefined;
  apiKey?: string | undefined;
  /** How long one request keeps retrying, all attempts together, in seconds (default 30). */
  timeoutSeconds?: number | undefined;
}

export interface PullResult {
  id: string;
  dir: string;
  /** True when this pull seeded the directory; false when a local one was reused. */
  created: boolean;
  /** The step a resume continues after (the larger of the server's and the directory's); null before any. */
  lastStep: number | null;
}

/**
 * `swanlog pull <id>`: the local run directory a resume of `id` writes into, seeded from the
 * server as cloud mode's init() seeds it (config, last step, marked partial, the live sync record),
 * so an SDK without a server connection (the Python SDK, offline mode) resumes it and `swanlog sync`
 * continues the same experiment. A local directory with the id is reused (RUN_DIVERGED when the
 * server holds writes it lacks).
 */
export async function pull(options: PullOptions): Promise<PullResult> {
  const logdir = resolve(options.cwd, options.logdir);
  const { host, apiKey } = requireServer(options);
  const client = createClient({ host, apiKey, retryTimeMs: (options.timeoutSeconds ?? 30) * 1000 });
  let pulled: Awaited<ReturnType<typeof pullRun>>;
  try {
    pulled = await pullRun({ client, logdir, id: options.id });
  } catch (error) {
    throw pullHint(error, client.host);
  }
  if (pulled === undefined) {
    throw new SwanlogError(
      'RUN_NOT_FOUND',
      `no experiment ${options.id} on ${client.host} and no local run with that id under ${logdir}`,
      {
        hint: "check the id (swanlog ls lists local runs) and that the API key belongs to the run's workspace",
      },
    );
  }
  return { id: options.id, dir: pulled.dir, created: pulled.created, lastStep: lastStepOf(pulled) };
}

function requireServer(options: PullOptions): { host: string; apiKey: string } {
  if (!options.host) {
    throw new SwanlogError('INVALID_OPTION', `no server to pull run ${options.id} from`, {
      hint: 'pass --host <url> or set SWANLOG_HOST',
    });
  }
  if (!options.apiKey) {
    throw new SwanlogError('INVALID_OPTION', `no API key for ${options.host}`, {
      hint: 'pass --api-key <key> or set SWANLOG_API_KEY (create one with `swanlog server key create`)',
    });
  }
  return { host: options.host, apiKey: options.apiKey };
}

function lastStepOf(pulled: { dir: string; serverLastStep: number | null }): number | null {
  const reader = RunReader.open(pulled.dir);
  try {
    const steps = [reader.lastVisibleStep(), reader.meta.seedLastStep, pulled.serverLastStep].filter(
      (s): s is number => s !== null,
    );
    return steps.length === 0 ? null : Math.max(...steps);
  } finally {
    reader.close();
  }
}

function pullHint(error: unknown, host: string): unknown {
  if (isSwanlogError(error, 'SERVER_UNREACHABLE')) {
    return new SwanlogError('SERVER_UNREACHABLE', error.message, {
      hint: 'check --host (or SWANLOG_HOST) and that the server runs; --timeout <seconds> waits longer (default 30)',
      cause: error,
    });
  }
  if (isSwanlogError(error, 'RUN_DIVERGED')) {
    return new SwanlogError('RUN_DIVERGED', error.message, {
      hint: "the run went on elsewhere after this directory's last upload: move the directory away and pull again to continue from the server's copy",
      cause: error,
    });
  }
  return withCliHint(error, host);
}
