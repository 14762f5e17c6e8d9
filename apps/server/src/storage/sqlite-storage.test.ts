import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteStorage } from './sqlite-storage.js';
import { describeStorageContract } from './storage-contract.js';

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
