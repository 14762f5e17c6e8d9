// Load, reported and never asserted: 8 concurrent `swanlog sync`s of 10^6 points each plus read
// traffic, against 2 `swanlog server --database` replicas on PostgreSQL and against one SQLite
// server. On a 2-core machine this measures overheads (locking, round trips), not scale.
//   scripts/with-postgres.sh node bench/dist/replica-load.js [--points 1000000] [--syncs 8]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initSync } from 'swanlog';

const cli = new URL('../../apps/cli/bin/swanlog.js', import.meta.url).pathname;

interface LoadFigures {
  target: string;
  points: number;
  seconds: number;
  points_per_s: number;
  reads: number;
  read_p50_ms: number;
  read_p99_ms: number;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at === -1 ? fallback : Number(process.argv[at + 1]);
  };
  const points = arg('--points', 1_000_000);
  const syncs = arg('--syncs', 8);
  const work = mkdtempSync(join(tmpdir(), 'swanlog-load-'));
  try {
    const runs: string[] = [];
    for (let i = 0; i < syncs; i++) runs.push(await logRun(join(work, `logs-${i}`), points));
    const rows: LoadFigures[] = [];
    rows.push(await measure('1 SQLite server', [['--data', join(work, 'sqlite')]], runs, points));
    const url = process.env.SWANLOG_TEST_DATABASE_URL;
    if (url === undefined || url === '')
      process.stderr.write('PostgreSQL not measured: SWANLOG_TEST_DATABASE_URL is not set\n');
    else {
      const replica = ['--database', url];
      rows.push(await measure('2 replicas on PostgreSQL', [replica, replica], runs, points));
    }
    console.table(rows);
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Syncs every run at once, spread over the servers, while a reader asks for downsampled series. */
async function measure(
  target: string,
  servers: string[][],
  runs: string[],
  points: number,
): Promise<LoadFigures> {
  const started = await Promise.all(servers.map((args) => startServerProcess(args)));
  try {
    const key = await createKey(servers[0]!);
    // An experiment to read while the syncs run: the first run, synced beforehand.
    await runCli(['sync', runs[0]!], { SWANLOG_HOST: started[0]!.url, SWANLOG_API_KEY: key });
    const id = await firstExperiment(started[0]!.url, key);
    let reading = true;
    const latencies: number[] = [];
    const reader = (async () => {
      let n = 0;
      while (reading) {
        const server = started[n++ % started.length]!;
        const t0 = performance.now();
        const res = await fetch(`${server.url}/api/v1/experiments/${id}/metrics/k0?maxPoints=1000`, {
          headers: { authorization: `Bearer ${key}` },
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    })();
    const t0 = performance.now();
    // --new: the pre-synced first run uploads its points again too, into a new experiment.
    await Promise.all(
      runs.map((dir, i) =>
        runCli(['sync', '--new', dir], {
          SWANLOG_HOST: started[i % started.length]!.url,
          SWANLOG_API_KEY: key,
        }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    reading = false;
    await reader;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(1));
    return {
      target,
      points: points * runs.length,
      seconds: Number(seconds.toFixed(2)),
      points_per_s: Math.round((points * runs.length) / seconds),
      reads: latencies.length,
      read_p50_ms: pct(0.5),
      read_p99_ms: pct(0.99),
    };
  } finally {
    for (const s of started) s.child.kill('SIGTERM');
    await Promise.all(started.map((s) => once(s.child, 'exit')));
  }
}

async function logRun(logdir: string, points: number): Promise<string> {
  const run = initSync({ project: 'load', logdir }, { SWANLOG_MODE: 'offline' });
  for (let i = 0; i < points / 10; i++)
    run.log({ k0: i, k1: i, k2: i, k3: i, k4: i, k5: i * 0.5, k6: 1, k7: 2, k8: 3, k9: i / 7 });
  await run.finish();
  return run.dir!;
}

async function createKey(store: string[]): Promise<string> {
  const out = await runCli(['server', 'key', 'create', ...store, '--workspace', 'load'], {});
  return out.trim();
}

async function firstExperiment(url: string, key: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/workspaces/load/experiments`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json()) as { experiments: { id: string }[] };
  return body.experiments[0]!.id;
}

function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`swanlog ${args.join(' ')} exited ${code}`)),
    );
  });
}

async function startServerProcess(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'server', ...args, '--port', '0'], {
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

await main();
