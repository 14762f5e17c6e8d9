import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyRun } from './copy-run.js';
import { listRunDirs, runIdOfDirName } from './find-run.js';
import { RunReader } from './run-reader.js';
import { copyFixtures, fixtureDir, hashTree, hasLeftoverWal, tempDir } from './test-support/run-fixtures.js';
import { verifyRun } from './verify-run.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

/** Every point (superseded ones too), the config and the segments of a run. */
function readAll(dir: string): unknown {
  const reader = RunReader.open(dir);
  try {
    return {
      series: reader.keys().map((key) => {
        const s = reader.series(key, { superseded: true });
        return [
          key,
          Array.from(s.steps),
          Array.from(s.values),
          Array.from(s.ts),
          Array.from(s.superseded ?? []),
        ];
      }),
      config: reader.configRevisions(),
      segments: reader.segments(),
    };
  } finally {
    reader.close();
  }
}

/** What the fixture generator wrote (swanlog-fixtures/src/generate.ts). */
const SOUND: Record<string, { sessions: number; keys: number; points: number }> = {
  'fx-finished': { sessions: 1, keys: 3, points: 103 },
  'fx-crashed': { sessions: 1, keys: 2, points: 80 },
  'fx-resumed': { sessions: 2, keys: 2, points: 100 },
  'fx-rewound': { sessions: 2, keys: 1, points: 50 },
  'fx-two-writers': { sessions: 2, keys: 2, points: 60 },
};

describe('verifyRun passes on every sound fixture', () => {
  for (const [id, expected] of Object.entries(SOUND)) {
    test(`${id} is sound, with its sessions, keys and stored points counted, and is left unchanged`, () => {
      const dir = fixtureDir(logdir, id);
      const foldsWal = hasLeftoverWal(dir); // see hasLeftoverWal: bytes may change, data may not
      const files = hashTree(dir);
      const before = readAll(dir);
      const report = verifyRun(dir);
      assert.equal(report.ok, true);
      assert.equal(report.id, id);
      assert.equal(report.dir, dir);
      assert.equal(report.sessions, expected.sessions);
      assert.equal(report.keys, expected.keys);
      assert.equal(report.points, expected.points);
      assert.ok(report.chunks >= expected.keys, `${report.chunks} chunks`);
      assert.deepEqual(report.warnings, []);
      assert.deepEqual(readAll(dir), before, 'verify changed what the run reads');
      if (!foldsWal) assert.deepEqual(hashTree(dir), files, 'verify changed the run directory');
    });
  }

  test('the fixture copy of fx-finished (random id, copiedFrom fx-finished) is sound', () => {
    const copies = listRunDirs(logdir).filter((dir) =>
      /^[0-9a-z]{21}$/.test(runIdOfDirName(basename(dir)) ?? ''),
    );
    assert.equal(copies.length, 1, `copies of fx-finished in the fixtures: ${copies.join(', ')}`);
    const report = verifyRun(copies[0]!);
    assert.match(report.id, /^[0-9a-z]{21}$/);
    const reader = RunReader.open(copies[0]!);
    try {
      assert.equal(reader.meta.copiedFrom, 'fx-finished');
    } finally {
      reader.close();
    }
    assert.equal(report.points, SOUND['fx-finished']!.points);
    assert.deepEqual(report.warnings, []);
  });

  test('a fresh copy of every sound fixture is sound too', () => {
    for (const id of Object.keys(SOUND)) {
      const copy = copyRun(fixtureDir(logdir, id), { logdir: `${tmp.path}/copies` });
      const report = verifyRun(copy.dir);
      assert.equal(report.id, copy.id);
      assert.equal(report.points, SOUND[id]!.points, id);
    }
  });
});
