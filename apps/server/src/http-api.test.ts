import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeBatch } from '@swanlog/protocol';
import { encodeChunk } from '@swanlog/store';
import { createApiKey, revokeApiKey } from './api-keys.js';
import {
  batch,
  batchHeaders,
  points,
  session,
  startTestServer,
  type TestServer,
} from './test-support/server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

let counter = 0;
async function newExperiment(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: `rk-${++counter}`, project: 'proj', ...extra },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.experiment.id as string;
}

const ingest = (id: string, body: Buffer, key?: string | null) =>
  t.request(`/api/v1/experiments/${id}/ingest`, { method: 'POST', body, headers: batchHeaders, key });

const metrics = (id: string, key: string, query = '', apiKey?: string | null) =>
  t.request(`/api/v1/experiments/${id}/metrics/${encodeURIComponent(key)}${query}`, { key: apiKey });

describe('auth', () => {
  let id: string;
  const routes = (): { method: string; path: string; write: boolean; json?: unknown; body?: Buffer }[] => [
    { method: 'GET', path: '/api/v1/server', write: false },
    { method: 'GET', path: `/api/v1/experiments/${id}`, write: false },
    { method: 'GET', path: `/api/v1/experiments/${id}/metrics/loss`, write: false },
    { method: 'GET', path: `/api/v1/experiments/${id}/metrics?key=loss`, write: false },
    { method: 'GET', path: `/api/v1/experiments/${id}/sync`, write: false },
    { method: 'GET', path: '/api/v1/workspaces/ws/projects', write: false },
    { method: 'GET', path: '/api/v1/workspaces/ws/experiments', write: false },
    {
      method: 'POST',
      path: '/api/v1/experiments',
      write: true,
      json: { requestKey: 'auth-x', project: 'p' },
    },
    {
      method: 'POST',
      path: `/api/v1/experiments/${id}/ingest`,
      write: true,
      body: batch([{ source: 's', fromSeq: -1, toSeq: -1 }]),
    },
    { method: 'POST', path: `/api/v1/experiments/${id}/config`, write: true, json: { revisions: [] } },
    {
      method: 'POST',
      path: `/api/v1/experiments/${id}/copy`,
      write: true,
      json: { requestKey: 'auth-copy' },
    },
  ];
  before(async () => {
    id = await newExperiment({ requestedId: 'auth-exp' });
    const res = await ingest(
      id,
      batch([
        { source: 's1', fromSeq: -1, toSeq: 0, chunks: [{ key: 'loss', points: points([[0, 1, 0]]) }] },
      ]),
    );
    assert.equal(res.status, 200);
  });

  test('no key, a malformed or unknown key answer 401 on every route', async () => {
    for (const r of routes()) {
      const headers = r.body ? batchHeaders : undefined;
      for (const key of [null, 'swl_unknownunknownunknownunknownunknown', 'garbage']) {
        const res = await t.request(r.path, { method: r.method, key, json: r.json, body: r.body, headers });
        assert.equal(res.status, 401, `${r.method} ${r.path} with ${key}`);
        assert.equal(res.body.code, 'UNAUTHORIZED');
      }
      const res = await fetch(`${t.server.url}${r.path}`, {
        method: r.method,
        headers: { authorization: 'Basic abc' },
      });
      assert.equal(res.status, 401);
    }
  });

  test('a read key answers 403 on write routes and reads fine', async () => {
    for (const r of routes()) {
      const headers = r.body ? batchHeaders : undefined;
      const res = await t.request(r.path, {
        method: r.method,
        key: t.readKey,
        json: r.json,
        body: r.body,
        headers,
      });
      if (r.write) {
        assert.equal(res.status, 403, `${r.method} ${r.path}`);
        assert.equal(res.body.code, 'FORBIDDEN');
      } else assert.equal(res.status, 200, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
    }
  });

  test("another workspace's experiment or workspace is 404, as if absent", async () => {
    for (const r of routes()) {
      if (!r.path.includes(id) && !r.path.includes('/workspaces/')) continue;
      const headers = r.body ? batchHeaders : undefined;
      const res = await t.request(r.path, {
        method: r.method,
        key: t.otherKey,
        json: r.json,
        body: r.body,
        headers,
      });
      assert.equal(res.status, 404, `${r.method} ${r.path}`);
      assert.equal(res.body.code, r.path.includes('/workspaces/') ? 'NOT_FOUND' : 'RUN_NOT_FOUND');
      const missing = await t.request(r.path.replace(id, 'no-such-exp').replace('/ws/', '/nows/'), {
        method: r.method,
        json: r.json,
        body: r.body,
        headers,
      });
      assert.deepEqual(
        { status: missing.status, code: missing.body.code },
        { status: res.status, code: res.body.code },
        'same answer as for an absent one',
      );
    }
  });

  test('server info names the workspace, scope, instance id and the chunk codecs ingest takes', async () => {
    const res = await t.request('/api/v1/server', { key: t.readKey });
    assert.deepEqual(res.body, {
      instanceId: t.server.instanceId,
      version: res.body.version,
      publicUrl: null,
      workspace: 'ws',
      scope: 'read',
      chunkEncodings: [1, 2],
      mode: 'server',
      canEdit: false,
      csrfToken: null,
    });
    const write = await t.request('/api/v1/server');
    assert.deepEqual(
      [write.body.canEdit, write.body.csrfToken],
      [true, null],
      'a Bearer key needs no CSRF token',
    );
    assert.match(res.body.instanceId, /^[0-9A-Z]{26}$/);
  });

  test('a key created while the server runs works at once; revoking stops it at once', async () => {
    const { key, id: keyId } = createApiKey({ dataDir: t.dataDir, workspace: 'ws', scope: 'read' });
    assert.match(key, /^swl_[0-9A-Za-z]{32,}$/);
    assert.equal((await t.request('/api/v1/server', { key })).status, 200);
    assert.equal(revokeApiKey({ dataDir: t.dataDir, keyOrId: keyId }), true);
    assert.equal((await t.request('/api/v1/server', { key })).status, 401);
    const second = createApiKey({ dataDir: t.dataDir, workspace: 'ws' }).key;
    assert.equal(revokeApiKey({ dataDir: t.dataDir, keyOrId: second }), true);
    assert.equal((await t.request('/api/v1/server', { key: second })).status, 401);
    assert.equal(revokeApiKey({ dataDir: t.dataDir, keyOrId: 'nonexistent' }), false);
  });

  test('dashboard session: cookie signs in for reads only, sign-out and revocation end it', async () => {
    const { key, id: keyId } = createApiKey({ dataDir: t.dataDir, workspace: 'ws', scope: 'write' });
    const bad = await t.request('/api/v1/session', {
      method: 'POST',
      key: null,
      json: { apiKey: 'swl_nope' },
    });
    assert.equal(bad.status, 401);
    const login = await t.request('/api/v1/session', { method: 'POST', key: null, json: { apiKey: key } });
    assert.equal(login.status, 204);
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^swanlog_session=[^;]+;/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    const cookie = setCookie.split(';')[0]!;
    const read = await t.request(`/api/v1/experiments/${id}`, { key: null, headers: { cookie } });
    assert.equal(read.status, 200);
    const write = await t.request('/api/v1/experiments', {
      method: 'POST',
      key: null,
      headers: { cookie },
      json: { requestKey: 'cookie-write', project: 'p' },
    });
    assert.equal(write.status, 401, 'cookies do not authorize writes');
    const out = await t.request('/api/v1/session', { method: 'DELETE', key: null, headers: { cookie } });
    assert.equal(out.status, 204);
    assert.equal(
      (await t.request(`/api/v1/experiments/${id}`, { key: null, headers: { cookie } })).status,
      401,
    );
    const again = await t.request('/api/v1/session', { method: 'POST', key: null, json: { apiKey: key } });
    const cookie2 = (again.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.equal(
      (await t.request(`/api/v1/experiments/${id}`, { key: null, headers: { cookie: cookie2 } })).status,
      200,
    );
    revokeApiKey({ dataDir: t.dataDir, keyOrId: keyId });
    assert.equal(
      (await t.request(`/api/v1/experiments/${id}`, { key: null, headers: { cookie: cookie2 } })).status,
      401,
    );
  });
});

describe('experiments', () => {
  test('create is idempotent per request key; requested id free, taken, exact', async () => {
    const body = {
      requestKey: 'create-1',
      requestedId: 'my-run',
      project: 'vision',
      name: 'baseline',
      createdAt: 1_700_000_000_000,
    };
    const first = await t.request('/api/v1/experiments', { method: 'POST', json: body });
    assert.equal(first.status, 201);
    assert.equal(first.body.created, true);
    assert.deepEqual(first.body.experiment, {
      id: 'my-run',
      workspace: 'ws',
      project: 'vision',
      name: 'baseline',
      state: 'crashed',
      config: {},
      createdAt: new Date(1_700_000_000_000).toISOString(),
      lastStep: null,
      keys: [],
      copiedFrom: null,
      source: null,
    });
    const again = await t.request('/api/v1/experiments', { method: 'POST', json: body });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { experiment: first.body.experiment, created: false });
    const taken = await t.request('/api/v1/experiments', {
      method: 'POST',
      json: { ...body, requestKey: 'create-2' },
    });
    assert.equal(taken.status, 201);
    assert.match(taken.body.experiment.id, /^[0-9a-z]{21}$/);
    const exact = await t.request('/api/v1/experiments', {
      method: 'POST',
      json: { ...body, requestKey: 'create-3', exactId: true },
    });
    assert.equal(exact.status, 409);
    assert.equal(exact.body.code, 'RUN_EXISTS');
    const get = await t.request('/api/v1/experiments/my-run', { key: t.readKey });
    assert.equal(get.status, 200);
    assert.equal(get.body.name, 'baseline');
  });

  test("an imported run's origin is stored, answered, kept by a copy; a bad origin is 400", async () => {
    const source = { kind: 'tensorboard', path: '/data/runs/exp1', id: 'runs/exp1' };
    const res = await t.request('/api/v1/experiments', {
      method: 'POST',
      json: { requestKey: 'imported-1', project: 'p', source },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.experiment.source, source);
    const id = res.body.experiment.id as string;
    const get = await t.request(`/api/v1/experiments/${id}`, { key: t.readKey });
    assert.deepEqual(get.body.source, source);
    const copy = await t.request(`/api/v1/experiments/${id}/copy`, {
      method: 'POST',
      json: { requestKey: 'c-1' },
    });
    assert.deepEqual(copy.body.experiment.source, source);
    const bad = await t.request('/api/v1/experiments', {
      method: 'POST',
      json: { requestKey: 'imported-2', project: 'p', source: { kind: '', path: 'x', id: 'y' } },
    });
    assert.equal(bad.status, 400);
  });

  test('ingest: apply, repeat stores nothing, a gap is 409 with watermarks; sync status reports it', async () => {
    const id = await newExperiment();
    const first = batch([
      {
        source: 'src-a',
        fromSeq: -1,
        toSeq: 3,
        chunks: [
          {
            key: 'train/loss',
            points: points([
              [0, 1, 1],
              [1, 0.5, 2],
              [2, 0.25, 3],
            ]),
          },
          { key: 'acc', points: points([[0, 0.1, 1]]) },
        ],
      },
    ]);
    const res = await ingest(id, first);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { watermarks: { 'src-a': 3 }, stored: 4 });
    assert.deepEqual((await ingest(id, first)).body, { watermarks: { 'src-a': 3 }, stored: 0 });
    const gap = await ingest(
      id,
      batch([
        { source: 'src-a', fromSeq: 5, toSeq: 6, chunks: [{ key: 'acc', points: points([[9, 1, 6]]) }] },
      ]),
    );
    assert.equal(gap.status, 409);
    assert.equal(gap.body.code, 'CONFLICT');
    assert.deepEqual(gap.body.watermarks, { 'src-a': 3 });
    const next = await ingest(
      id,
      batch([
        {
          source: 'src-a',
          fromSeq: 3,
          toSeq: 5,
          session: session({ endState: 'finished', endedAt: 5000 }),
          rewinds: [{ seq: 4, ts: 1004, step: 0 }],
          chunks: [{ key: 'train/loss', points: points([[1, 9, 5]]) }],
        },
      ]),
    );
    assert.deepEqual(next.body, { watermarks: { 'src-a': 5 }, stored: 1 });
    const sync = await t.request(`/api/v1/experiments/${id}/sync`, { key: t.readKey });
    assert.equal(sync.status, 200);
    assert.equal(sync.body.experimentId, id);
    assert.deepEqual(sync.body.watermarks, { 'src-a': 5 });
    assert.equal(sync.body.sessions['src-a'].endState, 'finished');
    assert.equal(sync.body.state, 'finished');
    assert.equal(sync.body.lastStep, 1);
    assert.deepEqual(sync.body.keyLastSteps, { acc: 0, 'train/loss': 1 });
    assert.equal(sync.body.maxTs, 5000);
    const info = await t.request(`/api/v1/experiments/${id}`);
    assert.deepEqual(info.body.keys, ['acc', 'train/loss']);
    assert.equal(info.body.lastStep, 1);
    assert.equal(info.body.state, 'finished');
  });

  test('ingest: small chunks after a large one of the same key (one batch, then the next) read back whole and in order', async () => {
    // A received chunk of 512 points or more is stored as received; the small ones after it are
    // appended to it, which decodes it again from its bytes.
    const id = await newExperiment();
    const rows = (from: number, n: number): [number, number, number][] =>
      Array.from({ length: n }, (_, i) => [from + i, Math.fround(Math.sin(from + i)), from + i + 1]);
    const first = batch([
      {
        source: 's1',
        fromSeq: -1,
        toSeq: 610,
        chunks: [
          { key: 'k', points: points(rows(0, 600)) },
          { key: 'k', points: points(rows(600, 10)) },
        ],
      },
    ]);
    assert.deepEqual((await ingest(id, first)).body, { watermarks: { s1: 610 }, stored: 610 });
    const second = batch([
      { source: 's1', fromSeq: 610, toSeq: 615, chunks: [{ key: 'k', points: points(rows(610, 5)) }] },
    ]);
    assert.deepEqual((await ingest(id, second)).body, { watermarks: { s1: 615 }, stored: 5 });
    const res = await metrics(id, 'k', '?maxPoints=10000');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.points.map((p: { step: number; value: number }) => [p.step, p.value]),
      rows(0, 615).map(([step, value]) => [step, value]),
    );
  });

  test('ingest: a chunk holding more points than its batch header says is 400 naming the key, and nothing is stored', async () => {
    const id = await newExperiment();
    const blob = encodeChunk(
      points([
        [0, 1, 1],
        [1, 2, 2],
        [2, 3, 3],
        [3, 4, 4],
      ]),
    );
    const header = {
      sources: [
        {
          source: 's1',
          fromSeq: -1,
          toSeq: 4,
          session: session(),
          rewinds: [],
          chunks: [{ key: 'k', n: 3, bytes: blob.length }],
        },
      ],
    };
    const res = await ingest(id, encodeBatch(header, [blob]));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'BAD_REQUEST');
    assert.match(res.body.message, /key "k".*holds 4 points, header says 3/);
    const sync = await t.request(`/api/v1/experiments/${id}/sync`, { key: t.readKey });
    assert.deepEqual(sync.body.watermarks, {});
  });

  test('state: an open session is running while its heartbeat is fresh, crashed after', async () => {
    const id = await newExperiment();
    await ingest(
      id,
      batch([{ source: 'live', fromSeq: -1, toSeq: -1, session: session({ heartbeatAt: Date.now() }) }]),
    );
    assert.equal((await t.request(`/api/v1/experiments/${id}`)).body.state, 'running');
    const old = Date.now() - 3 * 60_000;
    const id2 = await newExperiment();
    await ingest(
      id2,
      batch([
        { source: 'dead', fromSeq: -1, toSeq: -1, session: session({ startedAt: old, heartbeatAt: old }) },
      ]),
    );
    assert.equal((await t.request(`/api/v1/experiments/${id2}`)).body.state, 'crashed');
  });

  test('config revisions merge in (ts, source) order; known ones are ignored', async () => {
    const id = await newExperiment();
    const post = (revisions: unknown[]) =>
      t.request(`/api/v1/experiments/${id}/config`, { method: 'POST', json: { revisions } });
    const a = await post([
      { ts: 2, source: 'w1', patch: { lr: 0.1, opt: { beta: 0.9 } } },
      { ts: 1, source: null, patch: { lr: 1, opt: { name: 'adam' }, drop: true } },
    ]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.added, 2);
    const b = await post([
      { ts: 2, source: 'w1', patch: { lr: 123 } },
      { ts: 3, source: 'w1', patch: { drop: null } },
    ]);
    assert.equal(b.body.added, 1);
    const info = await t.request(`/api/v1/experiments/${id}`);
    assert.deepEqual(info.body.config, { lr: 0.1, opt: { name: 'adam', beta: 0.9 } });
    const sync = await t.request(`/api/v1/experiments/${id}/sync`);
    assert.deepEqual(sync.body.configRevisions, ['1:', '2:w1', '3:w1']);
  });

  // Regression: objects keyed by user names were built with `{}`, where assigning '__proto__'
  // sets the prototype: the merged config lost such a key.
  test('a metric key and a config key named __proto__ are answered like any other', async () => {
    const id = await newExperiment();
    const ingest = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      headers: batchHeaders,
      body: batch([
        { source: 'w1', fromSeq: -1, toSeq: 1, chunks: [{ key: '__proto__', points: points([[0, 5, 1]]) }] },
      ]),
    });
    assert.equal(ingest.status, 200, JSON.stringify(ingest.body));
    const patch = JSON.parse('{"__proto__": {"lr": 0.1}, "seed": 1}') as Record<string, unknown>;
    const config = await t.request(`/api/v1/experiments/${id}/config`, {
      method: 'POST',
      json: { revisions: [{ ts: 1, source: null, patch }] },
    });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    const info = await t.request(`/api/v1/experiments/${id}`);
    assert.deepEqual(info.body.keys, ['__proto__']);
    assert.deepEqual(Object.entries(info.body.config), [
      ['__proto__', { lr: 0.1 }],
      ['seed', 1],
    ]);
    const sync = await t.request(`/api/v1/experiments/${id}/sync`);
    assert.deepEqual(Object.entries(sync.body.keyLastSteps), [['__proto__', 0]]);
    assert.deepEqual(Object.keys(sync.body.config), ['__proto__', 'seed']);
    const series = await t.request(`/api/v1/experiments/${id}/metrics/__proto__`);
    assert.equal(series.status, 200, JSON.stringify(series.body));
    assert.deepEqual(
      series.body.points.map((p: { step: number; value: number }) => [p.step, p.value]),
      [[0, 5]],
    );
  });

  test('config strings with a lone surrogate are kept exactly (stored as escaped JSON)', async () => {
    const id = await newExperiment();
    const res = await t.request(`/api/v1/experiments/${id}/config`, {
      method: 'POST',
      json: { revisions: [{ ts: 1, source: null, patch: { tag: 'a\ud800', 'k\udc00': 1 } }] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const info = await t.request(`/api/v1/experiments/${id}`);
    assert.deepEqual(info.body.config, { tag: 'a\ud800', 'k\udc00': 1 });
  });

  test('copy makes an idempotent copy with the same points and config', async () => {
    const id = await newExperiment({ name: 'orig' });
    await ingest(
      id,
      batch([
        {
          source: 's',
          fromSeq: -1,
          toSeq: 2,
          chunks: [
            {
              key: 'x',
              points: points([
                [0, 1, 1],
                [1, 2, 2],
              ]),
            },
          ],
        },
      ]),
    );
    await t.request(`/api/v1/experiments/${id}/config`, {
      method: 'POST',
      json: { revisions: [{ ts: 1, source: null, patch: { a: 1 } }] },
    });
    const copy = await t.request(`/api/v1/experiments/${id}/copy`, {
      method: 'POST',
      json: { requestKey: `copy-of-${id}` },
    });
    assert.equal(copy.status, 201, JSON.stringify(copy.body));
    assert.equal(copy.body.experiment.copiedFrom, id);
    assert.equal(copy.body.experiment.state, 'crashed', 'the open session ends as crashed in the copy');
    assert.deepEqual(copy.body.experiment.config, { a: 1 });
    const cid = copy.body.experiment.id;
    assert.deepEqual((await metrics(cid, 'x')).body, (await metrics(id, 'x')).body);
    const again = await t.request(`/api/v1/experiments/${id}/copy`, {
      method: 'POST',
      json: { requestKey: `copy-of-${id}` },
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.experiment.id, cid);
    assert.equal(again.body.created, false);
  });

  test('workspace lists: projects with counts, experiments newest first', async () => {
    const before = await t.request('/api/v1/workspaces/other/projects', { key: t.otherKey });
    assert.deepEqual(before.body, { projects: [] });
    for (const [i, project] of ['b', 'a', 'b'].entries()) {
      const res = await t.request('/api/v1/experiments', {
        method: 'POST',
        key: t.otherKey,
        json: { requestKey: `list-${i}`, requestedId: `list-${i}`, project, createdAt: 1000 + i },
      });
      assert.equal(res.status, 201);
    }
    const projects = await t.request('/api/v1/workspaces/other/projects', { key: t.otherKey });
    assert.deepEqual(projects.body, {
      projects: [
        { name: 'a', experiments: 1 },
        { name: 'b', experiments: 2 },
      ],
    });
    const all = await t.request('/api/v1/workspaces/other/experiments', { key: t.otherKey });
    assert.deepEqual(
      all.body.experiments.map((e: { id: string }) => e.id),
      ['list-2', 'list-1', 'list-0'],
    );
    const b = await t.request('/api/v1/workspaces/other/experiments?project=b', { key: t.otherKey });
    assert.deepEqual(
      b.body.experiments.map((e: { id: string }) => e.id),
      ['list-2', 'list-0'],
    );
  });
});

describe('metrics', () => {
  let id: string;
  before(async () => {
    id = await newExperiment();
    const loss: [number, number, number][] = [];
    for (let i = 0; i < 1000; i++) loss.push([i, Math.sin(i / 10), i + 1]);
    loss[500]![1] = 1e6; // a spike
    loss[700]![1] = -1e6; // a dip
    const res = await ingest(
      id,
      batch([
        {
          source: 's1',
          fromSeq: -1,
          toSeq: 1003,
          chunks: [
            { key: 'train/loss', points: points(loss) },
            {
              key: 'odd',
              points: points([
                [0, Number.NaN, 1001],
                [1, Number.POSITIVE_INFINITY, 1002],
                [2, Number.NEGATIVE_INFINITY, 1003],
              ]),
            },
          ],
        },
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // A later session rewrites step 3 of `odd`, superseding the first write.
    const res2 = await ingest(
      id,
      batch([
        {
          source: 's2',
          fromSeq: -1,
          toSeq: 1,
          chunks: [{ key: 'odd', points: { ...points([[2, -0.5, 1]]), ts: Float64Array.of(9999) } }],
        },
      ]),
    );
    assert.equal(res2.status, 200, JSON.stringify(res2.body));
  });

  test('non-finite values travel as strings; superseded=1 adds the superseded points', async () => {
    const res = await metrics(id, 'odd');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      key: 'odd',
      points: [
        { step: 0, value: 'NaN', ts: 2001 },
        { step: 1, value: 'Infinity', ts: 2002 },
        { step: 2, value: -0.5, ts: 9999 },
      ],
      total: 3,
      downsampled: false,
    });
    const all = await metrics(id, 'odd', '?superseded=1');
    assert.deepEqual(all.body.points, [
      { step: 0, value: 'NaN', ts: 2001 },
      { step: 1, value: 'Infinity', ts: 2002 },
      { step: 2, value: '-Infinity', ts: 2003, superseded: true },
      { step: 2, value: -0.5, ts: 9999 },
    ]);
    assert.equal(all.body.total, 3);
  });

  test('from/to select a step range, both ends included', async () => {
    const res = await metrics(id, 'train/loss', '?from=10&to=19');
    assert.deepEqual(
      res.body.points.map((p: { step: number }) => p.step),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    );
    assert.equal(res.body.total, 10);
    assert.equal((await metrics(id, 'train/loss', '?from=5000')).body.points.length, 0);
    assert.equal((await metrics(id, 'train/loss', '?from=20&to=10')).status, 400);
  });

  test('downsampling honours maxPoints and keeps each bucket extremes', async () => {
    const full = await metrics(id, 'train/loss');
    assert.equal(full.body.points.length, 1000);
    assert.equal(full.body.downsampled, false);
    for (const maxPoints of [1, 2, 7, 100, 999]) {
      const res = await metrics(id, 'train/loss', `?maxPoints=${maxPoints}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.downsampled, true);
      assert.equal(res.body.total, 1000);
      assert.ok(res.body.points.length <= maxPoints, `${res.body.points.length} > ${maxPoints}`);
      const steps = res.body.points.map((p: { step: number }) => p.step);
      assert.deepEqual(
        steps,
        [...steps].sort((a: number, b: number) => a - b),
        'step order',
      );
      const values = res.body.points.map((p: { value: number }) => p.value);
      assert.ok(values.includes(1e6), `spike kept at maxPoints=${maxPoints}`);
      if (maxPoints >= 2) assert.ok(values.includes(-1e6), `dip kept at maxPoints=${maxPoints}`);
    }
    assert.equal((await metrics(id, 'train/loss', '?maxPoints=1000')).body.downsampled, false);
  });

  test('an unknown key is 404; keys with / and other characters round-trip', async () => {
    const res = await metrics(id, 'no/such/key');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
    assert.match(res.body.message, /has no metric "no\/such\/key"/);
    assert.match(res.body.hint, /keys.*GET \/api\/v1\/experiments\//);
    const raw = await t.request(`/api/v1/experiments/${id}/metrics/train/loss?to=1`);
    assert.equal(raw.status, 200, 'an unencoded / works too');
    assert.equal(raw.body.points.length, 2);
  });

  test('several keys in one request answer what each key alone answers; bad input is 400 with a hint', async () => {
    const query = '&maxPoints=7&from=0&to=900&superseded=1';
    const many = await t.request(`/api/v1/experiments/${id}/metrics?key=train%2Floss&key=odd${query}`);
    assert.equal(many.status, 200, JSON.stringify(many.body));
    assert.deepEqual(many.body.series, [
      (await metrics(id, 'train/loss', `?${query.slice(1)}`)).body,
      (await metrics(id, 'odd', `?${query.slice(1)}`)).body,
    ]);
    const unknown = await t.request(`/api/v1/experiments/${id}/metrics?key=odd&key=no%2Fsuch`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'NOT_FOUND');
    assert.match(unknown.body.message, /no\/such/);
    const bad = async (qs: string, pattern: RegExp) => {
      const res = await t.request(`/api/v1/experiments/${id}/metrics${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(res.body.code, 'BAD_REQUEST', qs);
      assert.match(res.body.message, pattern, qs);
      assert.ok(res.body.hint, `a hint for ${qs}`);
    };
    await bad('', /no metric key/);
    await bad('?key=odd&key=odd', /asked for twice/);
    await bad(`?${Array.from({ length: 101 }, (_, i) => `key=k${i}`).join('&')}`, /101 keys.*at most 100/);
    await bad('?key=odd&key=train%2Floss&maxPoints=600000', /above 1000000 points/);
    const range = await t.request(`/api/v1/experiments/${id}/metrics?key=odd&from=5&to=1`);
    assert.equal(range.status, 400);
  });
});
