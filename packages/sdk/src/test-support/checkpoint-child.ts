// A trainer for checkpoint tests: `node checkpoint-child.js '<json>'`.
// Logs `steps` steps, saves a checkpoint every `every` steps, prints a JSON line per event.
// With `slowSaveAt`, the save of that step streams its payload slowly (printing `writing` after
// the first chunk), so a parent can SIGKILL it in the middle of the write.
import { init } from '../index.js';

interface Options {
  logdir: string;
  ckptDir: string;
  steps: number;
  every: number;
  keep?: number;
  slowSaveAt?: number;
  /** Flush interval of the run: long, to prove save() flushes first. */
  flushInterval?: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const run = await init({ project: 'ckpt', logdir: o.logdir, flushInterval: o.flushInterval ?? 1000 });
const ckpts = run.checkpoints({ dir: o.ckptDir, ...(o.keep === undefined ? {} : { keep: o.keep }) });
say({ event: 'started', id: run.id });

async function* slowPayload(): AsyncIterable<Uint8Array> {
  yield Buffer.alloc(1 << 20, 1);
  say({ event: 'writing' });
  for (let i = 0; i < 1000; i++) {
    await new Promise((r) => setTimeout(r, 20));
    yield Buffer.alloc(1 << 16, 2);
  }
}

for (let step = 0; step < o.steps; step++) {
  run.log({ loss: step * 10 }, step);
  if ((step + 1) % o.every === 0) {
    const data = step === o.slowSaveAt ? slowPayload() : { step, weights: [step, step + 1] };
    const saved = await ckpts.save(step, data);
    say({
      event: 'saved',
      step: saved.step,
      path: saved.path,
      logged: run.logged,
      flushedThrough: run.flushedThrough,
    });
  }
}
run.flush();
say({ event: 'done' });
setInterval(() => {}, 1000); // stay alive until killed
