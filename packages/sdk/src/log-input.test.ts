// What log() and init() take: keys that read back as written, plain objects only, and errors that
// name a refused value's type. Every refused call must store nothing and leave the step counter.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type InitOptions, initSync } from './index.js';
import { readSeries, throwsCode, withReader } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);
const start = (options: InitOptions = {}) => initSync({ logdir: freshLogdir(), ...options }, {});
const asData = (data: unknown) => data as Record<string, number>;

before(() => {
  root = tempDir('swanlog-log-input-');
});
after(() => root.remove());

describe('metric keys must be well-formed text', () => {
  // Regression: log({good: 2, '\ud800': 1}) then log({good: 3, '\udc00': 2}) were both accepted;
  // SQLite stored both keys as U+FFFD, they read back as one key, and one point was lost.
  it('a key with a lone surrogate is INVALID_VALUE: nothing of the call is stored, the step stays', async () => {
    const run = start();
    const first = throwsCode(() => run.log({ good: 2, '\ud800': 1 }), 'INVALID_VALUE');
    assert.match(first.message, /metric key "\\ud800" is not a valid key/);
    assert.match(first.message, new RegExp(run.id));
    assert.match(first.hint ?? '', /lone surrogate/);
    throwsCode(() => run.log({ good: 3, '\udc00': 2 }), 'INVALID_VALUE');
    assert.equal(run.step, 0);
    run.log({ good: 4 });
    run.log({ good: 5, '😀': 6 });
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['good', '😀']));
    assert.deepEqual(readSeries(run.dir, 'good'), { steps: [0, 1], values: [4, 5] });
    assert.deepEqual(readSeries(run.dir, '😀'), { steps: [1], values: [6] });
  });

  it('half of a surrogate pair at either end of a key is refused too', async () => {
    const run = start();
    for (const key of ['loss\ud83d', '\ude00loss', 'a\udc00\ud800b']) {
      throwsCode(() => run.log({ [key]: 1 }), 'INVALID_VALUE');
    }
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });

  it('a project, workspace or name with a lone surrogate is INVALID_OPTION and creates no run', () => {
    for (const options of [{ project: 'p\ud800' }, { workspace: '\udfff' }, { name: 'run \ud83d' }]) {
      const logdir = freshLogdir();
      const error = throwsCode(() => initSync({ logdir, ...options }, {}), 'INVALID_OPTION');
      assert.match(error.hint ?? '', /lone surrogate/);
      assert.equal(existsSync(logdir), false);
    }
  });
});

describe('log() takes plain objects, own keys only', () => {
  // Regression: log(new Map(...)) was accepted, logged nothing and advanced the step.
  it('a Map is INVALID_VALUE with a hint, stores nothing and leaves the step', async () => {
    const run = start();
    run.log({ loss: 1 });
    const error = throwsCode(() => run.log(asData(new Map([['loss', 2]]))), 'INVALID_VALUE');
    assert.match(error.message, /log\(\) takes a plain object of key → number, got an object \(Map\)/);
    assert.match(error.hint ?? '', /Object\.fromEntries/);
    assert.equal(run.step, 1);
    run.log({ loss: 3 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0, 1], values: [1, 3] });
  });

  it('a class instance, a Date or an object with another prototype is INVALID_VALUE', async () => {
    class Metrics {
      loss = 1;
    }
    const run = start();
    for (const [data, said] of [
      [new Metrics(), 'an object (Metrics)'],
      [new Date(0), 'an object (Date)'],
      [Object.create({ inherited: 1 }), 'an object (Object)'],
    ] as const) {
      const error = throwsCode(() => run.log(asData(data)), 'INVALID_VALUE');
      assert.ok(error.message.endsWith(`got ${said}`), error.message);
    }
    assert.equal(run.step, 0);
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });

  // Regression: `for...in` also logged enumerable properties inherited from Object.prototype.
  it('an enumerable property added to Object.prototype is not logged', async () => {
    const run = start();
    Object.defineProperty(Object.prototype, 'polluted', { value: 7, enumerable: true, configurable: true });
    try {
      run.log({ loss: 1 });
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['loss']));
  });

  it('a symbol key is INVALID_VALUE and stores nothing', async () => {
    const run = start();
    const error = throwsCode(() => run.log(asData({ loss: 1, [Symbol('acc')]: 2 })), 'INVALID_VALUE');
    assert.match(error.message, /symbol key/);
    assert.equal(run.step, 0);
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });

  it('a key named __proto__ (from JSON.parse or Object.create(null)) is logged', async () => {
    const run = start();
    run.log(JSON.parse('{"__proto__": 1, "loss": 2}') as Record<string, number>);
    const bare = Object.create(null) as Record<string, number>;
    // biome-ignore lint/suspicious/noProto: an Object.create(null) has no __proto__ accessor; this sets the key under test
    bare.__proto__ = 3;
    run.log(bare);
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['__proto__', 'loss']));
    assert.deepEqual(readSeries(run.dir, '__proto__'), { steps: [0, 1], values: [1, 3] });
  });
});

describe('what a refused value is called', () => {
  // Regression: log({ loss: undefined }) said `value of key "loss" is a undefined (undefined)`.
  const cases: [unknown, string][] = [
    [undefined, 'is undefined'],
    ['abc', 'is a string ("abc")'],
    [new Map([['v', 1]]), 'is an object (Map)'],
    [new Date(0), 'is an object (Date)'],
    [12n, 'is a bigint (12n)'],
    [false, 'is a boolean (false)'],
    [[1], 'is an array'],
    [null, 'is null'],
    [Symbol('s'), 'is a symbol (Symbol(s))'],
    [function f() {}, 'is a function'],
  ];
  for (const [value, said] of cases) {
    it(`log({ loss: … }) ${said}; the step stays`, async () => {
      const run = start();
      const error = throwsCode(() => run.log(asData({ loss: value })), 'INVALID_VALUE');
      assert.equal(error.message, `run ${run.id}: value of key "loss" ${said}; log() takes numbers`);
      assert.equal(run.step, 0);
      await run.finish();
      withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
    });
  }

  const configCases: [Record<string, unknown>, string][] = [
    [{ seed: 12n }, 'config.seed is a bigint (12n), which JSON cannot hold'],
    [{ fn: () => 1 }, 'config.fn is a function, which JSON cannot hold'],
    [{ tag: Symbol('t') }, 'config.tag is a symbol (Symbol(t)), which JSON cannot hold'],
    [{ lr: Number.NaN }, 'config.lr is NaN, which JSON cannot hold'],
    [
      { opt: { name: 'adam\ud800' } },
      'config.name is a string ("adam\\ud800"), which is not well-formed text',
    ],
    [{ 'lr\udc00': 1 }, 'config key "lr\\udc00" is not well-formed text'],
  ];
  for (const [config, message] of configCases) {
    it(`init({ config }) says "${message}" and creates no run`, () => {
      const logdir = freshLogdir();
      const error = throwsCode(() => initSync({ logdir, config }, {}), 'INVALID_VALUE');
      assert.equal(error.message, message);
      assert.equal(existsSync(logdir), false);
    });
  }

  it('a config that is not an object names what it is', () => {
    const error = throwsCode(
      () => start({ config: 'lr=1' as unknown as Record<string, unknown> }),
      'INVALID_VALUE',
    );
    assert.equal(error.message, 'config must be an object, got a string ("lr=1")');
  });
});
