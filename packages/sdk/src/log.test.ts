import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunReader } from '@swanlog/store';
import { type InitOptions, initSync, type Run } from './index.js';
import { range, readSeries, readState, throwsCode, walFiles, withReader } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);
const start = (options: InitOptions = {}) => initSync({ logdir: freshLogdir(), ...options }, {});

before(() => {
  root = tempDir('swanlog-log-');
});
after(() => root.remove());

describe('auto step (DESIGN.md "Logging semantics")', () => {
  it('a new run starts at 0 and each log() without a step adds 1', async () => {
    const run = start();
    assert.equal(run.step, 0);
    run.log({ a: 10 });
    assert.equal(run.step, 1);
    run.log({ a: 11 });
    run.log({ a: 12, b: 1 });
    assert.equal(run.step, 3);
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'a'), { steps: [0, 1, 2], values: [10, 11, 12] });
    assert.deepEqual(readSeries(run.dir, 'b'), { steps: [2], values: [1] });
  });

  it('an explicit step s is used as given and the counter becomes s + 1, also when s is lower', async () => {
    const run = start();
    run.log({ a: 1 });
    run.log({ a: 2 }, 10);
    assert.equal(run.step, 11);
    run.log({ a: 3 });
    run.log({ a: 4 }, 5);
    assert.equal(run.step, 6);
    run.log({ a: 5 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'a'), { steps: [0, 5, 6, 10, 11], values: [1, 4, 5, 2, 3] });
  });

  it('logging a step again in one session shows the latest value and keeps the earlier one superseded', async () => {
    const run = start();
    run.log({ a: 1 }, 3);
    run.log({ a: 2 }, 3);
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'a'), { steps: [3], values: [2] });
    const all = readSeries(run.dir, 'a', true);
    assert.deepEqual(all.steps, [3, 3]);
    assert.deepEqual([...all.values].sort(), [1, 2]);
    assert.equal(all.superseded?.filter((x) => x === 1).length, 1);
  });

  it('step 0 and the largest safe integer are valid steps', async () => {
    const run = start();
    run.log({ a: 1 }, 0);
    run.log({ a: 2 }, Number.MAX_SAFE_INTEGER);
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'a').steps, [0, Number.MAX_SAFE_INTEGER]);
  });

  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    it(`step ${bad} is INVALID_VALUE and stores nothing`, async () => {
      const run = start();
      run.log({ a: 1 });
      throwsCode(() => run.log({ a: 2, fresh: 3 }, bad), 'INVALID_VALUE');
      await run.finish();
      assert.deepEqual(readSeries(run.dir, 'a'), { steps: [0], values: [1] });
      withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['a']));
    });
  }
});

