import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createApiKey } from './api-keys.js';
import { listenerName } from './postgres-events.js';
import { type RunningServer, startServer } from './start-server.js';
import { openPostgresStorage } from './storage/postgres-storage.js';
import {
  dropTestSchema,
  freshTestSchema,
  TEST_DATABASE_URL,
  urlWithSchema,
} from './storage/postgres-test-database.js';
import { type EventClient, openEvents } from './test-support/sse-client.js';

const skip = TEST_DATABASE_URL === undefined && 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set';
if (skip) process.stderr.write('postgres event tests NOT RUN: SWANLOG_TEST_DATABASE_URL is not set\n');

// The timeout only turns a missing event into a failure instead of a hang; events take milliseconds.
describe('postgres: live events', { skip, timeout: 20_000 }, () => {
  const url = TEST_DATABASE_URL ?? '';
  const schema = freshTestSchema();
  let servers: RunningServer[] = [];
  let key = '';

  before(async () => {
    await (await openPostgresStorage({ url, schema })).close();
    const databaseUrl = urlWithSchema(url, schema);
    servers = await Promise.all([0, 1].map(() => startServer({ databaseUrl, port: 0, log: () => {} })));
    key = (await createApiKey({ databaseUrl, workspace: 'ws' })).key;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await dropTestSchema(url, schema);
  });

  const events = (server: RunningServer): Promise<EventClient> =>
    openEvents(`${server.url}/api/v1/events`, { authorization: `Bearer ${key}` });

  test('a create through one replica reaches the streams of the other', async () => {
    const stream = await events(servers[0]!);
    try {
      const res = await fetch(`${servers[1]!.url}/api/v1/experiments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ requestKey: 'rk-events', project: 'p' }),
      });
      assert.equal(res.status, 201, await res.text());
      assert.equal((await stream.next((e) => e.event === 'runs')).data, '{}');
    } finally {
      stream.close();
    }
  });

  // Notifications sent while a replica's listening connection is down are lost: without the
  // `runs` on reconnect its dashboards would show a stale list until the next write.
  test('a replica whose listening connection drops tells its streams `runs` on reconnect', async () => {
    const stream = await events(servers[0]!);
    try {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const killed = await admin.query(
          // Both replicas' (they share the instance id that names them).
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [listenerName(servers[0]!.instanceId)],
        );
        assert.equal(killed.rowCount, 2, 'one listening connection per replica');
      } finally {
        await admin.end();
      }
      assert.equal((await stream.next((e) => e.event === 'runs')).data, '{}');
    } finally {
      stream.close();
    }
  });
});
