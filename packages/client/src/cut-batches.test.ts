import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_BATCH_HEADER_BYTES } from '@swanlog/protocol';
import { encodeChunk } from '@swanlog/store';
import {
  type BatchBudget,
  CHUNK_HEADER_BUDGET,
  countIn,
  cutBatches,
  type KeyChunks,
  nextBatchEnd,
} from './cut-batches.js';

/** A key logged at the given seqs (step = seq, value = seq / 2), stored in chunks of `per` points. */
function key(name: string, seqs: number[], per = 7): KeyChunks {
  const chunks = [];
  for (let at = 0; at < seqs.length; at += per) {
    const s = Float64Array.from(seqs.slice(at, at + per));
    const data = encodeChunk({
      steps: s.slice(),
      values: s.map((x) => x / 2),
      ts: s.map((x) => 1000 + x),
      seqs: s,
    });
    chunks.push({ n: s.length, seqMin: s[0]!, seqMax: s.at(-1)!, data });
  }
  return { key: name, chunks };
}

/** A budget of points only. */
const pts = (points: number): BatchBudget => ({ points, bytes: Number.POSITIVE_INFINITY });

describe('cutBatches', () => {
  test('everything that fits goes in one batch ending at maxSeq', () => {
    const keys = [key('a', [0, 1, 2]), key('b', [1, 2])];
    assert.deepEqual(cutBatches(keys, -1, 2, pts(10)), [[-1, 2]]);
    // maxSeq may lie past the last point (a rewind with a higher seq): the last batch still ends there.
    assert.deepEqual(cutBatches(keys, -1, 5, pts(10)), [[-1, 5]]);
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
      const batches = cutBatches(keys, 9, 99, pts(budget));
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
    assert.equal(nextBatchEnd(keys, -1, 8, pts(2)), 4);
    assert.deepEqual(cutBatches(keys, -1, 8, pts(2)), [
      [-1, 4],
      [4, 8],
    ]);
  });

  test('nothing left: no batch', () => {
    assert.deepEqual(cutBatches([key('a', [1, 2])], 2, 2, pts(10)), []);
    assert.deepEqual(cutBatches([], -1, -1, pts(10)), []);
  });

  test('batches end where stored chunks end when that fits, so chunks go up as stored', () => {
    // Two keys logged together, flushed every 10 calls: their chunks end at seqs 9, 19, 29, ...
    const seqs = Array.from({ length: 100 }, (_, i) => i);
    const keys = [key('a', seqs, 10), key('b', seqs, 10)];
    // 45 points would reach seq 21; the last chunk end that fits is seq 19 (40 points).
    assert.deepEqual(
      cutBatches(keys, -1, 99, pts(45)).map(([, to]) => to),
      [19, 39, 59, 79, 99],
    );
    assert.ok(
      keys.every((k) => k.chunks.every((c) => c.points === undefined)),
      'no chunk was decoded',
    );
    // From a watermark inside a chunk (an earlier upload stopped there), only that chunk is cut.
    assert.equal(nextBatchEnd(keys, 14, 99, pts(45)), 29);
    assert.deepEqual(
      keys.map((k) => k.chunks.filter((c) => c.points !== undefined).map((c) => c.seqMin)),
      [[10], [10]],
    );
  });

  test('the byte budget bounds a batch too, header entries included', () => {
    const seqs = Array.from({ length: 1000 }, (_, i) => i);
    const keys = [key('a', seqs, 100)];
    const chunkBytes = Math.max(...keys[0]!.chunks.map((c) => c.data!.length)) + 46;
    const batches = cutBatches(keys, -1, 999, { points: 1_000_000, bytes: chunkBytes * 3 });
    assert.deepEqual(
      batches.map(([, to]) => to),
      [299, 599, 899, 999],
    );
    // Long non-ASCII key names weigh in the header as UTF-8 (2 bytes per λ): 6 one-point chunks
    // of a 1,000-character key fill a 13 KB budget.
    const long = [key('λ'.repeat(1000), seqs.slice(0, 10), 1)];
    assert.deepEqual(
      cutBatches(long, -1, 9, { points: 1_000_000, bytes: 13_000 }).map(([, to]) => to),
      [5, 9],
    );
  });

  // Regression: the server refuses a batch header over MAX_BATCH_HEADER_BYTES; a wide run (many
  // keys with long names, few points each) fit the body budget but not the header, so a sync
  // sent batches the server could only refuse.
  test('chunk header entries stay within the header budget, which defaults to the shared limit', () => {
    const seqs = Array.from({ length: 10 }, (_, i) => i);
    const name = (i: number) => `${'w'.repeat(150)}/${i}`;
    const wide = Array.from({ length: 2000 }, (_, i) => key(name(i), seqs, 1));
    const entry = 40 + JSON.stringify(name(1999)).length; // the longest name
    const budget = { points: 1_000_000, bytes: Number.POSITIVE_INFINITY, headerBytes: entry * 2000 * 3 };
    // 2,000 chunk entries per seq: 3 seqs per batch.
    assert.deepEqual(
      cutBatches(wide, -1, 9, budget).map(([, to]) => to),
      [2, 5, 8, 9],
    );
    assert.equal(CHUNK_HEADER_BUDGET, MAX_BATCH_HEADER_BYTES - 64 * 1024);
    assert.equal(cutBatches(wide, -1, 9, { points: 1_000_000, bytes: Number.POSITIVE_INFINITY }).length, 1);
    const wider = Array.from({ length: 20_000 }, (_, i) => key(`${'w'.repeat(250)}/${i}`, [0, 1, 2], 1));
    // 20,000 entries of ~300 bytes a seq: one seq per batch under the default budget (by the
    // header alone: 40,000 chunks are within MAX_BATCH_CHUNKS).
    assert.deepEqual(
      cutBatches(wider, -1, 2, { points: 1_000_000, bytes: Number.POSITIVE_INFINITY }).map(([, to]) => to),
      [0, 1, 2],
    );
  });
});
