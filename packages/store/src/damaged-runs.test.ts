import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ErrorCode } from '@swanlog/protocol';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import { copyRun } from './copy-run.js';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import { copyFixtures, fixtureDir, tempDir } from './test-support/run-fixtures.js';
import { verifyRun } from './verify-run.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

/** Runs `fn` and checks it fails with a SwanlogError of `code` whose message names `mentions`. */
function expectSwanlogError(fn: () => unknown, code: ErrorCode, mentions: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(
    caught instanceof SwanlogError,
    `expected a SwanlogError ${code}, got ${caught instanceof Error ? caught.stack : String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.includes(mentions), `message does not name ${mentions}: ${caught.message}`);
}

/** Every way a user reads a run: open, keys, each series (with superseded), last step, state, config. */
function readEverything(dir: string): void {
  const reader = RunReader.open(dir);
  try {
    for (const key of reader.keys()) reader.series(key, { superseded: true });
    reader.lastVisibleStep();
    reader.state();
    reader.config();
    reader.segments();
  } finally {
    reader.close();
  }
}

/** A byte copy of a sound fixture to damage. */
function soundCopy(id: string, name: string): string {
  const to = join(tmp.path, 'damaged', name);
  cpSync(fixtureDir(logdir, id), to, { recursive: true });
  return to;
}

function writerFile(dir: string): string {
  const name = readdirSync(join(dir, 'writers')).find((n) => n.endsWith('.sqlite'));
  assert.ok(name !== undefined, `no writer file in ${dir}`);
  return join(dir, 'writers', name);
}

describe('damaged and foreign run directories give clear errors', () => {
  test('fx-truncated (a writer file cut in half): RUN_DIR_CORRUPT on verify and on reading series', () => {
    const dir = fixtureDir(logdir, 'fx-truncated');
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => readEverything(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(
      () => {
        const reader = RunReader.open(dir);
        try {
          return reader.series('loss');
        } finally {
          reader.close();
        }
      },
      'RUN_DIR_CORRUPT',
      dir,
    );
  });

  test('fx-future-version (format 99): UNSUPPORTED_FORMAT on open, read and verify', () => {
    const dir = fixtureDir(logdir, 'fx-future-version');
    expectSwanlogError(() => RunReader.open(dir), 'UNSUPPORTED_FORMAT', dir);
    expectSwanlogError(() => verifyRun(dir), 'UNSUPPORTED_FORMAT', dir);
    expectSwanlogError(() => copyRun(dir), 'UNSUPPORTED_FORMAT', dir);
  });

  test('fx-future-version: a writer refuses to open it, and leaves it as it was', () => {
    const dir = soundCopy('fx-future-version', 'future-writer');
    expectSwanlogError(() => RunWriter.open({ dir, resumed: true }), 'UNSUPPORTED_FORMAT', dir);
    const db = new Database(join(dir, 'run.sqlite'), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), 99, 'the file was migrated');
    } finally {
      db.close();
    }
    assert.equal(readdirSync(join(dir, 'writers')).length, 1, 'a writer file was added');
  });

  test('fx-foreign (not a run): RUN_DIR_CORRUPT', () => {
    const dir = fixtureDir(logdir, 'fx-foreign');
    expectSwanlogError(() => RunReader.open(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
  });

  test('an empty directory: RUN_DIR_CORRUPT', () => {
    const dir = join(tmp.path, 'damaged', 'empty');
    mkdirSync(dir, { recursive: true });
    expectSwanlogError(() => RunReader.open(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => RunWriter.open({ dir, resumed: true }), 'RUN_DIR_CORRUPT', dir);
  });

  test('a run.sqlite of random bytes: RUN_DIR_CORRUPT', () => {
    const dir = join(tmp.path, 'damaged', 'random-bytes');
    mkdirSync(join(dir, 'writers'), { recursive: true });
    writeFileSync(join(dir, 'run.sqlite'), randomBytes(8192));
    expectSwanlogError(() => RunReader.open(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
  });

  test('an empty run.sqlite, and a SQLite file that is not ours: RUN_DIR_CORRUPT', () => {
    const empty = join(tmp.path, 'damaged', 'empty-file');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'run.sqlite'), '');
    expectSwanlogError(() => RunReader.open(empty), 'RUN_DIR_CORRUPT', empty);
    const other = join(tmp.path, 'damaged', 'other-sqlite');
    mkdirSync(other, { recursive: true });
    const db = new Database(join(other, 'run.sqlite'));
    db.exec('CREATE TABLE meta (key TEXT, value TEXT)');
    db.close();
    expectSwanlogError(() => RunReader.open(other), 'RUN_DIR_CORRUPT', other);
    expectSwanlogError(() => verifyRun(other), 'RUN_DIR_CORRUPT', other);
  });

  test('a run.sqlite cut in half: RUN_DIR_CORRUPT', () => {
    const dir = soundCopy('fx-resumed', 'truncated-run-file');
    const file = join(dir, 'run.sqlite');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    expectSwanlogError(() => readEverything(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
  });

  test('a writer file of random bytes: RUN_DIR_CORRUPT on read and verify', () => {
    const dir = soundCopy('fx-finished', 'random-writer');
    writeFileSync(writerFile(dir), randomBytes(40960));
    expectSwanlogError(() => readEverything(dir), 'RUN_DIR_CORRUPT', dir);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', dir);
  });

  test('a missing writer file: RUN_DIR_CORRUPT naming it', () => {
    const dir = soundCopy('fx-rewound', 'missing-writer');
    const file = writerFile(dir);
    rmSync(file);
    expectSwanlogError(() => readEverything(dir), 'RUN_DIR_CORRUPT', file);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', file);
  });

  test('a chunk whose bytes were damaged inside a sound SQLite file: RUN_DIR_CORRUPT, never wrong points', () => {
    const dir = soundCopy('fx-finished', 'flipped-chunk');
    const file = writerFile(dir);
    const db = new Database(file);
    try {
      const row = db.prepare('SELECT id, data FROM chunks ORDER BY id LIMIT 1').get() as {
        id: number;
        data: Buffer;
      };
      const data = Buffer.from(row.data);
      data[data.length - 3]! ^= 0x10;
      db.prepare('UPDATE chunks SET data = ? WHERE id = ?').run(data, row.id);
    } finally {
      db.close();
    }
    expectSwanlogError(() => readEverything(dir), 'RUN_DIR_CORRUPT', file);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', file);
  });

  test('a writer file moved in from another run: verify says RUN_DIR_CORRUPT', () => {
    const dir = soundCopy('fx-finished', 'foreign-writer');
    const donor = copyRun(fixtureDir(logdir, 'fx-finished'), { logdir: join(tmp.path, 'donors') });
    const file = writerFile(dir);
    cpSync(writerFile(donor.dir), file);
    expectSwanlogError(() => verifyRun(dir), 'RUN_DIR_CORRUPT', file);
  });
});
