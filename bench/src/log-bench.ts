import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initSync } from 'swanlog';
import { benchRow, KEYS } from './bench-row.js';
import { RecordFile } from './record-file.js';

const child = new URL('./log-child.js', import.meta.url).pathname;

export interface LogRun {
  pointsPerSecond: number;
  maxRssMb: number;
  rssAt3mMb: number;
  dir: string;
  points: number;
}

/**
 * run.log() of 10-key dicts in a process of its own (so its peak RSS is its own), finish() included.
 * With `realistic`, dicts of that many realistic values instead; with `raw` too, those dicts
 * appended as 24-byte records (the baseline), `dir` then being `logdir`.
 */
export function logInChild(
  logdir: string,
  calls: number,
  realistic?: { keys: number; seed: number; raw?: boolean },
): LogRun {
  const extra = realistic === undefined ? [] : [String(realistic.keys), String(realistic.seed)];
  if (realistic?.raw) extra.push('raw');
  const out = execFileSync(process.execPath, [child, logdir, String(calls), ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
    seconds: number;
    points: number;
    maxRssMb: number;
    rssAt3mMb: number;
    dir: string;
  };
  return {
    pointsPerSecond: r.points / r.seconds,
    maxRssMb: r.maxRssMb,
    rssAt3mMb: r.rssAt3mMb,
    dir: r.dir,
    points: r.points,
  };
}

/** Baseline: plain better-sqlite3, one row per point, batched in transactions of 100,000 rows. */
export function sqliteRowsPerSecond(work: string, calls: number): number {
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
  const t0 = performance.now();
  for (let i = 0; i < calls; i += 10_000) batch(i, i + 10_000);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return (calls * KEYS.length) / seconds;
}

/**
 * Baseline: the points of the same 10-key dicts the log bench logs (built per call, as a training
 * loop builds them), each appended as a 24-byte record (step, value, ts) with buffered writes.
 */
export function rawAppendPointsPerSecond(work: string, calls: number): number {
  const out = new RecordFile(join(work, `raw-${Date.now()}.bin`));
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const row = benchRow(i);
    const ts = Date.now();
    for (const key in row) out.add(i, row[key]!, ts);
  }
  out.close();
  return (calls * KEYS.length) / ((performance.now() - t0) / 1000);
}

/** Reference: the same records without building any dict (constants written in a tight loop). */
export function rawAppendBarePointsPerSecond(work: string, calls: number): number {
  const out = new RecordFile(join(work, `raw-bare-${Date.now()}.bin`));
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const ts = Date.now();
    for (let k = 0; k < KEYS.length; k++) out.add(i, i * 0.5, ts);
  }
  out.close();
  return (calls * KEYS.length) / ((performance.now() - t0) / 1000);
}

/** Baseline: one JSON line per point, the lines of each call appended with one write (file stores of SwanLab/MLflow). */
export function jsonlPointsPerSecond(work: string, calls: number): number {
  const fd = openSync(join(work, `points-${Date.now()}.jsonl`), 'w');
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const ts = Date.now();
    let lines = '';
    for (const key of KEYS) lines += `${JSON.stringify({ key, step: i, value: i * 0.5, ts })}\n`;
    writeSync(fd, lines);
  }
  closeSync(fd);
  return (calls * KEYS.length) / ((performance.now() - t0) / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median cost of one log() call with 1,000 keys. */
export async function log1000KeysCallMs(work: string): Promise<number> {
  const run = initSync({ project: 'bench', logdir: join(work, 'wide') }, { SWANLOG_MODE: 'offline' });
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
export async function initMs(work: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const run = initSync({ project: 'bench', logdir: join(work, 'inits') }, { SWANLOG_MODE: 'offline' });
    run.log({ loss: 1 });
    times.push(performance.now() - t0);
    await run.finish();
  }
  return median(times);
}

/** Median time of init({resume: 'must'}) of the run in `dir` (its counter answered from summaries). */
export async function resumeOpenMs(dir: string): Promise<number> {
  const logdir = join(dir, '..');
  const id = dir.slice(dir.lastIndexOf('-') + 1);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const run = initSync({ logdir, id, resume: 'must' }, {});
    times.push(performance.now() - t0);
    await run.finish();
  }
  return median(times);
}

/** Bytes of every file of a run directory per point it holds. */
export function bytesPerPoint(dir: string, points: number): number {
  const size = (p: string): number =>
    statSync(p).isDirectory() ? readdirSync(p).reduce((n, f) => n + size(join(p, f)), 0) : statSync(p).size;
  return size(dir) / points;
}

/**
 * Iterations/s of a loop doing ~1 ms of CPU work and logging 100 keys per iteration, logging on
 * ÷ mode 'disabled'. Runs alternate so drift of the machine hits both alike. The loop is timed
 * (flushes included); the one-time finish() at the end of training is reported by `finishMs`.
 */
export async function trainOverheadRatio(
  work: string,
  iterations: number,
): Promise<{ ratio: number; finishMs: number }> {
  const keys = Array.from({ length: 100 }, (_, k) => `layer_${k}/loss`);
  let sink = 0;
  const finishes: number[] = [];
  const loop = async (mode: 'offline' | 'disabled') => {
    const run = initSync({ project: 'bench', logdir: join(work, 'overhead'), mode }, {});
    const data: Record<string, number> = {};
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      const end = performance.now() + 1;
      while (performance.now() < end) sink += Math.sqrt(i); // the training step
      for (const k of keys) data[k] = sink % 1;
      run.log(data);
    }
    const perSecond = iterations / ((performance.now() - t0) / 1000);
    const f0 = performance.now();
    await run.finish();
    if (mode === 'offline') finishes.push(performance.now() - f0);
    return perSecond;
  };
  let on = 0;
  let off = 0;
  for (let r = 0; r < 3; r++) {
    off += await loop('disabled');
    on += await loop('offline');
  }
  return { ratio: on / off, finishMs: median(finishes) };
}
