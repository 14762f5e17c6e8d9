import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BATCH_CONTENT_TYPE, MAX_BODY_BYTES, MAX_JSON_BYTES } from '@swanlog/protocol';
import { createApiKey } from '../api-keys.js';
import { MAX_JSON_DEPTH } from '../read-body.js';
import { type RunningServer, startServer } from '../start-server.js';
import { rawRequest } from '../test-support/raw-http.js';
import { batch, batchHeaders, points, startTestServer, type TestServer } from '../test-support/server.js';

let t: TestServer;
let id: string;
before(async () => {
  t = await startTestServer();
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'limits', project: 'p' },
  });
  id = res.body.experiment.id;
});
after(async () => {
  await t.close();
});

/**
 * POSTs a chunked body that never ends (64 KiB chunks, honouring backpressure) until the server
 * answers; fails if it has not answered after `giveUpAt` bytes. Returns the status and how much
 * had been sent when the answer came.
 */
function endlessUpload(
  path: string,
  contentType: string,
  giveUpAt: number,
  first?: Buffer,
): Promise<{ status: number; sent: number }> {
  const { hostname, port } = new URL(t.server.url);
  const chunk = Buffer.alloc(64 * 1024, 0x20); // spaces: valid JSON whitespace, never a complete value
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({
      host: hostname,
      port: Number(port),
      method: 'POST',
      path,
      headers: {
        authorization: `Bearer ${t.writeKey}`,
        'content-type': contentType,
        'transfer-encoding': 'chunked',
      },
    });
    req.on('response', (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      resolve({ status, sent });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the socket right after answering; only an error before any answer counts.
      if (!answered) reject(error);
    });
    if (first !== undefined) {
      sent += first.length;
      req.write(first);
    }
    const pump = () => {
      while (!answered) {
        if (sent > giveUpAt) {
          req.destroy();
          reject(new Error(`no answer after ${sent} bytes of an unfinished body`));
          return;
        }
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

test('a never-ending chunked JSON body is refused with 413 once past 1 MiB, before it ends', async () => {
  const { status, sent } = await endlessUpload(
    '/api/v1/experiments',
    'application/json',
    64 * MAX_JSON_BYTES,
  );
  assert.equal(status, 413);
  console.log(`json: 413 after ${sent} bytes sent (limit ${MAX_JSON_BYTES})`);
  assert.equal((await t.request('/api/v1/server')).status, 200);
});

test('a never-ending chunked ingest batch is refused with 413 once past 32 MiB, before it ends', async () => {
  // A well-framed start (a 2-byte header), so the body is not refused from its first bytes.
  const start = Buffer.concat([Buffer.from('SWB1', 'latin1'), Buffer.from([2, 0, 0, 0]), Buffer.from('{}')]);
  const { status, sent } = await endlessUpload(
    `/api/v1/experiments/${id}/ingest`,
    BATCH_CONTENT_TYPE,
    4 * MAX_BODY_BYTES,
    start,
  );
  assert.equal(status, 413);
  assert.ok(sent > MAX_BODY_BYTES, `413 after ${sent} bytes`);
  console.log(`batch: 413 after ${sent} bytes sent (limit ${MAX_BODY_BYTES})`);
  assert.equal((await t.request('/api/v1/server')).status, 200);
});

test('a never-ending ingest body that is not a batch is refused from its first bytes', async () => {
  const { status, sent } = await endlessUpload(
    `/api/v1/experiments/${id}/ingest`,
    BATCH_CONTENT_TYPE,
    4 * MAX_BODY_BYTES,
  );
  assert.equal(status, 400);
  assert.ok(sent < MAX_BODY_BYTES, `400 after ${sent} bytes`);
  assert.equal((await t.request('/api/v1/server')).status, 200);
});

test('a declared Content-Length over the limit is 413 without reading the body', async () => {
  const { hostname, port } = new URL(t.server.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port: Number(port),
      method: 'POST',
      path: '/api/v1/experiments',
      headers: {
        authorization: `Bearer ${t.writeKey}`,
        'content-type': 'application/json',
        'content-length': String(MAX_JSON_BYTES + 1),
      },
    });
    req.on('response', (res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('{'); // the rest never comes
  });
  assert.equal(status, 413);
});

test(`JSON nesting deeper than ${MAX_JSON_DEPTH} is 400 BAD_REQUEST, never a stack overflow`, async () => {
  const nested = (depth: number): Record<string, unknown> => {
    let value: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < depth; i++) value = { a: value };
    return value;
  };
  const config = (patch: unknown, headers: Record<string, string> = {}) =>
    t.request(`/api/v1/experiments/${id}/config`, {
      method: 'POST',
      body:
        typeof patch === 'string' ? patch : JSON.stringify({ revisions: [{ ts: 1, source: null, patch }] }),
      headers: { 'content-type': 'application/json', ...headers },
    });
  // The envelope {revisions: [{patch: …}]} takes three levels.
  const ok = await config(nested(MAX_JSON_DEPTH - 3));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const deep = await config(nested(MAX_JSON_DEPTH - 2));
  assert.equal(deep.status, 400);
  assert.equal(deep.body.code, 'BAD_REQUEST');
  assert.match(deep.body.message, /levels deep/);
  // A depth bomb as large as the limit allows, arrays and objects.
  const half = (MAX_JSON_BYTES - 64) / 2;
  const arrays = `{"revisions":[{"ts":2,"source":null,"patch":{"x":${'['.repeat(half)}${']'.repeat(half)}}}]}`;
  const bombs = [arrays.slice(0, MAX_JSON_BYTES), `${'{"a":'.repeat(150_000)}1${'}'.repeat(150_000)}`];
  for (const bomb of bombs) {
    const res = await config(bomb);
    assert.ok(res.status === 400 || res.status === 413, `depth bomb answered ${res.status}`);
  }
  // Brackets inside strings do not count.
  const stringy = await config({
    note: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["',
  });
  assert.equal(stringy.status, 200);
  assert.deepEqual(
    t.logged.filter((m) => m.includes('failed')),
    [],
  );
  assert.equal((await t.request('/api/v1/server')).status, 200);
});

test('ids, workspaces and keys are validated; bad percent-encoding in a metric key is 400', async () => {
  for (const bad of ['a'.repeat(65), 'a.b', 'a%20b', '%27%3B--', '%00']) {
    const res = await t.request(`/api/v1/experiments/${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.code, 'INVALID_RUN_ID', bad);
  }
  for (const ws of ['other', 'WS', "ws'--", '%2e%2e', 'ws%00']) {
    const res = await t.request(`/api/v1/workspaces/${ws}/experiments`);
    assert.equal(res.status, 404, ws);
  }
  for (const key of ['%', '%zz', '%E0%A4%A', 'loss%', '%C0%AF', '%ED%A0%80']) {
    const res = await t.request(`/api/v1/experiments/${id}/metrics/${key}`);
    assert.equal(res.status, 400, key);
    assert.equal(res.body.code, 'BAD_REQUEST', key);
  }
  for (const key of [encodeURIComponent('a\u0000b'), encodeURIComponent('a\nb'), 'x'.repeat(5000)]) {
    const res = await t.request(`/api/v1/experiments/${id}/metrics/${key}`);
    assert.equal(res.status, 400, key.slice(0, 40));
  }
  for (const requestedId of ["x'; DROP TABLE experiments; --", 'a/b', '', 'ü']) {
    const res = await t.request('/api/v1/experiments', {
      method: 'POST',
      json: { requestKey: `bad-${requestedId}`, project: 'p', requestedId },
    });
    assert.equal(res.status, 400, requestedId);
  }
});

test('injection attempts in project names, request keys and metric keys are stored literally', async () => {
  const project = "p'); DROP TABLE experiments; --";
  const requestKey = "k' OR '1'='1";
  const created = await t.request('/api/v1/experiments', { method: 'POST', json: { requestKey, project } });
  assert.equal(created.status, 201);
  assert.equal(created.body.experiment.project, project);
  const again = await t.request('/api/v1/experiments', { method: 'POST', json: { requestKey, project } });
  assert.equal(again.status, 200, 'the same request key names the same experiment');
  assert.equal(again.body.experiment.id, created.body.experiment.id);
  const other = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: "k' OR '1'='2", project },
  });
  assert.notEqual(other.body.experiment.id, created.body.experiment.id);

  const xid = created.body.experiment.id;
  const key = "loss' OR 1=1 --";
  const ingest = await t.request(`/api/v1/experiments/${xid}/ingest`, {
    method: 'POST',
    body: batch([{ source: 'src', fromSeq: -1, toSeq: 1, chunks: [{ key, points: points([[0, 7, 1]]) }] }]),
    headers: batchHeaders,
  });
  assert.equal(ingest.status, 200);
  const series = await t.request(`/api/v1/experiments/${xid}/metrics/${encodeURIComponent(key)}`);
  assert.equal(series.status, 200);
  assert.deepEqual(
    series.body.points.map((p: { value: number }) => p.value),
    [7],
  );
  const wildcard = await t.request(`/api/v1/experiments/${xid}/metrics/${encodeURIComponent('%')}`);
  assert.equal(wildcard.status, 404, 'a LIKE wildcard matches nothing');
  const projects = await t.request('/api/v1/workspaces/ws/projects');
  assert.ok(projects.body.projects.some((p: { name: string }) => p.name === project));
  const list = await t.request(
    `/api/v1/workspaces/ws/experiments?project=${encodeURIComponent("' OR ''='")}`,
  );
  assert.deepEqual(list.body.experiments, [], 'an injected filter matches nothing');
});

test('storage builds SQL only from parameters: no interpolation but of fixed constants', () => {
  const dir = new URL('../../src/storage/', import.meta.url).pathname;
  // Interpolations allowed inside SQL text: compile-time constants of the storage file itself.
  const allowed = new Set(['SUMMARY_COLUMNS', 'MIGRATIONS.length']);
  const sqlTemplate = /`([^`]*)`/gs;
  let templates = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const match of source.matchAll(sqlTemplate)) {
      const text = match[1]!;
      if (!/\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|WHERE|PRAGMA|user_version)\b/i.test(text)) continue;
      if (!/^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|CREATE|PRAGMA|user_version)\b/i.test(text))
        continue;
      templates++;
      for (const [, expr] of text.matchAll(/\$\{([^}]*)\}/g))
        assert.ok(allowed.has(expr!.trim()), `${file}: SQL interpolates \${${expr}}: ${text.slice(0, 120)}`);
    }
    for (const call of source.matchAll(/\.(prepare|exec|pragma)\(\s*([^'"`\s)])/g))
      assert.ok(
        ['sql', 'MIGRATIONS'].some((name) => source.slice(call.index! + call[0].length - 1).startsWith(name)),
        `${file}: ${call[1]}() called with a computed string at offset ${call.index}`,
      );
  }
  assert.ok(templates >= 1, 'the scan found the storage SQL');
});

test('static file names never leave the web root (.., encoded, backslashes, NUL)', async () => {
  const work = mkdtempSync(join(tmpdir(), 'swanlog-traversal-'));
  const webRoot = join(work, 'web', 'public');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>index page</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log("app")');
  writeFileSync(join(work, 'web', 'secret.txt'), 'TOP-SECRET-MARKER');
  writeFileSync(join(work, 'secret.txt'), 'TOP-SECRET-MARKER');
  const dataDir = join(work, 'data');
  let server: RunningServer | undefined;
  try {
    server = await startServer({ dataDir, port: 0, webRoot, log: (m) => assert.fail(m) });
    createApiKey({ dataDir, workspace: 'ws' });
    const ok = await rawRequest(server.url, 'GET', '/assets/app.js');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /console\.log/);
    const attempts = [
      '/assets/../../../etc/passwd',
      '/assets/../../secret.txt',
      '/../secret.txt',
      '/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/assets/%252e%252e%252f%252e%252e%252fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/assets/..\\..\\secret.txt',
      '/..\\secret.txt',
      '/assets/%00../../secret.txt',
      '/assets/app.js%00.png',
      '/assets/app.js\u0000',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/assets//etc/passwd',
      '/assets/....//....//secret.txt',
      '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt',
      '/assets/.%2e/.%2e/secret.txt',
      '/public/../secret.txt',
      `/${'../'.repeat(20)}etc/passwd`,
      // Regression (found by the fuzz test): a name longer than the file system allows was a 500.
      `/${'x'.repeat(300)}`,
      `/assets/${'x'.repeat(300)}.js`,
      `/${'x/'.repeat(3000)}`,
    ];
    for (const path of attempts) {
      const res = await rawRequest(server.url, 'GET', path);
      assert.ok(
        !res.body.includes('TOP-SECRET-MARKER'),
        `${JSON.stringify(path)} served a file outside the root`,
      );
      assert.ok(!/root:.*:0:0:/.test(res.body), `${JSON.stringify(path)} served /etc/passwd`);
      assert.ok(
        res.status === 404 || res.status === 400 || (res.status === 200 && res.body.includes('index page')),
        `${JSON.stringify(path)}: ${res.status} ${res.body.slice(0, 80)}`,
      );
    }
    assert.equal((await rawRequest(server.url, 'GET', '/api/v1/server')).status, 401, 'still answering');
  } finally {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
});
