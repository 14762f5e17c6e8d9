// `swanlog sync` of a TensorBoard log directory: imported into --logdir, then synced; the
// server knows each run's origin.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeResult, REPO_ROOT, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startSyncServer,
  syncEnv,
} from './test-support/sync-server.js';

interface Entry {
  dir: string;
  runId?: string;
  action?: string;
  experimentId?: string;
  uploaded?: { points: number; superseded: number };
  error?: { code: string; message: string };
}

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-import-sync-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

describe('swanlog sync <TensorBoard dir>', () => {
  test('imports into --logdir, syncs every run with its origin; again: nothing new', async () => {
    const runs = join(tmp.path, 'runs');
    cpSync(join(REPO_ROOT, 'swanlog-fixtures', 'tensorboard', 'runs'), runs, { recursive: true });
    const logdir = join(tmp.path, 'swanlog');
    const r = await runCli(['sync', runs, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.equal(entries.length, 7, describeResult(r));
    for (const e of entries) {
      assert.equal(e.error, undefined, JSON.stringify(e));
      assert.equal(e.action, 'created');
      assert.ok(e.dir.startsWith(`${logdir}/`), e.dir);
      assert.deepEqual(await serverSeries(server.client, e.experimentId!), localSeries(e.dir));
    }
    const purge = entries.find((e) => e.runId === 'torch-purge')!;
    const exp = await server.client.getExperiment(purge.experimentId!);
    assert.deepEqual(exp.source, { kind: 'tensorboard', path: join(runs, 'torch-purge'), id: 'torch-purge' });

    const again = await runCli(['sync', runs, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(again.code, 0, describeResult(again));
    assert.deepEqual(
      (JSON.parse(again.stdout) as Entry[]).map((e) => [e.runId, e.action, e.uploaded?.points]),
      entries.map((e) => [e.runId, 'up-to-date', 0]),
    );
  });

  test('swanlog sync ./wandb: the W&B runs are imported and synced, the step offset in the origin', async () => {
    const wandb = join(tmp.path, 'wandb');
    cpSync(join(REPO_ROOT, 'swanlog-fixtures', 'wandb', 'wandb'), wandb, {
      recursive: true,
      verbatimSymlinks: true,
    });
    const logdir = join(tmp.path, 'wandb-logs');
    const r = await runCli(['sync', wandb, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual(entries.map((e) => e.runId).sort(), ['cont0001', 'cont0002', 'nested01']);
    for (const e of entries)
      assert.deepEqual(await serverSeries(server.client, e.experimentId!), localSeries(e.dir));
    const cont = await server.client.getExperiment(
      entries.find((e) => e.runId === 'cont0001')!.experimentId!,
    );
    assert.equal(cont.source?.kind, 'wandb');
    assert.deepEqual(Object.values(cont.source?.stepOffsets ?? {}), [5]);
    assert.equal(cont.project, 'fixtures');
  });
});
