import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SwanlogClient } from '@swanlog/client';
import { describeResult, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startCli,
  startCuttingProxy,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

// Exactness under failure (DESIGN.md "Sync"): a sync SIGKILLed at any moment, a server restart or a
// connection cut mid-request, then synced again, ends with exactly the local series on the server:
// no duplicate, no loss, no second experiment. Runs are big and batches small, so the failures
// land while an upload is in progress.

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-sync-exact-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

/** 45k steps × 3 keys, then a resume rewound to step 20k that logs to 45k again: ~210k points, 2 sources, superseded points. */
async function bigRun(name: string) {
  return writeRun({ logdir: join(tmp.path, name), id: name, project: name, steps: 45_000, rewindTo: 20_000 });
}

/** Sum of the server's watermarks of experiment `id` (-1 when it does not exist yet). */
async function progressOf(client: SwanlogClient, id: string): Promise<number> {
  try {
    const s = await client.syncStatus(id);
    return Object.values(s.watermarks).reduce((a, b) => a + Math.max(0, b), 0);
  } catch (error) {
    if ((error as { code?: string }).code === 'RUN_NOT_FOUND') return -1;
    throw error;
  }
}

async function waitForProgress(
  client: SwanlogClient,
  id: string,
  above: number,
  child: { exitCode: number | null },
) {
  for (;;) {
    const p = await progressOf(client, id);
    if (p > above || child.exitCode !== null) return p;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function assertExactlyOnce(dir: string, id: string, project: string) {
  assert.deepEqual(await serverSeries(server.client, id), localSeries(dir));
  const list = await server.client.listExperiments('ws', project);
  assert.deepEqual(
    list.experiments.map((e) => e.id),
    [id],
    'one experiment',
  );
}

const SMALL_BATCHES = { SWANLOG_SYNC_BATCH_POINTS: '2000' };

describe('sync exactness under failure', () => {
  test('SIGKILL of a sync at several points of an upload in progress, then sync → exactly the local series', async () => {
    const run = await bigRun('killed-sync');
    const total = localSeries(run.dir);
    const totalPoints = Object.values(total).reduce((n, s) => n + s.length, 0);
    assert.ok(totalPoints > 200_000);
    let killedMidUpload = 0;
    let last = -1;
    // Kill right after start (maybe before the experiment exists), then each time the upload moved on.
    for (let round = 0; round < 4; round++) {
      const child = startCli(['sync', '--json', run.dir], syncEnv(server, SMALL_BATCHES));
      if (round > 0) last = await waitForProgress(server.client, 'killed-sync', last + 15_000, child.proc);
      const wasRunning = child.proc.exitCode === null;
      child.proc.kill('SIGKILL');
      const r = await child.result;
      if (wasRunning && r.signal === 'SIGKILL' && round > 0) killedMidUpload++;
    }
    assert.ok(killedMidUpload >= 1, 'at least one kill landed while the upload ran');
    const final = await startCli(['sync', '--json', run.dir], syncEnv(server, SMALL_BATCHES)).result;
    assert.equal(final.code, 0, describeResult(final));
    const [entry] = JSON.parse(final.stdout) as { action: string; experimentId: string; complete: boolean }[];
    assert.equal(entry!.experimentId, 'killed-sync');
    assert.equal(entry!.complete, true);
    await assertExactlyOnce(run.dir, 'killed-sync', 'killed-sync');
    const again = JSON.parse(
      (await startCli(['sync', '--json', run.dir], syncEnv(server)).result).stdout,
    ) as {
      action: string;
      uploaded: { points: number };
    }[];
    assert.deepEqual([again[0]!.action, again[0]!.uploaded.points], ['up-to-date', 0]);
  });

  test('a server restart mid-sync is ridden out by retries: exit 0, exactly the local series', async () => {
    const run = await bigRun('restarted-server');
    const child = startCli(['sync', '--json', run.dir], syncEnv(server, SMALL_BATCHES));
    await waitForProgress(server.client, 'restarted-server', 10_000, child.proc);
    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await server.start();
    const r = await child.result;
    assert.equal(r.code, 0, describeResult(r));
    await assertExactlyOnce(run.dir, 'restarted-server', 'restarted-server');
  });

  test('connections cut mid-request by a proxy: retried, exactly the local series', async () => {
    const run = await bigRun('cut-connections');
    const proxy = await startCuttingProxy(server.port, { afterBytes: 150_000, answerEvery: 4, maxCuts: 8 });
    try {
      const r = await startCli(
        ['sync', '--json', run.dir],
        syncEnv({ url: proxy.url, key: server.key }, { SWANLOG_SYNC_BATCH_POINTS: '5000' }),
      ).result;
      assert.equal(r.code, 0, describeResult(r));
      assert.equal(proxy.cuts(), 8, 'the proxy cut connections');
    } finally {
      await proxy.close();
    }
    await assertExactlyOnce(run.dir, 'cut-connections', 'cut-connections');
  });

  test('two syncs of one directory at once: one experiment, no duplicate', async () => {
    const run = await bigRun('concurrent-syncs');
    // Different batch sizes: the two cut at different seqs, so they meet CONFLICTs, not only repeats.
    const a = startCli(['sync', '--json', run.dir], syncEnv(server, SMALL_BATCHES));
    const b = startCli(['sync', '--json', run.dir], syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: '3100' }));
    const [ra, rb] = await Promise.all([a.result, b.result]);
    assert.equal(ra.code, 0, describeResult(ra));
    assert.equal(rb.code, 0, describeResult(rb));
    const ids = [ra, rb].map((r) => (JSON.parse(r.stdout) as { experimentId: string }[])[0]!.experimentId);
    assert.deepEqual(ids, ['concurrent-syncs', 'concurrent-syncs']);
    await assertExactlyOnce(run.dir, 'concurrent-syncs', 'concurrent-syncs');
  });
});
