import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createApiKey } from '@swanlog/server';
import { initSync } from 'swanlog';

const cli = new URL('../../apps/cli/bin/swanlog.js', import.meta.url).pathname;

export interface SyncFigures {
  sync_points: number;
  sync_points_per_s: number;
  /** Baseline: the same number of bytes as the run's writer files, POSTed raw over loopback. */
  loopback_post_points_per_s: number;
  resync_noop_ms: number;
}

/**
 * `swanlog sync` (whole CLI process) of a run of `points` points to a local `swanlog server` (its
 * own process, as deployed, that has already served one small sync as a running server has),
 * then a no-op re-sync of the same run; `reps` fresh runs, best kept.
 */
export async function syncBench(work: string, points: number, reps: number): Promise<SyncFigures> {
  const dataDir = join(work, 'sync-server');
  const server = await startServerProcess(dataDir);
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
  try {
    const env = { ...process.env, SWANLOG_HOST: server.url, SWANLOG_API_KEY: key };
    const warmUp = await logRun(join(work, 'sync-logs-warm-up'), 20_000);
    await timeCli(['sync', warmUp, '--json'], env);
    let first = Number.POSITIVE_INFINITY;
    let second = Number.POSITIVE_INFINITY;
    let post = Number.POSITIVE_INFINITY;
    for (let r = 0; r < reps; r++) {
      const dir = await logRun(join(work, `sync-logs-${r}`), points);
      first = Math.min(first, await timeCli(['sync', dir, '--json'], env));
      second = Math.min(second, await timeCli(['sync', dir, '--json'], env));
      post = Math.min(post, await loopbackPost(writerBytes(dir)));
    }
    return {
      sync_points: points,
      sync_points_per_s: Math.round(points / (first / 1000)),
      loopback_post_points_per_s: Math.round(points / (post / 1000)),
      resync_noop_ms: Number(second.toFixed(1)),
    };
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  }
}

/** Bytes of a run directory's writer files (what a sync reads and sends). */
export function writerBytes(dir: string): number {
  return readdirSync(join(dir, 'writers')).reduce((n, f) => n + statSync(join(dir, 'writers', f)).size, 0);
}

/** A finished offline run of `points` points in 10-key dicts. */
async function logRun(logdir: string, points: number): Promise<string> {
  const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
  const keys = 10;
  for (let i = 0; i < points / keys; i++) {
    run.log({ k0: i, k1: i, k2: i, k3: i, k4: i, k5: i * 0.5, k6: 1, k7: 2, k8: 3, k9: i / 7 });
  }
  await run.finish();
  return run.dir!;
}

/** `swanlog server --data <dataDir> --port 0`, once it prints where it listens. */
export async function startServerProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'server', '--data', dataDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) done(m[1]!);
    });
    child.on('exit', (code) => fail(new Error(`swanlog server exited ${code} before listening: ${out}`)));
  });
  return { child, url };
}

export function timeCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) =>
      code === 0 ? done(performance.now() - t0) : fail(new Error(`swanlog ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Milliseconds to POST `bytes` bytes in 4 MiB requests to a server that only reads them. */
export async function loopbackPost(bytes: number): Promise<number> {
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
