// A training process for tests: `node log-child.js '<json options>'`.
// Logs `steps` calls of `keys` keys, printing one JSON line per `reportEvery` calls with how far its
// data is durable, so a parent that SIGKILLs it knows exactly what must have survived.
import { init } from '../index.js';

interface ChildOptions {
  init: Parameters<typeof init>[0];
  steps: number;
  keys?: string[];
  /** Explicit first step; default: the run's counter. */
  startStep?: number;
  reportEvery?: number;
  /** Milliseconds to sleep between calls (lets timers and signals run). */
  sleepMs?: number;
  finish?: boolean;
  /** Install a SIGTERM handler of the user's that keeps the process alive. */
  userSigtermHandler?: boolean;
  /** Value written for step s and key k: s * 1000 + keyIndex + offset. */
  valueOffset?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const keys = opts.keys ?? ['loss', 'acc'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (opts.userSigtermHandler) {
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ event: 'user-sigterm' })}\n`);
  });
}

const run = await init(opts.init);
const report = (extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ id: run.id, dir: run.dir, step: run.step, logged: run.logged, flushedThrough: run.flushedThrough, ...extra })}\n`,
  );
report({ event: 'started' });
for (let i = 0; i < opts.steps; i++) {
  const step = opts.startStep === undefined ? run.step : opts.startStep + i;
  const data: Record<string, number> = {};
  keys.forEach((k, ki) => {
    data[k] = step * 1000 + ki + (opts.valueOffset ?? 0);
  });
  run.log(data, opts.startStep === undefined ? undefined : step);
  if ((i + 1) % (opts.reportEvery ?? 10) === 0) report({ event: 'progress' });
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
