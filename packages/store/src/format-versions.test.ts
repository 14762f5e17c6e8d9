import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { copyRun } from './copy-run.js';
import { RunReader } from './run-reader.js';
import {
  copyFixtures,
  fixtureDir,
  makeRun,
  type TempDir,
  tempDir,
  writeSession,
} from './test-support/run-fixtures.js';
import { verifyRun } from './verify-run.js';

// Format version 2 (docs/format.md): new runs are format 2 with codec-2 chunks; a format-1 run
// keeps its format when a session of this version writes to it; readers read both.

let tmp: TempDir;
let logdir: string;
before(() => {
  tmp = tempDir('swanlog-format-versions-');
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

/** user_version, meta.format and the codec versions of the chunks of every file of a run. */
function formatsOf(dir: string): { file: string; version: number; meta: string; codecs: number[] }[] {
  const files = [
    'run.sqlite',
    ...readdirSync(join(dir, 'writers'))
      .filter((f) => f.endsWith('.sqlite'))
      .map((f) => `writers/${f}`),
  ];
  return files.map((file) => {
    const db = new Database(join(dir, file), { readonly: true });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      const meta = (db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string })
        .value;
      const codecs = file.startsWith('writers/')
        ? [
            ...new Set(
              (db.prepare('SELECT data FROM chunks').all() as { data: Buffer }[]).map((r) => r.data[0]!),
            ),
          ].sort()
        : [];
      return { file, version, meta, codecs };
    } finally {
      db.close();
    }
  });
}

const curve = (i: number) => Math.fround(Math.exp(-i / 100) + (i % 7) / 1000);

describe('format versions', () => {
  test('a new run is format 2 in every file, its chunks codec 2, and it reads, verifies and copies as such', async () => {
    const dir = makeRun(join(tmp.path, 'new'), 'fresh-run');
    await writeSession(
      dir,
      Array.from({ length: 500 }, (_, i) => ({ key: 'loss', step: i, value: curve(i) })),
      { resumed: false },
    );
    for (const f of formatsOf(dir)) {
      assert.equal(f.version, 2, `${f.file}: user_version`);
      assert.equal(f.meta, '2', `${f.file}: meta.format`);
      if (f.file.startsWith('writers/')) assert.deepEqual(f.codecs, [2], `${f.file}: chunk codecs`);
    }
    const reader = RunReader.open(dir);
    try {
      assert.deepEqual(
        Array.from(reader.series('loss').values),
        Array.from({ length: 500 }, (_, i) => curve(i)),
      );
    } finally {
      reader.close();
    }
    assert.equal(verifyRun(dir).ok, true);
    const copy = copyRun(dir);
    assert.ok(formatsOf(copy.dir).every((f) => f.version === 2));
  });

  test('a format-1 run resumed by this version stays format 1: its new writer file is format 1 with codec-1 chunks', async () => {
    const dir = join(tmp.path, 'old', 'run-20261122_113403-fx-finished');
    cpSync(fixtureDir(logdir, 'fx-finished'), dir, { recursive: true });
    assert.ok(
      formatsOf(dir).every((f) => f.version === 1),
      'the fixture is format 1',
    );
    const before = RunReader.open(dir);
    const keys = before.keys();
    const oldSeries = Object.fromEntries(keys.map((k) => [k, Array.from(before.series(k).values)]));
    before.close();
    await writeSession(
      dir,
      Array.from({ length: 300 }, (_, i) => ({ key: 'later', step: 10_000 + i, value: curve(i) })),
    );
    const after = formatsOf(dir);
    assert.equal(
      after.length,
      formatsOf(fixtureDir(logdir, 'fx-finished')).length + 1,
      'one new writer file',
    );
    for (const f of after) {
      assert.equal(f.version, 1, `${f.file}: user_version`);
      assert.equal(f.meta, '1', `${f.file}: meta.format`);
      if (f.file.startsWith('writers/') && f.codecs.length > 0)
        assert.deepEqual(f.codecs, [1], `${f.file}: codecs`);
    }
    const reader = RunReader.open(dir);
    try {
      for (const k of keys) assert.deepEqual(Array.from(reader.series(k).values), oldSeries[k], k);
      assert.deepEqual(
        Array.from(reader.series('later').values),
        Array.from({ length: 300 }, (_, i) => curve(i)),
      );
    } finally {
      reader.close();
    }
    assert.equal(verifyRun(dir).ok, true);
  });
});
