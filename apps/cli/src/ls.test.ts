import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFixtures, describeResult, fixtureDir, hasStack, runCli, tempDir } from './test-support/cli.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

const LISTING_FIELDS = [
  'copiedFrom',
  'createdAt',
  'dir',
  'id',
  'keyCount',
  'lastStep',
  'name',
  'project',
  'source',
  'state',
  'sync',
  'workspace',
].sort();

/** State, last step and key count of each sound fixture (swanlog-fixtures/src/generate.ts). */
const SOUND: Record<string, { name: string; state: string; lastStep: number; keyCount: number }> = {
  'fx-finished': { name: 'finished', state: 'finished', lastStep: 52, keyCount: 3 },
  'fx-crashed': { name: 'crashed', state: 'crashed', lastStep: 39, keyCount: 2 },
  'fx-resumed': { name: 'resumed', state: 'finished', lastStep: 49, keyCount: 2 },
  'fx-rewound': { name: 'rewound', state: 'finished', lastStep: 30, keyCount: 1 },
  'fx-two-writers': { name: 'two writers', state: 'finished', lastStep: 29, keyCount: 2 },
};
const DAMAGED: Record<string, string> = {
  'fx-truncated': 'RUN_DIR_CORRUPT',
  'fx-future-version': 'UNSUPPORTED_FORMAT',
  'fx-foreign': 'RUN_DIR_CORRUPT',
};

type Entry = Record<string, unknown>;

