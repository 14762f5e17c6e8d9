// The median of several full `pnpm bench` runs, row by row, against each row's target:
//   cp bench/results.json /tmp/run1.json   (after each `pnpm bench`)
//   node bench/median-runs.mjs /tmp/run1.json /tmp/run2.json /tmp/run3.json
// A ratio row takes the median of its per-run ratios (each result over the baseline of its own run).
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/median-runs.mjs <results.json>...');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));

/** [figure, result key, baseline key or null, target check on the value (ratio when a baseline is given), target text] */
const rows = [
  ['log_points_per_s', 'log_points_per_s', null, (v) => v >= 4e6, '>= 4 M'],
  ['  / raw append', 'log_points_per_s', 'raw_append_points_per_s', (v) => v >= 0.5, '>= 0.5x'],
  ['  / SQLite rows', 'log_points_per_s', 'sqlite_rows_per_s', (v) => v >= 3, '>= 3x'],
  ['log_1000keys_call_ms', 'log_1000keys_call_ms', null, (v) => v < 0.25, '< 0.25'],
  ['init_ms', 'init_ms', null, (v) => v < 50, '< 50'],
  ['resume_open_ms', 'resume_open_ms', null, (v) => v < 100, '< 100'],
  ['sync_points_per_s', 'sync_points_per_s', null, (v) => v >= 2e6, '>= 2 M'],
  ['resync_noop_ms', 'resync_noop_ms', null, (v) => v < 300, '< 300'],
  ['series_query_ms', 'series_query_ms', null, (v) => v < 50, '< 50'],
  ['run_dir_bytes_per_point', 'run_dir_bytes_per_point', null, (v) => v <= 12, '<= 12'],
  ['train_overhead_ratio', 'train_overhead_ratio', null, (v) => v >= 0.97, '>= 0.97'],
  ['log_peak_rss_mb / at 3M', 'log_peak_rss_mb', 'log_rss_at_3m_points_mb', null, 'flat'],
  ['wide_log_points_per_s', 'wide_log_points_per_s', null, (v) => v >= 4e6, '>= 4 M'],
  ['  / raw append', 'wide_log_points_per_s', 'wide_raw_append_points_per_s', null, '(reference)'],
  [
    'wide_log_peak_rss / at 3M',
    'wide_log_peak_rss_mb',
    'wide_log_rss_at_3m_points_mb',
    (v) => v <= 1.1,
    '<= 1.1x',
  ],
  ['realistic_run_dir_bytes_per_point', 'realistic_run_dir_bytes_per_point', null, (v) => v <= 6, '<= 6'],
  ['wide_run_dir_bytes_per_point', 'wide_run_dir_bytes_per_point', null, (v) => v <= 8, '<= 8'],
  ['sync_large_points_per_s', 'sync_large_points_per_s', null, null, '(absolute)'],
  [
    '  / loopback',
    'sync_large_points_per_s',
    'sync_large_loopback_post_points_per_s',
    (v) => v >= 0.25,
    '>= 0.25x',
  ],
  ['wide_sync_points_per_s', 'wide_sync_points_per_s', null, null, '(absolute)'],
  [
    '  / loopback',
    'wide_sync_points_per_s',
    'wide_sync_loopback_post_points_per_s',
    (v) => v >= 0.2,
    '>= 0.2x',
  ],
  [
    'concurrent_sync / single',
    'concurrent_sync_points_per_s',
    'single_sync_points_per_s',
    (v) => v >= 0.9,
    '>= 0.9x',
  ],
  ['py_log_points_per_s', 'py_log_points_per_s', null, (v) => v >= 1e6, '>= 1 M'],
  ['  / JSON lines', 'py_log_points_per_s', 'py_jsonl_points_per_s', (v) => v >= 1.2, '>= 1.2x'],
  ['py_log_1000keys_call_ms', 'py_log_1000keys_call_ms', null, (v) => v < 1, '< 1'],
  ['py_train_overhead_ratio', 'py_train_overhead_ratio', null, (v) => v >= 0.97, '>= 0.97'],
  ['run_page_first_screen_ms', 'run_page_first_screen_ms', null, (v) => v < 1000, '< 1000'],
  ['runs_table_sort_ms', 'runs_table_sort_ms', null, (v) => v < 100, '< 100'],
  ['runs_table_filter_ms', 'runs_table_filter_ms', null, (v) => v < 100, '< 100'],
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) =>
  Math.abs(v) >= 1e5 ? `${(v / 1e6).toFixed(2)} M` : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);

const out = [['figure', ...files.map((_, i) => `run ${i + 1}`), 'median', 'target', '']];
for (const [name, key, base, ok, target] of rows) {
  const values = runs.map((r) => (base === null ? r[key] : r[key] / r[base]));
  if (values.some((v) => v === undefined || Number.isNaN(v))) continue;
  const m = median(values);
  const show = (v) => (base === null ? fmt(v) : `${v.toFixed(2)}x`);
  out.push([name, ...values.map(show), show(m), target, ok === null ? '' : ok(m) ? 'met' : 'NOT MET']);
}
const widths = out[0].map((_, c) => Math.max(...out.map((row) => String(row[c]).length)));
for (const row of out) console.log(row.map((cell, c) => String(cell).padEnd(widths[c])).join('  '));
