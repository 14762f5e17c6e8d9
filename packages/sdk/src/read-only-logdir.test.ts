import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InitOptions } from './index.js';
import { tempDir } from './test-support/temp-dir.js';

// init() where the logdir cannot be written: a read-only mount (EROFS) or a directory without
// write permission (EACCES). Every case, new run or resume, is STORAGE_READ_ONLY naming the path.
//
// Regression: a new run in an existing read-only logdir threw a plain Error EROFS (the claim file);
// a logdir that did not exist yet, or had never held a run, under a read-only mount or an
// unwritable parent said RUN_DIR_CORRUPT (Node's recursive mkdir reports ENOENT there).

const INIT_CHILD = fileURLToPath(new URL('./test-support/init-child.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
/**
 * chmod does not stop root: as root the child runs under setpriv without the capabilities that
 * override file modes (as packages/store/src/read-only.test.ts does), so modes apply to it.
 */
const WITHOUT_DAC = isRoot
  ? [
      'setpriv',
      '--bounding-set=-dac_override,-dac_read_search',
      '--inh-caps=-dac_override,-dac_read_search',
      '--',
    ]
  : [];

interface ChildResult {
  dir?: string;
  code?: string;
  message?: string;
  hint?: string;
}

/** init(options) in a child process (bound by file modes when `boundByModes`), and what it met. */
function initInChild(options: InitOptions, boundByModes: boolean): ChildResult {
  const command = [
    ...(boundByModes ? WITHOUT_DAC : []),
    process.execPath,
    INIT_CHILD,
    JSON.stringify(options),
  ];
  const result = spawnSync(command[0]!, command.slice(1), {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  assert.equal(result.status, 0, `init child failed: ${result.stderr} ${result.error ?? ''}`);
  return JSON.parse(result.stdout) as ChildResult;
}

function assertReadOnly(got: ChildResult, path: string): void {
  assert.equal(got.code, 'STORAGE_READ_ONLY', `expected STORAGE_READ_ONLY, got ${JSON.stringify(got)}`);
  assert.ok(got.message?.includes(path), `the message names ${path}: ${got.message}`);
  assert.match(got.message ?? '', /read-only/);
  assert.ok(got.hint !== undefined && got.hint.length > 0, 'a hint says what to do');
}

/** A logdir that has held runs (so its .swanlog/claims exists) with one run of id `kept`. */
function usedLogdir(logdir: string): string {
  const made = initInChild({ logdir, id: 'kept', resume: 'allow' }, false);
  assert.ok(made.dir !== undefined, JSON.stringify(made));
  return made.dir;
}

let root: ReturnType<typeof tempDir>;
before(() => {
  root = tempDir('swanlog-ro-');
  // mkdtemp makes the directory 0700; the child bound by modes must traverse it.
  chmodSync(root.path, 0o755);
});
after(() => root.remove());

describe('init() on a read-only mount (EROFS)', {
  skip: !isRoot && 'mounting needs root (CI runs as root)',
}, () => {
  let mnt: string;
  let runDir: string;
  before(() => {
    mnt = join(root.path, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    mkdirSync(join(mnt, 'empty'));
    runDir = usedLogdir(join(mnt, 'used'));
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
  });
  after(() => {
    spawnSync('umount', ['-l', mnt]);
  });

  it('a new run in a logdir that has held runs', () => {
    assertReadOnly(initInChild({ logdir: join(mnt, 'used') }, false), join(mnt, 'used'));
  });
  it('a new run in an empty logdir', () => {
    assertReadOnly(initInChild({ logdir: join(mnt, 'empty') }, false), join(mnt, 'empty'));
  });
  it('a logdir that does not exist yet (two levels missing)', () => {
    const logdir = join(mnt, 'missing', 'deeper');
    assertReadOnly(initInChild({ logdir }, false), logdir);
  });
  it('resuming a run there', () => {
    const got = initInChild({ logdir: join(mnt, 'used'), id: 'kept', resume: 'must' }, false);
    assertReadOnly(got, runDir);
  });
});

describe(`init() in a directory without write permission (EACCES${isRoot ? ', setpriv without CAP_DAC_OVERRIDE' : ''})`, () => {
  let locked: string;
  let runDir: string;
  before(() => {
    locked = join(root.path, 'locked');
    mkdirSync(join(locked, 'empty'), { recursive: true });
    runDir = usedLogdir(join(locked, 'used'));
    for (const dir of [join(runDir, 'writers'), runDir, join(locked, 'used', '.swanlog', 'claims')]) {
      chmodSync(dir, 0o555);
    }
    for (const dir of [join(locked, 'used'), join(locked, 'empty'), locked]) chmodSync(dir, 0o555);
  });
  after(() => {
    for (const dir of [
      locked,
      join(locked, 'used'),
      join(locked, 'empty'),
      runDir,
      join(runDir, 'writers'),
    ]) {
      chmodSync(dir, 0o755);
    }
    chmodSync(join(locked, 'used', '.swanlog', 'claims'), 0o755);
  });

  it('a new run in a logdir that has held runs', () => {
    assertReadOnly(initInChild({ logdir: join(locked, 'used') }, true), join(locked, 'used'));
  });
  it('a new run in an empty logdir', () => {
    assertReadOnly(initInChild({ logdir: join(locked, 'empty') }, true), join(locked, 'empty'));
  });
  it('a logdir that does not exist yet, under an unwritable parent', () => {
    const logdir = join(locked, 'missing', 'deeper');
    assertReadOnly(initInChild({ logdir }, true), logdir);
  });
  it('resuming a run there', () => {
    const got = initInChild({ logdir: join(locked, 'used'), id: 'kept', resume: 'must' }, true);
    assertReadOnly(got, runDir);
  });
});