describe('swanlog ls', () => {
  test('--json lists one element per run directory: sound runs with their fields, damaged ones as errors', async () => {
    const r = await runCli(['ls', logdir, '--json']);
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stderr, '');
    const entries = JSON.parse(r.stdout) as Entry[]; // stdout is one JSON document, nothing else
    assert.ok(Array.isArray(entries));
    const dirs = readdirSync(logdir)
      .filter((n) => !n.startsWith('.'))
      .map((n) => join(logdir, n))
      .sort();
    assert.deepEqual(entries.map((e) => e.dir).sort(), dirs, 'one element per directory');

    for (const [id, want] of Object.entries(SOUND)) {
      const e = entries.find((x) => x.id === id);
      assert.ok(e !== undefined, `${id} is missing`);
      assert.deepEqual(Object.keys(e).sort(), LISTING_FIELDS, `${id} fields`);
      assert.deepEqual(
        {
          name: e.name,
          state: e.state,
          lastStep: e.lastStep,
          keyCount: e.keyCount,
          copiedFrom: e.copiedFrom,
        },
        { ...want, copiedFrom: null },
        id,
      );
      assert.equal(e.project, 'fixtures');
      assert.equal(e.workspace, null);
      assert.equal(e.dir, fixtureDir(logdir, id));
      assert.equal(
        new Date(e.createdAt as string).toISOString(),
        e.createdAt,
        `${id}: createdAt is ISO 8601`,
      );
    }

    const copies = entries.filter((e) => e.copiedFrom === 'fx-finished');
    assert.equal(copies.length, 1, 'the fixture copy of fx-finished');
    const copy = copies[0]!;
    assert.match(copy.id as string, /^[0-9a-z]{21}$/);
    assert.deepEqual(
      { state: copy.state, lastStep: copy.lastStep, keyCount: copy.keyCount, name: copy.name },
      { state: 'finished', lastStep: 52, keyCount: 3, name: 'finished' },
    );

    for (const [id, code] of Object.entries(DAMAGED)) {
      const e = entries.find((x) => x.dir === fixtureDir(logdir, id));
      assert.ok(e !== undefined, `${id} is missing`);
      assert.deepEqual(Object.keys(e).sort(), ['dir', 'error'], `${id} fields`);
      const error = e.error as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(error)
          .filter((k) => k !== 'hint')
          .sort(),
        ['code', 'message'],
        `${id} error fields`,
      );
      assert.ok(error.hint === undefined || typeof error.hint === 'string', `${id} hint`);
      assert.equal(error.code, code, `${id}: ${String(error.message)}`);
      assert.ok(typeof error.message === 'string' && error.message.includes(basename(e.dir as string)));
    }
    assert.equal(entries.length, Object.keys(SOUND).length + Object.keys(DAMAGED).length + 1);
  });

  test('human ls prints a table of the runs and a line per damaged directory', async () => {
    const r = await runCli(['ls', logdir]);
    assert.equal(r.code, 0, describeResult(r));
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+STATE\s+PROJECT\s+NAME\s+LAST STEP\s+KEYS\s+SYNC\s+CREATED\s+DIR$/);
    for (const [id, want] of Object.entries(SOUND)) {
      const row = lines.find((l) => l.startsWith(`${id} `));
      assert.ok(row !== undefined, `no row for ${id}:\n${r.stdout}`);
      assert.match(row, new RegExp(`^${id}\\s+${want.state}\\s+fixtures\\s`));
      assert.ok(row.includes(` ${want.lastStep} `), row);
      assert.ok(row.endsWith(fixtureDir(logdir, id)), row);
    }
    assert.ok(
      lines.some((l) => /^[0-9a-z]{21}\s+finished \(copy of fx-finished\)/.test(l)),
      `no row for the copy:\n${r.stdout}`,
    );
    for (const [id, code] of Object.entries(DAMAGED)) {
      assert.ok(
        lines.some((l) => l.startsWith(`! ${fixtureDir(logdir, id)}: error[${code}]`)),
        `no error line for ${id}:\n${r.stdout}`,
      );
    }
    // The columns line up: every row's STATE column starts where the header's does.
    const stateAt = lines[0]!.indexOf('STATE');
    for (const l of lines.slice(1).filter((x) => !x.startsWith('!'))) {
      assert.notEqual(l[stateAt - 1], undefined);
      assert.equal(l.slice(stateAt - 2, stateAt), '  ', `misaligned row: ${l}`);
    }
  });

  test('a missing explicit logdir is error[NOT_FOUND] with a hint, exit 1', async () => {
    const missing = join(tmp.path, 'no-such-logdir');
    for (const args of [
      ['ls', missing],
      ['ls', missing, '--json'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, describeResult(r));
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0]!, /^error\[NOT_FOUND\]: .*no-such-logdir/);
      assert.match(lines[1] ?? '', /^hint: /);
      assert.ok(!hasStack(r.stderr), r.stderr);
    }
  });

  test('a logdir that is a file is error[CODE] with a hint, exit 1, no stack', async () => {
    const file = join(fixtureDir(logdir, 'fx-finished'), 'run.sqlite');
    const r = await runCli(['ls', file, '--json']);
    assert.equal(r.code, 1, describeResult(r));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^error\[[A-Z_]+\]: .*run\.sqlite/, r.stderr);
    assert.match(lines[1] ?? '', /^hint: /, r.stderr);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });

  test('without an argument it lists $SWANLOG_LOGDIR, or ./swanlog (nothing there is not an error)', async () => {
    const env = await runCli(['ls', '--json'], { env: { SWANLOG_LOGDIR: logdir } });
    assert.equal(env.code, 0, describeResult(env));
    assert.equal(
      (JSON.parse(env.stdout) as Entry[]).length,
      readdirSync(logdir).filter((n) => !n.startsWith('.')).length,
    );
    const empty = join(tmp.path, 'empty-cwd');
    mkdirSync(empty);
    const none = await runCli(['ls', '--json'], { cwd: empty });
    assert.equal(none.code, 0, describeResult(none));
    assert.deepEqual(JSON.parse(none.stdout), []);
    const human = await runCli(['ls'], { cwd: empty });
    assert.equal(human.code, 0, describeResult(human));
    assert.match(human.stdout, /^no runs under .*swanlog/);
  });
});
