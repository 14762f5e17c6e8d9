// A training process the model test can kill: `node writer-child.js '<init options as JSON>'`.
// Opens the run through the SDK, prints {"ready", id, dir, step}, then takes one JSON command
// per stdin line: {"op": "log", "calls": [{"data", "step"?}]} logs, flushes and answers
// {"ok", step}, so everything it reported is durable before any kill; {"op": "finish"} finishes
// and exits. SIGTERM is left to the SDK (no handler of ours): the run ends aborted.
import { createInterface } from 'node:readline';
import { init } from 'swanlog';

interface LogCall {
  data: Record<string, number>;
  step?: number;
}

type Command = { op: 'log'; calls: LogCall[] } | { op: 'finish' };

const options = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof init>[0];
const run = await init({ ...options, flushInterval: 3_600_000 });
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
say({ ready: true, id: run.id, dir: run.dir, step: run.step });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const command = JSON.parse(line) as Command;
  if (command.op === 'log') {
    for (const call of command.calls) run.log(call.data, call.step);
    run.flush();
    say({ ok: true, step: run.step });
  } else {
    await run.finish();
    say({ finished: true });
    // process.exit() would drop a line still queued for a slow pipe reader.
    process.stdout.write('', () => process.exit(0));
    break;
  }
}
// stdin closed (the test went away): stay as a live writer until killed.
setInterval(() => {}, 60_000);
