// A simulated training job for the demo: logs loss, accuracy and learning rate every step and
// saves a small checkpoint every `--checkpoint-every` steps. With --resume it restores the last
// checkpoint and resumes the same run rewound to it (fromStep), so the steps logged after the
// checkpoint and lost with the crash are superseded, never duplicated.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init } from 'swanlog';

const { values: args } = parseArgs({
  options: {
    logdir: { type: 'string', default: './swanlog' },
    steps: { type: 'string', default: '300' },
    'checkpoint-every': { type: 'string', default: '50' },
    'step-ms': { type: 'string', default: '8' },
    resume: { type: 'boolean', default: false },
    id: { type: 'string' },
    /** Continue run <id> (resume: 'must') without a checkpoint, e.g. a copy on another machine. */
    continue: { type: 'string' },
    mode: { type: 'string', default: 'offline' },
  },
});

interface Checkpoint {
  runId: string;
  step: number;
  weight: number;
}

const checkpointPath = join(args.logdir, 'demo-checkpoint.json');
const total = Number(args.steps);
const every = Number(args['checkpoint-every']);
const stepMs = Number(args['step-ms']);

function loadCheckpoint(): Checkpoint | undefined {
  try {
    return JSON.parse(readFileSync(checkpointPath, 'utf8')) as Checkpoint;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const ckpt = args.resume ? loadCheckpoint() : undefined;
/** How this process joins its run: a new run, a run resumed from its checkpoint, or a run continued as is. */
function resumeOptions() {
  if (args.continue !== undefined) return { id: args.continue, resume: 'must' as const };
  if (ckpt !== undefined) {
    return {
      id: ckpt.runId,
      resume: 'must' as const,
      fromStep: ckpt.step,
      config: { resumedFrom: ckpt.step },
    };
  }
  const config = { lr: 0.05, batch: 32, optimizer: { name: 'sgd', momentum: 0.9 } };
  return args.id === undefined ? { config } : { id: args.id, resume: 'allow' as const, config };
}
const run = await init({
  project: 'demo',
  name: 'simulated-mlp',
  logdir: args.logdir,
  mode: args.mode as 'offline' | 'cloud',
  finishTimeout: 20_000,
  ...resumeOptions(),
});
process.stdout.write(
  ckpt === undefined
    ? `train: ${run.resumed ? 'continued' : 'started'} run ${run.id} at step ${run.step}${args.mode === 'cloud' ? ' (cloud mode: uploading live)' : ''}\n`
    : `train: resumed run ${run.id} from its checkpoint at step ${ckpt.step}; continuing at step ${run.step}\n`,
);

let weight = ckpt?.weight ?? 2.0;
const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) weight += 0; // the forward/backward pass
};
for (let step = run.step; step < total; step++) {
  busy(stepMs);
  const lr = 0.05 * 0.5 ** Math.floor(step / 100);
  weight -= lr * weight * 0.1;
  const loss = weight * weight + 0.02 * Math.sin(step);
  run.log({ 'train/loss': loss, 'train/acc': 1 - Math.min(1, loss) / 2, 'train/lr': lr }, step);
  if ((step + 1) % every === 0) {
    run.flush(); // metrics up to the checkpoint are durable before the checkpoint exists
    const tmp = `${checkpointPath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ runId: run.id, step, weight } satisfies Checkpoint));
    renameSync(tmp, checkpointPath);
  }
  if (step % 25 === 0) {
    process.stdout.write(
      `train: step ${step} loss ${loss.toFixed(4)} (durable: ${run.flushedThrough} log calls)\n`,
    );
  }
  await new Promise((r) => setImmediate(r));
}
await run.finish();
process.stdout.write(`train: finished run ${run.id} at step ${total - 1}\n`);
