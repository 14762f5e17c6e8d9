// A writer process for the run-state tests: `node state-writer.js '<json>'`. It opens (or resumes)
// a run, logs `steps` calls, flushes, prints one JSON line `{"event":"flushed",id,dir}` and then
// either finishes (`end: 'finish'`) or stays alive until it is killed or signalled (`end: 'hold'`),
// with `trickle` logging on meanwhile.

import type { InitOptions } from 'swanlog';
import { init } from 'swanlog';

interface StateWriterOptions {
  init: InitOptions;
  keys: string[];
  steps: number;
  end: 'finish' | 'hold';
  /** While holding, log and flush one more call every 10 ms (a job still training). */
  trickle?: boolean;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as StateWriterOptions;
const run = await init(opts.init);
for (let i = 0; i < opts.steps; i++) {
  const data: Record<string, number> = {};
  for (const key of opts.keys) data[key] = run.step * 10 + key.length;
  run.log(data);
}
run.flush();
if (opts.end === 'finish') await run.finish();
process.stdout.write(`${JSON.stringify({ event: 'flushed', id: run.id, dir: run.dir })}\n`);
if (opts.end === 'hold')
  setInterval(() => {
    if (opts.trickle !== true) return;
    run.log({ [opts.keys[0] ?? 'loss']: run.step });
    run.flush();
  }, 10);
