import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyRun } from './copy-run.js';
import { findRunDir } from './find-run.js';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import { spawnJsonChild } from './test-support/child.js';
import {
  bytesOf,
  copyFixtures,
  fixtureDir,
  hashTree,
  hasLeftoverWal,
  makeRun,
  tempDir,
} from './test-support/run-fixtures.js';
import { verifyRun } from './verify-run.js';

const GENERATED_ID = /^[0-9a-z]{21}$/;
const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

/** Everything a reader shows of a run except its identity: keys, every point, config, segments. */
function content(dir: string) {
  const reader = RunReader.open(dir);
  try {
    const series: Record<string, { steps: number[]; values: string; ts: number[]; superseded: number[] }> =
      {};
    for (const key of reader.keys()) {
      const s = reader.series(key, { superseded: true });
      series[key] = {
        steps: Array.from(s.steps),
        values: bytesOf(s.values).toString('hex'),
        ts: Array.from(s.ts),
        superseded: Array.from(s.superseded ?? []),
      };
    }
    return {
      project: reader.meta.project,
      name: reader.meta.name,
      workspace: reader.meta.workspace,
      keys: reader.keys(),
      series,
      lastVisibleStep: reader.lastVisibleStep(),
      config: reader.config(),
      configRevisions: reader.configRevisions(),
      segments: reader
        .segments()
        .map((s) => ({ fromStep: s.fromStep, resumed: s.resumed, source: s.source })),
    };
  } finally {
    reader.close();
  }
}

function stateOf(dir: string): string {
  const reader = RunReader.open(dir);
  try {
    return reader.state();
  } finally {
    reader.close();
  }
}

describe('copyRun', () => {
  test('a finished run copies to a new 21-character id with its lineage and the same content', () => {
    const original = fixtureDir(logdir, 'fx-finished');
    const before = hashTree(original);
    const copy = copyRun(original);
    assert.match(copy.id, GENERATED_ID);
    assert.equal(copy.copiedFrom, 'fx-finished');
    assert.equal(dirname(copy.dir), logdir, 'the copy goes next to the original');
    assert.ok(basename(copy.dir).endsWith(`-${copy.id}`), basename(copy.dir));
    assert.equal(findRunDir(logdir, copy.id), copy.dir);
    const reader = RunReader.open(copy.dir);
    try {
      assert.equal(reader.meta.id, copy.id);
      assert.equal(reader.meta.copiedFrom, 'fx-finished');
      assert.equal(reader.state(), 'finished');
    } finally {
      reader.close();
    }
    assert.deepEqual(content(copy.dir), content(original));
    assert.deepEqual(content(copy.dir).config, { lr: 0.001, model: { layers: 2 } });
    assert.equal(verifyRun(copy.dir).id, copy.id);
    assert.deepEqual(hashTree(original), before, 'the original directory changed');
  });

  for (const id of ['fx-rewound', 'fx-resumed', 'fx-two-writers', 'fx-crashed']) {
    test(`${id}: the copy shows the same points (superseded ones too) and leaves the original as it was`, () => {
      const original = fixtureDir(logdir, id);
      // A killed writer's left-over -wal may be folded into its database by the reader: the bytes
      // change, the data must not.
      const foldsWal = hasLeftoverWal(original);
      const before = hashTree(original);
      const expected = content(original);
      const copy = copyRun(original);
      assert.deepEqual(content(copy.dir), expected);
      assert.notEqual(stateOf(copy.dir), 'running');
      assert.equal(verifyRun(copy.dir).ok, true);
      assert.deepEqual(content(original), expected, 'the original run reads differently');
      if (!foldsWal) assert.deepEqual(hashTree(original), before, 'the original directory changed');
    });
  }

  test('copying a copy records the copy as its origin; --logdir puts it elsewhere', () => {
    const other = join(tmp.path, 'elsewhere');
    const first = copyRun(fixtureDir(logdir, 'fx-finished'));
    const second = copyRun(first.dir, { logdir: other });
    assert.equal(second.copiedFrom, first.id);
    assert.equal(dirname(second.dir), other);
    assert.notEqual(second.id, first.id);
    assert.deepEqual(content(second.dir), content(first.dir));
  });

  test('a run live in another process copies; the copy holds what was flushed and is not running', async (t) => {
    const dir = makeRun(tmp.path, 'live-child');
    const child = spawnJsonChild(join(import.meta.dirname, 'test-support', 'live-writer.js'), {
      dir,
      flushed: 40,
      buffered: 5,
    });
    t.after(child.kill);
    await child.ready;
    assert.equal(stateOf(dir), 'running', 'the original is live');
    const copy = copyRun(dir);
    assert.notEqual(stateOf(copy.dir), 'running');
    const reader = RunReader.open(copy.dir);
    try {
      assert.deepEqual(
        Array.from(reader.series('loss').steps),
        Array.from({ length: 40 }, (_, s) => s),
      );
      assert.deepEqual(
        Array.from(reader.series('acc').values),
        Array.from({ length: 40 }, (_, s) => s),
      );
      assert.ok(reader.segments().every((s) => s.state !== 'running'));
    } finally {
      reader.close();
    }
    assert.equal(verifyRun(copy.dir).points, 80);
    assert.equal(stateOf(dir), 'running', 'copying does not end the original session');
    await child.kill();
    assert.equal(stateOf(dir), 'crashed');
    assert.equal(stateOf(copy.dir), 'crashed');
  });

  test('a run live in this process copies its flushed points; later writes reach only the original', async () => {
    const dir = makeRun(tmp.path, 'live-here');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 3_600_000 });
    let copyDir: string;
    try {
      for (let s = 0; s < 30; s++) writer.append({ loss: s }, s);
      writer.flush();
      for (let s = 30; s < 35; s++) writer.append({ loss: s }, s); // buffered, not yet durable
      const copy = copyRun(dir);
      copyDir = copy.dir;
      assert.notEqual(stateOf(copy.dir), 'running');
      for (let s = 35; s < 40; s++) writer.append({ loss: s }, s);
    } finally {
      await writer.finish('finished');
    }
    const copyReader = RunReader.open(copyDir);
    const originalReader = RunReader.open(dir);
    try {
      assert.equal(copyReader.series('loss').steps.length, 30);
      assert.equal(copyReader.lastVisibleStep(), 29);
      assert.equal(originalReader.series('loss').steps.length, 40);
      assert.equal(originalReader.state(), 'finished');
      assert.notEqual(copyReader.state(), 'running');
    } finally {
      copyReader.close();
      originalReader.close();
    }
  });

  test('resuming the copy (with a rewind) writes only into the copy', async () => {
    const original = fixtureDir(logdir, 'fx-finished');
    const copy = copyRun(original);
    const before = hashTree(original);
    const expected = content(original);
    const writer = RunWriter.open({ dir: copy.dir, resumed: true, fromStep: 10 });
    try {
      for (let s = 11; s < 15; s++) writer.append({ loss: -s }, s);
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(hashTree(original), before, 'the original directory changed');
    assert.deepEqual(content(original), expected);
    const reader = RunReader.open(copy.dir);
    try {
      assert.equal(reader.lastVisibleStep(), 14);
      assert.deepEqual(Array.from(reader.series('loss').values).slice(11), [-11, -12, -13, -14]);
      assert.equal(reader.segments().length, 2);
    } finally {
      reader.close();
    }
    assert.equal(verifyRun(copy.dir).sessions, 2);
    assert.ok(existsSync(original));
  });
});
