import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type ErrorCode, SwanlogError } from '@swanlog/protocol';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import { makeRun, tempDir } from './test-support/run-fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());
let counter = 0;

function expectCode(fn: () => unknown, code: ErrorCode, label: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof SwanlogError, `${label}: not a SwanlogError: ${String(error)}`);
      assert.equal(error.code, code, `${label}: ${error.message}`);
      return true;
    },
    `${label}: accepted`,
  );
}

function readBack(dir: string, key: string): { steps: number[]; values: number[] } {
  const reader = RunReader.open(dir);
  try {
    const s = reader.series(key);
    return { steps: Array.from(s.steps), values: Array.from(s.values) };
  } finally {
    reader.close();
  }
}

describe('RunWriter.append checks its input (a bad call stores nothing, nothing is mangled)', () => {
  for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2]) {
    test(`step ${bad} is INVALID_VALUE; the points before it stay and the writer goes on`, async () => {
      const dir = makeRun(tmp.path, `bad-step-${++counter}`);
      const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
      try {
        writer.append({ loss: 1 }, 0);
        expectCode(() => writer.append({ loss: 2 }, bad), 'INVALID_VALUE', `step ${bad}`);
        writer.append({ loss: 3 }, 1);
        writer.flush();
      } finally {
        await writer.finish('finished');
      }
      assert.deepEqual(readBack(dir, 'loss'), { steps: [0, 1], values: [1, 3] });
    });
  }

  test('a non-number value or a bad key is INVALID_VALUE and stores nothing of that call', async () => {
    const dir = makeRun(tmp.path, 'bad-values');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      writer.append({ loss: 1, acc: 0.5 }, 0);
      const bad: [Record<string, unknown>, string][] = [
        [{ loss: 2, acc: '0.7' }, 'a string value'],
        [{ loss: 2, acc: null }, 'a null value'],
        [{ loss: 2, acc: 1n }, 'a bigint value'],
        [{ loss: 2, '': 1 }, 'an empty key'],
        [{ loss: 2, 'a\nb': 1 }, 'a key with a newline'],
        [{ loss: 2, 'x\u0000': 1 }, 'a key with NUL'],
        [{ loss: 2, ['k'.repeat(256)]: 1 }, 'a 256-character key'],
      ];
      for (const [data, label] of bad) {
        expectCode(() => writer.append(data as Record<string, number>, 1), 'INVALID_VALUE', label);
      }
      writer.append({ loss: 3, ['k'.repeat(255)]: 4 }, 2);
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(readBack(dir, 'loss'), { steps: [0, 2], values: [1, 3] });
    assert.deepEqual(readBack(dir, 'acc'), { steps: [0], values: [0.5] });
    const reader = RunReader.open(dir);
    try {
      assert.deepEqual(reader.keys(), ['acc', 'k'.repeat(255), 'loss']);
    } finally {
      reader.close();
    }
  });

  test('calls whose keys change order, grow, shrink or follow a refused call store each value under its own key', async () => {
    const dir = makeRun(tmp.path, 'key-order');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      writer.append({ a: 1, b: 2 }, 0);
      writer.append({ a: 3, b: 4 }, 1); // the same keys in the same order
      writer.append({ b: 5, a: 6 }, 2); // swapped
      writer.append({ a: 7, c: 8, b: 9 }, 3); // a new key in the middle
      // Refused part-way, after a new key and after keys that moved: nothing of it is stored.
      expectCode(() => writer.append({ c: 10, d: 11, a: '12' } as never, 4), 'INVALID_VALUE', 'string value');
      writer.append({ c: 13, d: 14, a: 15 }, 5); // the refused call's keys, now valid
      writer.append({ a: 16 }, 6); // fewer keys
      writer.append({ a: 17, b: 18, c: 19, d: 20 }, 7);
      writer.append({ a: 21, b: 22, c: 23, d: 24 }, 8);
      // Refused at its second key, after its first one took the place of another.
      expectCode(() => writer.append({ b: 25, z: 'x' } as never, 9), 'INVALID_VALUE', 'refused at z');
      writer.append({ a: 26, b: 27, c: 28, d: 29 }, 10);
      writer.flush();
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(readBack(dir, 'a'), {
      steps: [0, 1, 2, 3, 5, 6, 7, 8, 10],
      values: [1, 3, 6, 7, 15, 16, 17, 21, 26],
    });
    assert.deepEqual(readBack(dir, 'b'), { steps: [0, 1, 2, 3, 7, 8, 10], values: [2, 4, 5, 9, 18, 22, 27] });
    assert.deepEqual(readBack(dir, 'c'), { steps: [3, 5, 7, 8, 10], values: [8, 13, 19, 23, 28] });
    assert.deepEqual(readBack(dir, 'd'), { steps: [5, 7, 8, 10], values: [14, 20, 24, 29] });
  });

  test('appending after the session ended is RUN_FINISHED', async () => {
    const dir = makeRun(tmp.path, 'after-finish');
    const writer = RunWriter.open({ dir, resumed: false });
    writer.append({ loss: 1 }, 0);
    await writer.finish('finished');
    expectCode(() => writer.append({ loss: 2 }, 1), 'RUN_FINISHED', 'append after finish');
    assert.deepEqual(readBack(dir, 'loss'), { steps: [0], values: [1] });
  });
});

