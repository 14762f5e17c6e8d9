import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { syncRunDir } from '@swanlog/client';
import { readSyncRecords } from '@swanlog/store';
import { copyFixtures, describeResult, hasStack, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startCli,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

interface Entry {
  dir: string;
  runId?: string;
  experimentId?: string;
  action?: string;
  uploaded?: { points: number };
  url?: string;
  complete?: boolean;
  error?: { code: string; message: string };
}

let server: SyncServer;
let tmp: TempDir;

async function syncJson(args: string[], extraEnv: Record<string, string> = {}): Promise<Entry[]> {
  const r = await runCli(['sync', '--json', ...args], { env: syncEnv(server, extraEnv) });
  assert.equal(r.code, 0, describeResult(r));
  const parsed = JSON.parse(r.stdout) as Entry[];
  assert.ok(Array.isArray(parsed));
  return parsed;
}

async function syncOne(args: string[]): Promise<Entry> {
  const entries = await syncJson(args);
  assert.equal(entries.length, 1, JSON.stringify(entries));
  return entries[0]!;
}

async function assertExact(dir: string, experimentId: string): Promise<void> {
  assert.deepEqual(await serverSeries(server.client, experimentId), localSeries(dir));
}

const LIVE_RUN = fileURLToPath(new URL('./test-support/live-run.js', import.meta.url));

/** A training process that logged 40 steps of loss/acc, flushed, and stays alive until killed. */
async function startLiveRun(logdir: string, id: string) {
  const proc = spawn(process.execPath, [LIVE_RUN, JSON.stringify({ logdir, id, steps: 40 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    proc.on('exit', () => reject(new Error('live run exited early')));
  });
  const { dir } = JSON.parse(line) as { dir: string };
  return {
    dir,
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-sync-test-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

describe('swanlog sync: which experiment', () => {
  test('never uploaded → created with the run id; again → up-to-date, 0 points, the same experiment', async () => {
    const logdir = join(tmp.path, 'created');
    const run = await writeRun({ logdir, id: 'own-id', steps: 300, config: { lr: 0.1 } });
    const first = await syncOne([run.dir]);
    assert.equal(first.action, 'created');
    assert.equal(first.experimentId, 'own-id');
    assert.equal(first.uploaded!.points, 900);
    assert.equal(first.complete, true);
    assert.match(first.url!, /own-id/);
    await assertExact(run.dir, 'own-id');
    const exp = await server.client.getExperiment('own-id');
    assert.equal(exp.state, 'finished');
    assert.deepEqual(exp.config, { lr: 0.1 });
    assert.equal(exp.project, 'sync-tests');

    const again = await syncOne([run.dir]);
    assert.equal(again.action, 'up-to-date');
    assert.equal(again.experimentId, 'own-id');
    assert.equal(again.uploaded!.points, 0);
    const list = await server.client.listExperiments('ws', 'sync-tests');
    assert.equal(list.experiments.filter((e) => e.id === 'own-id' || e.copiedFrom === 'own-id').length, 1);
    await assertExact(run.dir, 'own-id');
  });

  test('the run id taken in the workspace → a new id, printed as local id → server id', async () => {
    const a = await writeRun({ logdir: join(tmp.path, 'taken-a'), id: 'same-id', steps: 10 });
    const b = await writeRun({ logdir: join(tmp.path, 'taken-b'), id: 'same-id', steps: 20 });
    assert.equal((await syncOne([a.dir])).experimentId, 'same-id');
    const r = await runCli(['sync', b.dir], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const m = /created\s+exp (\S+) \(run same-id → server id (\S+)\)\s+60 points/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[1], m[2]);
    assert.notEqual(m[1], 'same-id');
    await assertExact(b.dir, m[1]!);
    await assertExact(a.dir, 'same-id');
    // The mapping is kept: syncing b again continues its own experiment.
    const again = await syncOne([b.dir]);
    assert.equal(again.experimentId, m[1]);
    assert.equal(again.action, 'up-to-date');
  });

  test('a live run syncs (running on the server), then killed → continued, crashed on the server, complete', async () => {
    const logdir = join(tmp.path, 'live');
    const live = await startLiveRun(logdir, 'live-then-crashed');
    try {
      const first = await syncOne([live.dir]);
      assert.equal(first.action, 'created');
      assert.equal(first.uploaded!.points, 80);
      assert.equal(first.complete, false);
      assert.equal((await server.client.getExperiment('live-then-crashed')).state, 'running');
    } finally {
      await live.kill();
    }
    const second = await syncOne([live.dir]);
    assert.equal(second.action, 'continued');
    assert.equal(second.experimentId, 'live-then-crashed');
    assert.equal(second.uploaded!.points, 0);
    assert.equal(second.complete, true);
    assert.equal((await server.client.getExperiment('live-then-crashed')).state, 'crashed');
    await assertExact(live.dir, 'live-then-crashed');
    assert.equal((await syncOne([live.dir])).action, 'up-to-date');
  });

  test('--new → always a fresh copy (copiedFrom = the run id), with every point', async () => {
    const run = await writeRun({ logdir: join(tmp.path, 'new'), id: 'to-copy', steps: 50 });
    assert.equal((await syncOne([run.dir])).action, 'created');
    const c1 = await syncOne(['--new', run.dir]);
    const c2 = await syncOne(['--new', run.dir]);
    for (const c of [c1, c2]) {
      assert.equal(c.action, 'copied');
      assert.notEqual(c.experimentId, 'to-copy');
      assert.equal(c.uploaded!.points, 150);
      assert.equal((await server.client.getExperiment(c.experimentId!)).copiedFrom, 'to-copy');
      await assertExact(run.dir, c.experimentId!);
    }
    assert.notEqual(c1.experimentId, c2.experimentId);
    // The plain sync record is untouched: still up to date with the original experiment.
    const plain = await syncOne([run.dir]);
    assert.deepEqual([plain.action, plain.experimentId], ['up-to-date', 'to-copy']);
  });

  test('--id X → appended into X once; again → up-to-date; a missing X → RUN_NOT_FOUND', async () => {
    const a = await writeRun({ logdir: join(tmp.path, 'id-a'), id: 'target-exp', steps: 30, keys: ['a'] });
    const b = await writeRun({ logdir: join(tmp.path, 'id-b'), id: 'appended-run', steps: 40, keys: ['b'] });
    await syncOne([a.dir]);
    const first = await syncOne(['--id', 'target-exp', b.dir]);
    assert.deepEqual(
      [first.action, first.experimentId, first.uploaded!.points],
      ['appended', 'target-exp', 40],
    );
    const again = await syncOne(['--id', 'target-exp', b.dir]);
    assert.deepEqual([again.action, again.uploaded!.points], ['up-to-date', 0]);
    const series = await serverSeries(server.client, 'target-exp');
    assert.deepEqual(series, { ...localSeries(a.dir), ...localSeries(b.dir) });

    const missing = await runCli(['sync', '--id', 'no-such-exp', b.dir], { env: syncEnv(server) });
    assert.equal(missing.code, 1, describeResult(missing));
    assert.match(missing.stderr, /error\[RUN_NOT_FOUND\]/);
    assert.ok(!hasStack(missing.stderr), missing.stderr);
  });

  test('uploaded live (cloud mode) and complete → a server-side copy, recorded: again → up-to-date', async () => {
    const run = await writeRun({ logdir: join(tmp.path, 'live-copy'), id: 'cloud-run', steps: 25 });
    const live = await syncRunDir({ dir: run.dir, client: server.client, target: { kind: 'live' } });
    assert.equal(live.action, 'created');
    assert.equal(live.complete, true);
    // Nothing new: the live upload returns without uploading anything.
    const idle = await syncRunDir({ dir: run.dir, client: server.client, target: { kind: 'live' } });
    assert.deepEqual([idle.action, idle.uploaded.points], ['up-to-date', 0]);

    const copied = await syncOne([run.dir]);
    assert.equal(copied.action, 'copied');
    assert.notEqual(copied.experimentId, live.experimentId);
    assert.equal((await server.client.getExperiment(copied.experimentId!)).copiedFrom, live.experimentId);
    await assertExact(run.dir, copied.experimentId!);
    const again = await syncOne([run.dir]);
    assert.deepEqual([again.action, again.experimentId], ['up-to-date', copied.experimentId]);
    const purposes = readSyncRecords(run.dir)
      .map((r) => r.purpose)
      .sort();
    assert.deepEqual(purposes, ['live', 'sync']);
  });
});

describe('swanlog sync: many directories, output, errors', () => {
  test('a logdir with damaged runs: each good run syncs exactly, each bad one is an error entry, exit 1, JSON only', async () => {
    const logdir = copyFixtures(join(tmp.path, 'fixtures'));
    const r = await runCli(['sync', '--json', '--concurrency', '3', logdir], { env: syncEnv(server) });
    assert.equal(r.code, 1, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.equal(entries.length, 9);
    const bad = entries
      .filter((e) => e.error !== undefined)
      .map((e) => [e.dir.slice(e.dir.lastIndexOf('-fx-') + 1), e.error!.code]);
    assert.deepEqual(bad.sort(), [
      ['fx-foreign', 'RUN_DIR_CORRUPT'],
      ['fx-future-version', 'UNSUPPORTED_FORMAT'],
      ['fx-truncated', 'RUN_DIR_CORRUPT'],
    ]);
    for (const e of entries.filter((x) => x.error === undefined)) {
      assert.equal(e.action, 'created', JSON.stringify(e));
      assert.equal(e.complete, true, JSON.stringify(e));
      assert.deepEqual(Object.keys(e).sort(), [
        'action',
        'complete',
        'dir',
        'experimentId',
        'runId',
        'uploaded',
        'url',
        'warnings',
      ]);
      await assertExact(e.dir, e.experimentId!);
    }
    assert.equal((await server.client.getExperiment('fx-crashed')).state, 'crashed');
    assert.equal((await server.client.getExperiment('fx-rewound')).state, 'finished');
    // Human output: one line per directory; failures on stderr with their code.
    const human = await runCli(['sync', logdir], { env: syncEnv(server) });
    assert.equal(human.code, 1);
    assert.equal(human.stdout.trim().split('\n').length, 6, human.stdout);
    assert.match(human.stdout, /^up-to-date +exp fx-finished +0 points/m);
    // Each failure: its line, then the hint of its error.
    const lines = human.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('failed ')).length, 3, human.stderr);
    assert.equal(lines.filter((l) => l.startsWith('hint: ')).length, 3, human.stderr);
    assert.match(human.stderr, /fx-future-version: error\[UNSUPPORTED_FORMAT\]/);
  });

  test('a bad API key → exit 1, error[UNAUTHORIZED], no stack; a wrong --workspace → INVALID_OPTION', async () => {
    const run = await writeRun({ logdir: join(tmp.path, 'auth'), steps: 3 });
    const bad = await runCli(['sync', run.dir], { env: syncEnv({ url: server.url, key: 'not-a-key' }) });
    assert.equal(bad.code, 1, describeResult(bad));
    assert.match(bad.stderr, /^error\[UNAUTHORIZED\]/m);
    assert.ok(!hasStack(bad.stderr), bad.stderr);
    assert.equal(bad.stdout, '');
    const json = await runCli(['sync', '--json', run.dir], {
      env: syncEnv({ url: server.url, key: 'nope' }),
    });
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as Entry[])[0]!.error!.code, 'UNAUTHORIZED');
    const ws = await runCli(['sync', '--workspace', 'elsewhere', run.dir], { env: syncEnv(server) });
    assert.equal(ws.code, 1);
    assert.match(ws.stderr, /error\[INVALID_OPTION\]: the API key belongs to workspace ws, not elsewhere/);
    const noHost = await runCli(['sync', run.dir], { env: { SWANLOG_API_KEY: server.key } });
    assert.equal(noHost.code, 1);
    assert.match(noHost.stderr, /error\[INVALID_OPTION\].*\nhint: .*SWANLOG_HOST/);
    const unreachable = await runCli(['sync', '--host', 'http://127.0.0.1:9', run.dir], {
      env: { SWANLOG_API_KEY: server.key, SWANLOG_SYNC_RETRY_LIMIT: '1' },
    });
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      /error\[SERVER_UNREACHABLE\]: cannot reach the swanlog server at http:\/\/127\.0\.0\.1:9/,
    );
  });

  test('ls shows each run’s sync status; clean lists, then removes only finished, completely uploaded runs', async () => {
    const logdir = join(tmp.path, 'clean');
    const synced = await writeRun({ logdir, id: 'clean-synced', steps: 5 });
    const unsynced = await writeRun({ logdir, id: 'clean-unsynced', steps: 5 });
    const live = await startLiveRun(logdir, 'clean-live');
    try {
      await syncOne([synced.dir]);
      await syncOne([live.dir]);
      const ls = await runCli(['ls', '--json', logdir]);
      const rows = JSON.parse(ls.stdout) as {
        id: string;
        sync: { instanceId: string; purpose: string; complete: boolean; experimentId: string }[];
      }[];
      const byId = Object.fromEntries(rows.map((r) => [r.id, r.sync]));
      assert.deepEqual(
        byId['clean-synced']!.map((s) => [s.instanceId, s.purpose, s.complete, s.experimentId]),
        [[server.instanceId, 'sync', true, 'clean-synced']],
      );
      assert.deepEqual(byId['clean-unsynced'], []);
      assert.equal(byId['clean-live']![0]!.complete, false);
      const table = (await runCli(['ls', logdir])).stdout;
      assert.match(table, /SYNC/);
      assert.match(table, /clean-synced .* synced /);
      assert.match(table, /clean-unsynced .* - /);
      assert.match(table, /clean-live .* partial /);

      const dry = await runCli(['clean', '--json', logdir]);
      assert.equal(dry.code, 0, describeResult(dry));
      const plan = JSON.parse(dry.stdout) as {
        dryRun: boolean;
        runs: { id: string; removable: boolean; removed: boolean }[];
      };
      assert.equal(plan.dryRun, true);
      assert.deepEqual(
        plan.runs.filter((x) => x.removable).map((x) => x.id),
        ['clean-synced'],
      );
      assert.ok(existsSync(synced.dir));
      const tooNew = JSON.parse(
        (await runCli(['clean', '--json', '--older-than', '7d', logdir])).stdout,
      ) as typeof plan;
      assert.deepEqual(
        tooNew.runs.filter((x) => x.removable),
        [],
      );
      const human = await runCli(['clean', '--yes', logdir]);
      assert.equal(human.code, 0, describeResult(human));
      assert.match(human.stdout, /removed +.*clean-synced/);
      assert.match(human.stdout, /kept +.*clean-live \(running\)/);
      assert.ok(!existsSync(synced.dir));
      assert.ok(existsSync(unsynced.dir));
      assert.ok(existsSync(live.dir));
    } finally {
      await live.kill();
    }
    // Crashed now: kept even though its upload will complete.
    await syncOne([live.dir]);
    const after = JSON.parse((await runCli(['clean', '--json', '--yes', logdir])).stdout) as {
      runs: { id: string; removed: boolean }[];
    };
    assert.deepEqual(
      after.runs.filter((x) => x.removed),
      [],
    );
    assert.ok(existsSync(live.dir));
  });

  test('--watch <logdir> picks up a run created after it started; SIGINT ends it with exit 0', async () => {
    const logdir = join(tmp.path, 'watched');
    mkdirSync(logdir, { recursive: true });
    const child = startCli(['sync', '--watch', logdir], syncEnv(server));
    try {
      const run = await writeRun({ logdir, id: 'appears-later', steps: 77 });
      let found = false;
      for (let i = 0; i < 600 && !found; i++) {
        try {
          const exp = await server.client.getExperiment('appears-later');
          found = exp.lastStep === 76 && exp.state === 'finished';
        } catch (error) {
          if ((error as { code?: string }).code !== 'RUN_NOT_FOUND') throw error;
        }
        if (!found) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(found, 'the watcher uploaded the new run');
      // Wait for the record that says complete, then stop the watcher.
      for (let i = 0; i < 100 && !readSyncRecords(run.dir).some((r) => r.complete); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await assertExact(run.dir, 'appears-later');
    } finally {
      child.proc.kill('SIGINT');
    }
    const r = await child.result;
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /created +exp appears-later +231 points/);
  });

  test('--watch <run_dir> of a finished run syncs once and ends', async () => {
    const run = await writeRun({ logdir: join(tmp.path, 'watch-one'), id: 'watch-one', steps: 12 });
    const r = await runCli(['sync', '--watch', '--json', run.dir], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const [e] = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual([e!.action, e!.complete, e!.uploaded!.points], ['created', true, 36]);
  });

  test('--watch <run_dir> of a live run follows it until it ends (killed: crashed) and is complete', async () => {
    const live = await startLiveRun(join(tmp.path, 'watch-live'), 'watch-live');
    const child = startCli(['sync', '--watch', live.dir], syncEnv(server));
    try {
      for (let i = 0; i < 600; i++) {
        try {
          if ((await server.client.getExperiment('watch-live')).lastStep === 39) break;
        } catch (error) {
          if ((error as { code?: string }).code !== 'RUN_NOT_FOUND') throw error;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(child.proc.exitCode, null, 'the watcher waits while the run is live');
    } finally {
      await live.kill();
    }
    const r = await child.result;
    assert.equal(r.code, 0, describeResult(r));
    assert.equal((await server.client.getExperiment('watch-live')).state, 'crashed');
    await assertExact(live.dir, 'watch-live');
  });
});
