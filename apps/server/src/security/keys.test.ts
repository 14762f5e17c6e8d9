import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { sha256Hex } from '../auth.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const run = promisify(execFile);
/** The real `swanlog` command, run as its own process like an operator would. */
const CLI = new URL('../../../cli/bin/swanlog.js', import.meta.url).pathname;

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

/**
 * Which of `needles` occur in the bytes of the data directory (database, WAL and shared memory
 * files). Read in a child process: opening and closing the database file in the server's own
 * process would drop the server's POSIX locks on it.
 */
async function foundInDataDir(needles: string[]): Promise<boolean[]> {
  const script = `
    const { readdirSync, readFileSync } = require('node:fs');
    const dir = process.env.DIR;
    const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(dir + '/' + f)));
    process.stdout.write(JSON.stringify(JSON.parse(process.env.NEEDLES).map((n) => bytes.includes(n))));`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { ...process.env, DIR: t.dataDir, NEEDLES: JSON.stringify(needles) },
  });
  return JSON.parse(stdout) as boolean[];
}

test('API keys and session tokens are stored hashed: the plaintext is nowhere in the data directory', async () => {
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: t.readKey }),
  });
  assert.equal(login.status, 204);
  const token = /swanlog_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  assert.ok(token !== undefined && token.length >= 32);
  const secrets = [t.writeKey, t.readKey, t.otherKey, token];
  const found = await foundInDataDir([...secrets, ...secrets.map((s) => s.slice(4)), sha256Hex(t.writeKey)]);
  assert.deepEqual(
    found,
    [...secrets.map(() => false), ...secrets.map(() => false), true],
    'no key or token in plaintext (with or without its prefix); the key hash is there',
  );
});

test('keys are compared by hash in constant time: a near miss is 401', async () => {
  const source = readFileSync(new URL('../../src/auth.ts', import.meta.url), 'utf8');
  assert.match(source, /findApiKeyByHash\(hash\)/, 'keys are looked up by hash, not by value');
  assert.match(source, /timingSafeEqual\(/, 'the stored hash is compared in constant time');
  const key = t.writeKey;
  const last = key.at(-1)!;
  const nearMisses = [
    `${key.slice(0, -1)}${last === 'a' ? 'b' : 'a'}`,
    key.slice(0, -1),
    `${key}a`,
    key.toUpperCase() === key ? key.toLowerCase() : key.toUpperCase(),
    ` ${key}`.trim().replace('swl_', 'SWL_'),
    `${key}\u0000`,
  ];
  for (const miss of nearMisses) {
    const res = await fetch(`${t.server.url}/api/v1/server`, {
      headers: { authorization: `Bearer ${miss}` },
    }).catch(() => undefined);
    if (res === undefined) continue; // fetch refuses a NUL in a header: nothing reached the server
    assert.equal(res.status, 401, JSON.stringify(miss));
    await res.body?.cancel();
  }
  const right = await fetch(`${t.server.url}/api/v1/server`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(right.status, 200);
});

test('`swanlog server key revoke` stops a key at once, sessions included, with no grace period', async () => {
  const created = await run(process.execPath, [
    CLI,
    'server',
    'key',
    'create',
    '--data',
    t.dataDir,
    '--workspace',
    'ws',
  ]);
  const key = created.stdout.trim();
  assert.match(key, /^swl_\w{40}$/);
  const status = async (headers: Record<string, string>) => {
    const res = await fetch(`${t.server.url}/api/v1/workspaces/ws/experiments`, { headers });
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(
    await status({ authorization: `Bearer ${key}` }),
    200,
    'a key created while the server runs works',
  );
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: key }),
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.equal(await status({ cookie }), 200);

  // Hammer the server with the key while the CLI revokes it from another process.
  let revoked = false;
  const afterRevoke: number[] = [];
  let before = 0;
  const hammer = (async () => {
    while (afterRevoke.length < 50) {
      const wasRevoked = revoked;
      const s = await status({ authorization: `Bearer ${key}` });
      if (wasRevoked) afterRevoke.push(s);
      else {
        // In flight while the CLI runs: either answer is right (the revoke commits before it exits).
        assert.ok(s === 200 || s === 401, `during revoke: ${s}`);
        if (s === 200) before++;
      }
    }
  })();
  await run(process.execPath, [CLI, 'server', 'key', 'revoke', '--data', t.dataDir, key]);
  revoked = true;
  await hammer;
  assert.deepEqual(
    afterRevoke,
    afterRevoke.map(() => 401),
    'every request sent after revoke returned is 401',
  );
  assert.equal(await status({ cookie }), 401, "the key's dashboard sessions end with it");
  assert.equal(await status({ authorization: `Bearer ${t.writeKey}` }), 200, 'other keys are untouched');
  console.log(
    `revoke: ${before} requests answered 200 during the CLI run, ${afterRevoke.length} after: all 401`,
  );
});
