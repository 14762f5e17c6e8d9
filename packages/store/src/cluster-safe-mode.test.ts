import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { journalModeFor } from './journal-mode.js';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import { listTree, makeRun, tempDir } from './test-support/run-fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

/** Journal files (-wal, -shm) anywhere in the run directory. */
function walFiles(dir: string): string[] {
  return listTree(dir).filter((p) => p.endsWith('-wal') || p.endsWith('-shm'));
}

/**
 * Bytes 18-19 of a SQLite file header: 1 for a rollback-journal database, 2 for WAL. Read from the
 * file itself so that looking does not change it.
 */
function headerMode(path: string): 'wal' | 'rollback' | string {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    if (header[18] === 2 && header[19] === 2) return 'wal';
    if (header[18] === 1 && header[19] === 1) return 'rollback';
    return `unknown (${header[18]}, ${header[19]})`;
  } finally {
    closeSync(fd);
  }
}

function sqliteFiles(dir: string): string[] {
  return listTree(dir).filter((p) => p.endsWith('.sqlite'));
}

describe('cluster-safe journal mode (SWANLOG_NO_WAL=1)', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.SWANLOG_NO_WAL;
    process.env.SWANLOG_NO_WAL = '1';
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SWANLOG_NO_WAL;
    else process.env.SWANLOG_NO_WAL = saved;
  });

  test('a run writes and reads while open, and no -wal file ever exists', async () => {
    const dir = makeRun(tmp.path, 'no-wal');
    assert.equal(journalModeFor(dir), 'delete');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    let second: RunWriter | undefined;
    try {
      for (let round = 0; round < 5; round++) {
        for (let s = round * 100; s < (round + 1) * 100; s++) writer.append({ loss: s / 7, acc: -s }, s);
        writer.flush();
        assert.deepEqual(walFiles(dir), [], `after flush ${round}`);
        const reader = RunReader.open(dir);
        try {
          assert.equal(reader.lastVisibleStep(), (round + 1) * 100 - 1);
          assert.equal(reader.series('loss').steps.length, (round + 1) * 100);
          assert.equal(reader.state(), 'running');
        } finally {
          reader.close();
        }
        assert.deepEqual(walFiles(dir), [], `after a read during round ${round}`);
      }
      // A second concurrent writer (e.g. an eval process) in the same mode.
      second = RunWriter.open({ dir, resumed: true, flushIntervalMs: 0 });
      for (let s = 0; s < 50; s++) second.append({ 'eval/loss': s }, s);
      assert.deepEqual(walFiles(dir), [], 'with two writers open');
      for (const file of sqliteFiles(dir)) assert.equal(headerMode(join(dir, file)), 'rollback', file);
    } finally {
      await second?.finish('finished');
      await writer.finish('finished');
    }
    assert.deepEqual(walFiles(dir), [], 'after finish');
    const reader = RunReader.open(dir);
    try {
      assert.equal(reader.state(), 'finished');
      assert.deepEqual(reader.keys(), ['acc', 'eval/loss', 'loss']);
      assert.deepEqual(
        Array.from(reader.series('loss').values),
        Array.from({ length: 500 }, (_, s) => s / 7),
      );
      assert.equal(reader.series('eval/loss').steps.length, 50);
    } finally {
      reader.close();
    }
  });

  test('control: without SWANLOG_NO_WAL a local-disk run does use WAL while open', async () => {
    delete process.env.SWANLOG_NO_WAL;
    const dir = makeRun(tmp.path, 'with-wal');
    const expectWal = journalModeFor(dir) === 'wal';
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      writer.append({ loss: 1 }, 0);
      writer.flush();
      assert.equal(walFiles(dir).length > 0, expectWal, `journal files: ${walFiles(dir).join(', ')}`);
    } finally {
      await writer.finish('finished');
    }
    // finish() leaves no -wal behind in either mode.
    assert.deepEqual(walFiles(dir), []);
  });
});

describe('no -wal file left behind', () => {
  test('a writer that finishes while a reader is open leaves no -wal once that reader closes', async () => {
    const dir = makeRun(tmp.path, 'finish-under-reader');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    const reader = RunReader.open(dir);
    try {
      for (let s = 0; s < 100; s++) writer.append({ loss: s }, s);
      writer.flush();
      assert.equal(reader.series('loss').steps.length, 100);
      await writer.finish('finished');
      assert.equal(reader.state(), 'finished');
      assert.equal(reader.series('loss').steps.length, 100);
    } finally {
      reader.close();
    }
    assert.deepEqual(walFiles(dir), []);
    const again = RunReader.open(dir);
    try {
      assert.equal(again.lastVisibleStep(), 99);
    } finally {
      again.close();
    }
    assert.deepEqual(walFiles(dir), []);
  });
});
