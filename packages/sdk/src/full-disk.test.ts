import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { init, isSwanlogError, type Run, type SwanlogError } from './index.js';
import { range, readState } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

// A disk that fills up while a job logs, then gets space again: what a user sees from log(),
// flush() and finish(), and what `swanlog export` shows afterwards.
//
// "Full" comes two ways: the store's fault hook SWANLOG_FAULT_MAX_PAGES (a page cap on the run's
// writer file, read again after a failed write, so raising it frees space; works for any user),
// and, as root (as CI runs), a real small tmpfs filled with a file that is then removed.

const CLI_BIN = fileURLToPath(new URL('../../../apps/cli/bin/swanlog.js', import.meta.url));
const CAP = 'SWANLOG_FAULT_MAX_PAGES';
const KEYS = ['loss', 'acc'];
/** Random-looking values, so chunks do not compress: 2 keys x 20,000 calls overflow 12 pages. */
const valueAt = (step: number, k: number) => Math.sin(step * 12.9898 + k * 78.233) * 43758.5453;
const isRoot = process.getuid?.() === 0;

let root: ReturnType<typeof tempDir>;
before(() => {
  root = tempDir('swanlog-full-');
});
afterEach(() => {
  delete process.env[CAP];
});
after(() => {
  root.remove();
});

function logSteps(run: Run, steps: number[]): void {
  for (const step of steps) run.log(Object.fromEntries(KEYS.map((key, k) => [key, valueAt(step, k)])), step);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection, but the promise resolved');
}

function assertStorageFull(error: unknown, run: Run): SwanlogError {
  assert.ok(isSwanlogError(error), `expected a SwanlogError STORAGE_FULL, got ${String(error)}`);
  assert.equal(error.code, 'STORAGE_FULL', error.message);
  assert.match(error.message, /no space left/);
  assert.ok(error.message.includes(run.id), `the message names the run's file: ${error.message}`);
  assert.ok(error.hint?.includes(run.dir ?? '?'), `the hint names the run directory: ${error.hint}`);
  assert.match(error.hint ?? '', /free space/);
  return error;
}

