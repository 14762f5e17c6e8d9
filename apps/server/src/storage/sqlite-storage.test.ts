import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteStorage, SQLITE_FILE } from './sqlite-storage.js';
import { describeStorageContract, testPoints, testSession } from './storage-contract.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'swanlog-sqlite-storage-'));
  dirs.push(d);
  return d;
};

describeStorageContract('sqlite', async () => {
  const storage = openSqliteStorage({ dataDir: tempDir() });
  return { storage, cleanup: () => storage.close() };
});

test('sqlite: the instance id and data survive reopening; two handles share one file', () => {
  const dataDir = tempDir();
  const a = openSqliteStorage({ dataDir });
  const b = openSqliteStorage({ dataDir });
  try {
    assert.equal(a.instanceId(), b.instanceId());
    a.createExperiment('ws', { requestKey: 'k', project: 'p', name: null, createdAt: 1, copiedFrom: null });
    assert.equal((b.listExperiments('ws') as unknown[]).length, 1);
  } finally {
    a.close();
    b.close();
  }
  const c = openSqliteStorage({ dataDir });
  try {
    assert.equal((c.listExperiments('ws') as unknown[]).length, 1);
  } finally {
    c.close();
  }
});

test('sqlite: once uploads pause, the write-ahead log is checkpointed into the database file', async () => {
  const dataDir = tempDir();
  const storage = openSqliteStorage({ dataDir });
  try {
    const { experiment } = await storage.createExperiment('ws', {
      requestKey: 'k',
      project: 'p',
      name: null,
      createdAt: 1,
      copiedFrom: null,
    });
    const ref = { workspace: 'ws', id: experiment.id };
    const file = join(dataDir, SQLITE_FILE);
    const before = statSync(file).size;
    // ~3 MB of points: their pages go to the write-ahead log first.
    const n = 200_000;
    const result = await storage.ingest(ref, [
      {
        source: 's',
        fromSeq: -1,
        toSeq: n - 1,
        session: testSession(),
        rewinds: [],
        chunks: Array.from({ length: 4 }, (_, k) => ({ key: `k${k}`, points: testPoints(0, n) })),
      },
    ]);
    assert.equal((result as { stored: number }).stored, 4 * n);
    assert.ok(statSync(`${file}-wal`).size > 1_000_000, 'the upload is in the write-ahead log');
    let grown = statSync(file).size;
    for (let i = 0; i < 150 && grown < before + 1_000_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      grown = statSync(file).size;
    }
    assert.ok(grown >= before + 1_000_000, `the database file grew from ${before} to ${grown} bytes`);
    // The data reads back whole through the storage (the checkpoint moved pages, lost none).
    const summaries = await storage.chunkSummaries(ref);
    assert.equal(
      summaries.reduce((sum, c) => sum + c.n, 0),
      4 * n,
    );
  } finally {
    storage.close();
  }
});
