// A training process for the dashboard tests: `node live-child.js '{"logdir", "id", "steps"}'`.
// Logs `steps` steps through the SDK, flushes, prints {"event":"ready"} and stays alive (a
// running run). Each line "log <n>" on stdin logs n more steps, flushes, prints {"event":"logged"}.
import { createInterface } from 'node:readline';
import { init } from 'swanlog';

const opts = JSON.parse(process.argv[2] ?? '{}') as { logdir: string; id: string; steps: number };
const run = await init({
  logdir: opts.logdir,
  id: opts.id,
  resume: 'allow',
  project: 'web-tests',
  name: 'live',
  config: { lr: 0.001, model: { layers: 4 } },
  flushInterval: 3_600_000,
});
let step = 0;
const logSteps = (n: number) => {
  for (const end = step + n; step < end; step++) {
    run.log({ 'train/loss': 1 / (step + 1), 'train/acc': step / (step + 10), lr: 0.001 }, step);
  }
  run.flush();
};
logSteps(opts.steps);
const say = (event: string) =>
  process.stdout.write(`${JSON.stringify({ event, id: run.id, dir: run.dir, lastStep: step - 1 })}\n`);
say('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const m = /^log (\d+)$/.exec(line.trim());
  if (m) {
    logSteps(Number(m[1]));
    say('logged');
  }
}
// stdin closed: the test is over; leave the run as a crash would (no finish), the test kills us.
setInterval(() => {}, 60_000);
