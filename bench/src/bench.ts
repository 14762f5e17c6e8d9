// `pnpm bench`: swanlog's logging speed beside baselines measured in the same run.
//   pnpm bench [--quick] [--json]
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { initSync } from 'swanlog';
import { syncBench } from './sync-bench.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
});
const KEYS = [
  'loss',
  'acc',
  'lr',
  'grad_norm',
  'val_loss',
  'val_acc',
  'epoch',
  'tokens',
  'throughput',
  'mem',
];
const CALLS = 1_000_000; // 10,000,000 points of 10-key dicts
const reps = args.quick ? 1 : 3;
const work = mkdtempSync(join(tmpdir(), 'swanlog-bench-'));
const env = { ...process.env, SWANLOG_MODE: 'offline' };

async function best(fn: () => number | Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < reps; i++) top = Math.max(top, await fn());
  return top;
}

/** Points/s through run.log() with 10-key dicts, default durability, finish() included. */
async function logPointsPerSecond(): Promise<number> {
  const run = initSync({ project: 'bench', logdir: join(work, `log-${Date.now()}`) }, env);
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    run.log({
      loss: i,
      acc: 0.5,
      lr: 0.001,
      grad_norm: 1.5,
      val_loss: i * 0.5,
      val_acc: 0.25,
      epoch: 3,
      tokens: i * 4096,
      throughput: 812.5,
      mem: 0.75,
    });
  }
  await run.finish();
  const seconds = (performance.now() - t0) / 1000;
  return (CALLS * KEYS.length) / seconds;
}

/** Baseline: plain better-sqlite3, one row per point, batched in transactions of 100,000 rows. */
function sqliteRowsPerSecond(): number {
  const db = new Database(join(work, `rows-${Date.now()}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE points (key TEXT NOT NULL, step INTEGER NOT NULL, value REAL NOT NULL, ts INTEGER NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO points (key, step, value, ts) VALUES (?, ?, ?, ?)');
  const batch = db.transaction((from: number, to: number) => {
    const ts = Date.now();
    for (let i = from; i < to; i++) for (const k of KEYS) insert.run(k, i, i * 0.5, ts);
  });
  const calls = CALLS / 4; // 2,500,000 rows: enough for a steady rate
  const t0 = performance.now();
  for (let i = 0; i < calls; i += 10_000) batch(i, i + 10_000);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return (calls * KEYS.length) / seconds;
}

/** Baseline: the same points as 24-byte records (step, value, ts) appended with buffered writes. */
function rawAppendPointsPerSecond(): number {
  const fd = openSync(join(work, `raw-${Date.now()}.bin`), 'w');
  const buf = Buffer.allocUnsafe(24 * 65_536);
  let at = 0;
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const ts = Date.now();
    for (let k = 0; k < KEYS.length; k++) {
      buf.writeDoubleLE(i, at);
      buf.writeDoubleLE(i * 0.5, at + 8);
      buf.writeDoubleLE(ts, at + 16);
      at += 24;
      if (at === buf.length) {
        writeSync(fd, buf, 0, at);
        at = 0;
      }
    }
  }
  writeSync(fd, buf, 0, at);
  closeSync(fd);
  return (CALLS * KEYS.length) / ((performance.now() - t0) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median cost of one log() call with 1,000 keys. */
async function log1000KeysCallMs(): Promise<number> {
  const run = initSync({ project: 'bench', logdir: join(work, `wide-${Date.now()}`) }, env);
  const data: Record<string, number> = {};
  for (let k = 0; k < 1000; k++) data[`layer_${k}/grad_norm`] = k;
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    run.log(data);
    times.push(performance.now() - t0);
  }
  await run.finish();
  return median(times.slice(200));
}

/** Median time from init() of a new offline run to its first log(). */
async function initMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const run = initSync({ project: 'bench', logdir: join(work, 'inits') }, env);
    run.log({ loss: 1 });
    times.push(performance.now() - t0);
    await run.finish();
  }
  return median(times);
}

const log = await best(logPointsPerSecond);
const rows = await best(sqliteRowsPerSecond);
const raw = await best(rawAppendPointsPerSecond);
const wide = await log1000KeysCallMs();
const init = await initMs();
const sync = await syncBench(work, 1_000_000);
rmSync(work, { recursive: true, force: true });

const results = {
  log_points_per_s: Math.round(log),
  sqlite_rows_per_s: Math.round(rows),
  raw_append_points_per_s: Math.round(raw),
  log_1000keys_call_ms: Number(wide.toFixed(4)),
  init_ms: Number(init.toFixed(2)),
  ...sync,
};
if (args.json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 3 });
  const rowsOut = [
    ['figure', 'result', 'baseline (same run)', 'ratio', 'target'],
    [
      'log_points_per_s (10-key dicts)',
      f(log),
      `sqlite_rows_per_s ${f(rows)}`,
      `${(log / rows).toFixed(2)}x`,
      '>= 4,000,000 and >= 3x',
    ],
    ['', '', `raw_append_points_per_s ${f(raw)}`, `${(log / raw).toFixed(2)}x`, '>= 0.5x'],
    ['log_1000keys_call_ms (median)', f(wide), '', '', '< 0.25'],
    ['init_ms (median, to first log)', f(init), '', '', '< 50'],
    [
      'sync_points_per_s (1,000,000 points, whole CLI)',
      f(sync.sync_points_per_s),
      `loopback_post_points_per_s ${f(sync.loopback_post_points_per_s)}`,
      `${(sync.sync_points_per_s / sync.loopback_post_points_per_s).toFixed(2)}x`,
      '>= 2,000,000',
    ],
    ['resync_noop_ms (whole CLI process)', f(sync.resync_noop_ms), '', '', '< 300'],
  ];
  const widths = rowsOut[0]!.map((_, i) => Math.max(...rowsOut.map((r) => r[i]!.length)));
  for (const r of rowsOut) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  process.stdout.write(
    `\n${reps} repetition(s) each, best kept; ${CALLS.toLocaleString('en-US')} log() calls per repetition.\n`,
  );
}