describe('values (DESIGN.md "Logging semantics")', () => {
  it('NaN, Infinity, -Infinity, -0, 1e-300 and extreme doubles round-trip exactly', async () => {
    const special: Record<string, number> = {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      negzero: -0,
      tiny: 1e-300,
      denormal: 5e-324,
      max: Number.MAX_VALUE,
      third: 1 / 3,
    };
    const run = start();
    run.log(special);
    run.log({ nan: 1, inf: 2, ninf: 3, negzero: 0, tiny: -1e-300, denormal: -5e-324, max: -1, third: 2 / 3 });
    run.log(special);
    await run.finish();
    for (const [key, value] of Object.entries(special)) {
      const s = readSeries(run.dir, key);
      assert.deepEqual(s.steps, [0, 1, 2], key);
      assert.ok(Object.is(s.values[0], value), `${key}: stored ${s.values[0]}, logged ${value}`);
      assert.ok(Object.is(s.values[2], value), `${key}: stored ${s.values[2]}, logged ${value}`);
    }
    assert.ok(Object.is(readSeries(run.dir, 'negzero').values[1], 0));
  });

  const nonNumbers: [string, unknown][] = [
    ['a string', '0.5'],
    ['a boolean', true],
    ['null', null],
    ['undefined', undefined],
    [
      'an object that is not a plain object',
      new (class Box {
        v = 1;
      })(),
    ],
    ['a nested object holding a string', { v: 'x' }],
    ['an array', [1]],
    ['a bigint', 1n],
  ];
  for (const [what, value] of nonNumbers) {
    it(`${what} is INVALID_VALUE naming the key, and nothing of that call is stored`, async () => {
      const run = start();
      run.log({ loss: 1, acc: 0.5 });
      for (const data of [
        { loss: 2, acc: 0.6, 'bad/key': value },
        { 'bad/key': value, loss: 2, newkey: 3 },
      ]) {
        const error = throwsCode(() => run.log(data as unknown as Record<string, number>), 'INVALID_VALUE');
        assert.match(error.message, /bad\/key/);
      }
      await run.finish();
      assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0], values: [1] });
      assert.deepEqual(readSeries(run.dir, 'acc'), { steps: [0], values: [0.5] });
      withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['acc', 'loss']));
    });
  }

  it('a failed call leaves the handle usable: the next good call is stored', async () => {
    const run = start({ flushInterval: 0 });
    throwsCode(() => run.log({ a: 1, b: 'x' as unknown as number }), 'INVALID_VALUE');
    run.log({ a: 2 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'a').values, [2]);
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['a']));
  });

  it('log() of something other than an object is INVALID_VALUE', async () => {
    const run = start();
    for (const data of [null, 3, 'loss', [1, 2]]) {
      throwsCode(() => run.log(data as unknown as Record<string, number>), 'INVALID_VALUE');
    }
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });
});

describe('metric keys (DESIGN.md "Logging semantics")', () => {
  const badKeys: [string, string][] = [
    ['the empty key', ''],
    ['a 256-character key', 'k'.repeat(256)],
    ['a key with a newline', 'train\nloss'],
    ['a key with a NUL', 'train\u0000loss'],
    ['a key with a tab', 'train\tloss'],
    ['a key with DEL', 'train\u007floss'],
  ];
  for (const [what, key] of badKeys) {
    it(`${what} is INVALID_VALUE and nothing of that call is stored`, async () => {
      const run = start();
      run.log({ loss: 1 });
      throwsCode(() => run.log({ loss: 2, [key]: 1, other: 3 }), 'INVALID_VALUE');
      await run.finish();
      assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0], values: [1] });
      withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['loss']));
    });
  }

  it('a 255-character key, unicode and emoji keys work', async () => {
    const keys = ['k'.repeat(255), '损失/训练', '🔥loss', 'train/ρ², α→β', 'eval loss (val) #1'];
    const run = start();
    run.log(Object.fromEntries(keys.map((k, i) => [k, i])));
    run.log(Object.fromEntries(keys.map((k, i) => [k, i + 10])));
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), [...keys].sort()));
    keys.forEach((k, i) => {
      assert.deepEqual(readSeries(run.dir, k), { steps: [0, 1], values: [i, i + 10] }, k);
    });
  });
});

describe('durability and flushInterval', () => {
  it('flushInterval 0 makes every log() durable at once, visible to a reader while the run is live', async () => {
    const run = start({ flushInterval: 0 });
    for (let i = 1; i <= 5; i++) {
      run.log({ a: i });
      assert.equal(run.logged, i);
      assert.equal(run.flushedThrough, i);
      assert.deepEqual(readSeries(run.dir, 'a').steps, range(0, i));
    }
    assert.equal(readState(run.dir), 'running');
    await run.finish();
    assert.deepEqual(walFiles(run.dir ?? ''), [], 'readers that came and went leave no -wal file behind');
  });

  it('flush() makes everything logged so far durable', async () => {
    const run = start({ flushInterval: 3_600_000 });
    for (let i = 0; i < 100; i++) run.log({ a: i, b: -i });
    run.flush();
    assert.equal(run.logged, 100);
    assert.equal(run.flushedThrough, 100);
    assert.deepEqual(readSeries(run.dir, 'b').steps, range(0, 100));
    await run.finish();
  });

  it('a negative or non-numeric flushInterval is INVALID_OPTION', () => {
    for (const flushInterval of [-1, Number.NaN]) {
      throwsCode(() => start({ flushInterval }), 'INVALID_OPTION');
    }
  });
});

