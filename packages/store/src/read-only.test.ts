import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunReader } from './run-reader.js';
import { spawnJsonChild } from './test-support/child.js';
import {
  bytesOf,
  CLI_BIN,
  copyFixtures,
  fixtureDir,
  hashTree,
  hasLeftoverWal,
  makeRun,
  tempDir,
} from './test-support/run-fixtures.js';

const isRoot = process.getuid?.() === 0;
const LIVE_WRITER = new URL('./test-support/live-writer.js', import.meta.url).pathname;
/**
 * chmod does not stop root, so as root the CLI runs under setpriv without the capabilities that
 * override file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): still uid 0, owner of the files, but
 * bound by their read-only modes. Unlike switching to `nobody`, it can still reach a repository
 * that lives in a 0700 directory.
 */
const WITHOUT_DAC = [
  'setpriv',
  '--bounding-set=-dac_override,-dac_read_search',
  '--inh-caps=-dac_override,-dac_read_search',
  '--',
];
const tmp = tempDir();
let logdir: string;
before(() => {
  // mkdtemp makes the directory 0700; others must be able to traverse it to reach the runs.
  chmodSync(tmp.path, 0o755);
  logdir = copyFixtures(tmp.path);
});
after(() => {
  makeWritable(tmp.path);
  tmp.remove();
});

function chmodTree(path: string, dirMode: number, fileMode: number): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) chmodTree(join(path, name), dirMode, fileMode);
    chmodSync(path, dirMode);
  } else chmodSync(path, fileMode);
}

function makeReadOnly(dir: string): void {
  chmodTree(dir, 0o555, 0o444);
}

function makeWritable(dir: string): void {
  chmodTree(dir, 0o755, 0o644);
}

/** `swanlog <args>` as the current user, or bound by file modes; returns parsed JSON stdout. */
function cli(args: string[], boundByModes: boolean): unknown {
  const command = [...(boundByModes ? WITHOUT_DAC : []), process.execPath, CLI_BIN, ...args];
  const result = spawnSync(command[0]!, command.slice(1), {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  });
  assert.equal(
    result.status,
    0,
    `swanlog ${args.join(' ')} failed${boundByModes ? ' bound by file modes' : ''}: ${result.stderr} ${result.error ?? ''}`,
  );
  return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
}

/** What a reader in this process shows of a run: meta, state, config, segments, every point. */
function readInProcess(dir: string) {
  const reader = RunReader.open(dir);
  try {
    return {
      meta: reader.meta,
      state: reader.state(),
      config: reader.config(),
      configRevisions: reader.configRevisions(),
      segments: reader.segments(),
      lastVisibleStep: reader.lastVisibleStep(),
      series: reader.keys().map((key) => {
        const s = reader.series(key, { superseded: true });
        return [key, Array.from(s.steps), bytesOf(s.values).toString('hex'), Array.from(s.ts)];
      }),
    };
  } finally {
    reader.close();
  }
}

/** Replaces the run directory in a CLI document so runs read from two places compare. */
function withoutDir(doc: unknown, dir: string): unknown {
  return JSON.parse(JSON.stringify(doc).split(JSON.stringify(dir).slice(1, -1)).join('<dir>'));
}

describe('a read-only run directory still opens for reading', () => {
  for (const id of ['fx-finished', 'fx-rewound', 'fx-crashed']) {
    test(`${id}: made read-only, it reads exactly as it did writable${isRoot ? ' (CLI without CAP_DAC_OVERRIDE)' : ''}`, () => {
      const dir = fixtureDir(logdir, id);
      if (isRoot) {
        const writableShow = cli(['show', dir, '--json'], false);
        const writableExport = cli(['export', dir, '--all'], false);
        makeReadOnly(dir);
        const files = hashTree(dir);
        assert.deepEqual(cli(['show', dir, '--json'], true), writableShow);
        assert.equal(cli(['export', dir, '--all'], true), writableExport);
        assert.deepEqual(hashTree(dir), files, 'reading changed the read-only files');
      } else {
        const writable = readInProcess(dir);
        makeReadOnly(dir);
        const files = hashTree(dir);
        assert.deepEqual(readInProcess(dir), writable);
        assert.deepEqual(hashTree(dir), files, 'reading changed the read-only files');
      }
    });
  }

  test(`a run whose writer was SIGKILLed, made read-only before anything read it (its -wal still there)`, async () => {
    // Made here rather than taken from the fixtures: any read of a committed fixture with write
    // access folds its -wal, and this test is about the -wal.
    const pristine = join(tmp.path, 'pristine');
    const dir = makeRun(pristine, 'killed-writer');
    const child = spawnJsonChild(LIVE_WRITER, { dir, flushed: 40, buffered: 5 });
    await child.ready;
    await child.kill();
    assert.ok(hasLeftoverWal(dir), 'the killed writer left a -wal file with data');
    const reference = join(tmp.path, 'reference', basename(dir));
    cpSync(dir, reference, { recursive: true });
    makeReadOnly(dir);
    const files = hashTree(dir);
    if (isRoot) {
      const show = cli(['show', dir, '--json'], true);
      const exported = cli(['export', dir, '--all'], true);
      assert.deepEqual(
        withoutDir(show, dir),
        withoutDir(cli(['show', reference, '--json'], false), reference),
      );
      assert.equal(exported, cli(['export', reference, '--all'], false));
      assert.equal((show as { keys: Record<string, { count: number }> }).keys.loss?.count, 40);
    } else {
      const { meta: _m, ...got } = readInProcess(dir);
      const { meta: _r, ...want } = readInProcess(reference);
      assert.deepEqual(got, want);
    }
    assert.deepEqual(hashTree(dir), files, 'reading changed the read-only files');
  });
});
