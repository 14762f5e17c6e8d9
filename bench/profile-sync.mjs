// Where a large sync's time goes: logs a realistic run (10 or 1,000 keys, 10^7 points), starts a
// `swanlog server` process, and times `swanlog sync` of it, optionally under --cpu-prof for both.
//   node bench/profile-sync.mjs [keys=10] [points=10000000] [--prof <dir>]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '@swanlog/server';
import { initSync } from 'swanlog';
import { RealisticRun } from './dist/realistic-values.js';
import { loopbackPost, writerBytes } from './dist/sync-bench.js';

const args = process.argv.slice(2);
const profAt = args.indexOf('--prof');
const profDir = profAt >= 0 ? args.splice(profAt, 2)[1] : undefined;
const keys = Number(args[0] ?? 10);
const points = Number(args[1] ?? 1e7);
const reps = Number(args[2] ?? 1);
const cli = new URL('../apps/cli/bin/swanlog.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'swanlog-prof-sync-'));
const prof = (name) =>
  profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${name}.cpuprofile`] : [];

const steps = points / keys;
const values = new RealisticRun(keys, 7, steps);
const run = initSync({ project: 'bench', logdir: join(work, 'logs') }, { SWANLOG_MODE: 'offline' });
for (let i = 0; i < steps; i++) run.log(values.row(i));
await run.finish();

const dataDir = join(work, 'server');
const server = spawn(process.execPath, [...prof('server'), cli, 'server', '--data', dataDir, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((done) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (\S+)/.exec(out);
    if (m) done(m[1]);
  });
});
const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
const env = { ...process.env, SWANLOG_HOST: url, SWANLOG_API_KEY: key };
const time = (extra, dir, more = []) =>
  new Promise((done, fail) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [...extra, cli, 'sync', dir, '--json', ...more], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    c.on('exit', (code) => (code === 0 ? done(performance.now() - t0) : fail(new Error(`exit ${code}`))));
  });
// warm the server up with a small run
const w = initSync({ project: 'bench', logdir: join(work, 'warm') }, { SWANLOG_MODE: 'offline' });
for (let i = 0; i < 100; i++) w.log({ a: i });
await w.finish();
await time([], w.dir);
for (let r = 0; r < reps; r++) {
  // Later repetitions upload into a fresh experiment (--new), as the first did.
  const ms = await time(prof(`client-${r}`), run.dir, r === 0 ? [] : ['--new']);
  const post = await loopbackPost(writerBytes(run.dir));
  const noop = await time([], run.dir);
  console.log(
    `keys ${keys} points ${points}: sync ${ms.toFixed(0)} ms = ${(((points / ms) * 1000) / 1e6).toFixed(2)} M/s; loopback ${post.toFixed(0)} ms = ${(((points / post) * 1000) / 1e6).toFixed(1)} M/s (${(post / ms).toFixed(3)}x); no-op resync ${noop.toFixed(0)} ms; bytes ${writerBytes(run.dir)}`,
  );
}
server.kill('SIGTERM');
await once(server, 'exit');
if (process.env.KEEP) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