describe('finish()', () => {
  let run: Run;

  before(async () => {
    run = start({ flushInterval: 3_600_000 });
    for (let i = 0; i < 50; i++) run.log({ a: i });
    await run.finish();
  });

  it('flushes everything and marks the run finished', () => {
    assert.equal(run.flushedThrough, 50);
    assert.deepEqual(readSeries(run.dir, 'a').steps, range(0, 50));
    assert.equal(readState(run.dir), 'finished');
  });

  it('can be called again, also concurrently', async () => {
    await run.finish();
    await Promise.all([run.finish(), run.finish()]);
    assert.equal(readState(run.dir), 'finished');
  });

  it('log() after finish is RUN_FINISHED and stores nothing', () => {
    const error = throwsCode(() => run.log({ a: 99 }), 'RUN_FINISHED');
    assert.match(error.message, new RegExp(run.id));
    throwsCode(() => run.log({ a: 99 }, 1000), 'RUN_FINISHED');
    assert.deepEqual(readSeries(run.dir, 'a').steps, range(0, 50));
  });

  it('leaves no -wal file in the run directory or writers/', () => {
    assert.deepEqual(walFiles(run.dir ?? ''), []);
  });

  it('leaves no -wal file once a reader that was open during finish() (swanlog watch) has closed', async () => {
    const live = start();
    for (let i = 0; i < 100; i++) live.log({ a: i });
    live.flush();
    const watcher = RunReader.open(live.dir!);
    try {
      assert.equal(watcher.series('a').steps.length, 100);
      await live.finish();
    } finally {
      watcher.close();
    }
    assert.deepEqual(walFiles(live.dir!), []);
    // And a reader opening it afterwards (swanlog ls) leaves none either.
    assert.equal(readState(live.dir), 'finished');
    assert.deepEqual(walFiles(live.dir!), []);
  });

  it('leaves no -wal file after a resumed session either', async () => {
    const resumed = initSync({ logdir: join(run.dir ?? '', '..'), id: run.id, resume: 'must' }, {});
    resumed.log({ a: 50 });
    await resumed.finish();
    assert.equal(
      readdirSync(join(resumed.dir ?? '', 'writers')).filter((f) => f.endsWith('.sqlite')).length,
      2,
    );
    assert.deepEqual(walFiles(resumed.dir ?? ''), []);
    assert.equal(readState(resumed.dir), 'finished');
  });
});

describe('modes (DESIGN.md "Modes")', () => {
  it("mode 'disabled': log() is a no-op and nothing is written, not even the logdir", async () => {
    const logdir = freshLogdir();
    const run = initSync({ logdir, mode: 'disabled' }, {});
    assert.equal(run.dir, null);
    run.log({ a: 1 });
    run.log({ a: 2 }, 7);
    run.flush();
    await run.finish();
    await run.finish();
    assert.equal(existsSync(logdir), false);
  });

  it("mode 'disabled' with an id to resume writes nothing either", async () => {
    const logdir = freshLogdir();
    const run = initSync({ logdir, mode: 'disabled', id: 'some-id', resume: 'allow' }, {});
    run.log({ a: 1 });
    await run.finish();
    assert.equal(existsSync(logdir), false);
  });

  it("mode 'local' behaves like offline: a run directory, points, resume", async () => {
    const logdir = freshLogdir();
    const run = initSync({ logdir, mode: 'local', id: 'local-run', resume: 'allow' }, {});
    run.log({ a: 1 });
    await run.finish();
    assert.equal(readState(run.dir), 'finished');
    const resumed = initSync({ logdir, mode: 'local', id: 'local-run', resume: 'must' }, {});
    assert.equal(resumed.dir, run.dir);
    resumed.log({ a: 2 });
    await resumed.finish();
    assert.deepEqual(readSeries(run.dir, 'a'), { steps: [0, 1], values: [1, 2] });
  });
});
