// Block summaries against their definition: for random chunks (NaN, ±0, ±Infinity, subnormals,
// repeated and falling steps), every block's fields equal those read off the points one by one
// with `below`, the order downsample picks by. Each failure names its seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_FIELDS, BLOCK_POINTS, BlockField, below, summarizeBlocks } from './block-summary.js';

const SPECIALS = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, -1, 1];

/** Seeded numbers in [0, 1) (the fractional part of a scaled sine: plenty for picking cases). */
function random(seed: number): () => number {
  let k = 0;
  return () => {
    const x = Math.sin(seed * 9_973 + k++) * 43_758.5453;
    return x - Math.floor(x);
  };
}

/** The fields of one block, point by point: the first lowest and first highest point by `below`. */
function reference(steps: Float64Array, values: Float64Array, ts: Float64Array, start: number, end: number) {
  let min = start;
  let max = start;
  let increasing = 1;
  for (let i = start + 1; i < end; i++) {
    if (!(steps[i]! > steps[i - 1]!)) increasing = 0;
    if (below(values[i]!, values[min]!)) min = i;
    if (below(values[max]!, values[i]!)) max = i;
  }
  return [
    end - start,
    steps[start]!,
    steps[end - 1]!,
    steps[min]!,
    values[min]!,
    ts[min]!,
    steps[max]!,
    values[max]!,
    ts[max]!,
    increasing,
  ];
}

test('every block summary equals its definition, for NaN, ±0, ±Infinity and steps in any order', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const next = random(seed);
    const n = 1 + Math.floor(next() * 3 * BLOCK_POINTS);
    const steps = new Float64Array(n);
    const values = new Float64Array(n);
    const ts = new Float64Array(n);
    const kind = seed % 4;
    for (let i = 0; i < n; i++) {
      steps[i] = kind === 0 ? i : Math.floor(next() * 40);
      values[i] =
        kind === 1
          ? SPECIALS[Math.floor(next() * SPECIALS.length)]!
          : kind === 2 && next() < 0.3
            ? Number.NaN
            : next() - 0.5;
      ts[i] = 1_000 + i;
    }
    const blocks = summarizeBlocks({ steps, values, ts });
    assert.equal(blocks.length, Math.ceil(n / BLOCK_POINTS) * BLOCK_FIELDS, `seed ${seed}: block count`);
    for (let b = 0; b * BLOCK_POINTS < n; b++) {
      const want = reference(steps, values, ts, b * BLOCK_POINTS, Math.min(n, (b + 1) * BLOCK_POINTS));
      const got = [...blocks.subarray(b * BLOCK_FIELDS, (b + 1) * BLOCK_FIELDS)];
      // Object.is tells -0 from 0 and matches NaN with NaN.
      for (let f = 0; f < BLOCK_FIELDS; f++)
        assert.ok(
          Object.is(got[f], want[f]),
          `seed ${seed}, block ${b}, field ${Object.keys(BlockField)[f]}: got ${got[f]}, want ${want[f]}`,
        );
    }
  }
});
