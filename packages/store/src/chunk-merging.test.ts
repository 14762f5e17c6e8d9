import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { RunReader } from './run-reader.js';
import { MAX_CHUNK_POINTS, RunWriter } from './run-writer.js';
import { makeRun, tempDir } from './test-support/run-fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

/** Chunk rows per key name, counted with a read-only connection to every writer file. */
function chunkRows(dir: string): { total: number; perKey: Map<string, number>; points: number } {
  const perKey = new Map<string, number>();
  let total = 0;
  let points = 0;
  for (const name of readdirSync(join(dir, 'writers')).filter((n) => n.endsWith('.sqlite'))) {
    const db = new Database(join(dir, 'writers', name), { readonly: true, fileMustExist: true });
    try {
      total += (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
      points += (db.prepare('SELECT coalesce(sum(n), 0) AS n FROM chunks').get() as { n: number }).n;
      const rows = db
        .prepare(
          'SELECT k.name AS name, count(*) AS n FROM chunks c JOIN keys k ON k.id = c.key_id GROUP BY k.name',
        )
        .all() as { name: string; n: number }[];
      for (const r of rows) perKey.set(r.name, (perKey.get(r.name) ?? 0) + r.n);
    } finally {
      db.close();
    }
  }
  return { total, perKey, points };
}

describe('chunk merging', () => {
  test('5,000 flushes of one point per key leave O(log n) chunk rows, and every point reads back in order', async () => {
    const dir = makeRun(tmp.path, 'merge-many-flushes');
    const n = 5000;
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 0 });
    try {
      for (let s = 0; s < n; s++) writer.append({ loss: 1 / (s + 1), acc: s }, s);
      assert.equal(writer.flushedThrough, n, 'with flushIntervalMs 0 every call is durable at once');
      // Checked while the writer is open (what a reader of a live run meets) and after it finished.
      const live = chunkRows(dir);
      const bound = Math.ceil(Math.log2(n)) + 1;
      for (const key of ['loss', 'acc']) {
        const rows = live.perKey.get(key) ?? 0;
        assert.ok(
          rows >= 1 && rows <= bound,
          `${key}: ${rows} chunk rows for ${n} flushes (want <= ${bound})`,
        );
      }
      assert.equal(live.points, 2 * n, 'stored points');
    } finally {
      await writer.finish('finished');
    }
    const rows = chunkRows(dir);
    assert.ok(rows.total <= 2 * (Math.ceil(Math.log2(n)) + 1), `${rows.total} chunk rows after finish`);
    const reader = RunReader.open(dir);
    try {
      const loss = reader.series('loss');
      const acc = reader.series('acc');
      assert.equal(loss.steps.length, n);
      assert.deepEqual(
        Array.from(loss.steps),
        Array.from({ length: n }, (_, s) => s),
      );
      assert.deepEqual(
        Array.from(loss.values),
        Array.from({ length: n }, (_, s) => 1 / (s + 1)),
      );
      assert.deepEqual(
        Array.from(acc.values),
        Array.from({ length: n }, (_, s) => s),
      );
      for (let i = 1; i < n; i++) assert.ok(loss.ts[i]! >= loss.ts[i - 1]!, `ts goes backwards at ${i}`);
      assert.equal(reader.lastVisibleStep(), n - 1);
    } finally {
      reader.close();
    }
  });

  test('merging keeps out-of-order and repeated steps, each (key, step) showing its latest write', async () => {
    const dir = makeRun(tmp.path, 'merge-out-of-order');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 0 });
    const latest = new Map<number, number>();
    try {
      for (let i = 0; i < 2000; i++) {
        const step = (i * 7919) % 500; // every step 0..499 four times, out of order
        writer.append({ x: i }, step);
        latest.set(step, i);
      }
    } finally {
      await writer.finish('finished');
    }
    assert.ok(chunkRows(dir).total <= Math.ceil(Math.log2(2000)) + 1, 'chunk rows');
    const reader = RunReader.open(dir);
    try {
      const s = reader.series('x');
      assert.deepEqual(
        Array.from(s.steps),
        Array.from({ length: 500 }, (_, k) => k),
      );
      assert.deepEqual(
        Array.from(s.values),
        Array.from({ length: 500 }, (_, k) => latest.get(k)),
      );
      assert.equal(reader.series('x', { superseded: true }).steps.length, 2000);
    } finally {
      reader.close();
    }
  });

  test('one flush larger than a chunk is split and reads back whole', async () => {
    const dir = makeRun(tmp.path, 'merge-split');
    const n = MAX_CHUNK_POINTS + 1234;
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      for (let s = 0; s < n; s++) writer.append({ v: s * 0.5 }, s);
    } finally {
      await writer.finish('finished');
    }
    const rows = chunkRows(dir);
    assert.equal(rows.points, n);
    assert.ok(rows.total >= 2, 'a chunk holds at most MAX_CHUNK_POINTS points');
    const reader = RunReader.open(dir);
    try {
      const s = reader.series('v');
      assert.equal(s.steps.length, n);
      for (let i = 0; i < n; i++) {
        if (s.steps[i] !== i || s.values[i] !== i * 0.5)
          assert.fail(`point ${i} reads back as ${s.steps[i]}=${s.values[i]}`);
      }
    } finally {
      reader.close();
    }
  });
});
