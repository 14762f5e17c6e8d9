import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openPostgresStorage } from './postgres-storage.js';
import { dropTestSchema, freshTestSchema, TEST_DATABASE_URL } from './postgres-test-database.js';
import type { IngestSource } from './storage.js';
import { describeStorageContract, testPoints, testSession } from './storage-contract.js';

if (TEST_DATABASE_URL === undefined) {
  process.stderr.write(
    'postgres storage contract NOT RUN: SWANLOG_TEST_DATABASE_URL is not set (scripts/with-postgres.sh sets it)\n',
  );
  test('storage contract: postgres', { skip: 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set' }, () => {});
} else {
  const url = TEST_DATABASE_URL;
  describeStorageContract('postgres', async () => {
    const schema = freshTestSchema();
    const storage = await openPostgresStorage({ url, schema });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await dropTestSchema(url, schema);
      },
    };
  });
}

/** Two storage handles on one schema, as two replicas on one database hold. */
async function twoReplicas(url: string) {
  const schema = freshTestSchema();
  const [a, b] = await Promise.all([
    openPostgresStorage({ url, schema }),
    openPostgresStorage({ url, schema }),
  ]);
  return {
    a,
    b,
    cleanup: async () => {
      await Promise.all([a.close(), b.close()]);
      await dropTestSchema(url, schema);
    },
  };
}

describe('postgres: cases only replicas raise', {
  skip: TEST_DATABASE_URL === undefined && 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set',
}, () => {
  const url = TEST_DATABASE_URL ?? '';

  // Two replicas starting at once migrate once (the advisory lock) and answer one instance id.
  test('replicas opened at once share one instance id', async () => {
    const r = await twoReplicas(url);
    try {
      assert.equal(await r.a.instanceId(), await r.b.instanceId());
    } finally {
      await r.cleanup();
    }
  });

  // A read-then-write create would make two experiments for one request key across replicas.
  test('creates with one request key through two replicas at once make one experiment', async () => {
    const r = await twoReplicas(url);
    try {
      const input = {
        requestKey: 'rk',
        requestedId: 'run-x',
        project: 'p',
        name: null,
        createdAt: 1,
        copiedFrom: null,
      };
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? r.a : r.b).createExperiment('ws', input)),
      );
      assert.equal(results.filter((x) => x.created).length, 1);
      assert.deepEqual(new Set(results.map((x) => x.experiment.id)), new Set(['run-x']));
      assert.equal((await r.a.listExperiments('ws')).length, 1);
    } finally {
      await r.cleanup();
    }
  });

  // Without the source row locked, two replicas could both see watermark w and both store (w, w+n].
  test('the same batches through two replicas at once are stored once, exactly', async () => {
    const r = await twoReplicas(url);
    try {
      const { experiment } = await r.a.createExperiment('ws', {
        requestKey: 'ing',
        project: 'p',
        name: null,
        createdAt: 1,
        copiedFrom: null,
      });
      const ref = { workspace: 'ws', id: experiment.id };
      const batch = (source: string, from: number, n: number): IngestSource => ({
        source,
        fromSeq: from,
        toSeq: from + n,
        session: testSession({ heartbeatAt: 1000 + from + n }),
        rewinds: [],
        chunks: [{ key: 'loss', points: testPoints(from + 1, n) }],
      });
      // Every batch is sent through both replicas at once, as a client retrying elsewhere would.
      const results = [];
      for (let w = -1; w < 999; w += 100) {
        for (const source of ['s1', 's2']) {
          results.push(
            ...(await Promise.all([
              r.a.ingest(ref, [batch(source, w, 100)]),
              r.b.ingest(ref, [batch(source, w, 100)]),
            ])),
          );
        }
      }
      assert.ok(results.every((x) => x.status === 'stored'));
      const stored = results.reduce((n, x) => n + (x.status === 'stored' ? x.stored : 0), 0);
      assert.equal(stored, 2000, 'each point stored once');
      const points = (await r.b.chunks(ref, 'loss')).reduce((n, c) => n + c.n, 0);
      assert.equal(points, 2000);
      assert.deepEqual(
        (await r.b.sources(ref)).map((s) => [s.source, s.watermark]),
        [
          ['s1', 999],
          ['s2', 999],
        ],
      );
      // Batches of two sources in either order at once never deadlock into a failure.
      const both = await Promise.all([
        r.a.ingest(ref, [batch('s1', 999, 10), batch('s2', 999, 10)]),
        r.b.ingest(ref, [batch('s2', 999, 10), batch('s1', 999, 10)]),
      ]);
      assert.deepEqual(
        both.map((x) => x.status),
        ['stored', 'stored'],
      );
      assert.equal(
        (await r.a.chunks(ref, 'loss')).reduce((n, c) => n + c.n, 0),
        2020,
      );
    } finally {
      await r.cleanup();
    }
  });

  test('a key revoked through one replica is refused by the other at once', async () => {
    const r = await twoReplicas(url);
    try {
      await r.a.addApiKey({ id: 'k', hash: 'h', workspace: 'ws', scope: 'write', createdAt: 1 });
      await r.a.addDashboardSession('t', 'k', Date.now() + 60_000);
      assert.equal((await r.b.findDashboardSession('t', Date.now()))?.id, 'k');
      await r.b.revokeApiKey('k', 2);
      assert.equal((await r.a.findApiKeyByHash('h'))?.revokedAt, 2);
      assert.equal(await r.a.findDashboardSession('t', Date.now()), undefined);
    } finally {
      await r.cleanup();
    }
  });
});
