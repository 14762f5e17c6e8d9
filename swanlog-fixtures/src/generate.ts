// Regenerates the fixture run directories in swanlog-fixtures/logdir with the real SDK:
//   pnpm fixtures
// Every directory is written by swanlog itself (children are SIGKILLed where a crash is wanted);
// the damaged ones are made from a sound copy. Tests copy them to a temp dir before touching them.
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { copyRun, findRunDir } from '@swanlog/store';
import Database from 'better-sqlite3';
import { init } from 'swanlog';

const root = new URL('..', import.meta.url).pathname;
const logdir = join(root, 'logdir');
const child = join(root, '..', 'packages', 'sdk', 'dist', 'test-support', 'log-child.js');

async function main(): Promise<void> {
  rmSync(logdir, { recursive: true, force: true });
  const base = { logdir, project: 'fixtures', resume: 'allow' as const };

  const finished = await init({
    ...base,
    id: 'fx-finished',
    name: 'finished',
    config: { lr: 0.001, model: { layers: 2 } },
  });
  for (let s = 0; s < 50; s++) finished.log({ loss: 1 / (s + 1), acc: s / 50 });
  finished.log({ weird: Number.NaN }, 50);
  finished.log({ weird: Number.POSITIVE_INFINITY }, 51);
  finished.log({ weird: Number.NEGATIVE_INFINITY }, 52);
  await finished.finish();

  await runChild(
    { init: { ...base, id: 'fx-crashed', name: 'crashed' }, steps: 40, finish: false },
    'flushed',
  );

  await runChild(
    { init: { ...base, id: 'fx-resumed', name: 'resumed' }, steps: 30, finish: false },
    'flushed',
  );
  await runChild(
    { init: { ...base, id: 'fx-resumed', resume: 'must', config: { phase: 2 } }, steps: 20 },
    'finished',
  );

  const rewound = await init({ ...base, id: 'fx-rewound', name: 'rewound' });
  for (let s = 0; s < 40; s++) rewound.log({ loss: 100 + s });
  await rewound.finish();
  const again = await init({ ...base, id: 'fx-rewound', resume: 'must', fromStep: 20 });
  for (let s = 0; s < 10; s++) again.log({ loss: 200 + s });
  await again.finish();

  await Promise.all([
    runChild(
      {
        init: { ...base, id: 'fx-two-writers', name: 'two writers' },
        steps: 30,
        keys: ['train/loss'],
        sleepMs: 2,
      },
      'finished',
    ),
    runChild(
      {
        init: { ...base, id: 'fx-two-writers', name: 'two writers' },
        steps: 30,
        keys: ['eval/loss'],
        sleepMs: 2,
      },
      'finished',
    ),
  ]);

  copyRun(findRunDir(logdir, 'fx-finished')!);

  const truncated = damagedCopy('fx-finished', 'fx-truncated');
  const writers = join(truncated, 'writers');
  const file = join(writers, readdirSync(writers)[0]!);
  truncateSync(file, Math.floor(statSync(file).size / 2));

  const future = damagedCopy('fx-finished', 'fx-future-version');
  const db = new Database(join(future, 'run.sqlite'));
  db.pragma('user_version = 99');
  db.close();

  cpSync(join(root, 'src', 'not-a-run'), join(logdir, 'run-20000101_000000-fx-foreign'), { recursive: true });
  process.stdout.write(
    `fixtures written to ${logdir}:\n${readdirSync(logdir)
      .filter((n) => !n.startsWith('.'))
      .join('\n')}\n`,
  );
}

/** A byte copy of a sound run under a name carrying `id` (its files still say the original id). */
function damagedCopy(fromId: string, id: string): string {
  const to = join(logdir, `run-20000101_000000-${id}`);
  cpSync(findRunDir(logdir, fromId)!, to, { recursive: true });
  return to;
}

/** Runs the SDK's test child until it prints `event`; kills it (SIGKILL) when it stays alive. */
function runChild(options: Record<string, unknown>, event: 'finished' | 'flushed'): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (event === 'flushed' && out.includes('"event":"flushed"')) proc.kill('SIGKILL');
    });
    proc.on('exit', (code, signal) => {
      if (event === 'finished' && code !== 0)
        reject(new Error(`fixture child failed (${code ?? signal}): ${out}`));
      else resolve();
    });
  });
}

await main();
