// A logging process for the bench: `node log-child.js <logdir> <calls>`. Logs `calls` 10-key
// dicts with default durability through finish(), then prints
// {seconds, points, maxRssMb, rssAt3mMb, dir} as one JSON line.
import { initSync } from 'swanlog';
import { benchRow, KEYS } from './bench-row.js';

const [logdir = '', callsArg = '1000000'] = process.argv.slice(2);
const calls = Number(callsArg);
const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
let rssAt3mMb = 0;
const t0 = performance.now();
for (let i = 0; i < calls; i++) {
  run.log(benchRow(i));
  if (i === 300_000) rssAt3mMb = process.resourceUsage().maxRSS / 1024;
}
await run.finish();
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, points: calls * KEYS.length, maxRssMb: process.resourceUsage().maxRSS / 1024, rssAt3mMb, dir: run.dir })}\n`,
);
