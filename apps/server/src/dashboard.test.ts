import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, syncRunDir } from '@swanlog/client';
import { initSync } from 'swanlog';
import { createApiKey } from './api-keys.js';
import { type RunningServer, startServer } from './start-server.js';
import type { Json } from './test-support/server.js';
import { openEvents } from './test-support/sse-client.js';

const fixtures = new URL('../../../swanlog-fixtures/logdir/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'swanlog-dashboard-test-'));
const logdir = join(work, 'logdir');
const webRoot = join(work, 'web');
const dataDir = join(work, 'data');
let server: RunningServer;
let writeKey: string;
let readKey: string;
let otherKey: string;

before(async () => {
  cpSync(fixtures, logdir, { recursive: true });
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>fake swanlog ui</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log("ui")');
  server = await startServer({ dataDir, port: 0, webRoot, log: (m) => assert.fail(m) });
  writeKey = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  readKey = createApiKey({ dataDir, workspace: 'ws', scope: 'read' }).key;
  otherKey = createApiKey({ dataDir, workspace: 'other', scope: 'read' }).key;
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers });
  const text = await res.text();
  const body: Json = text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text;
  return { status: res.status, body, headers: res.headers };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function sync(runDirName: string) {
  return syncRunDir({
    dir: join(logdir, runDirName),
    client: createClient({ host: server.url, apiKey: writeKey }),
  });
}

test('static UI needs no auth; the API answers 401 without a key', async () => {
  for (const path of ['/', '/experiments/abc', '/compare', '/login']) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    assert.match(res.body, /fake swanlog ui/);
  }
  const js = await get('/assets/app.js');
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  for (const path of ['/api/v1/server', '/api/v1/workspaces/ws/experiments', '/api/v1/events']) {
    const res = await get(path);
    assert.equal(res.status, 401, path);
    assert.equal(res.body.code, 'UNAUTHORIZED');
  }
  const info = await get('/api/v1/server', bearer(readKey));
  assert.equal(info.body.mode, 'server');
});

test('details and the list after syncing resumed and rewound runs', async () => {
  const rewound = await sync('run-20261122_113403-fx-rewound');
  const resumed = await sync('run-20261122_113403-fx-resumed');
  const list = await get('/api/v1/workspaces/ws/experiments', bearer(readKey));
  assert.equal(list.status, 200);
  const byId = new Map<string, Json>(list.body.experiments.map((e: Json) => [e.id, e]));
  assert.equal(byId.get(rewound.experimentId).segments, 2);
  assert.equal(byId.get(resumed.experimentId).state, 'finished');

  const details = await get(`/api/v1/experiments/${rewound.experimentId}/details`, bearer(readKey));
  assert.equal(details.status, 200);
  assert.deepEqual(
    details.body.segments.map((s: Json) => [s.resumed, s.fromStep, s.firstStep, s.state]),
    [
      [false, null, 0, 'finished'],
      [true, 20, 21, 'finished'],
    ],
  );
  // Each segment names the machine and process that wrote it (the run page's environment panel).
  for (const s of details.body.segments as Json[]) {
    assert.equal(typeof s.host, 'string');
    assert.ok(s.host.length > 0 && Number.isInteger(s.pid) && s.pid > 0, JSON.stringify(s));
  }
  assert.deepEqual(
    details.body.rewinds.map((r: Json) => r.step),
    [20],
  );
  const resumedDetails = await get(`/api/v1/experiments/${resumed.experimentId}/details`, bearer(readKey));
  assert.deepEqual(
    resumedDetails.body.configRevisions.map((r: Json) => r.patch),
    [{ phase: 2 }],
  );
  const elsewhere = await get(`/api/v1/experiments/${rewound.experimentId}/details`, bearer(otherKey));
  assert.equal(elsewhere.status, 404);
});

test('a session cookie from POST /session works for reads, events included', {
  timeout: 60_000,
}, async () => {
  const login = await fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: readKey }),
  });
  assert.equal(login.status, 204);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.match(cookie, /^swanlog_session=/);
  const list = await get('/api/v1/workspaces/ws/experiments', { cookie });
  assert.equal(list.status, 200);
  const events = await openEvents(`${server.url}/api/v1/events`, { cookie });
  assert.equal(events.status, 200);
  assert.match(events.contentType ?? '', /^text\/event-stream/);
  events.close();
});

test('events: runs after a create, points after an ingest, nothing from another workspace', {
  timeout: 60_000,
}, async () => {
  const mine = await openEvents(`${server.url}/api/v1/events`, bearer(readKey));
  const theirs = await openEvents(`${server.url}/api/v1/events`, bearer(otherKey));
  try {
    const run = initSync({ project: 'live', logdir, mode: 'offline' });
    run.log({ loss: 1 });
    run.flush();
    const first = await syncRunDir({
      dir: run.dir!,
      client: createClient({ host: server.url, apiKey: writeKey }),
    });
    await mine.next((e) => e.event === 'runs');
    const points = await mine.next((e) => e.event === 'points');
    assert.deepEqual(JSON.parse(points.data), { id: first.experimentId });
    run.log({ loss: 0.5 });
    await run.finish();
    await syncRunDir({ dir: run.dir!, client: createClient({ host: server.url, apiKey: writeKey }) });
    const more = await mine.next((e) => e.event === 'points');
    assert.deepEqual(JSON.parse(more.data), { id: first.experimentId });
    const ended = await mine.next((e) => e.event === 'runs');
    assert.deepEqual(JSON.parse(ended.data), {});
    const state = await get(`/api/v1/experiments/${first.experimentId}`, bearer(readKey));
    assert.equal(state.body.state, 'finished');
    // Another workspace's dashboard hears nothing of it: a write of its own arrives first.
    const otherWrite = createApiKey({ dataDir, workspace: 'other', scope: 'write' }).key;
    const res = await fetch(`${server.url}/api/v1/experiments`, {
      method: 'POST',
      headers: { ...bearer(otherWrite), 'content-type': 'application/json' },
      body: JSON.stringify({ requestKey: 'other-1', project: 'p' }),
    });
    assert.equal(res.status, 201);
    const heard = await theirs.next(() => true);
    assert.equal(heard.event, 'runs');
  } finally {
    mine.close();
    theirs.close();
  }
});
