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

  test('appending after the session ended is RUN_FINISHED', async () => {
    const dir = makeRun(tmp.path, 'after-finish');
    const writer = RunWriter.open({ dir, resumed: false });
    writer.append({ loss: 1 }, 0);
    await writer.finish('finished');
    expectCode(() => writer.append({ loss: 2 }, 1), 'RUN_FINISHED', 'append after finish');
    assert.deepEqual(readBack(dir, 'loss'), { steps: [0], values: [1] });
  });
});
