// Backups, restores and the move to PostgreSQL, seen from a client that keeps syncing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type RunningServer, startServer } from '@swanlog/server';
import pg from 'pg';
import { init } from 'swanlog';
import { localPoints, serverPoints, startTestServer, swanlog, type TestServer, tempDir } from './harness.js';

const tmp = tempDir('swanlog-backup-');
after(() => tmp.remove());

/** Logs steps [from, to) of three keys into run `id` (created or resumed) and finishes it. */
async function logSteps(logdir: string, id: string, from: number, to: number): Promise<string> {
  const run = await init({ logdir, id, resume: 'allow', project: 'backups', flushInterval: 3_600_000 });
  for (let s = from; s < to; s++) run.log({ loss: s * 0.001, acc: s * 0.002, lr: 1 / (s + 1) }, s);
  await run.finish();
  return run.dir!;
}

async function syncTo(server: { url: string; key: string }, dir: string) {
  const r = await swanlog(['sync', '--json', dir], { SWANLOG_HOST: server.url, SWANLOG_API_KEY: server.key });
  assert.equal(r.status, 0, r.stderr);
  return (
    JSON.parse(r.stdout) as { action: string; experimentId: string; uploaded: { points: number } }[]
  )[0]!;
}

/** A server started on an existing data directory or database, reached with an existing key. */
function asTestServer(running: RunningServer, key: string, dataDir = ''): TestServer {
  return { url: running.url, port: running.port, dataDir, key, readKey: key, close: () => running.close() };
}

describe('swanlog server backup / restore (SQLite)', () => {
  test('back up while running, sync more, restore: the backup reads back exactly, a re-sync is exact', async () => {
    const logdir = join(tmp.path, 'logdir');
    const dataDir = join(tmp.path, 'server');
    const server = await startTestServer(dataDir);
    const dir = await logSteps(logdir, 'bk-run', 0, 2000);
    await syncTo(server, dir);
    const file = join(tmp.path, 'backup.sqlite');
    const backedUp = await swanlog(['server', 'backup', '--data', dataDir, '--out', file]);
    assert.equal(backedUp.status, 0, backedUp.stderr);
    assert.equal(backedUp.stdout, `backed up to ${file}\n`);
    const atBackup = await serverPoints(server, 'bk-run');
    assert.deepEqual(atBackup, localPoints([dir]));

    await logSteps(logdir, 'bk-run', 2000, 5000);
    await syncTo(server, dir);
    const oldInstance = (await (
      await fetch(`${server.url}/api/v1/server`, { headers: { authorization: `Bearer ${server.key}` } })
    ).json()) as {
      instanceId: string;
    };
    await server.close();

    const restoredDir = join(tmp.path, 'restored');
    const restored = await swanlog(['server', 'restore', '--data', restoredDir, '--from', file]);
    assert.equal(restored.status, 0, restored.stderr);
    const running = await startServer({ dataDir: restoredDir, port: 0, log: () => {} });
    const again = asTestServer(running, server.key, restoredDir);
    try {
      assert.notEqual(running.instanceId, oldInstance.instanceId, 'a restore is a new instance');
      assert.deepEqual(await serverPoints(again, 'bk-run'), atBackup, 'every series of the backup, exactly');
      // The client's record says "up to date" with the old instance; against the new one it
      // compares watermarks again and sends the 3000 steps the backup lacks.
      const resync = await syncTo(again, dir);
      assert.equal(resync.experimentId, 'bk-run');
      assert.equal(resync.uploaded.points, 3000 * 3);
      assert.deepEqual(await serverPoints(again, 'bk-run'), localPoints([dir]));
    } finally {
      await running.close();
    }
  });

  test('restore refuses a directory that holds a server database', async () => {
    const dataDir = join(tmp.path, 'busy');
    const server = await startTestServer(dataDir);
    await server.close();
    const r = await swanlog([
      'server',
      'restore',
      '--data',
      dataDir,
      '--from',
      join(tmp.path, 'backup.sqlite'),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /already holds a server database/);
  });
});

const DATABASE_URL = process.env.SWANLOG_TEST_DATABASE_URL || undefined;
if (DATABASE_URL === undefined)
  process.stderr.write('server migrate test NOT RUN: SWANLOG_TEST_DATABASE_URL is not set\n');

describe('swanlog server migrate --from <dir> --to <postgres url>', {
  skip: DATABASE_URL === undefined && 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set',
}, () => {
  test('keeps the instance id, keys and watermarks: a client is up to date after the move', async () => {
    const schema = `migrate_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const u = new URL(DATABASE_URL!);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const databaseUrl = u.toString();
    try {
      const logdir = join(tmp.path, 'migrate-logdir');
      const dataDir = join(tmp.path, 'migrate-server');
      const sqlite = await startTestServer(dataDir);
      const dir = await logSteps(logdir, 'mv-run', 0, 3000);
      await syncTo(sqlite, dir);
      const before = await serverPoints(sqlite, 'mv-run');
      await sqlite.close();

      const moved = await swanlog(['server', 'migrate', '--from', dataDir, '--to', databaseUrl]);
      assert.equal(moved.status, 0, moved.stderr);
      assert.match(
        moved.stdout,
        /^migrated 1 experiments, \d+ chunks and 2 API keys; instance id [0-9A-Z]{26}\n$/,
      );
      const again = await swanlog(['server', 'migrate', '--from', dataDir, '--to', databaseUrl]);
      assert.equal(again.status, 1, 'a second move into the same database is refused');
      assert.match(again.stderr, /already holds experiments or keys/);

      const running = await startServer({ databaseUrl, port: 0, log: () => {} });
      const server = asTestServer(running, sqlite.key);
      try {
        assert.equal(running.instanceId, moved.stdout.trim().split(' ').pop());
        assert.deepEqual(await serverPoints(server, 'mv-run'), before);
        const resync = await syncTo(server, dir);
        assert.equal(resync.action, 'up-to-date', 'the sync record made against SQLite still holds');
        assert.equal(resync.uploaded.points, 0);
        await logSteps(logdir, 'mv-run', 3000, 4000);
        assert.equal((await syncTo(server, dir)).uploaded.points, 3000);
        assert.deepEqual(await serverPoints(server, 'mv-run'), localPoints([dir]));
      } finally {
        await running.close();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
