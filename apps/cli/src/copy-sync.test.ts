import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyRun, readSyncRecords } from '@swanlog/store';
import Database from 'better-sqlite3';
import { init } from 'swanlog';
import { describeResult, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

// Copy, then resume the copy: the workflow users adopt to keep an original safe. Guards the bug
// where syncing a resumed copy wrote into the ORIGINAL experiment ("continued", the original's
// id): copyRun copied the sync records and sync followed them; `ls` also showed the copy as synced.

let server: SyncServer;
let tmp: TempDir;

before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-copy-sync-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await runCli(args, { env: syncEnv(server) });
  assert.equal(r.code, 0, describeResult(r));
  return r;
}

async function syncJson(dir: string): Promise<{ entry: Record<string, unknown>; stderr: string }> {
  const r = await cli(['sync', '--json', dir]);
  const entries = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(entries.length, 1, r.stdout);
  return { entry: entries[0]!, stderr: r.stderr };
}

/** Every read-API answer about an experiment, as a user or a dashboard sees it. */
async function answersAbout(id: string): Promise<Record<string, unknown>> {
  const get = async (path: string) => {
    const res = await fetch(`${server.url}/api/v1/experiments/${id}${path}`, {
      headers: { authorization: `Bearer ${server.key}` },
    });
    assert.equal(res.status, 200, path);
    return res.json();
  };
  return {
    info: await get(''),
    details: await get('/details'),
    sync: await get('/sync'),
    series: await serverSeries(server.client, id),
  };
}

async function resumeCopy(logdir: string, id: string): Promise<void> {
  const run = await init({
    logdir,
    id,
    resume: 'must',
    fromStep: 20,
    config: { lr: 0.01 },
    flushInterval: 60_000,
  });
  for (let s = 21; s < 30; s++) run.log({ loss: 100 + s, acc: 200 + s }, s);
  await run.finish();
}

async function lsSync(logdir: string, id: string): Promise<unknown> {
  const r = await cli(['ls', '--json', logdir]);
  const runs = JSON.parse(r.stdout) as { id: string; sync: unknown[] }[];
  return runs.find((x) => x.id === id)?.sync;
}

describe('copy, resume the copy, sync it', { timeout: 120_000 }, () => {
  test('the copy gets an experiment of its own; every answer about the original is unchanged', async () => {
    const logdir = join(tmp.path, 'a');
    const original = await writeRun({ logdir, steps: 40, config: { lr: 0.1 } });
    const first = await syncJson(original.dir);
    assert.equal(first.entry.action, 'created');
    assert.equal(first.entry.experimentId, original.id);
    const before = await answersAbout(original.id);

    const copied = JSON.parse((await cli(['copy', '--json', '--logdir', logdir, original.id])).stdout) as {
      id: string;
      dir: string;
    };
    assert.deepEqual(readSyncRecords(copied.dir), [], 'a copy was never uploaded');
    assert.deepEqual(await lsSync(logdir, copied.id), [], 'ls shows the copy as never synced');

    await resumeCopy(logdir, copied.id);
    const synced = await syncJson(copied.dir);
    assert.equal(synced.entry.action, 'created');
    assert.equal(synced.entry.experimentId, copied.id);
    const info = (await answersAbout(copied.id)).info as { copiedFrom: string; config: unknown };
    assert.equal(info.copiedFrom, original.id);
    assert.deepEqual(info.config, { lr: 0.01 });
    assert.deepEqual(await serverSeries(server.client, copied.id), localSeries(copied.dir));

    assert.deepEqual(await answersAbout(original.id), before, 'the original on the server is unchanged');
    assert.deepEqual(await serverSeries(server.client, original.id), localSeries(original.dir));
  });

  test('a copy made by an older swanlog (sync records of the original inside) is safe too, with one warning', async () => {
    const logdir = join(tmp.path, 'b');
    const original = await writeRun({ logdir, steps: 40, config: { lr: 0.1 } });
    await syncJson(original.dir);
    const before = await answersAbout(original.id);

    // What copies carried until now: the original's sync_records, in the table's old shape.
    const copied = copyRun(original.dir);
    const inherited = readSyncRecords(original.dir);
    assert.equal(inherited.length, 1);
    const db = new Database(join(copied.dir, 'run.sqlite'));
    db.exec(`CREATE TABLE sync_records (instance_id TEXT NOT NULL, purpose TEXT NOT NULL,
      experiment_id TEXT NOT NULL, request_key TEXT NOT NULL, url TEXT NOT NULL, complete INTEGER NOT NULL,
      uploaded_points INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (instance_id, purpose)) WITHOUT ROWID`);
    for (const r of inherited) {
      db.prepare('INSERT INTO sync_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        r.instanceId,
        r.purpose,
        r.experimentId,
        r.requestKey,
        r.url,
        r.complete ? 1 : 0,
        r.uploadedPoints,
        r.updatedAt,
      );
    }
    db.close();
    assert.deepEqual(await lsSync(logdir, copied.id), [], 'ls does not count the inherited record');

    await resumeCopy(logdir, copied.id);
    const synced = await syncJson(copied.dir);
    assert.equal(synced.entry.action, 'created');
    assert.equal(synced.entry.experimentId, copied.id);
    const warnings = synced.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    assert.equal(warnings.length, 1, synced.stderr);
    assert.match(
      warnings[0]!,
      new RegExp(`ignored 1 sync record written for another run \\(copied from ${original.id}\\)`),
    );
    assert.deepEqual(await answersAbout(original.id), before, 'the original on the server is unchanged');

    // The copy's own record is kept and followed from then on; the inherited one stays ignored.
    const again = await syncJson(copied.dir);
    assert.equal(again.entry.action, 'up-to-date');
    assert.equal(again.entry.experimentId, copied.id);
    assert.deepEqual(
      readSyncRecords(copied.dir).map((r) => r.experimentId),
      [copied.id],
    );
  });
});
