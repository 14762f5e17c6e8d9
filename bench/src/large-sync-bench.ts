import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApiKey } from '@swanlog/server';
import { initSync } from 'swanlog';
import { median } from './log-bench.js';
import { RealisticRun } from './realistic-values.js';
import { loopbackPost, startServerProcess, timeCli, writerBytes } from './sync-bench.js';

export interface LargeSyncFigures {
  sync_large_points: number;
  sync_large_points_per_s: number;
  /** Baseline: the bytes of the same run's writer files POSTed raw over loopback. */
  sync_large_loopback_post_points_per_s: number;
  wide_sync_points: number;
  wide_sync_points_per_s: number;
  wide_sync_loopback_post_points_per_s: number;
}

/**
 * `swanlog sync` (whole CLI) of finished runs of realistic values to a `swanlog server` in its own
 * process: `tenKey[r]` (10 keys) and `wide[r]` (1,000 keys) per repetition, each beside a raw
 * loopback POST of its own writer files' bytes. Medians of the repetitions.
 */
export async function largeSyncBench(
  work: string,
  runs: { tenKey: { dir: string; points: number }[]; wide: { dir: string; points: number }[] },
): Promise<LargeSyncFigures> {
  const dataDir = join(work, 'sync-large-server');
  const server = await startServerProcess(dataDir);
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
  const env = { ...process.env, SWANLOG_HOST: server.url, SWANLOG_API_KEY: key };
  const rate = {
    tenKey: [] as number[],
    tenKeyPost: [] as number[],
    wide: [] as number[],
    widePost: [] as number[],
  };
  try {
    await timeCli(
      ['sync', await realisticRun(join(work, 'sync-large-warm-up'), 10, 2_000, 99), '--json'],
      env,
    );
    for (let r = 0; r < runs.tenKey.length; r++) {
      for (const [which, run] of [
        ['tenKey', runs.tenKey[r]!],
        ['wide', runs.wide[r]!],
      ] as const) {
        const ms = await timeCli(['sync', run.dir, '--json'], env);
        rate[which].push(run.points / (ms / 1000));
        const post = await loopbackPost(writerBytes(run.dir));
        rate[which === 'tenKey' ? 'tenKeyPost' : 'widePost'].push(run.points / (post / 1000));
      }
    }
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    sync_large_points: runs.tenKey[0]!.points,
    sync_large_points_per_s: Math.round(median(rate.tenKey)),
    sync_large_loopback_post_points_per_s: Math.round(median(rate.tenKeyPost)),
    wide_sync_points: runs.wide[0]!.points,
    wide_sync_points_per_s: Math.round(median(rate.wide)),
    wide_sync_loopback_post_points_per_s: Math.round(median(rate.widePost)),
  };
}

export interface ConcurrentSyncFigures {
  concurrent_syncs: number;
  concurrent_sync_run_points: number;
  /** Aggregate: every sync's points over the wall time from the first start to the last exit. */
  concurrent_sync_points_per_s: number;
  /** Baseline: one sync of one such run alone, to the same server, in the same repetition. */
  single_sync_points_per_s: number;
}

/**
 * `count` whole-CLI syncs at once (separate processes, as separate jobs run them), each of a run of
 * `points` realistic 10-key points, to one SQLite-backed `swanlog server`; beside one sync of such a
 * run alone. Fresh runs per repetition; medians.
 */
export async function concurrentSyncBench(
  work: string,
  count: number,
  points: number,
  reps: number,
): Promise<ConcurrentSyncFigures> {
  const dataDir = join(work, 'sync-concurrent-server');
  const server = await startServerProcess(dataDir);
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
  const env = { ...process.env, SWANLOG_HOST: server.url, SWANLOG_API_KEY: key };
  const single: number[] = [];
  const aggregate: number[] = [];
  try {
    await timeCli(
      ['sync', await realisticRun(join(work, 'sync-conc-warm-up'), 10, 2_000, 98), '--json'],
      env,
    );
    for (let r = 0; r < reps; r++) {
      const logdir = join(work, `sync-conc-${r}`);
      const dirs: string[] = [];
      for (let i = 0; i <= count; i++) dirs.push(await realisticRun(logdir, 10, points / 10, 1000 * r + i));
      const alone = await timeCli(['sync', dirs[0]!, '--json'], env);
      single.push(points / (alone / 1000));
      const t0 = performance.now();
      await Promise.all(dirs.slice(1).map((dir) => timeCli(['sync', dir, '--json'], env)));
      aggregate.push((count * points) / ((performance.now() - t0) / 1000));
      rmSync(logdir, { recursive: true, force: true });
    }
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    concurrent_syncs: count,
    concurrent_sync_run_points: points,
    concurrent_sync_points_per_s: Math.round(median(aggregate)),
    single_sync_points_per_s: Math.round(median(single)),
  };
}

/** A finished offline run of `steps` dicts of `keys` realistic values (seeded). */
async function realisticRun(logdir: string, keys: number, steps: number, seed: number): Promise<string> {
  const values = new RealisticRun(keys, seed, steps);
  const run = initSync({ project: 'bench', logdir }, { SWANLOG_MODE: 'offline' });
  for (let i = 0; i < steps; i++) run.log(values.row(i));
  await run.finish();
  return run.dir!;
}
