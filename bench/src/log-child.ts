// A logging process for the bench: `node log-child.js <logdir> <calls> [<keys> <seed> [raw]]`.
// Logs `calls` 10-key dicts (benchRow) with default durability through finish(), or, given <keys>,
// dicts of that many realistic values (RealisticRun with <seed>), then prints
// {seconds, cpuSeconds, points, maxRssMb, rssAt3mMb, dir} as one JSON line (cpuSeconds: realistic
// runs only). With `raw`, the same realistic dicts are appended as 24-byte records to
// <logdir>/raw.bin instead (the baseline of the wide row).
//
// Realistic values cost ~0.2 µs each to generate (noise, exp, cos), more than logging one: they
// are generated outside the timed part, into an array; each call then builds its dict from that
// array and logs it (or appends it), which is what is timed, as the 10-key dicts' building is.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from 'swanlog';
import { benchRow, KEYS } from './bench-row.js';
import { RealisticRun } from './realistic-values.js';
import { RecordFile } from './record-file.js';

const [logdir = '', callsArg = '1000000', keysArg, seedArg = '1', how] = process.argv.slice(2);
const calls = Number(callsArg);
let rssAt3mMb = 0;
let dir: string | null = null; // the run directory (with `raw`, <logdir>)
let seconds: number;
let points: number;
let cpuSeconds: number | undefined;
let maxRssMb: number | undefined;

/**
 * This process's peak RSS in MB. Linux keeps getrusage's maxRSS across exec, so a child started by
 * a large bench process would report the parent's size; VmHWM in /proc/self/status is the peak of
 * this process's own memory (the realistic rows run late in the bench, when the parent is large).
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: getrusage's figure
  }
  return process.resourceUsage().maxRSS / 1024;
}

if (keysArg === undefined) {
  points = calls * KEYS.length;
  const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    run.log(benchRow(i));
    if (i === 300_000) rssAt3mMb = process.resourceUsage().maxRSS / 1024;
  }
  await run.finish();
  seconds = (performance.now() - t0) / 1000;
  dir = run.dir;
} else {
  const gen = new RealisticRun(Number(keysArg), Number(seedArg), calls);
  const keys = gen.keys;
  const values = new Float64Array(keys.length);
  points = calls * keys.length;
  // The call after which 3,000,000 points have been logged.
  const at3m = Math.round(3_000_000 / keys.length);
  const row = () => {
    const data: Record<string, number> = {};
    for (let k = 0; k < keys.length; k++) data[keys[k]!] = values[k]!;
    return data;
  };
  let ms = 0;
  let cpu = 0; // microseconds of this thread's CPU in the timed parts (steadier than wall time on a busy machine)
  const cpuNow = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  if (how === 'raw') {
    mkdirSync(logdir, { recursive: true });
    const out = new RecordFile(join(logdir, 'raw.bin'));
    for (let i = 0; i < calls; i++) {
      gen.fill(i, values);
      const c0 = cpuNow();
      const t0 = performance.now();
      const data = row();
      const ts = Date.now();
      for (const key in data) out.add(i, data[key]!, ts);
      ms += performance.now() - t0;
      cpu += cpuNow() - c0;
      if (i === at3m) rssAt3mMb = peakRssMb();
    }
    const t0 = performance.now();
    out.close();
    ms += performance.now() - t0;
    dir = logdir;
  } else {
    const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
    for (let i = 0; i < calls; i++) {
      gen.fill(i, values);
      const c0 = cpuNow();
      const t0 = performance.now();
      run.log(row());
      ms += performance.now() - t0;
      cpu += cpuNow() - c0;
      if (i === at3m) rssAt3mMb = peakRssMb();
    }
    const t0 = performance.now();
    await run.finish();
    ms += performance.now() - t0;
    dir = run.dir;
  }
  seconds = ms / 1000;
  cpuSeconds = cpu / 1e6;
  maxRssMb = peakRssMb();
}
process.stdout.write(
  `${JSON.stringify({ seconds, cpuSeconds, points, maxRssMb: maxRssMb ?? process.resourceUsage().maxRSS / 1024, rssAt3mMb, dir })}\n`,
);
