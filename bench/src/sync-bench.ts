import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createApiKey, startServer } from '@swanlog/server';
import { initSync } from 'swanlog';

const cli = new URL('../../apps/cli/bin/swanlog.js', import.meta.url).pathname;

export interface SyncFigures {
  sync_points: number;
  sync_points_per_s: number;
  /** Baseline: the same number of bytes as the run's writer files, POSTed raw over loopback. */
  loopback_post_points_per_s: number;
  resync_noop_ms: number;
}

/** `swanlog sync` (whole CLI process) of a run of `points` points to a local server, then a no-op re-sync. */
export async function syncBench(work: string, points: number): Promise<SyncFigures> {
  const logdir = join(work, 'sync-logs');
  const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
  const keys = 10;
  for (let i = 0; i < points / keys; i++) {
    run.log({ k0: i, k1: i, k2: i, k3: i, k4: i, k5: i * 0.5, k6: 1, k7: 2, k8: 3, k9: i / 7 });
  }
  await run.finish();
  const dataDir = join(work, 'sync-server');
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', log: () => {} });
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
  try {
    const env = { ...process.env, SWANLOG_HOST: server.url, SWANLOG_API_KEY: key };
    const first = await timeCli(['sync', run.dir!, '--json'], env);
    const second = await timeCli(['sync', run.dir!, '--json'], env);
    const bytes = readdirSync(join(run.dir!, 'writers')).reduce(
      (n, f) => n + statSync(join(run.dir!, 'writers', f)).size,
      0,
    );
    const postMs = await loopbackPost(bytes);
    return {
      sync_points: points,
      sync_points_per_s: Math.round(points / (first / 1000)),
      loopback_post_points_per_s: Math.round(points / (postMs / 1000)),
      resync_noop_ms: Number(second.toFixed(1)),
    };
  } finally {
    await server.close();
  }
}

function timeCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) =>
      code === 0 ? done(performance.now() - t0) : fail(new Error(`swanlog ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Milliseconds to POST `bytes` bytes in 4 MiB requests to a server that only reads them. */
async function loopbackPost(bytes: number): Promise<number> {
  const sink = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as { port: number }).port;
  const body = Buffer.alloc(4 * 1024 * 1024, 7);
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += body.length) {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: body.subarray(0, Math.min(body.length, bytes - sent)),
    });
    await res.text();
  }
  const ms = performance.now() - t0;
  await new Promise((r) => sink.close(r));
  return ms;
}
