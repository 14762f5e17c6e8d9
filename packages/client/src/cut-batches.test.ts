import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countIn, cutBatches, type KeyPoints, nextBatchEnd } from './cut-batches.js';

/** A key logged at the given seqs (step = seq, value = seq / 2). */
function key(name: string, seqs: number[]): KeyPoints {
  const s = Float64Array.from(seqs);
  return { key: name, steps: s.slice(), values: s.map((x) => x / 2), ts: s.map((x) => 1000 + x), seqs: s };
}

describe('cutBatches', () => {
  test('everything that fits goes in one batch ending at maxSeq', () => {
    const keys = [key('a', [0, 1, 2]), key('b', [1, 2])];
    assert.deepEqual(cutBatches(keys, -1, 2, 10), [[-1, 2]]);
    // maxSeq may lie past the last point (a rewind with a higher seq): the last batch still ends there.
    assert.deepEqual(cutBatches(keys, -1, 5, 10), [[-1, 5]]);
  });

  test('batches cover (from, maxSeq] without gaps, stay within budget and never split a seq', () => {
    // 3 keys share seqs 0..99 (one log call each), key c only logs every third call.
    const seqs = Array.from({ length: 100 }, (_, i) => i);
    const keys = [
      key('a', seqs),
      key('b', seqs),
      key(
        'c',
        seqs.filter((s) => s % 3 === 0),
      ),
    ];
    for (const budget of [2, 3, 5, 7, 50, 1000]) {
      const batches = cutBatches(keys, 9, 99, budget);
      assert.equal(batches[0]![0], 9);
      assert.equal(batches.at(-1)![1], 99);
      let total = 0;
      for (let i = 0; i < batches.length; i++) {
        const [from, to] = batches[i]!;
        assert.ok(to > from, `batch ${i} is not empty`);
        if (i > 0) assert.equal(from, batches[i - 1]![1], 'batches are contiguous');
        const n = countIn(keys, from, to);
        // A batch may exceed the budget only when it is one seq holding more than the budget.
        if (n > budget)
          assert.equal(countIn(keys, from, to - 1), 0, `budget ${budget}: batch ${from}..${to}`);
        total += n;
      }
      assert.equal(total, countIn(keys, 9, 99));
    }
  });

  test('a seq holding more points than the budget is sent alone and whole', () => {
    const keys = ['a', 'b', 'c', 'd'].map((k) => key(k, [4, 8]));
    assert.equal(nextBatchEnd(keys, -1, 8, 2), 4);
    assert.deepEqual(cutBatches(keys, -1, 8, 2), [
      [-1, 4],
      [4, 8],
    ]);
  });

  test('nothing left: no batch', () => {
    assert.deepEqual(cutBatches([key('a', [1, 2])], 2, 2, 10), []);
    assert.deepEqual(cutBatches([], -1, -1, 10), []);
  });
});
