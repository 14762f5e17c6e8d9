// `pnpm bench --quick --json`: what a script reading the figures gets (issue 6's contract). The
// figures themselves are measurements, never asserted; only their names, kinds and sizes are.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bench = new URL('./bench.js', import.meta.url).pathname;

test('bench --quick --json prints one flat object of numbers and writes the same to --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swanlog-bench-test-'));
  try {
    const out = join(dir, 'results.json');
    const run = spawnSync(process.execPath, [bench, '--quick', '--json', '--out', out], {
      encoding: 'utf8',
      timeout: 420_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 1, 'one line on stdout');
    const figures = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), figures);
    for (const name of [
      'log_points_per_s',
      'raw_append_points_per_s',
      'sqlite_rows_per_s',
      'jsonl_points_per_s',
      'log_1000keys_call_ms',
      'init_ms',
      'resume_open_ms',
      'sync_points_per_s',
      'resync_noop_ms',
      'series_query_ms',
      'run_dir_bytes_per_point',
      'train_overhead_ratio',
      'log_peak_rss_mb',
      'py_log_points_per_s',
      'py_jsonl_points_per_s',
      'py_log_1000keys_call_ms',
      'py_train_overhead_ratio',
      'import_tfevents_points_per_s',
      'read_tfevents_points_per_s',
      'import_wandb_points_per_s',
      'read_wandb_points_per_s',
      'import_swanlab_points_per_s',
      'read_swanlab_points_per_s',
      'run_page_first_screen_ms',
      'run_page_first_screen_10keys_ms',
      'run_json_fetch_ms',
      'runs_table_ms',
      'runs_table_cold_ms',
      'experiments_list_ms',
      'runs_table_filter_ms',
      'runs_table_sort_ms',
      'runs_table_unfiltered_ms',
      'wide_log_points_per_s',
      'wide_raw_append_points_per_s',
      'wide_log_peak_rss_mb',
      'wide_log_rss_at_3m_points_mb',
      'realistic_run_dir_bytes_per_point',
      'wide_run_dir_bytes_per_point',
      'sync_large_points_per_s',
      'sync_large_loopback_post_points_per_s',
      'wide_sync_points_per_s',
      'wide_sync_loopback_post_points_per_s',
      'concurrent_sync_points_per_s',
      'single_sync_points_per_s',
    ])
      assert.ok(name in figures, `${name} is reported`);
    for (const [name, value] of Object.entries(figures))
      assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `${name}: ${value}`);
    assert.equal(figures.resume_open_points, 10_000_000);
    assert.equal(figures.series_query_points, 10_000_000);
    assert.equal(figures.sync_points, 1_000_000);
    assert.equal(figures.wide_log_points, 10_000_000);
    assert.equal(figures.sync_large_points, 10_000_000);
    assert.equal(figures.wide_sync_points, 10_000_000);
    assert.equal(figures.concurrent_syncs, 8);
    assert.equal(figures.concurrent_sync_run_points, 1_000_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
