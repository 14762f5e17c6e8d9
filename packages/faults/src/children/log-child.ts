// A training process for the fault suite: `node log-child.js '<json LogChildOptions>'`. Prints one
// JSON line at every yield with how many log() calls are durable (`flushedThrough`), so a parent
// that SIGKILLs it knows exactly what must have survived. A SwanlogError is printed as
// `{event: 'error', code}` and exits 3; anything else escaping is a crash (exit 70).
import { existsSync } from 'node:fs';
import { init, isSwanlogError, type Run } from 'swanlog';
import { childValue, type LogChildOptions } from './log-child-options.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as LogChildOptions;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run: Run | undefined;

const report = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({
      event,
      ...(run === undefined
        ? {}
        : {
            id: run.id,
            dir: run.dir,
            step: run.step,
            logged: run.logged,
            flushedThrough: run.flushedThrough,
          }),
      ...extra,
    })}\n`,
  );

// A pipe to a parent that reads slower than we print holds queued writes; process.exit() would
// drop them, and the parent would never see the line that says why the child ended.
const exitAfterOutput = (code: number) => {
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
};

const crash = (error: unknown) => {
  report('crash', { message: String(error instanceof Error ? error.stack : error) });
  exitAfterOutput(70);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

try {
  if (opts.startGate !== undefined) {
    report('ready');
    while (!existsSync(opts.startGate)) await sleep(2);
  }
  run = await init(opts.init);
  report('started');
  const burst = opts.burst ?? 10;
  const data: Record<string, number> = {};
  for (let i = 0; i < opts.calls; i++) {
    const step = opts.startStep === undefined ? run.step : opts.startStep + i * (opts.stride ?? 1);
    opts.keys.forEach((k, ki) => {
      data[k] = childValue(step, ki, opts.valueOffset);
    });
    run.log(data, opts.startStep === undefined ? undefined : step);
    if ((i + 1) % burst === 0) {
      report('progress');
      if (opts.sleepMs) await sleep(opts.sleepMs);
      else await new Promise((r) => setImmediate(r));
    }
  }
  if (opts.finish === false) {
    run.flush();
    report('flushed');
    setInterval(() => {}, 1000);
  } else {
    await run.finish();
    report('finished');
  }
} catch (error) {
  if (!isSwanlogError(error)) crash(error);
  const e = error as { code: string; message: string; hint?: string };
  report('error', { code: e.code, message: e.message, hint: e.hint });
  exitAfterOutput(3);
}
