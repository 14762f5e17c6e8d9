import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApiKey } from '../api-keys.js';
import { type RunningServer, startServer } from '../start-server.js';

let work: string;
let plain: RunningServer;
let proxied: RunningServer;
let plainKey: string;
let proxiedKey: string;
const PUBLIC_URL = 'https://logs.example.com/swanlog';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'swanlog-csrf-test-'));
  plain = await startServer({ dataDir: join(work, 'a'), port: 0, log: (m) => assert.fail(m) });
  proxied = await startServer({
    dataDir: join(work, 'b'),
    port: 0,
    publicUrl: PUBLIC_URL,
    log: (m) => assert.fail(m),
  });
  plainKey = createApiKey({ dataDir: join(work, 'a'), workspace: 'ws' }).key;
  proxiedKey = createApiKey({ dataDir: join(work, 'b'), workspace: 'ws' }).key;
});

after(async () => {
  await plain?.close();
  await proxied?.close();
  rmSync(work, { recursive: true, force: true });
});

async function login(server: RunningServer, apiKey: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ apiKey }),
  });
  const text = await res.text();
  return { status: res.status, setCookie: res.headers.get('set-cookie'), body: text };
}

async function get(server: RunningServer, path: string, headers: Record<string, string>) {
  const res = await fetch(`${server.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

const attributesOf = (setCookie: string | null) =>
  (setCookie ?? '')
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());

test('the session cookie is HttpOnly, SameSite=Strict, Path=/ and Secure behind an https public URL', async () => {
  const a = await login(plain, plainKey);
  assert.equal(a.status, 204);
  const attrs = attributesOf(a.setCookie);
  for (const want of ['httponly', 'samesite=strict', 'path=/'])
    assert.ok(attrs.includes(want), `${want} in ${a.setCookie}`);
  assert.ok(!attrs.includes('secure'), 'no Secure over plain http');

  const b = await login(proxied, proxiedKey);
  assert.equal(b.status, 204);
  const secureAttrs = attributesOf(b.setCookie);
  for (const want of ['httponly', 'samesite=strict', 'path=/', 'secure'])
    assert.ok(secureAttrs.includes(want), `${want} in ${b.setCookie}`);
  const out = await fetch(`${proxied.url}/api/v1/session`, { method: 'DELETE' });
  assert.equal(out.status, 204);
  assert.ok(attributesOf(out.headers.get('set-cookie')).includes('secure'), 'the clearing cookie matches');
});

test('the cookie authorizes reads only; writes need the Bearer key', async () => {
  const cookie = (await login(plain, plainKey)).setCookie!.split(';')[0]!;
  assert.equal((await get(plain, '/api/v1/server', { cookie })).status, 200);
  const res = await fetch(`${plain.url}/api/v1/experiments`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', origin: plain.url },
    body: JSON.stringify({ requestKey: 'k', project: 'p' }),
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
});

test('sign-in and sign-out from another site are 403 FORBIDDEN; same-origin ones pass', async () => {
  const foreign: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { origin: plain.url.replace('127.0.0.1', 'localhost') },
    { 'sec-fetch-site': 'cross-site' },
  ];
  for (const headers of foreign) {
    const res = await login(plain, plainKey, headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(JSON.parse(res.body).code, 'FORBIDDEN');
    assert.equal(res.setCookie, null, 'no cookie is set');
  }
  assert.equal((await login(plain, plainKey, { origin: plain.url })).status, 204);
  assert.equal((await login(plain, plainKey, { 'sec-fetch-site': 'same-origin' })).status, 204);

  const cookie = (await login(plain, plainKey)).setCookie!.split(';')[0]!;
  const forcedOut = await fetch(`${plain.url}/api/v1/session`, {
    method: 'DELETE',
    headers: { cookie, origin: 'https://evil.example' },
  });
  assert.equal(forcedOut.status, 403);
  assert.equal((await get(plain, '/api/v1/server', { cookie })).status, 200, 'the session survived');
  const out = await fetch(`${plain.url}/api/v1/session`, {
    method: 'DELETE',
    headers: { cookie, origin: plain.url },
  });
  assert.equal(out.status, 204);
  assert.equal((await get(plain, '/api/v1/server', { cookie })).status, 401, 'signed out');
});

test('a cookie-authenticated read from another site is 403; the public URL counts as the own origin', async () => {
  const cookie = (await login(plain, plainKey)).setCookie!.split(';')[0]!;
  const evil = await get(plain, '/api/v1/workspaces/ws/experiments', {
    cookie,
    origin: 'https://evil.example',
  });
  assert.equal(evil.status, 403);
  assert.equal(evil.body.code, 'FORBIDDEN');
  const crossSite = await get(plain, '/api/v1/server', { cookie, 'sec-fetch-site': 'cross-site' });
  assert.equal(crossSite.status, 403);
  assert.equal((await get(plain, '/api/v1/server', { cookie, origin: plain.url })).status, 200);
  assert.equal((await get(plain, '/api/v1/server', { cookie, 'sec-fetch-site': 'same-origin' })).status, 200);

  const proxiedCookie = (
    await login(proxied, proxiedKey, { origin: 'https://logs.example.com' })
  ).setCookie!.split(';')[0]!;
  const viaProxy = await get(proxied, '/api/v1/server', {
    cookie: proxiedCookie,
    origin: 'https://logs.example.com',
  });
  assert.equal(viaProxy.status, 200);
  const lookalike = await get(proxied, '/api/v1/server', {
    cookie: proxiedCookie,
    origin: 'https://logs.example.com.evil.example',
  });
  assert.equal(lookalike.status, 403);
  const downgraded = await get(proxied, '/api/v1/server', {
    cookie: proxiedCookie,
    origin: 'http://logs.example.com',
  });
  assert.equal(downgraded.status, 403);
});

test('a Bearer key is not a cookie: it works whatever the Origin (scripts, other tools)', async () => {
  const res = await get(plain, '/api/v1/server', {
    authorization: `Bearer ${plainKey}`,
    origin: 'https://evil.example',
  });
  assert.equal(res.status, 200);
});