/** `swanlog export --all` of the run: every stored point, superseded ones too. */
function exported(dir: string): { key: string; step: number; value: number }[] {
  const out = execFileSync(process.execPath, [CLI_BIN, 'export', dir, '--all', '--format', 'jsonl'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { key: string; step: number; value: number });
}

/** Every step of `steps` is exported once per key, with its value, and nothing else is. */
function assertExportedOnce(dir: string, steps: number[]): void {
  const points = exported(dir);
  for (const [k, key] of KEYS.entries()) {
    const got = points.filter((p) => p.key === key);
    assert.deepEqual(
      got.map((p) => p.step),
      steps,
      `${key}: each step once, in order`,
    );
    assert.deepEqual(
      got.map((p) => p.value),
      steps.map((s) => valueAt(s, k)),
      `${key}: the logged values`,
    );
  }
  assert.equal(points.length, steps.length * KEYS.length);
}

describe('finish() on a full disk', { timeout: 120_000 }, () => {
  it('is STORAGE_FULL naming the run directory, keeps the points, and a retry after space is freed loses nothing', async () => {
    // Regression: finish() on a full disk closed the session anyway; a retry after freeing space
    // replayed the same rejection, log() said RUN_FINISHED, and the buffered points were gone.
    process.env[CAP] = '12';
    const run = await init({ logdir: join(root.path, 'capped'), flushInterval: 60_000 });
    logSteps(run, range(0, 20_000));
    assertStorageFull(await rejection(run.finish()), run);
    assert.equal(run.flushedThrough, 0, 'the failed flush wrote nothing');
    assert.equal(readState(run.dir), 'running', 'not finished until finish() succeeds');
    // Still a running run: log() is accepted and is written by the retried finish().
    logSteps(run, [20_000]);
    process.env[CAP] = '100000';
    await run.finish();
    delete process.env[CAP];
    assert.equal(run.flushedThrough, 20_001);
    assert.equal(readState(run.dir), 'finished');
    assertExportedOnce(run.dir!, range(0, 20_001));
  });

  it('flush() is STORAGE_FULL and keeps its buffers; a flush that fails after earlier ones duplicates nothing', async () => {
    process.env[CAP] = '12';
    const run = await init({ logdir: join(root.path, 'flush'), flushInterval: 60_000 });
    logSteps(run, range(0, 100));
    run.flush();
    assert.equal(run.flushedThrough, 100);
    // Many small flushes merge chunks; the failing flush must leave those merges undone too.
    for (let i = 1; i < 20; i++) {
      logSteps(run, [100 + i]);
      run.flush();
    }
    logSteps(run, range(120, 20_000));
    let failure: unknown;
    try {
      run.flush();
    } catch (error) {
      failure = error;
    }
    assertStorageFull(failure, run);
    assert.equal(run.flushedThrough, 119);
    process.env[CAP] = '100000';
    run.flush();
    delete process.env[CAP];
    assert.equal(run.flushedThrough, 19_999);
    await run.finish();
    assertExportedOnce(run.dir!, [...range(0, 100), ...range(101, 120), ...range(120, 20_000)]);
  });

  it('the interval flush on a full disk: log() reports STORAGE_FULL, the call it reports on is kept, and the error clears once a flush succeeds', async () => {
    // Regression: a failed background flush made the next log() throw before taking its values
    // (so that call was lost), and after a later flush succeeded a stale error could still be thrown.
    process.env[CAP] = '12';
    const run = await init({ logdir: join(root.path, 'interval'), flushInterval: 20 });
    let step = 0;
    let failure: unknown;
    // Whichever flush meets the full disk first (inline in log(), or the timer's, reported by the
    // next log()), the log() that throws has taken its call.
    while (failure === undefined && step < 200_000) {
      try {
        logSteps(run, [step++]);
      } catch (error) {
        failure = error;
      }
      if (step % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assertStorageFull(failure, run);
    assert.equal(run.logged, step, 'the call that threw STORAGE_FULL was taken');
    assert.equal(run.step, step, "the run's counter moved past the taken call");
    process.env[CAP] = '100000';
    for (let tries = 0; run.flushedThrough < run.logged && tries < 2_000; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    delete process.env[CAP];
    assert.equal(run.flushedThrough, run.logged, 'the interval flush wrote everything once space was back');
    logSteps(run, [step++]); // the failure was reported and is over: no stale STORAGE_FULL
    await run.finish();
    assertExportedOnce(run.dir!, range(0, step));
  });
});

describe('finish() on a really full disk (tmpfs)', {
  timeout: 120_000,
  skip: !isRoot && 'mounting a tmpfs needs root (CI runs as root)',
}, () => {
  let mnt: string;
  before(() => {
    mnt = join(root.path, 'tmpfs');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
  });
  after(() => {
    // Lazy: a failed test may leave the run's files open.
    spawnSync('umount', ['-l', mnt]);
  });

  it('is STORAGE_FULL (not a raw SqliteError), and finish() after removing a file succeeds with every point once', async () => {
    // Regression: on a real full disk finish() threw a raw SqliteError SQLITE_FULL (leaving WAL
    // mode at close could not write) and could never be retried.
    const run = await init({ logdir: join(mnt, 'logdir'), flushInterval: 60_000 });
    const filler = join(mnt, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(32 * 1024 * 1024));
      assert.fail('the filler should not fit in the 16 MiB tmpfs');
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    logSteps(run, range(0, 50_000));
    assertStorageFull(await rejection(run.finish()), run);
    rmSync(filler);
    await run.finish();
    assert.equal(readState(run.dir), 'finished');
    assertExportedOnce(run.dir!, range(0, 50_000));
  });
});
