import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initSync } from './index.js';
import { range, readSeries, readState } from './test-support/read-run.js';
import { killChildren, SKEW_CLOCK, spawnLogChild } from './test-support/spawn-log-child.js';
import { tempDir } from './test-support/temp-dir.js';

// DESIGN.md "Logging semantics": a writer that opens a run starts its clock above every ts already
// in the run, so a machine whose clock is behind still orders after what it resumed. The resumed
// process here runs with its clock an hour (then two) behind the machine that started the run.

const HOUR = 3_600_000;
const skewed = (ms: number) => ({
  execArgv: ['--import', SKEW_CLOCK],
  env: { ...process.env, SWANLOG_TEST_CLOCK_SKEW_MS: String(ms) },
});

let root: ReturnType<typeof tempDir>;
let logdir: string;
let dir: string;

before(async () => {
  root = tempDir('swanlog-skew-');
  logdir = join(root.path, 'logdir');
  const run = initSync({ logdir, id: 'skewed', resume: 'allow' }, {});
  for (let s = 0; s < 10; s++) run.log({ loss: s * 1000 });
  await run.finish();
  dir = run.dir!;
});
after(async () => {
  await killChildren();
  root.remove();
});

describe('resuming on a machine whose clock is behind', { timeout: 60_000 }, () => {
  it('a rewind (fromStep) supersedes the later points and the new points are visible', async () => {
    const child = spawnLogChild(
      {
        init: { logdir, id: 'skewed', resume: 'must', fromStep: 4 },
        steps: 2,
        keys: ['loss'],
        valueOffset: 0.5,
        finish: false,
      },
      skewed(-HOUR),
    );
    const flushed = await child.waitFor('flushed');
    assert.equal(flushed.step, 7);
    assert.deepEqual(readSeries(dir, 'loss'), {
      steps: range(0, 7),
      values: [0, 1000, 2000, 3000, 4000, 5000.5, 6000.5],
    });
    child.proc.kill('SIGTERM');
    assert.equal((await child.exited).signal, 'SIGTERM');
  });

  it('the run state is that of the latest session (aborted), not of the one whose clock said later', () => {
    assert.equal(readState(dir), 'aborted');
  });

  it('a rewrite of an old step from a clock two hours behind supersedes the old value', async () => {
    const child = spawnLogChild(
      {
        init: { logdir, id: 'skewed', resume: 'must' },
        steps: 1,
        startStep: 2,
        keys: ['loss'],
        valueOffset: 0.25,
      },
      skewed(-2 * HOUR),
    );
    const started = await child.waitFor('started');
    assert.equal(started.step, 7, 'the counter continues after the last visible step');
    assert.deepEqual(await child.exited, { code: 0, signal: null }, child.stderr());
    assert.deepEqual(readSeries(dir, 'loss').values, [0, 1000, 2000.25, 3000, 4000, 5000.5, 6000.5]);
    assert.equal(readState(dir), 'finished');
  });
});
