import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { range, readSeries, readState, walFiles, withReader } from './test-support/read-run.js';
import { killChildren, spawnLogChild } from './test-support/spawn-log-child.js';
import { tempDir } from './test-support/temp-dir.js';

// A training process SIGKILLed mid-run, then resumed by another process: what a user whose job was
// preempted sees (DESIGN.md "Logging semantics", "Run state and signals", "Resume").

const KEYS = ['loss', 'acc'];
/** What log-child writes for step s and key index k. */
const valueAt = (s: number, k: number) => s * 1000 + k;

let root: ReturnType<typeof tempDir>;

before(() => {
  root = tempDir('swanlog-crash-');
});
after(async () => {
  await killChildren();
  root.remove();
});

describe('SIGKILL of a logging process, then resume', { timeout: 60_000 }, () => {
  const logdir = () => join(root.path, 'logdir');
  let id: string;
  let dir: string;
  let durable: number;
  let lastVisible: number;

  it('the killed run is crashed and holds every point it reported durable, with the right values', async () => {
    const child = spawnLogChild({
      init: { logdir: logdir(), id: 'preempted', resume: 'allow', flushInterval: 20 },
      steps: 1_000_000,
      keys: KEYS,
      reportEvery: 10,
      sleepMs: 1,
    });
    const line = await child.waitFor('progress', (l) => (l.flushedThrough ?? 0) >= 150, 20_000);
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const last = child.lines.filter((l) => l.event === 'progress').at(-1)!;
    durable = last.flushedThrough!;
    assert.ok(durable >= 150);
    id = line.id!;
    dir = line.dir!;
    assert.equal(id, 'preempted');

    assert.equal(readState(dir), 'crashed');
    KEYS.forEach((key, k) => {
      const s = readSeries(dir, key);
      // Flushes commit whole calls in order: the visible steps are a prefix 0..m-1 with m >= durable.
      assert.ok(s.steps.length >= durable, `${key}: ${s.steps.length} points, ${durable} reported durable`);
      assert.deepEqual(s.steps, range(0, s.steps.length), `${key}: no gap, no duplicate`);
      assert.deepEqual(
        s.values,
        s.steps.map((step) => valueAt(step, k)),
        `${key}: every value as logged`,
      );
    });
    lastVisible = withReader(dir, (r) => r.lastVisibleStep())!;
    assert.equal(lastVisible, readSeries(dir, 'loss').steps.length - 1);
  });

  it("resume 'must' in another process: running while it lives, steps continue at last visible + 1, then finished", async () => {
    assert.ok(dir !== undefined, 'the previous test made the crashed run');
    const gate = join(root.path, 'finish-resumed');
    const child = spawnLogChild({
      init: { logdir: logdir(), id, resume: 'must', flushInterval: 20 },
      steps: 30,
      keys: KEYS,
      valueOffset: 0.5,
      holdAt: 30,
      holdGate: gate,
    });
    const started = await child.waitFor('started');
    assert.equal(started.dir, dir, 'the same run directory');
    assert.equal(started.step, lastVisible + 1);
    await child.waitFor('held');
    assert.equal(readState(dir), 'running');
    assert.ok(child.alive());
    writeFileSync(gate, '');
    await child.waitFor('finished');
    const exit = await child.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
    assert.equal(readState(dir), 'finished');
    assert.deepEqual(walFiles(dir), [], 'finish() of the resumed session leaves no -wal file behind');

    const total = lastVisible + 1 + 30;
    KEYS.forEach((key, k) => {
      const s = readSeries(dir, key);
      assert.deepEqual(s.steps, range(0, total));
      assert.deepEqual(
        s.values,
        s.steps.map((step) => (step <= lastVisible ? valueAt(step, k) : valueAt(step, k) + 0.5)),
      );
      const all = readSeries(dir, key, true);
      const pairs = new Set(all.steps);
      assert.equal(pairs.size, all.steps.length, `${key}: no duplicate (key, step) pair`);
      assert.ok(
        all.superseded?.every((x) => x === 0),
        `${key}: nothing superseded`,
      );
    });
    withReader(dir, (r) => {
      const segments = r.segments();
      assert.deepEqual(
        segments.map((s) => [s.resumed, s.state]),
        [
          [false, 'crashed'],
          [true, 'finished'],
        ],
      );
    });
  });
});

describe('SIGKILL, then resume from a checkpoint step (fromStep) in another process', {
  timeout: 60_000,
}, () => {
  it('the rewound points are superseded, the new ones visible, no duplicate visible step', async () => {
    const logdir = join(root.path, 'logdir-rewind');
    const child = spawnLogChild({
      init: { logdir, id: 'ckpt', resume: 'allow', flushInterval: 20 },
      steps: 1_000_000,
      keys: ['loss'],
      reportEvery: 10,
      sleepMs: 1,
    });
    const line = await child.waitFor('progress', (l) => (l.flushedThrough ?? 0) >= 60, 20_000);
    child.proc.kill('SIGKILL');
    await child.exited;
    const dir = line.dir!;
    const before = readSeries(dir, 'loss').steps.length;
    assert.ok(before >= 60);

    const resumed = spawnLogChild({
      init: { logdir, id: 'ckpt', resume: 'must', fromStep: 29, flushInterval: 20 },
      steps: 10,
      keys: ['loss'],
      valueOffset: 0.25,
    });
    const started = await resumed.waitFor('started');
    assert.equal(started.step, 30);
    await resumed.waitFor('finished');
    assert.deepEqual(await resumed.exited, { code: 0, signal: null }, resumed.stderr());

    const visible = readSeries(dir, 'loss');
    assert.deepEqual(visible.steps, range(0, 40));
    assert.deepEqual(
      visible.values,
      visible.steps.map((s) => (s < 30 ? s * 1000 : s * 1000 + 0.25)),
    );
    const all = readSeries(dir, 'loss', true);
    assert.equal(all.steps.length, before + 10, 'nothing deleted');
    assert.equal(all.superseded?.filter((x) => x === 1).length, before - 30);
    assert.equal(readState(dir), 'finished');
  });
});
