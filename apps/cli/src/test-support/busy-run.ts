// A training process that keeps writing while the CLI syncs it:
// `node busy-run.js '{"logdir": ..., "id": ..., "keys": 5, "prefill": 40000}'`.
// Logs `prefill` steps and flushes, prints one JSON line, then logs and flushes a step batch every
// few milliseconds (so its small chunks are merged under a reader's feet) until SIGTERM, when it
// finishes the run and prints the steps it logged.
import { init } from 'swanlog';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  logdir: string;
  id: string;
  keys: number;
  prefill: number;
};
const run = await init({
  logdir: opts.logdir,
  id: opts.id,
  resume: 'allow',
  project: 'cli-tests',
  flushInterval: 3_600_000,
});
let step = 0;
const logStep = () => {
  const row: Record<string, number> = {};
  for (let k = 0; k < opts.keys; k++) row[`k${k}`] = Math.fround(Math.sin(step * (k + 1)));
  run.log(row, step++);
};
for (let s = 0; s < opts.prefill; s++) logStep();
run.flush();
process.stdout.write(`${JSON.stringify({ event: 'ready', id: run.id, dir: run.dir })}\n`);
const timer = setInterval(() => {
  for (let s = 0; s < 20; s++) logStep();
  run.flush();
}, 2);
process.on('SIGTERM', async () => {
  clearInterval(timer);
  await run.finish();
  process.stdout.write(`${JSON.stringify({ event: 'finished', steps: step })}\n`);
  process.exit(0);
});
