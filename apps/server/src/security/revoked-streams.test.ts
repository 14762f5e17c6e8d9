import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createApiKey } from '../api-keys.js';
import { CREDENTIAL_CHECK_MS } from '../dashboard-events.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { type EventClient, openEvents } from '../test-support/sse-client.js';

// Regression: an event stream (GET /api/v1/events) was authenticated once, when it opened, so a
// revoked key's open streams, and those of dashboard sessions signed in with it, kept
// delivering events for as long as they stayed connected.

const run = promisify(execFile);
/** The real `swanlog` command, run as its own process on the server's database. */
const CLI = new URL('../../../cli/bin/swanlog.js', import.meta.url).pathname;

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

let made = 0;
/** A create in workspace `ws` by another key: every open stream of `ws` is sent `runs`. */
async function announce(): Promise<void> {
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: `announce-${made++}`, project: 'streams' },
  });
  assert.equal(res.status, 201);
}

async function signIn(apiKey: string): Promise<string> {
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  assert.equal(login.status, 204);
  return (login.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** Resolves with the time the stream ended, or rejects when it is still open after `ms`. */
function endedWithin(stream: EventClient, ms: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} still open ${ms} ms after revoke`)), ms);
    void stream.ended.then(() => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

test('a key revoked by `swanlog server key revoke` ends its event streams (Bearer and session) within 5 s', async () => {
  const { key } = createApiKey({ dataDir: t.dataDir, workspace: 'ws', scope: 'read' });
  const cookie = await signIn(key);
  const url = `${t.server.url}/api/v1/events`;
  const bearer = await openEvents(url, { authorization: `Bearer ${key}` });
  const session = await openEvents(url, { cookie });
  const other = await openEvents(url, { authorization: `Bearer ${t.readKey}` });
  try {
    for (const s of [bearer, session, other]) assert.equal(s.status, 200);
    await announce();
    const isRuns = (e: { event: string }) => e.event === 'runs';
    await Promise.all([bearer.next(isRuns), session.next(isRuns), other.next(isRuns)]);

    // Another process on the same database: the server learns of it only from the database.
    await run(process.execPath, [CLI, 'server', 'key', 'revoke', '--data', t.dataDir, key]);
    const revokedAt = performance.now();
    const delivered = { bearer: bearer.all().length, session: session.all().length };
    await announce();
    await other.next(isRuns);
    const [bearerEnd, sessionEnd] = await Promise.all([
      endedWithin(bearer, 5000, 'the Bearer stream'),
      endedWithin(session, 5000, 'the session stream'),
    ]);
    await announce();
    await other.next(isRuns);
    assert.equal(bearer.all().length, delivered.bearer, 'no event reached the Bearer stream after revoke');
    assert.equal(session.all().length, delivered.session, 'no event reached the session stream after revoke');
    console.log(
      `ended ${Math.round(bearerEnd - revokedAt)} ms (Bearer) and ${Math.round(sessionEnd - revokedAt)} ms (session) after revoke`,
    );
    // The revoked key opens no new stream; another key's stream is untouched.
    const again = await openEvents(url, { authorization: `Bearer ${key}` });
    assert.equal(again.status, 401);
    assert.equal(other.all().length, 3);
  } finally {
    for (const s of [bearer, session, other]) s.close();
  }
});

test('an idle stream of a revoked key ends too, by the periodic check, and so does a signed-out session', async () => {
  const { key } = createApiKey({ dataDir: t.dataDir, workspace: 'ws', scope: 'read' });
  const cookie = await signIn(key);
  const url = `${t.server.url}/api/v1/events`;
  const idle = await openEvents(url, { authorization: `Bearer ${key}` });
  const session = await openEvents(url, { cookie });
  try {
    await run(process.execPath, [CLI, 'server', 'key', 'revoke', '--data', t.dataDir, key]);
    // Nothing is announced: only the periodic check (every CREDENTIAL_CHECK_MS) can end it.
    await endedWithin(idle, Math.max(5000, 3 * CREDENTIAL_CHECK_MS), 'the idle stream');
    await endedWithin(session, Math.max(5000, 3 * CREDENTIAL_CHECK_MS), 'the idle session stream');
    assert.deepEqual(idle.all(), []);

    const { key: second } = createApiKey({ dataDir: t.dataDir, workspace: 'ws', scope: 'read' });
    const secondCookie = await signIn(second);
    const signedIn = await openEvents(url, { cookie: secondCookie });
    const logout = await fetch(`${t.server.url}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie: secondCookie },
    });
    assert.equal(logout.status, 204);
    await endedWithin(signedIn, 5000, 'the signed-out session stream');
    signedIn.close();
  } finally {
    idle.close();
    session.close();
  }
  assert.deepEqual(t.logged, []);
});
