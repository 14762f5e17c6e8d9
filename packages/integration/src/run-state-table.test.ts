import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, syncRunDir } from '@swanlog/client';
import { copyRun, createRun, RUN_FILE, RunReader } from '@swanlog/store';
import Database from 'better-sqlite3';
import { init } from 'swanlog';
import { getJson, startTestServer, type TestServer, tempDir } from './harness.js';
import { killKeepers, spawnWriter } from './test-support/spawn-writer.js';

// The run-state rule of docs/format.md "Run state", one test per row and per story of the table,
// asserting that the local store (RunReader, so ls/show/export) and the server (after a sync) say
// the same. Guards: a resume that started while the killed writer was still an unreaped zombie
// left the run crashed forever; the server said finished where the local store said crashed
// (a finished run resumed then killed; train killed while eval finished), since it read a crashed
// session's missing end time as 0.

let root: ReturnType<typeof tempDir>;
let server: TestServer;
let n = 0;

before(async () => {
  root = tempDir('swanlog-states-');
  server = await startTestServer(join(root.path, 'server'));
});
after(async () => {
  killKeepers();
  await server.close();
  root.remove();
});

/** A fresh logdir and run id per story. */
function story(): { logdir: string; id: string } {
  n += 1;
  return { logdir: join(root.path, `logdir-${n}`), id: `state-${n}` };
}

/** The state the local store and the server (after syncing `dir`) each answer. */
async function statesOf(dir: string): Promise<{ local: string; server: string }> {
  const reader = RunReader.open(dir);
  const local = reader.state();
  reader.close();
  const client = createClient({ host: server.url, apiKey: server.key, retryLimit: 0 });
  const synced = await syncRunDir({ dir, client });
  const info = await getJson<{ state: string }>(server, `/api/v1/experiments/${synced.experimentId}`);
  return { local, server: info.body.state };
}

async function assertState(dir: string, expected: string): Promise<void> {
  assert.deepEqual(await statesOf(dir), { local: expected, server: expected });
}

describe('run state: local store and server agree on every row of the rule', { timeout: 120_000 }, () => {
  it('no session yet, created < 60 s ago → running', async () => {
    const { logdir, id } = story();
    const { dir } = createRun({ logdir, id, project: 'p', workspace: null, name: null });
    await assertState(dir, 'running');
  });

  it('no session, created ≥ 60 s ago → crashed', async () => {
    const { logdir, id } = story();
    const { dir } = createRun({ logdir, id, project: 'p', workspace: null, name: null });
    const db = new Database(join(dir, RUN_FILE));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'created_at'").run(String(Date.now() - 61_000));
    db.close();
    await assertState(dir, 'crashed');
  });

  it('a writer alive → running', async () => {
    const { logdir, id } = story();
    const w = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold' });
    await assertState(w.dir, 'running');
    await w.signal('SIGKILL');
  });

  for (const reaped of [true, false]) {
    const how = reaped ? 'reaped' : 'still a zombie';
    it(`killed (${how}) → crashed`, async () => {
      const { logdir, id } = story();
      const w = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold', reaped });
      await w.signal('SIGKILL');
      await assertState(w.dir, 'crashed');
    });

    it(`killed (${how} at the resume), resumed and finished → finished`, async () => {
      const { logdir, id } = story();
      const w = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold', reaped });
      await w.signal('SIGKILL');
      const again = await spawnWriter({
        init: { logdir, id, resume: 'must', fromStep: 2 },
        steps: 3,
        end: 'finish',
      });
      await again.done();
      await assertState(w.dir, 'finished');
    });
  }

  it('finished, resumed, killed → crashed', async () => {
    const { logdir, id } = story();
    const first = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'finish' });
    await first.done();
    const second = await spawnWriter({ init: { logdir, id, resume: 'must' }, steps: 5, end: 'hold' });
    await second.signal('SIGKILL');
    await assertState(first.dir, 'crashed');
  });

  it('killed, resumed, killed again → crashed', async () => {
    const { logdir, id } = story();
    const first = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold' });
    await first.signal('SIGKILL');
    const second = await spawnWriter({ init: { logdir, id, resume: 'must' }, steps: 5, end: 'hold' });
    await second.signal('SIGKILL');
    await assertState(first.dir, 'crashed');
  });

  it('train killed while eval (started before the kill) finishes → crashed: nothing resumed train', async () => {
    const { logdir, id } = story();
    const train = await spawnWriter({
      init: { logdir, id, resume: 'allow' },
      steps: 5,
      end: 'hold',
      trickle: true,
    });
    const evalRun = await init({ logdir, id, resume: 'must', flushInterval: 60_000 });
    evalRun.log({ 'val/acc': 0.5 }, 0);
    evalRun.flush();
    // train goes on writing after eval started: its death comes later than eval's start.
    await new Promise((r) => setTimeout(r, 100));
    await train.signal('SIGKILL');
    evalRun.log({ 'val/acc': 0.6 }, 1);
    await evalRun.finish();
    await assertState(train.dir, 'crashed');
  });

  // Guards: copyRun ended the copy's open sessions at the copy time, so a copy of a finished run
  // whose killed writer had been followed by a later session read crashed.
  it('a copy reads the state the original reads', async () => {
    const { logdir, id } = story();
    const first = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold' });
    const later = await init({ logdir, id, resume: 'must', flushInterval: 60_000 });
    await first.signal('SIGKILL');
    later.log({ loss: 1 });
    await later.finish();
    await assertState(first.dir, 'finished');
    await assertState(copyRun(first.dir).dir, 'finished');
  });

  it('two concurrent writers, both finished → finished', async () => {
    const { logdir, id } = story();
    const a = await init({ logdir, id, resume: 'allow', flushInterval: 60_000 });
    const b = await init({ logdir, id, resume: 'must', flushInterval: 60_000 });
    a.log({ loss: 1 }, 0);
    b.log({ 'val/loss': 2 }, 0);
    await a.finish();
    await b.finish();
    await assertState(a.dir!, 'finished');
  });

  it('SIGTERM without a handler of the user’s → aborted', async () => {
    const { logdir, id } = story();
    const w = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold' });
    await w.signal('SIGTERM');
    await assertState(w.dir, 'aborted');
  });

  it('aborted, then resumed and finished → finished', async () => {
    const { logdir, id } = story();
    const w = await spawnWriter({ init: { logdir, id, resume: 'allow' }, steps: 5, end: 'hold' });
    await w.signal('SIGTERM');
    const again = await spawnWriter({ init: { logdir, id, resume: 'must' }, steps: 2, end: 'finish' });
    await again.done();
    await assertState(w.dir, 'finished');
  });
});
