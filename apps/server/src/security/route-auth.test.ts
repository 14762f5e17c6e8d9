import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runIdOfDirName } from '@swanlog/store';
import { createApiKey } from '../api-keys.js';
import { createApp } from '../create-app.js';
import { createDashboardEvents } from '../dashboard-events.js';
import { SERVER_VERSION } from '../start-server.js';
import { openSqliteStorage } from '../storage/sqlite-storage.js';
import { labelOf, type RouteEntry, routesOf, samplePath } from '../test-support/routes.js';
import { batch, batchHeaders, points, startTestServer, type TestServer } from '../test-support/server.js';
import { createWatchApp } from '../watch/create-watch-app.js';
import { startWatch } from '../watch/start-watch.js';

/**
 * The documented exceptions to "every API route needs a key": the static UI (every GET outside
 * /api, no auth) and the dashboard's sign-in/out, which take the key in the body.
 */
const NO_AUTH_ROUTES = new Set(['GET /*', 'POST /api/v1/session', 'DELETE /api/v1/session']);

/** A valid body per write route, so "the right key" reaches the handler's success path. */
const VALID_BODIES: Record<string, () => { body: Buffer | string; headers: Record<string, string> }> = {
  'POST /api/v1/experiments': () => json({ requestKey: 'matrix-create', project: 'p' }),
  'POST /api/v1/experiments/:id/ingest': () => ({
    body: batch([
      { source: 'matrix', fromSeq: -1, toSeq: 1, chunks: [{ key: 'm', points: points([[0, 1, 1]]) }] },
    ]),
    headers: batchHeaders,
  }),
  'POST /api/v1/experiments/:id/config': () =>
    json({ revisions: [{ ts: 1, source: null, patch: { lr: 1 } }] }),
  'POST /api/v1/experiments/:id/copy': () => json({ requestKey: 'matrix-copy' }),
  'PATCH /api/v1/experiments/:id/meta': () => json({ tags: ['matrix'] }),
};

/**
 * The one write a dashboard session may make (team metadata), and only with its CSRF token: the
 * cookie alone is refused (403, not 401, since the session itself is valid).
 */
const SESSION_WRITE_ROUTES = new Set(['PATCH /api/v1/experiments/:id/meta']);
/** Routes that remove their experiment: the matrix points them at one of their own. */
const DELETE_ROUTES = new Set(['DELETE /api/v1/experiments/:id']);

const json = (value: unknown) => ({
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/json' },
});

let t: TestServer;
let id: string;
let doomed: string;
let otherReadKey: string;
let cookie: string;
let routes: RouteEntry[];

before(async () => {
  t = await startTestServer();
  otherReadKey = createApiKey({ dataDir: t.dataDir, workspace: 'other', scope: 'read' }).key;
  const created = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'r', project: 'p' },
  });
  id = created.body.experiment.id;
  doomed = (
    await t.request('/api/v1/experiments', { method: 'POST', json: { requestKey: 'doomed', project: 'p' } })
  ).body.experiment.id;
  const ingested = await t.request(`/api/v1/experiments/${id}/ingest`, {
    method: 'POST',
    body: batch([
      { source: 's', fromSeq: -1, toSeq: 1, chunks: [{ key: 'loss', points: points([[0, 1, 1]]) }] },
    ]),
    headers: batchHeaders,
  });
  assert.equal(ingested.status, 200);
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: t.writeKey }),
  });
  assert.equal(login.status, 204);
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  // The route table of the very app the server runs (same factory, same options).
  const storage = openSqliteStorage({ dataDir: t.dataDir });
  try {
    routes = routesOf(createApp({ storage, version: SERVER_VERSION }));
  } finally {
    storage.close();
  }
});

after(async () => {
  await t.close();
});

/** Status of a request; the body is dropped unread (event streams never end). */
async function statusOf(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  });
  await res.body?.cancel();
  return res.status;
}

const isWrite = (method: string) => method !== 'GET' && method !== 'HEAD';

test('the route table is what this suite expects to enumerate', () => {
  assert.ok(routes.length >= 12, `only ${routes.length} routes found: ${routes.map(labelOf).join(', ')}`);
  for (const r of routes)
    assert.notEqual(r.method, 'ALL', `${labelOf(r)}: a catch-all method escapes the matrix`);
  for (const label of NO_AUTH_ROUTES)
    assert.ok(
      routes.some((r) => labelOf(r) === label),
      `documented exception ${label} is no route any more`,
    );
});

