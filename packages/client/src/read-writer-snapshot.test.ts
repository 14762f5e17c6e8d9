import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRun, tempDir, writeSession } from '@swanlog/store/test-support/run-fixtures';
import Database from 'better-sqlite3';
import { dataOf } from './cut-batches.js';
import { readWriterSnapshot } from './read-writer-snapshot.js';

/** A finished run (its writer file in rollback-journal mode) of 4 keys x 3,000 steps. */
async function finishedWriterFile(logdir: string): Promise<string> {
  const dir = makeRun(logdir, 'staged');
  const writes = [];
  for (let step = 0; step < 3000; step++)
    for (const key of ['a', 'b', 'c', 'd']) writes.push({ key, step, value: step / 3 });
  await writeSession(dir, writes, { flushIntervalMs: 5 });
  const [file] = readdirSync(join(dir, 'writers'));
  return join(dir, 'writers', file!);
}

/** Whether another connection can commit a write to the file right now (busy_timeout 0). */
function canCommit(path: string): boolean {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN IMMEDIATE; INSERT OR REPLACE INTO heartbeat (id, ts) VALUES (1, 1); COMMIT');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    if (db.inTransaction) db.exec('ROLLBACK');
    return false;
  } finally {
    db.close();
  }
}

test('a finished writer file read lazily is staged: first chunks one by one, the rest at settle, then the read ends', async () => {
  const tmp = tempDir('swanlog-snapshot-');
  try {
    const path = await finishedWriterFile(tmp.path);
    assert.equal(new Database(path, { readonly: true }).pragma('journal_mode', { simple: true }), 'delete');
    const whole = readWriterSnapshot(path, -1);
    const expected = whole.keys.map((k) => ({ key: k.key, chunks: k.chunks.map((c) => dataOf(c)) }));
    assert.ok(
      expected.every((k) => k.chunks.length > 1),
      'several chunks per key',
    );

    const staged = readWriterSnapshot(path, -1, { lazy: true });
    assert.deepEqual(
      staged.keys.map((k) => k.key),
      expected.map((k) => k.key),
    );
    // A batch takes the first chunk of each key, one by one, inside the read.
    const first = staged.keys.map((k) => dataOf(k.chunks[0]!));
    assert.equal(canCommit(path), false, 'the snapshot is one read: a writer waits meanwhile');
    staged.settle();
    assert.equal(canCommit(path), true, 'settle ends the read');
    assert.deepEqual(
      staged.keys.map((k) => ({ key: k.key, chunks: k.chunks.map((c) => dataOf(c)) })),
      expected,
      'every chunk bit for bit as a whole read gives it',
    );
    assert.deepEqual(
      first,
      expected.map((k) => k.chunks[0]),
    );
    staged.settle(); // once is enough; again is a no-op
    staged.close();
  } finally {
    tmp.remove();
  }
});

test('settle on a snapshot read whole, or on a WAL file held open, changes nothing', async () => {
  const tmp = tempDir('swanlog-snapshot-');
  try {
    const path = await finishedWriterFile(tmp.path);
    const whole = readWriterSnapshot(path, -1);
    whole.settle();
    assert.ok(whole.keys.every((k) => k.chunks.every((c) => dataOf(c).length > 0)));
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.close();
    const held = readWriterSnapshot(path, -1, { lazy: true });
    held.settle();
    // WAL readers never block writers: the snapshot stays held, chunks still read on demand.
    assert.equal(canCommit(path), true);
    assert.ok(held.keys.every((k) => k.chunks.every((c) => dataOf(c).length > 0)));
    held.close();
  } finally {
    tmp.remove();
  }
});
