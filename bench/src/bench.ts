// `pnpm bench [--quick] [--json]`: every figure beside baselines measured in the same run.
// --quick runs fewer repetitions (the sizes stay); --json prints one flat JSON object on stdout
// instead of the table. Either way the object is written to bench/results.json (or to --out
// <file>), for `node bench/median-runs.mjs` over several runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importBench } from './import-bench.js';
import { concurrentSyncBench, largeSyncBench } from './large-sync-bench.js';
import {
  bytesPerPoint,
  initMs,
  jsonlPointsPerSecond,
  type LogRun,
  log1000KeysCallMs,
  logInChild,
  median,
  rawAppendBarePointsPerSecond,
  rawAppendPointsPerSecond,
  resumeOpenMs,
  sqliteRowsPerSecond,
  trainOverheadRatio,
} from './log-bench.js';
import { pythonBench } from './py-bench.js';
import { runPageBench } from './run-page-bench.js';
import { runsTableBench } from './runs-table-bench.js';
import { seriesQueryBench } from './series-bench.js';
import { syncBench } from './sync-bench.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // Where --json writes the figures too.
    out: { type: 'string', default: new URL('../results.json', import.meta.url).pathname },
  },
});
const reps = args.quick ? 1 : 3;
const CALLS = 1_000_000; // 10,000,000 points of 10-key dicts: also the resume_open_points run
const work = mkdtempSync(join(tmpdir(), 'swanlog-bench-'));
const progress = (what: string) => {
  if (!args.json) process.stderr.write(`bench: ${what}…\n`);
};

async function best(fn: () => number | Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < reps; i++) top = Math.max(top, await fn());
  return top;
}

async function main(): Promise<Record<string, number>> {
  progress('run.log() of 10,000,000 points');
  const logs = [];
  for (let i = 0; i < reps; i++) logs.push(logInChild(join(work, `log-${i}`), CALLS));
  const log = logs.reduce((a, b) => (b.pointsPerSecond > a.pointsPerSecond ? b : a));
  progress('baselines');
  const rows = await best(() => sqliteRowsPerSecond(work, CALLS / 4));
  const raw = await best(() => rawAppendPointsPerSecond(work, CALLS));
  const rawBare = await best(() => rawAppendBarePointsPerSecond(work, CALLS));
  const jsonl = await best(() => jsonlPointsPerSecond(work, CALLS / 10));
  progress('call cost, init, resume');
  const wide = await log1000KeysCallMs(work);
  const init = await initMs(work);
  const resume = await resumeOpenMs(log.dir);
  const bytes = bytesPerPoint(log.dir, log.points);
  progress('training-loop overhead');
  const overhead = await trainOverheadRatio(work, args.quick ? 500 : 1500);
  progress('sync of 1,000,000 points');
  const sync = await syncBench(work, 1_000_000, reps);
  progress('10,000,000-point series downsampled to 2,000 points');
  const series = await seriesQueryBench(work);
  progress('the Python SDK (10-key dicts, 1,000 keys, training-loop overhead)');
  const py = pythonBench(work, args.quick);
  progress('import of a 1,000,000-point event file, .wandb file and .swanlab file');
  const imported = importBench(work, 200_000, reps);
  progress('a 500-key run page to its first screen of charts (swanlog watch, headless Chromium)');
  const runPage = await runPageBench(work, args.quick ? 3 : 5);
  progress('the runs table of 1,000 runs (20 config keys, 10 metrics each)');
  const table = await runsTableBench(work, 1000);
  const realistic = await realisticBench();
  return {
    log_points_per_s: Math.round(log.pointsPerSecond),
    raw_append_points_per_s: Math.round(raw),
    raw_append_bare_points_per_s: Math.round(rawBare),
    sqlite_rows_per_s: Math.round(rows),
    jsonl_points_per_s: Math.round(jsonl),
    log_1000keys_call_ms: round(wide, 4),
    init_ms: round(init, 2),
    resume_open_ms: round(resume, 2),
    resume_open_points: log.points,
    sync_points_per_s: sync.sync_points_per_s,
    loopback_post_points_per_s: sync.loopback_post_points_per_s,
    sync_points: sync.sync_points,
    resync_noop_ms: sync.resync_noop_ms,
    series_query_ms: series.series_query_ms,
    series_query_points: series.series_query_points,
    run_dir_bytes_per_point: round(bytes, 3),
    train_overhead_ratio: round(overhead.ratio, 4),
    train_finish_ms: round(overhead.finishMs, 1),
    log_peak_rss_mb: round(log.maxRssMb, 1),
    log_rss_at_3m_points_mb: round(log.rssAt3mMb, 1),
    ...(py ?? {}),
    ...runPage,
    ...imported,
    ...table,
    ...realistic,
  };
}