test('every API route: no key 401, another workspace 404, read key on write 403, right key passes', async () => {
  const base = t.server.url;
  let checked = 0;
  for (const route of routes) {
    const label = labelOf(route);
    if (NO_AUTH_ROUTES.has(label)) continue;
    assert.ok(route.path.startsWith('/api/v1/'), `${label}: outside /api/v1 and not a documented exception`);
    const path = samplePath(route, { id: DELETE_ROUTES.has(label) ? doomed : id, ws: 'ws' }, 'loss');
    const example = VALID_BODIES[label]?.() ?? json({});
    const send = (key: string | null, extra: Record<string, string> = {}) =>
      statusOf(
        base,
        route.method,
        path,
        { ...example.headers, ...extra, ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
        example.body,
      );

    assert.equal(await send(null), 401, `${label} without a key`);
    assert.equal(await send(`${t.writeKey}x`), 401, `${label} with an unknown key`);
    assert.equal(await send(null, { authorization: 'Basic Zm9vOmJhcg==' }), 401, `${label} with Basic auth`);
    const scoped = route.path.includes(':id') || route.path.includes(':ws');
    if (isWrite(route.method)) {
      assert.equal(await send(t.readKey), 403, `${label} with a read key`);
      // The dashboard cookie authorizes reads only (and metadata changes carrying its CSRF token).
      assert.equal(
        await send(null, { cookie }),
        SESSION_WRITE_ROUTES.has(label) ? 403 : 401,
        `${label} with the session cookie`,
      );
      if (scoped) assert.equal(await send(t.otherKey), 404, `${label} with another workspace's write key`);
    } else {
      if (scoped) {
        assert.equal(await send(otherReadKey), 404, `${label} with another workspace's read key`);
        assert.equal(await send(t.otherKey), 404, `${label} with another workspace's write key`);
      }
      const cookieStatus = await send(null, { cookie });
      assert.ok(cookieStatus < 400, `${label} with the session cookie: ${cookieStatus}`);
      assert.equal(
        await send(null, { cookie, origin: 'https://evil.example' }),
        403,
        `${label}: the cookie from another site`,
      );
    }
    for (const key of isWrite(route.method) ? [t.writeKey] : [t.readKey, t.writeKey]) {
      const status = await send(key);
      assert.ok(status < 400, `${label} with the right key answered ${status}`);
    }
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} API routes checked`);
  assert.deepEqual(
    t.logged.filter((m) => m.includes('failed')),
    [],
  );
});

test('watch mode: every route is a read, no write method answers 2xx, and it binds 127.0.0.1', async () => {
  const work = mkdtempSync(join(tmpdir(), 'swanlog-watch-security-'));
  const fixtures = new URL('../../../../swanlog-fixtures/logdir/', import.meta.url).pathname;
  cpSync(fixtures, join(work, 'logdir'), { recursive: true });
  const watchRoutes = routesOf(
    createWatchApp({
      logdir: join(work, 'logdir'),
      version: SERVER_VERSION,
      events: createDashboardEvents(),
    }),
  );
  const watch = await startWatch({ logdir: join(work, 'logdir'), port: 0, log: (m) => assert.fail(m) });
  try {
    assert.match(watch.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const runId = runIdOfDirName('run-20261122_113403-fx-finished');
    assert.ok(runId !== undefined);
    // The one middleware (the loopback Host guard, `use('*')`) shows in the table as ALL /*; any
    // other ALL route would be a handler for every method and fails here.
    assert.deepEqual(
      watchRoutes.filter((r) => r.method === 'ALL'),
      [{ method: 'ALL', path: '/*' }],
    );
    for (const route of watchRoutes.filter((r) => r.method !== 'ALL')) {
      const label = labelOf(route);
      const path = samplePath(route, { id: runId, ws: 'local' }, 'loss');
      if (route.method !== 'GET') {
        // Edits the server allows (metadata, delete) are refused with READ_ONLY, naming why.
        const res = await fetch(`${watch.url}${path}`, {
          method: route.method,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        assert.equal(res.status, 403, `${label}: watch mode is read-only`);
        assert.equal(((await res.json()) as { code: string }).code, 'READ_ONLY', label);
        continue;
      }
      const status = await statusOf(watch.url, 'GET', path, {});
      assert.ok(status < 400, `${label} answers ${status} without auth`);
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const refused = await statusOf(watch.url, method, path, { 'content-type': 'application/json' }, '{}');
        assert.ok(refused >= 400 && refused < 500, `${method} ${path} answered ${refused}`);
      }
    }
    for (const path of ['/api/v1/experiments', `/api/v1/experiments/${runId}/ingest`, '/api/v1/session']) {
      const status = await statusOf(watch.url, 'POST', path, { 'content-type': 'application/json' }, '{}');
      assert.equal(status, 404, `POST ${path}`);
    }
  } finally {
    await watch.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('watch mode refuses requests naming another host (DNS rebinding), answers loopback names', async () => {
  const work = mkdtempSync(join(tmpdir(), 'swanlog-watch-rebind-'));
  const fixtures = new URL('../../../../swanlog-fixtures/logdir/', import.meta.url).pathname;
  cpSync(fixtures, join(work, 'logdir'), { recursive: true });
  const watch = await startWatch({ logdir: join(work, 'logdir'), port: 0, log: (m) => assert.fail(m) });
  const ask = (host: string) =>
    new Promise<number>((done, fail) => {
      const req = httpRequest(
        `${watch.url}/api/v1/workspaces/local/experiments`,
        { headers: { host } },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('error', fail);
      req.end();
    });
  try {
    const port = new URL(watch.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      assert.equal(await ask(host), 403, `Host: ${host}`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      assert.equal(await ask(host), 200, `Host: ${host}`);
    }
  } finally {
    await watch.close();
    rmSync(work, { recursive: true, force: true });
  }
});
