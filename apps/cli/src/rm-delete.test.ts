// `swanlog rm` (local run directories) and `swanlog server delete|vacuum` (experiments on a server),
// with what a later sync of a deleted experiment's run directory says.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { init } from 'swanlog';
import { describeResult, runCli, type TempDir, tempDir } from './test-support/cli.js';
import { type SyncServer, startSyncServer, syncEnv, writeRun } from './test-support/sync-server.js';

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-rm-delete-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

describe('swanlog rm', () => {
  test('removes an uploaded run; keeps one not uploaded unless --force; never one being written', async () => {
    const logdir = join(tmp.path, 'rm-logs');
    const uploaded = await writeRun({ logdir, steps: 5 });
    const local = await writeRun({ logdir, steps: 5 });
    const synced = await runCli(['sync', uploaded.dir], { env: syncEnv(server) });
    assert.equal(synced.code, 0, describeResult(synced));
    const live = await init({ logdir, project: 'rm', flushInterval: 3_600_000 });
    live.log({ loss: 1 }, 0);
    live.flush();
    try {
      const r = await runCli(['rm', uploaded.id, local.id, live.id, 'no-such-run', '--logdir', logdir]);
      assert.equal(r.code, 1, describeResult(r));
      assert.match(r.stdout, new RegExp(`^removed ${uploaded.dir}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^kept ${local.dir}: not completely uploaded.*--force`, 'm'));
      assert.match(r.stdout, new RegExp(`^kept ${live.dir!}: still being written`, 'm'));
      assert.match(r.stderr, /^error\[RUN_NOT_FOUND\]: .*no-such-run/m);
      assert.equal(existsSync(uploaded.dir), false);
      assert.equal(existsSync(local.dir), true);
      assert.equal(existsSync(live.dir!), true);
      const forced = await runCli(['rm', local.dir, live.dir!, '--force', '--json']);
      const out = JSON.parse(forced.stdout) as { runs: { dir: string; removed: boolean }[] };
      assert.deepEqual(
        out.runs.map((x) => [x.dir, x.removed]),
        [
          [local.dir, true],
          [live.dir, false],
        ],
        '--force never removes a run that is being written',
      );
      assert.equal(existsSync(live.dir!), true);
    } finally {
      await live.finish();
    }
  });

  test('a directory that is not a run directory is refused, untouched', async () => {
    const r = await runCli(['rm', tmp.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error\[RUN_NOT_FOUND\]: .* is not a run directory/m);
    assert.equal(existsSync(tmp.path), true);
  });
});

describe('swanlog server delete / vacuum', () => {
  test('deletes an experiment; a later sync says EXPERIMENT_DELETED with --new; --new uploads anew', async () => {
    const logdir = join(tmp.path, 'del-logs');
    const run = await writeRun({ logdir, steps: 50 });
    const first = await runCli(['sync', run.dir, '--json'], { env: syncEnv(server) });
    assert.equal(first.code, 0, describeResult(first));
    const experimentId = (JSON.parse(first.stdout) as { experimentId: string }[])[0]!.experimentId;

    const del = await runCli([
      'server',
      'delete',
      experimentId,
      '--workspace',
      'ws',
      '--data',
      server.dataDir,
    ]);
    assert.equal(del.code, 0, describeResult(del));
    assert.match(
      del.stdout,
      new RegExp(`^deleted experiment ${experimentId} of workspace ws \\(150 points\\)`, 'm'),
    );
    const twice = await runCli([
      'server',
      'delete',
      experimentId,
      '--workspace',
      'ws',
      '--data',
      server.dataDir,
    ]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already deleted/);

    const again = await runCli(['sync', run.dir], { env: syncEnv(server) });
    assert.equal(again.code, 1, describeResult(again));
    assert.match(again.stderr, /error\[EXPERIMENT_DELETED\]: experiment .* was deleted/);
    assert.match(again.stderr + again.stdout, /--new/);

    const fresh = await runCli(['sync', run.dir, '--new', '--json'], { env: syncEnv(server) });
    assert.equal(fresh.code, 0, describeResult(fresh));
    const entry = (JSON.parse(fresh.stdout) as { experimentId: string; uploaded: { points: number } }[])[0]!;
    assert.notEqual(entry.experimentId, experimentId);
    assert.equal(entry.uploaded.points, 150);

    const vac = await runCli(['server', 'vacuum', '--data', server.dataDir]);
    assert.equal(vac.code, 0, describeResult(vac));
    const exp = await server.client.getExperiment(entry.experimentId);
    assert.equal(exp.lastStep, 49);
  });
});
