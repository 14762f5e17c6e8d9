import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createApiKey } from './api-keys.js';
import { createApp } from './create-app.js';
import { startServer } from './start-server.js';
import { openSqliteStorage } from './storage/sqlite-storage.js';

const dataDir = mkdtempSync(join(tmpdir(), 'swanlog-create-app-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('the core answers plain Requests; publicUrl is reported; an unknown failure is a logged 500 without internals', async () => {
  const storage = openSqliteStorage({ dataDir });
  const logged: string[] = [];
  const app = createApp({
    storage,
    version: '9.9.9',
    publicUrl: 'https://logs.example.org',
    log: (m) => logged.push(m),
  });
  const { key } = createApiKey({ dataDir, workspace: 'ws', scope: 'read' });
  const ask = () =>
    app.fetch(new Request('http://x/api/v1/server', { headers: { authorization: `Bearer ${key}` } }));
  const ok = await ask();
  assert.equal(ok.status, 200);
  const info = (await ok.json()) as { publicUrl: string; version: string };
  assert.equal(info.publicUrl, 'https://logs.example.org');
  assert.equal(info.version, '9.9.9');

  storage.close(); // every storage call now fails with an error the server did not expect
  const failed = await ask();
  assert.equal(failed.status, 500);
  assert.deepEqual(await failed.json(), { code: 'SERVER_ERROR', message: 'internal server error' });
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /GET \/api\/v1\/server failed/);
});

test('startServer on a port in use fails with INVALID_OPTION naming the port', async () => {
  const first = await startServer({ dataDir, port: 0 });
  try {
    await assert.rejects(startServer({ dataDir, port: first.port }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INVALID_OPTION');
      assert.match(e.message, new RegExp(`:${first.port}: EADDRINUSE`));
      return true;
    });
  } finally {
    await first.close();
  }
});
