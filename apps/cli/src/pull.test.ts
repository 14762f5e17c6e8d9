// `swanlog pull <id>` (issue 12): an SDK without a server connection (the Python SDK on a GPU node,
// or the TS SDK offline) resumes a run that lives on the server. The pulled directory is seeded
// as cloud mode's init() seeds it, so the resume continues after the server's last step and a
// later `swanlog sync` continues the same experiment.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listRunDirs } from '@swanlog/store';
import { init } from 'swanlog';
import { describeResult, hasStack, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  type SyncServer,
  serverSeries,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

interface Pulled {
  id: string;
  dir: string;
  created: boolean;
  lastStep: number | null;
}

let server: SyncServer;
let tmp: TempDir;
let n = 0;
const logdir = () => join(tmp.path, `logs-${n++}`);

before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-pull-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

/** A run of `steps` steps (keys loss, acc) written elsewhere and synced; answers its id. */
async function runOnServer(steps: number, config: Record<string, unknown> = { lr: 0.1 }): Promise<string> {
  const { id, dir } = await writeRun({ logdir: logdir(), steps, keys: ['loss', 'acc'], config });
  await syncOk([dir]);
  return id;
}

async function syncOk(paths: string[]): Promise<{ experimentId: string; uploaded: { points: number } }[]> {
  const r = await runCli(['sync', '--json', ...paths], { env: syncEnv(server) });
  assert.equal(r.code, 0, describeResult(r));
  return JSON.parse(r.stdout) as { experimentId: string; uploaded: { points: number } }[];
}

async function pullJson(id: string, into: string): Promise<Pulled> {
  const r = await runCli(['pull', id, '--logdir', into, '--json'], { env: syncEnv(server) });
  assert.equal(r.code, 0, describeResult(r));
  return JSON.parse(r.stdout) as Pulled;
}

/** Steps of each key on the server, superseded points left out. */
async function visibleServerSteps(id: string): Promise<Record<string, number[]>> {
  const series = await serverSeries(server.client, id);
  return Object.fromEntries(
    Object.entries(series).map(([key, rows]) => [
      key,
      rows
        .filter((row) => row.endsWith('|0'))
        .map((row) => Number(row.split('|')[0]))
        .sort((a, b) => a - b),
    ]),
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('swanlog pull', () => {
  test('pull, resume offline with resume: must, then sync: the steps go on after the server’s last step, in the same experiment', async () => {
    const id = await runOnServer(10, { lr: 0.1, opt: { name: 'adam' } });
    const into = logdir();
    const pulled = await pullJson(id, into);
    assert.equal(pulled.id, id);
    assert.equal(pulled.created, true);
    assert.equal(pulled.lastStep, 9);
    assert.deepEqual(listRunDirs(into), [pulled.dir]);

    const show = await runCli(['show', pulled.dir, '--json']);
    const details = JSON.parse(show.stdout) as { partial: boolean; config: unknown; id: string };
    assert.equal(details.partial, true);
    assert.equal(details.id, id);
    assert.deepEqual(details.config, { lr: 0.1, opt: { name: 'adam' } });

    const run = await init({ logdir: into, id, resume: 'must', config: { lr: 0.05 } });
    assert.equal(run.dir, pulled.dir);
    assert.equal(run.step, 10);
    for (let i = 0; i < 5; i++) run.log({ loss: 1 / (10 + i), acc: 0.5 });
    await run.finish();

    const before = (await server.client.listExperiments('ws')).experiments.length;
    const [entry] = await syncOk([pulled.dir]);
    assert.equal(entry?.experimentId, id, 'the pulled directory uploads into the experiment it came from');
    assert.equal(entry?.uploaded.points, 10, 'only the new points travel');
    assert.equal(
      (await server.client.listExperiments('ws')).experiments.length,
      before,
      'no second experiment',
    );
    assert.deepEqual(await visibleServerSteps(id), { acc: range(0, 15), loss: range(0, 15) });
    const exp = await server.client.getExperiment(id);
    assert.equal(exp.state, 'finished');
    assert.deepEqual(exp.config, { lr: 0.05, opt: { name: 'adam' } });

    const [again] = await syncOk([pulled.dir]);
    assert.equal(again?.uploaded.points, 0, 'a second sync has nothing left to send');
  });

  test('without --json it prints the directory on stdout and says it seeded the run on stderr', async () => {
    const id = await runOnServer(3);
    const into = logdir();
    const r = await runCli(['pull', id, '--logdir', into], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(r.stdout, `${listRunDirs(into)[0]}\n`);
    assert.match(r.stderr, new RegExp(`seeded run ${id} from the server \\(last step 2\\)`));
  });

  test('an id the server does not know → error[RUN_NOT_FOUND] naming it, exit 1, nothing created', async () => {
    const into = logdir();
    const r = await runCli(['pull', 'no-such-run', '--logdir', into], { env: syncEnv(server) });
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, /error\[RUN_NOT_FOUND\]: no experiment no-such-run on /);
    assert.match(r.stderr, /hint: /);
    assert.equal(hasStack(r.stderr), false);
    assert.equal(existsSync(into), false);
  });

  test('a bad id is INVALID_RUN_ID, no server or key is INVALID_OPTION naming the flag', async () => {
    const bad = await runCli(['pull', 'has space', '--logdir', logdir()], { env: syncEnv(server) });
    assert.equal(bad.code, 1, describeResult(bad));
    assert.match(bad.stderr, /error\[INVALID_RUN_ID\]/);
    const noHost = await runCli(['pull', 'some-id', '--logdir', logdir()]);
    assert.equal(noHost.code, 1, describeResult(noHost));
    assert.match(noHost.stderr, /error\[INVALID_OPTION\].*\n.*--host/);
    const noKey = await runCli(['pull', 'some-id', '--logdir', logdir(), '--host', server.url]);
    assert.match(noKey.stderr, /error\[INVALID_OPTION\].*\n.*--api-key/);
  });

  test('a local directory of the run is reused, not replaced: created false, same directory, points kept', async () => {
    const home = logdir();
    const { id, dir } = await writeRun({ logdir: home, steps: 4, keys: ['loss'] });
    await syncOk([dir]);
    const pulled = await pullJson(id, home);
    assert.deepEqual(pulled, { id, dir, created: false, lastStep: 3 });
    const run = await init({ logdir: home, id, resume: 'must' });
    assert.equal(run.step, 4);
    await run.finish();
  });

  test('pulled twice into one logdir (the trainer restarted): the second pull reuses the seeded directory', async () => {
    // Regression: a seeded directory lacks the writes its seed stands for, and reusing it was
    // RUN_DIVERGED every time, so a job resumed from the server could not restart on that node.
    const id = await runOnServer(5);
    const into = logdir();
    const first = await pullJson(id, into);
    const run = await init({ logdir: into, id, resume: 'must' });
    run.log({ loss: 0.1, acc: 0.9 });
    await run.finish();
    await syncOk([first.dir]);
    const second = await pullJson(id, into);
    assert.deepEqual(second, { id, dir: first.dir, created: false, lastStep: 5 });
  });

  test('a local directory that lacks writes the server holds → error[RUN_DIVERGED], exit 1, the directory untouched', async () => {
    const id = await runOnServer(5);
    const stale = logdir();
    const staleDir = (await pullJson(id, stale)).dir;
    // The run goes on elsewhere: another node pulls, resumes and syncs.
    const elsewhere = logdir();
    const other = await pullJson(id, elsewhere);
    const run = await init({ logdir: elsewhere, id, resume: 'must' });
    run.log({ loss: 0.2, acc: 0.8 });
    await run.finish();
    await syncOk([other.dir]);

    const r = await runCli(['pull', id, '--logdir', stale], { env: syncEnv(server) });
    assert.equal(r.code, 1, describeResult(r));
    assert.match(
      r.stderr,
      new RegExp(`error\\[RUN_DIVERGED\\]: run ${id}: the server holds writes that ${staleDir} lacks`),
    );
    assert.match(r.stderr, /hint: .*move the directory away and pull again/);
    assert.deepEqual(listRunDirs(stale), [staleDir]);
  });
});
