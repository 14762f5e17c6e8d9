// Helpers for the sync tests: a real server over a temp data dir (restartable on the same port),
// the CLI as a killable child, runs written through the real SDK, a loopback proxy that cuts
// connections, and an exact comparison of every key's series (superseded points included).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type SwanlogClient } from '@swanlog/client';
import { encodeValue } from '@swanlog/protocol';
import { createApiKey, type RunningServer, startServer } from '@swanlog/server';
import { RunReader } from '@swanlog/store';
import { init } from 'swanlog';
import { CLI_BIN, type CliResult, cliEnv, REPO_ROOT } from './cli.js';

export interface SyncServer {
  readonly url: string;
  readonly port: number;
  readonly instanceId: string;
  dataDir: string;
  /** A write key of workspace `ws`. */
  key: string;
  /** A client with the write key (for reading back what sync uploaded). */
  client: SwanlogClient;
  /** Closes the server (the data stays). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Closes it and removes its data. */
  close(): Promise<void>;
}

export async function startSyncServer(): Promise<SyncServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'swanlog-sync-server-'));
  let running: RunningServer | undefined = await startServer({ dataDir, port: 0, log: () => {} });
  const port = running.port;
  const url = running.url;
  const instanceId = running.instanceId;
  const key = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  const client = createClient({ host: url, apiKey: key, retryLimit: 2 });
  const s: SyncServer = {
    url,
    port,
    instanceId,
    dataDir,
    key,
    client,
    stop: async () => {
      await running?.close();
      running = undefined;
    },
    start: async () => {
      running = await startServer({ dataDir, port, log: () => {} });
    },
    close: async () => {
      await s.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return s;
}

/** Environment of a `swanlog sync` child against `server` (quick retries unless asked otherwise). */
export function syncEnv(server: { url: string; key: string }, extra: Record<string, string> = {}) {
  return { SWANLOG_HOST: server.url, SWANLOG_API_KEY: server.key, ...extra };
}

export interface CliChild {
  proc: ChildProcess;
  result: Promise<CliResult>;
}

/** Starts `swanlog <args>` and returns at once (for SIGKILL / SIGINT tests). */
export function startCli(args: string[], env: Record<string, string> = {}): CliChild {
  const proc = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { proc, result };
}

export interface WriteRunOptions {
  logdir: string;
  id?: string;
  project?: string;
  steps: number;
  keys?: string[];
  /** Resume once more and rewind to this step, so the run holds superseded points and two sources. */
  rewindTo?: number;
  config?: Record<string, unknown>;
}

/** Writes a finished run through the SDK in this process; returns its id and directory. */
export async function writeRun(options: WriteRunOptions): Promise<{ id: string; dir: string }> {
  const keys = options.keys ?? ['loss', 'acc', 'lr'];
  const base = {
    logdir: options.logdir,
    project: options.project ?? 'sync-tests',
    flushInterval: 3_600_000,
  };
  const run = await init({
    ...base,
    ...(options.id === undefined ? {} : { id: options.id, resume: 'allow' as const }),
    ...(options.config === undefined ? {} : { config: options.config }),
  });
  logSteps(run, keys, 0, options.steps);
  await run.finish();
  if (options.rewindTo !== undefined) {
    const again = await init({ ...base, id: run.id, resume: 'must', fromStep: options.rewindTo });
    logSteps(again, keys, options.rewindTo + 1, options.steps, 0.5);
    await again.finish();
  }
  return { id: run.id, dir: run.dir! };
}

function logSteps(
  run: { log: (d: Record<string, number>, step?: number) => void; flush: () => void },
  keys: string[],
  from: number,
  to: number,
  offset = 0,
): void {
  const data: Record<string, number> = {};
  for (let s = from; s < to; s++) {
    keys.forEach((k, i) => {
      data[k] = s * 0.001 + i + offset;
    });
    run.log(data, s);
    if (s % 50_000 === 49_999) run.flush();
  }
}

/** Every key of the local run, each series as sorted `step|value|ts|superseded` strings. */
export function localSeries(dir: string): Record<string, string[]> {
  const reader = RunReader.open(dir);
  try {
    const out: Record<string, string[]> = {};
    for (const key of reader.keys()) {
      const s = reader.series(key, { superseded: true });
      const rows: string[] = [];
      for (let i = 0; i < s.steps.length; i++) {
        rows.push(
          `${s.steps[i]}|${JSON.stringify(encodeValue(s.values[i]!))}|${s.ts[i]}|${s.superseded?.[i] === 1 ? 1 : 0}`,
        );
      }
      out[key] = rows.sort();
    }
    return out;
  } finally {
    reader.close();
  }
}

/** The same for an experiment on the server. */
export async function serverSeries(
  client: SwanlogClient,
  experimentId: string,
): Promise<Record<string, string[]>> {
  const exp = await client.getExperiment(experimentId);
  const out: Record<string, string[]> = {};
  // A few requests at a time: wide runs have tens of thousands of keys.
  let next = 0;
  const fetchKeys = async () => {
    while (next < exp.keys.length) {
      const key = exp.keys[next++]!;
      const m = await client.metrics(experimentId, key, { maxPoints: 1_000_000, superseded: true });
      if (m.downsampled) throw new Error(`server downsampled ${key}`);
      out[key] = m.points
        .map((p) => `${p.step}|${JSON.stringify(p.value)}|${p.ts}|${p.superseded ? 1 : 0}`)
        .sort();
    }
  };
  await Promise.all(Array.from({ length: 4 }, fetchKeys));
  return Object.fromEntries(exp.keys.map((k) => [k, out[k]!]));
}

export interface CuttingProxy {
  port: number;
  url: string;
  /** Connections cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy to `targetPort` that drops connections, at most `maxCuts` times: each
 * connection once it has passed `afterBytes` request bytes upstream (cut mid-request), and every
 * `answerEvery`-th answer from the server (the request was applied, the answer is lost).
 */
export async function startCuttingProxy(
  targetPort: number,
  options: { afterBytes: number; answerEvery: number; maxCuts: number },
): Promise<CuttingProxy> {
  let cuts = 0;
  let answers = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const target = new Socket();
    sockets.add(client);
    sockets.add(target);
    let sent = 0;
    const destroyBoth = () => {
      client.destroy();
      target.destroy();
    };
    target.connect(targetPort, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      if (cuts < options.maxCuts && sent + d.length > options.afterBytes) {
        target.write(d.subarray(0, Math.max(0, options.afterBytes - sent)));
        cuts++;
        destroyBoth();
        return;
      }
      sent += d.length;
      target.write(d);
    });
    target.on('data', (d: Buffer) => {
      if (cuts < options.maxCuts && ++answers % options.answerEvery === 0) {
        cuts++;
        destroyBoth();
        return;
      }
      client.write(d);
    });
    client.on('close', destroyBoth);
    target.on('close', destroyBoth);
    client.on('error', destroyBoth);
    target.on('error', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
