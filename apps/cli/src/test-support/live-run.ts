// A training process for the CLI's tests: `node live-run.js '{"logdir": ..., "id": ..., "steps": 40}'`.
// Logs `steps` steps of loss and acc through the SDK, flushes, prints one JSON line and stays alive
// until killed, so the CLI meets a live run.
import { init } from 'swanlog';

const opts = JSON.parse(process.argv[2] ?? '{}') as { logdir: string; id: string; steps: number };
const run = await init({
  logdir: opts.logdir,
  id: opts.id,
  resume: 'allow',
  project: 'cli-tests',
  flushInterval: 3_600_000,
});
for (let s = 0; s < opts.steps; s++) run.log({ loss: 1 / (s + 1), acc: s });
run.flush();
process.stdout.write(`${JSON.stringify({ event: 'ready', id: run.id, dir: run.dir })}\n`);
setInterval(() => {}, 60_000);
