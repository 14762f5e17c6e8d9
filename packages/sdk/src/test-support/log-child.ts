// A training process for tests: `node log-child.js '<json options>'`.
// Logs `steps` calls of `keys` keys, printing one JSON line per `reportEvery` calls with how far its
// data is durable, so a parent that SIGKILLs it knows exactly what must have survived.
import { existsSync } from 'node:fs';
import { init, type Run } from '../index.js';
import type { LogChildOptions } from './log-child-options.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as LogChildOptions;
const keys = opts.keys ?? ['loss', 'acc'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitForFile = async (path: string) => {
  while (!existsSync(path)) await sleep(2);
};

let run: Run | undefined;
const report = (extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify(
      run === undefined
        ? extra
        : {
            id: run.id,
            dir: run.dir,
            step: run.step,
            logged: run.logged,
            flushedThrough: run.flushedThrough,
            ...extra,
          },
    )}\n`,
  );

if (opts.userSigtermHandler) {
  process[opts.userSigtermHandler === 'once' ? 'once' : 'on']('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ event: 'user-sigterm' })}\n`);
    // Every SIGTERM listener (the SDK's included) has run by then: tells the parent what is durable.
    setImmediate(() => report({ event: 'after-sigterm' }));
  });
}

if (opts.startGate !== undefined) {
  report({ event: 'ready' });
  await waitForFile(opts.startGate);
}

run = await init(opts.init);
report({ event: 'started' });
for (let i = 0; i < opts.steps; i++) {
  const step = opts.startStep === undefined ? run.step : opts.startStep + i * (opts.stride ?? 1);
  const data: Record<string, number> = {};
  keys.forEach((k, ki) => {
    data[k] = step * 1000 + ki + (opts.valueOffset ?? 0);
  });
  run.log(data, opts.startStep === undefined ? undefined : step);
  if ((i + 1) % (opts.reportEvery ?? 10) === 0) report({ event: 'progress' });
  if (opts.holdAt === i + 1 && opts.holdGate !== undefined) {
    report({ event: 'held' });
    await waitForFile(opts.holdGate);
  }
  if (opts.sleepMs !== undefined && opts.sleepMs > 0) await sleep(opts.sleepMs);
}
if (opts.finish !== false) {
  await run.finish();
  report({ event: 'finished' });
} else {
  run.flush();
  report({ event: 'flushed' });
  // Stay alive until killed.
  setInterval(() => {}, 1000);
}
