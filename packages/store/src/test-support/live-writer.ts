// A writer process for tests: `node live-writer.js '{"dir": ..., "flushed": 40, "buffered": 5}'`.
// Opens a writer session on an existing run, commits `flushed` calls (steps 0..flushed-1, keys loss
// and acc), buffers `buffered` more without flushing, prints one JSON line and stays alive until
// killed, like a training process in the middle of its run.
import { RunWriter } from '../run-writer.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as { dir: string; flushed: number; buffered?: number };
const writer = RunWriter.open({ dir: opts.dir, resumed: true, flushIntervalMs: 3_600_000 });
for (let s = 0; s < opts.flushed; s++) writer.append({ loss: 1 / (s + 1), acc: s }, s);
writer.flush();
for (let s = opts.flushed; s < opts.flushed + (opts.buffered ?? 0); s++)
  writer.append({ loss: -1, acc: -1 }, s);
process.stdout.write(`${JSON.stringify({ event: 'ready', source: writer.source, pid: process.pid })}\n`);
setInterval(() => {}, 60_000);