/** The rows of issue 18 (realistic values, wide runs, large and concurrent syncs): medians of `reps`. */
async function realisticBench(): Promise<Record<string, number>> {
  progress('run.log() of 1,000-key realistic dicts, 10,000 steps (and its raw-append baseline)');
  const wide: LogRun[] = [];
  const wideRaw: LogRun[] = [];
  for (let r = 0; r < reps; r++) {
    wide.push(logInChild(join(work, `wide-log-${r}`), 10_000, { keys: 1000, seed: r + 1 }));
    const raw = logInChild(join(work, `wide-raw-${r}`), 10_000, { keys: 1000, seed: r + 1, raw: true });
    rmSync(raw.dir, { recursive: true, force: true });
    wideRaw.push(raw);
  }
  progress('run.log() of 10-key realistic dicts, 1,000,000 steps');
  const tenKey: LogRun[] = [];
  for (let r = 0; r < reps; r++)
    tenKey.push(logInChild(join(work, `realistic-log-${r}`), 1_000_000, { keys: 10, seed: r + 11 }));
  const med = (runs: LogRun[], f: (run: LogRun) => number) => median(runs.map(f));
  const figures: Record<string, number> = {
    wide_log_points: wide[0]!.points,
    wide_log_points_per_s: Math.round(med(wide, (x) => x.pointsPerSecond)),
    wide_raw_append_points_per_s: Math.round(med(wideRaw, (x) => x.pointsPerSecond)),
    wide_log_peak_rss_mb: round(
      med(wide, (x) => x.maxRssMb),
      1,
    ),
    wide_log_rss_at_3m_points_mb: round(
      med(wide, (x) => x.rssAt3mMb),
      1,
    ),
    realistic_run_dir_bytes_per_point: round(
      med(tenKey, (x) => bytesPerPoint(x.dir, x.points)),
      3,
    ),
    wide_run_dir_bytes_per_point: round(
      med(wide, (x) => bytesPerPoint(x.dir, x.points)),
      3,
    ),
  };
  progress('swanlog sync of 10,000,000 points: 10 keys, then 1,000 keys');
  const large = await largeSyncBench(work, { tenKey, wide });
  for (const run of [...wide, ...tenKey]) rmSync(run.dir, { recursive: true, force: true });
  progress('8 syncs of 1,000,000 points at once to one server, and one alone');
  const concurrent = await concurrentSyncBench(work, 8, 1_000_000, reps);
  return { ...figures, ...large, ...concurrent };
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

function table(r: Record<string, number>): string {
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 4 });
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const rows = [
    ['figure', 'result', 'baseline (same run)', 'ratio', 'target'],
    [
      'log_points_per_s',
      f(r.log_points_per_s!),
      `raw_append_points_per_s ${f(r.raw_append_points_per_s!)}`,
      x(r.log_points_per_s!, r.raw_append_points_per_s!),
      '>= 4,000,000; >= 0.5x raw',
    ],
    [
      '',
      '',
      `raw_append_bare_points_per_s ${f(r.raw_append_bare_points_per_s!)}`,
      x(r.log_points_per_s!, r.raw_append_bare_points_per_s!),
      '(reference: no dicts built)',
    ],
    [
      '',
      '',
      `sqlite_rows_per_s ${f(r.sqlite_rows_per_s!)}`,
      x(r.log_points_per_s!, r.sqlite_rows_per_s!),
      '>= 3x rows',
    ],
    [
      '',
      '',
      `jsonl_points_per_s ${f(r.jsonl_points_per_s!)}`,
      x(r.log_points_per_s!, r.jsonl_points_per_s!),
      '(reference)',
    ],
    ['log_1000keys_call_ms', f(r.log_1000keys_call_ms!), '', '', '< 0.25'],
    ['init_ms', f(r.init_ms!), '', '', '< 50'],
    [`resume_open_ms (${f(r.resume_open_points!)} points)`, f(r.resume_open_ms!), '', '', '< 100'],
    [
      `sync_points_per_s (${f(r.sync_points!)} points, whole CLI)`,
      f(r.sync_points_per_s!),
      `loopback_post_points_per_s ${f(r.loopback_post_points_per_s!)}`,
      x(r.sync_points_per_s!, r.loopback_post_points_per_s!),
      '>= 2,000,000',
    ],
    ['resync_noop_ms (whole CLI)', f(r.resync_noop_ms!), '', '', '< 300'],
    [`series_query_ms (${f(r.series_query_points!)} → 2,000 points)`, f(r.series_query_ms!), '', '', '< 50'],
    [
      'run_dir_bytes_per_point',
      f(r.run_dir_bytes_per_point!),
      '24 (raw record)',
      x(r.run_dir_bytes_per_point!, 24),
      '<= 12',
    ],
    ['train_overhead_ratio', f(r.train_overhead_ratio!), "mode 'disabled'", '', '>= 0.97'],
    ['train_finish_ms (once, at the end)', f(r.train_finish_ms!), '', '', '(reference)'],
    [
      'log_peak_rss_mb (10,000,000 points)',
      f(r.log_peak_rss_mb!),
      `at 3,000,000 points ${f(r.log_rss_at_3m_points_mb!)}`,
      x(r.log_peak_rss_mb!, r.log_rss_at_3m_points_mb!),
      'flat',
    ],
    [
      `import_tfevents_points_per_s (${f(r.import_points!)} points)`,
      f(r.import_tfevents_points_per_s!),
      `read_tfevents_points_per_s ${f(r.read_tfevents_points_per_s!)}`,
      x(r.import_tfevents_points_per_s!, r.read_tfevents_points_per_s!),
      '(reference)',
    ],
    [
      `import_wandb_points_per_s (${f(r.import_points!)} points)`,
      f(r.import_wandb_points_per_s!),
      `read_wandb_points_per_s ${f(r.read_wandb_points_per_s!)}`,
      x(r.import_wandb_points_per_s!, r.read_wandb_points_per_s!),
      '(reference)',
    ],
    [
      `runs_table_ms (${f(r.runs_table_runs!)} runs; first request ${f(r.runs_table_cold_ms!)} ms)`,
      f(r.runs_table_ms!),
      `experiments_list_ms ${f(r.experiments_list_ms!)}`,
      x(r.runs_table_ms!, r.experiments_list_ms!),
      '(reference)',
    ],
    [
      `runs_table_sort_ms (${f(r.runs_table_runs!)} runs loaded, Chromium; filter ${f(r.runs_table_filter_ms!)} ms)`,
      f(r.runs_table_sort_ms!),
      `runs_table_unfiltered_ms ${f(r.runs_table_unfiltered_ms!)}`,
      x(r.runs_table_sort_ms!, r.runs_table_unfiltered_ms!),
      '< 100',
    ],
    [
      `run_page_first_screen_ms (${f(r.run_page_keys!)} keys x ${f(r.run_page_steps!)} steps, watch, Chromium)`,
      f(r.run_page_first_screen_ms!),
      `run_page_first_screen_10keys_ms ${f(r.run_page_first_screen_10keys_ms!)}; run_json_fetch_ms ${f(r.run_json_fetch_ms!)}`,
      x(r.run_page_first_screen_ms!, r.run_page_first_screen_10keys_ms!),
      '< 1,000',
    ],
    [
      `import_swanlab_points_per_s (${f(r.import_points!)} points)`,
      f(r.import_swanlab_points_per_s!),
      `read_swanlab_points_per_s ${f(r.read_swanlab_points_per_s!)}`,
      x(r.import_swanlab_points_per_s!, r.read_swanlab_points_per_s!),
      '(reference)',
    ],
    [
      `wide_log_points_per_s (1,000 realistic keys, ${f(r.wide_log_points!)} points)`,
      f(r.wide_log_points_per_s!),
      `wide_raw_append_points_per_s ${f(r.wide_raw_append_points_per_s!)}`,
      x(r.wide_log_points_per_s!, r.wide_raw_append_points_per_s!),
      '>= 4,000,000',
    ],
    [
      `wide_log_peak_rss_mb (${f(r.wide_log_points!)} points)`,
      f(r.wide_log_peak_rss_mb!),
      `wide_log_rss_at_3m_points_mb ${f(r.wide_log_rss_at_3m_points_mb!)}`,
      x(r.wide_log_peak_rss_mb!, r.wide_log_rss_at_3m_points_mb!),
      '<= 1.1x',
    ],
    [
      'realistic_run_dir_bytes_per_point (10 keys)',
      f(r.realistic_run_dir_bytes_per_point!),
      '8 (raw float64)',
      x(r.realistic_run_dir_bytes_per_point!, 8),
      '<= 6',
    ],
    [
      'wide_run_dir_bytes_per_point (1,000 keys)',
      f(r.wide_run_dir_bytes_per_point!),
      '8 (raw float64)',
      x(r.wide_run_dir_bytes_per_point!, 8),
      '<= 8',
    ],
    [
      `sync_large_points_per_s (${f(r.sync_large_points!)} points, 10 keys, whole CLI)`,
      f(r.sync_large_points_per_s!),
      `loopback_post_points_per_s ${f(r.sync_large_loopback_post_points_per_s!)}`,
      x(r.sync_large_points_per_s!, r.sync_large_loopback_post_points_per_s!),
      '>= 0.25x loopback',
    ],
    [
      `wide_sync_points_per_s (${f(r.wide_sync_points!)} points, 1,000 keys, whole CLI)`,
      f(r.wide_sync_points_per_s!),
      `loopback_post_points_per_s ${f(r.wide_sync_loopback_post_points_per_s!)}`,
      x(r.wide_sync_points_per_s!, r.wide_sync_loopback_post_points_per_s!),
      '>= 0.2x loopback',
    ],
    [
      `concurrent_sync_points_per_s (${f(r.concurrent_syncs!)} × ${f(r.concurrent_sync_run_points!)} points at once)`,
      f(r.concurrent_sync_points_per_s!),
      `single_sync_points_per_s ${f(r.single_sync_points_per_s!)}`,
      x(r.concurrent_sync_points_per_s!, r.single_sync_points_per_s!),
      '>= 0.9x single',
    ],
  ];
  if (r.py_log_points_per_s !== undefined) {
    rows.push(
      [
        'py_log_points_per_s (Python SDK)',
        f(r.py_log_points_per_s),
        `py_jsonl_points_per_s ${f(r.py_jsonl_points_per_s!)}`,
        x(r.py_log_points_per_s, r.py_jsonl_points_per_s!),
        '>= 1,000,000; >= 1.2x jsonl',
      ],
      ['py_log_1000keys_call_ms', f(r.py_log_1000keys_call_ms!), '', '', '< 1'],
      ['py_train_overhead_ratio', f(r.py_train_overhead_ratio!), "mode='disabled'", '', '>= 0.97'],
    );
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return `${rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}\n\n${reps} repetition(s) of the throughput figures, best kept (the wide_, realistic_, sync_large_, wide_sync_ and concurrent_ rows: medians).\n`;
}

try {
  const results = await main();
  const json = `${JSON.stringify(results)}\n`;
  writeFileSync(args.out, json);
  process.stdout.write(args.json ? json : table(results));
} finally {
  rmSync(work, { recursive: true, force: true });
}
