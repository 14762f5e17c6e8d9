import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRunDir, listRunDirs } from '@swanlog/store';
import type { LogChildOptions } from './test-support/log-child-options.js';
import { range, readSeries, readState, withReader } from './test-support/read-run.js';
import { killChildren, type LogChild, spawnLogChild } from './test-support/spawn-log-child.js';
import { tempDir } from './test-support/temp-dir.js';

// Several processes writing one run at the same time (train + eval, DDP ranks), and several
// processes creating the same id at once (DESIGN.md "Identity", "Run directory").

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);

before(() => {
  root = tempDir('swanlog-concurrent-');
});
after(async () => {
  await killChildren();
  root.remove();
});

/**
 * Starts one child per options object, all released at the same moment by a gate file; when
 * `hold` is set each child stops after that many calls until every child has got there, so their
 * writing overlaps in time for sure. Resolves when all have exited with code 0.
 */
async function runTogether(children: Omit<LogChildOptions, 'startGate' | 'holdGate'>[], hold?: number) {
  const startGate = join(root.path, `start-${n++}`);
  const holdGate = join(root.path, `hold-${n++}`);
  const procs: LogChild[] = children.map((options) =>
    spawnLogChild({
      ...options,
      startGate,
      ...(hold === undefined ? {} : { holdAt: hold, holdGate }),
    }),
  );
  await Promise.all(procs.map((c) => c.waitFor('ready')));
  writeFileSync(startGate, '');
  if (hold !== undefined) {
    await Promise.all(procs.map((c) => c.waitFor('held')));
    writeFileSync(holdGate, '');
  }
  await Promise.all(procs.map((c) => c.waitFor('finished')));
  const exits = await Promise.all(procs.map((c) => c.exited));
  exits.forEach((exit, i) => {
    assert.deepEqual(exit, { code: 0, signal: null }, procs[i]?.stderr());
  });
  return procs;
}

describe('two processes writing one run at once', { timeout: 60_000 }, () => {
  it('different keys at the same steps: nothing is lost', async () => {
    const logdir = freshLogdir();
    const init = { logdir, id: 'train-eval', resume: 'allow' as const, flushInterval: 10 };
    const procs = await runTogether(
      [
        { init, steps: 40, startStep: 0, keys: ['train/loss'], sleepMs: 2 },
        { init, steps: 40, startStep: 0, keys: ['eval/loss'], sleepMs: 2, valueOffset: 0.5 },
      ],
      20,
    );
    assert.equal(listRunDirs(logdir).length, 1);
    const dir = findRunDir(logdir, 'train-eval')!;
    for (const p of procs) assert.equal(p.lines[0]?.event, 'ready');
    assert.deepEqual(readSeries(dir, 'train/loss'), {
      steps: range(0, 40),
      values: range(0, 40).map((s) => s * 1000),
    });
    assert.deepEqual(readSeries(dir, 'eval/loss'), {
      steps: range(0, 40),
      values: range(0, 40).map((s) => s * 1000 + 0.5),
    });
    withReader(dir, (r) => assert.equal(r.segments().length, 2));
    assert.equal(readState(dir), 'finished');
  });

  it('the same key at distinct interleaved steps: every point of both writers is visible', async () => {
    const logdir = freshLogdir();
    const init = { logdir, id: 'ranks', resume: 'allow' as const, flushInterval: 10 };
    await runTogether(
      [
        { init, steps: 40, startStep: 0, stride: 2, keys: ['shared'], sleepMs: 2, valueOffset: 0.25 },
        { init, steps: 40, startStep: 1, stride: 2, keys: ['shared'], sleepMs: 2, valueOffset: 0.75 },
      ],
      20,
    );
    const dir = findRunDir(logdir, 'ranks')!;
    const s = readSeries(dir, 'shared');
    assert.deepEqual(s.steps, range(0, 80));
    assert.deepEqual(
      s.values,
      range(0, 80).map((step) => step * 1000 + (step % 2 === 0 ? 0.25 : 0.75)),
    );
    assert.equal(readSeries(dir, 'shared', true).steps.length, 80, 'no duplicate, nothing superseded');
  });
});

describe('processes creating the same id at the same moment', { timeout: 60_000 }, () => {
  it("5 processes init({ id, resume: 'allow' }) at once end in ONE run directory holding all their points", async () => {
    const logdir = freshLogdir();
    const writers = 5;
    const procs = await runTogether(
      range(0, writers).map((i) => ({
        init: { logdir, id: 'race', resume: 'allow' as const, flushInterval: 10 },
        steps: 25,
        startStep: 0,
        keys: [`rank${i}/loss`],
        valueOffset: i / 10,
      })),
    );
    const dirs = listRunDirs(logdir);
    assert.equal(dirs.length, 1, `run directories: ${dirs.join(', ')}`);
    assert.equal(findRunDir(logdir, 'race'), dirs[0]);
    const reported = new Set(procs.map((p) => p.lines.find((l) => l.event === 'started')?.dir));
    assert.deepEqual([...reported], dirs, 'every process logged into that directory');
    const dir = dirs[0]!;
    withReader(dir, (r) => {
      assert.equal(r.meta.id, 'race');
      assert.deepEqual(
        r.keys(),
        range(0, writers)
          .map((i) => `rank${i}/loss`)
          .sort(),
      );
      assert.equal(r.segments().length, writers);
      assert.equal(r.segments().filter((s) => !s.resumed).length, 1, 'exactly one process created the run');
    });
    for (let i = 0; i < writers; i++) {
      assert.deepEqual(readSeries(dir, `rank${i}/loss`), {
        steps: range(0, 25),
        values: range(0, 25).map((s) => s * 1000 + i / 10),
      });
    }
    assert.equal(readState(dir), 'finished');
  });
});
