import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { range, readSeries, readState } from './test-support/read-run.js';
import { killChildren, spawnLogChild } from './test-support/spawn-log-child.js';
import { tempDir } from './test-support/temp-dir.js';

// DESIGN.md "Run state and signals": the SDK never changes how a process reacts to a signal. With no
// handler of the user's, SIGTERM flushes, marks the run aborted and the process dies by SIGTERM;
// with the user's handler, the SDK only flushes.

let root: ReturnType<typeof tempDir>;

before(() => {
  root = tempDir('swanlog-signals-');
});
after(async () => {
  await killChildren();
  root.remove();
});

describe('SIGTERM', { timeout: 60_000 }, () => {
  it('without a user handler: the process dies by SIGTERM, the run is aborted, buffered points are flushed', async () => {
    const child = spawnLogChild({
      // A flush interval far longer than the test: only the signal handling can make points durable.
      init: { logdir: join(root.path, 'plain'), flushInterval: 3_600_000 },
      steps: 1_000_000,
      keys: ['loss'],
      reportEvery: 10,
      sleepMs: 2,
    });
    const line = await child.waitFor('progress', (l) => (l.logged ?? 0) >= 40);
    assert.equal(line.flushedThrough, 0, 'nothing flushed before the signal');
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    assert.deepEqual(exit, { code: null, signal: 'SIGTERM' });

    const dir = line.dir!;
    assert.equal(readState(dir), 'aborted');
    const logged = child.lines.filter((l) => l.event === 'progress').at(-1)!.logged!;
    const s = readSeries(dir, 'loss');
    assert.ok(
      s.steps.length >= logged,
      `${s.steps.length} points stored, ${logged} logged before the signal`,
    );
    assert.deepEqual(s.steps, range(0, s.steps.length));
    assert.deepEqual(
      s.values,
      s.steps.map((step) => step * 1000),
    );
  });

  it('SIGINT without a user handler: the process dies by SIGINT and the run is aborted', async () => {
    const child = spawnLogChild({
      init: { logdir: join(root.path, 'sigint'), flushInterval: 3_600_000 },
      steps: 20,
      keys: ['loss'],
      finish: false,
    });
    const line = await child.waitFor('flushed');
    child.proc.kill('SIGINT');
    const exit = await child.exited;
    assert.deepEqual(exit, { code: null, signal: 'SIGINT' });
    assert.equal(readState(line.dir!), 'aborted');
    assert.deepEqual(readSeries(line.dir!, 'loss').steps, range(0, 20));
  });

  it('with a user handler: the process keeps running, points are flushed, the run stays running', async () => {
    const gate = join(root.path, 'never-created');
    const child = spawnLogChild({
      init: { logdir: join(root.path, 'user-handler'), flushInterval: 3_600_000 },
      steps: 60,
      keys: ['loss'],
      userSigtermHandler: true,
      holdAt: 60,
      holdGate: gate,
    });
    const held = await child.waitFor('held');
    assert.equal(held.logged, 60);
    assert.equal(held.flushedThrough, 0, 'nothing flushed before the signal');
    const dir = held.dir!;

    child.proc.kill('SIGTERM');
    await child.waitFor('user-sigterm');
    const afterSignal = await child.waitFor('after-sigterm');
    assert.equal(afterSignal.flushedThrough, 60);
    assert.ok(child.alive(), 'the process is still alive after the signal');
    assert.doesNotThrow(() => process.kill(child.proc.pid!, 0));

    assert.deepEqual(readSeries(dir, 'loss').steps, range(0, 60));
    assert.equal(readState(dir), 'running');

    // A second SIGTERM is handled the same way.
    child.proc.kill('SIGTERM');
    await child.waitFor('after-sigterm', (l) => l !== afterSignal);
    assert.ok(child.alive());

    child.proc.kill('SIGKILL');
    assert.equal((await child.exited).signal, 'SIGKILL');
    assert.equal(readState(dir), 'crashed');
  });

  it('with a user handler installed by process.once: the process keeps running too, and the run stays running', async () => {
    // Graceful-shutdown code often uses process.once('SIGTERM', saveCheckpointThenExit); the SDK
    // must not kill the process while that handler's async work is going on.
    const child = spawnLogChild({
      init: { logdir: join(root.path, 'user-once-handler'), flushInterval: 3_600_000 },
      steps: 30,
      keys: ['loss'],
      userSigtermHandler: 'once',
      holdAt: 30,
      holdGate: join(root.path, 'never-created-either'),
    });
    const held = await child.waitFor('held');
    child.proc.kill('SIGTERM');
    await child.waitFor('user-sigterm');
    const afterSignal = await child.waitFor('after-sigterm');
    assert.equal(afterSignal.flushedThrough, 30);
    assert.ok(child.alive(), 'the process is still alive after the signal');
    assert.deepEqual(readSeries(held.dir!, 'loss').steps, range(0, 30));
    assert.equal(readState(held.dir!), 'running');
    child.proc.kill('SIGKILL');
    await child.exited;
  });
});
