// `pnpm demo`: a training job logs offline into ./swanlog, is killed with SIGKILL mid-run,
// resumes from its last checkpoint by run id (rewinding what was logged after it), finishes,
// and the demo prints what `swanlog show` says about the run. Then an embedded swanlog server
// starts, the run is synced to it, and a copy of it is resumed in cloud mode elsewhere.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { main as swanlog } from '@swanlog/cli';
import { findRunDir, RunReader } from '@swanlog/store';
import { serverTour } from './server-tour.js';

const logdir = resolve(process.env.SWANLOG_LOGDIR || './swanlog');
const train = new URL('./train.js', import.meta.url).pathname;
const killAtStep = 125;

function say(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

/** Runs the trainer; with `killAt`, SIGKILLs it once it reports that step. Resolves with the run id. */
function runTrainer(extra: string[], killAt?: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [train, '--logdir', logdir, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let id = '';
    let pending = '';
    child.stdout.on('data', (data: Buffer) => {
      pending += data.toString();
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        process.stdout.write(`  ${line}\n`);
        id ||= /run (\w+)/.exec(line)?.[1] ?? '';
        const step = Number(/step (\d+) loss/.exec(line)?.[1] ?? -1);
        if (killAt !== undefined && step >= killAt && child.exitCode === null && !child.killed) {
          process.stdout.write(`  demo: kill -9 ${child.pid} (the node is preempted)\n`);
          child.kill('SIGKILL');
        }
        nl = pending.indexOf('\n');
      }
    });
    child.on('exit', (code, signal) => {
      if (killAt !== undefined ? signal === 'SIGKILL' : code === 0) done(id);
      else fail(new Error(`trainer ended unexpectedly (${signal ?? `exit ${code}`})`));
    });
  });
}

async function main(): Promise<void> {
  rmSync(resolve(logdir, 'demo-checkpoint.json'), { force: true });
  say(`1. training logs offline into ${logdir}; it will be killed at step ${killAtStep}`);
  const id = await runTrainer(['--steps', '300'], killAtStep);
  say('2. the job is gone without finish(): swanlog ls shows the run as crashed');
  await swanlog(['node', 'swanlog', 'ls', logdir]);
  say(
    '3. the job restarts: it restores its last checkpoint and resumes the run by id, rewound to the checkpoint',
  );
  await runTrainer(['--steps', '300', '--resume']);
  say(`4. swanlog show ${id}`);
  await swanlog(['node', 'swanlog', 'show', id, '--logdir', logdir]);
  const runDir = findRunDir(logdir, id)!;
  const reader = RunReader.open(runDir);
  const all = reader.series('train/loss', { superseded: true });
  const superseded = all.steps.filter((_, i) => all.superseded?.[i] === 1);
  reader.close();
  say('what the rewind did to train/loss');
  process.stdout.write(
    `  ${superseded.length} points logged after the checkpoint and before the kill (steps ${superseded[0]}-${superseded.at(-1)}) are kept but superseded;\n` +
      `  the visible series has each step 0-299 exactly once. See them with:\n` +
      `  pnpm exec swanlog export ${id} --logdir ${logdir} --all --format csv | grep true\n`,
  );
  await serverTour({ runDir, runId: id, say, train: (args, env) => runTrainer(args, undefined, env) });
  await serveDashboard();
}

/**
 * In a terminal, the demo ends by serving the dashboard over its runs until Ctrl+C; without one
 * (CI, a pipe) or with --no-serve it says how to open it and exits.
 */
async function serveDashboard(): Promise<void> {
  if (!process.stdout.isTTY || process.argv.includes('--no-serve')) {
    say(`done. See the runs in the dashboard: pnpm exec swanlog watch ${logdir}`);
    return;
  }
  const cli = new URL('../../cli/bin/swanlog.js', import.meta.url).pathname;
  const watch = spawn(process.execPath, [cli, 'watch', logdir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  watch.stdout.on('data', (d: Buffer) => {
    const url = /https?:\/\/\S+/.exec(d.toString())?.[0];
    if (url !== undefined) say(`the dashboard over these runs: ${url}  (Ctrl+C to stop)`);
  });
  const stop = () => watch.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise((done) => watch.once('exit', done));
}

await main();
