import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSwanlogError, type SwanlogError } from '@swanlog/protocol';
import { createApiKey, startServer } from '@swanlog/server';
import { findRunDir, RunReader } from '@swanlog/store';
import { init } from 'swanlog';
import {
  freePort,
  getJson,
  localPoints,
  serverPoints,
  startTestServer,
  swanlog,
  type TestServer,
  tempDir,
} from './harness.js';

const tmp = tempDir();
let server: TestServer;
let n = 0;
const logdir = () => `${tmp.path}/logs-${n++}`;

before(async () => {
  server = await startTestServer(`${tmp.path}/data`);
});
after(async () => {
  await server.close();
  tmp.remove();
});

function cloud(extra: Parameters<typeof init>[0] = {}) {
  return {
    mode: 'cloud' as const,
    host: server.url,
    apiKey: server.key,
    project: 'p',
    flushInterval: 50,
    ...extra,
  };
}

async function rejectsCode(promise: Promise<unknown>, code: string): Promise<SwanlogError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSwanlogError(error), `expected a SwanlogError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

describe('cloud mode', () => {
  it('uploads while training (running on the server), then finish() leaves the server equal to the run directory', async () => {
    const run = await init(cloud({ logdir: logdir(), config: { lr: 0.1 } }));
    for (let i = 0; i < 500; i++) run.log({ loss: 1 / (i + 1), acc: i / 500 });
    let live: { state: string; lastStep: number | null } | undefined;
    for (let i = 0; i < 100 && live?.lastStep !== 499; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await getJson<{ state: string; lastStep: number | null }>(
        server,
        `/api/v1/experiments/${run.id}`,
      );
      if (res.status === 200) live = res.body;
    }
    assert.equal(live?.lastStep, 499, 'the live upload reached the server while the run was open');
    assert.equal(live?.state, 'running');
    await run.finish();
    const exp = await getJson<{ state: string; config: unknown; lastStep: number }>(
      server,
      `/api/v1/experiments/${run.id}`,
    );
    assert.equal(exp.body.state, 'finished');
    assert.deepEqual(exp.body.config, { lr: 0.1 });
    assert.deepEqual(await serverPoints(server, run.id), localPoints([run.dir!]));
  });

  it('server down at start: training goes on, the upload catches up when the server comes up', async () => {
    const port = await freePort();
    const data = `${tmp.path}/late-data`;
    const key = createApiKey({ dataDir: data, workspace: 'ws', scope: 'write' }).key;
    const run = await init(
      cloud({ logdir: logdir(), host: `http://127.0.0.1:${port}`, apiKey: key, finishTimeout: 30_000 }),
    );
    for (let i = 0; i < 200; i++) run.log({ loss: i });
    await new Promise((r) => setTimeout(r, 1500)); // a few failed uploads while nobody listens
    const late = await startServer({ dataDir: data, port, host: '127.0.0.1', log: () => {} });
    try {
      for (let i = 200; i < 400; i++) run.log({ loss: i });
      await run.finish();
      const view = { ...server, url: late.url, key };
      const exp = await getJson<{ state: string; lastStep: number }>(view, `/api/v1/experiments/${run.id}`);
      assert.equal(exp.body.lastStep, 399);
      assert.equal(exp.body.state, 'finished');
      assert.deepEqual(await serverPoints(view, run.id), localPoints([run.dir!]));
    } finally {
      await late.close();
    }
  });

  it('finish() with the server down says how to finish; swanlog sync then continues the same experiment', async () => {
    const port = await freePort();
    const data = `${tmp.path}/down-data`;
    const first = await startTestServer(data, port);
    const dir = logdir();
    const run = await init(cloud({ logdir: dir, host: first.url, apiKey: first.key, finishTimeout: 500 }));
    for (let i = 0; i < 100; i++) run.log({ loss: i });
    for (let i = 0; i < 100; i++) {
      const res = await getJson<{ lastStep: number | null }>(first, `/api/v1/experiments/${run.id}`);
      if (res.status === 200 && res.body.lastStep === 99) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await first.close();
    for (let i = 100; i < 300; i++) run.log({ loss: i });
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await run.finish();
    } finally {
      process.stderr.write = write;
    }
    assert.match(
      stderr.join(''),
      new RegExp(`swanlog sync ${run.dir!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    const back = await startTestServer(data, port);
    try {
      const result = await swanlog(['sync', run.dir!, '--json'], {
        SWANLOG_HOST: back.url,
        SWANLOG_API_KEY: back.key,
      });
      assert.equal(result.status, 0, result.stderr);
      const [entry] = JSON.parse(result.stdout) as { experimentId: string; action: string }[];
      assert.equal(entry?.experimentId, run.id, 'the same experiment, not a second one');
      assert.equal(entry?.action, 'continued');
      assert.deepEqual(await serverPoints(back, run.id), localPoints([run.dir!]));
      const exp = await getJson<{ state: string }>(back, `/api/v1/experiments/${run.id}`);
      assert.equal(exp.body.state, 'finished');
    } finally {
      await back.close();
    }
  });

  it('remote resume on a fresh logdir: a partial directory seeded from the server, steps continue, fromStep rewinds on the server', async () => {
    const a = await init(cloud({ logdir: logdir(), config: { lr: 0.1, opt: { name: 'adam' } } }));
    for (let i = 0; i < 50; i++) a.log({ loss: 100 + i });
    await a.finish();
    const b = await init(
      cloud({ logdir: logdir(), id: a.id, resume: 'must', config: { opt: { name: null, beta: 0.9 } } }),
    );
    assert.equal(b.step, 50, 'the counter continues after the server’s last step');
    assert.deepEqual(b.config, { lr: 0.1, opt: { beta: 0.9 } });
    const seeded = RunReader.open(b.dir!);
    assert.equal(seeded.meta.partial, true);
    seeded.close();
    b.log({ loss: 150 });
    await b.finish();
    const c = await init(cloud({ logdir: logdir(), id: a.id, resume: 'must', fromStep: 20 }));
    assert.equal(c.step, 21);
    c.log({ loss: -21 });
    await c.finish();
    const series = await getJson<{ points: { step: number; value: number }[] }>(
      server,
      `/api/v1/experiments/${a.id}/metrics/loss`,
    );
    assert.deepEqual(
      series.body.points.map((p) => p.step),
      Array.from({ length: 22 }, (_, i) => i),
      'steps after 20 from both machines are superseded on the server',
    );
    assert.equal(series.body.points.at(-1)?.value, -21);
  });

  it('a remote resume restarted in the same logdir reuses the seeded directory; a session from elsewhere after the seed is still RUN_DIVERGED', async () => {
    // Regression: a seeded directory lacks the writes its seed stands for, so reusing it was
    // RUN_DIVERGED every time: a job resumed from the server could not restart on that node.
    const a = await init(cloud({ logdir: logdir() }));
    for (let i = 0; i < 5; i++) a.log({ loss: i });
    await a.finish();
    const node = logdir();
    const b = await init(cloud({ logdir: node, id: a.id, resume: 'must' }));
    b.log({ loss: 5 });
    await b.finish();
    const c = await init(cloud({ logdir: node, id: a.id, resume: 'must' }));
    assert.equal(c.dir, b.dir);
    assert.equal(c.step, 6);
    c.log({ loss: 6 });
    await c.finish();
    const elsewhere = await init(cloud({ logdir: logdir(), id: a.id, resume: 'must' }));
    elsewhere.log({ loss: 7 });
    await elsewhere.finish();
    await rejectsCode(init(cloud({ logdir: node, id: a.id, resume: 'must' })), 'RUN_DIVERGED');
    const series = await getJson<{ points: { step: number }[] }>(
      server,
      `/api/v1/experiments/${a.id}/metrics/loss`,
    );
    assert.deepEqual(
      series.body.points.map((p) => p.step),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('a local directory is reused; writes the server holds that it lacks are RUN_DIVERGED unless fromStep is given', async () => {
    const home = logdir();
    const a = await init(cloud({ logdir: home }));
    for (let i = 0; i < 10; i++) a.log({ loss: i });
    await a.finish();
    const elsewhere = await init(cloud({ logdir: logdir(), id: a.id, resume: 'must' }));
    elsewhere.log({ loss: 10 });
    await elsewhere.finish();
    const error = await rejectsCode(init(cloud({ logdir: home, id: a.id, resume: 'must' })), 'RUN_DIVERGED');
    assert.match(error.hint ?? '', /fromStep/);
    const back = await init(cloud({ logdir: home, id: a.id, resume: 'must', fromStep: 9 }));
    assert.equal(back.step, 10);
    assert.equal(back.dir, findRunDir(home, a.id));
    await back.finish();
  });

  it('server unreachable at init: must/allow fail with SERVER_UNREACHABLE without a local directory, go on offline with one', async () => {
    const port = await freePort();
    const down = { host: `http://127.0.0.1:${port}`, finishTimeout: 200 };
    await rejectsCode(
      init(cloud({ ...down, logdir: logdir(), id: 'nowhere', resume: 'must' })),
      'SERVER_UNREACHABLE',
    );
    await rejectsCode(
      init(cloud({ ...down, logdir: logdir(), id: 'nowhere2', resume: 'allow' })),
      'SERVER_UNREACHABLE',
    );
    const home = logdir();
    const offline = await init({ logdir: home, id: 'kept-local', resume: 'allow', project: 'p' });
    offline.log({ loss: 1 });
    await offline.finish();
    const run = await init(cloud({ ...down, logdir: home, id: 'kept-local', resume: 'must' }));
    assert.equal(run.step, 1);
    run.log({ loss: 2 });
    await run.finish();
    const reader = RunReader.open(run.dir!);
    assert.equal(reader.lastVisibleStep(), 1);
    reader.close();
  });

  it('resume must of an id the server lacks is RUN_NOT_FOUND; allow creates it with that id', async () => {
    await rejectsCode(init(cloud({ logdir: logdir(), id: 'not-there', resume: 'must' })), 'RUN_NOT_FOUND');
    const run = await init(cloud({ logdir: logdir(), id: 'made-here', resume: 'allow' }));
    run.log({ loss: 1 });
    await run.finish();
    const exp = await getJson<{ id: string; lastStep: number }>(server, '/api/v1/experiments/made-here');
    assert.equal(exp.status, 200);
    assert.equal(exp.body.lastStep, 0);
  });

  it('copy then resume: syncing a finished cloud run makes a copy with a new id; resuming the copy leaves the original untouched', async () => {
    const original = await init(cloud({ logdir: logdir() }));
    for (let i = 0; i < 30; i++) original.log({ loss: i });
    await original.finish();
    const before = await serverPoints(server, original.id);
    const env = { SWANLOG_HOST: server.url, SWANLOG_API_KEY: server.key };
    const sync = await swanlog(['sync', original.dir!, '--json'], env);
    assert.equal(sync.status, 0, sync.stderr);
    const [entry] = JSON.parse(sync.stdout) as { experimentId: string; action: string }[];
    assert.equal(entry?.action, 'copied');
    assert.notEqual(entry?.experimentId, original.id);
    const again = await swanlog(['sync', original.dir!, '--json'], env);
    assert.equal(
      (JSON.parse(again.stdout) as { action: string }[])[0]?.action,
      'up-to-date',
      'a second sync makes no second copy',
    );
    const copy = await init(cloud({ logdir: logdir(), id: entry!.experimentId, resume: 'must' }));
    assert.equal(copy.step, 30);
    copy.log({ loss: 30 });
    await copy.finish();
    assert.deepEqual(await serverPoints(server, original.id), before, 'the original is untouched');
    const copied = await getJson<{ lastStep: number; copiedFrom: string }>(
      server,
      `/api/v1/experiments/${entry!.experimentId}`,
    );
    assert.equal(copied.body.lastStep, 30);
    assert.equal(copied.body.copiedFrom, original.id);
  });
});