function readKeys(dir: string): string[] {
  const reader = RunReader.open(dir);
  try {
    return reader.keys();
  } finally {
    reader.close();
  }
}

describe('RunWriter.append: what a refused value is called', () => {
  // Regression: the message read `value of key "loss" is a undefined (undefined)`.
  const cases: [string, unknown, string][] = [
    ['undefined', undefined, 'is undefined'],
    ['a string', 'abc', 'is a string ("abc")'],
    ['an object', { v: 1 }, 'is an object'],
    ['a Map', new Map([['v', 1]]), 'is an object (Map)'],
    ['a bigint', 12n, 'is a bigint (12n)'],
    ['a boolean', true, 'is a boolean (true)'],
    ['an array', [1, 2], 'is an array'],
    ['null', null, 'is null'],
    ['a symbol', Symbol('x'), 'is a symbol (Symbol(x))'],
    ['a function', () => 1, 'is a function'],
  ];
  for (const [what, value, said] of cases) {
    test(`${what}: "value of key "loss" ${said}; log() takes numbers"`, async () => {
      const dir = makeRun(tmp.path, `value-words-${++counter}`);
      const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
      try {
        assert.throws(
          () => writer.append({ loss: value } as unknown as Record<string, number>, 0),
          (error: unknown) => {
            assert.ok(error instanceof SwanlogError);
            assert.equal(error.code, 'INVALID_VALUE');
            assert.ok(
              error.message.endsWith(`value of key "loss" ${said}; log() takes numbers`),
              error.message,
            );
            assert.ok(error.message.includes(writer.runId), error.message);
            return true;
          },
        );
      } finally {
        await writer.finish('finished');
      }
    });
  }

  test('a long string value is shown cut short', async () => {
    const dir = makeRun(tmp.path, `value-words-${++counter}`);
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      const error = (() => {
        try {
          writer.append({ loss: 'x'.repeat(1000) } as unknown as Record<string, number>, 0);
        } catch (e) {
          return e as SwanlogError;
        }
        return undefined;
      })();
      assert.ok(error !== undefined);
      assert.match(error.message, /is a string \("x+…\); log\(\) takes numbers$/);
      assert.ok(error.message.length < 200, error.message);
    } finally {
      await writer.finish('finished');
    }
  });
});

describe('RunWriter.append: keys that would not read back as written', () => {
  // Regression: '\ud800' and '\udc00' were both accepted, stored by SQLite as U+FFFD, read back
  // as one key, and one of the two points was lost from export.
  test('a key with a lone surrogate is INVALID_VALUE and nothing of that call is stored', async () => {
    const dir = makeRun(tmp.path, 'lone-surrogate');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      for (const key of ['\ud800', '\udc00', 'loss\ud83d', '\ude00tail']) {
        expectCode(() => writer.append({ good: 2, [key]: 1 }, 0), 'INVALID_VALUE', JSON.stringify(key));
      }
      writer.append({ good: 3, '🔥': 4 }, 1);
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(readKeys(dir), ['good', '🔥']);
    assert.deepEqual(readBack(dir, 'good'), { steps: [1], values: [3] });
  });

  test('the lone-surrogate error names the key escaped, and the hint says why', async () => {
    const dir = makeRun(tmp.path, 'lone-surrogate-words');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      assert.throws(
        () => writer.append({ '\ud800': 1 }, 0),
        (error: unknown) => {
          assert.ok(error instanceof SwanlogError);
          assert.match(error.message, /metric key "\\ud800" is not a valid key/);
          assert.match(error.hint ?? '', /lone surrogate/);
          return true;
        },
      );
    } finally {
      await writer.finish('finished');
    }
  });

  // Regression: `for...in` logged enumerable properties inherited from the object's prototype.
  test('only own keys are logged, not inherited ones', async () => {
    const dir = makeRun(tmp.path, 'own-keys');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      const data = Object.create({ inherited: 9 }) as Record<string, number>;
      data.own = 1;
      writer.append(data, 0);
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(readKeys(dir), ['own']);
  });

  test('a key named __proto__ is logged and read back', async () => {
    const dir = makeRun(tmp.path, 'proto-key');
    const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    try {
      writer.append(JSON.parse('{"__proto__": 1, "loss": 2}') as Record<string, number>, 0);
      const bare = Object.create(null) as Record<string, number>;
      // biome-ignore lint/suspicious/noProto: an Object.create(null) has no __proto__ accessor; this sets the key under test
      bare.__proto__ = 3;
      writer.append(bare, 1);
    } finally {
      await writer.finish('finished');
    }
    assert.deepEqual(readKeys(dir), ['__proto__', 'loss']);
    assert.deepEqual(readBack(dir, '__proto__'), { steps: [0, 1], values: [1, 3] });
  });
});

describe('config keys named __proto__', () => {
  // Regression: merging revisions assigned out['__proto__'], which set the prototype and lost the key.
  test('a config key named __proto__ is kept by the merged config', () => {
    const config = JSON.parse('{"__proto__": {"lr": 0.1}, "seed": 1}') as Record<string, unknown>;
    const dir = makeRun(tmp.path, 'proto-config', config);
    const reader = RunReader.open(dir);
    try {
      const merged = reader.config();
      assert.deepEqual(Object.keys(merged), ['__proto__', 'seed']);
      assert.equal(JSON.stringify(merged), '{"__proto__":{"lr":0.1},"seed":1}');
      assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    } finally {
      reader.close();
    }
  });
});
