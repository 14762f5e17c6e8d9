import assert from 'node:assert/strict';
import { test } from 'node:test';
import { smoothEma } from './smoothing.js';

test('debiased EMA: the first point is itself, later points lean on the past', () => {
  const out = smoothEma([10, 0, 0], 0.5);
  assert.equal(out[0], 10);
  // last = 2.5 after two points; debias 1 - 0.25 = 0.75
  assert.ok(Math.abs((out[1] as number) - 10 / 3) < 1e-12);
  // last = 1.25; debias 1 - 0.125 = 0.875
  assert.ok(Math.abs((out[2] as number) - 1.25 / 0.875) < 1e-12);
});

test('weight 0 leaves the line alone; a constant line stays constant at any weight', () => {
  assert.deepEqual(smoothEma([3, 1, 2], 0), [3, 1, 2]);
  for (const v of smoothEma([4, 4, 4, 4], 0.99)) assert.ok(Math.abs((v as number) - 4) < 1e-9);
});

test('gaps and non-finite values are kept and do not enter the average', () => {
  const out = smoothEma([2, null, Number.NaN, 2], 0.9);
  assert.equal(out[1], null);
  assert.ok(Number.isNaN(out[2] as number));
  assert.ok(Math.abs((out[3] as number) - 2) < 1e-12);
});

test('the input is not changed (smoothing changes the drawn line, not the data)', () => {
  const data = [1, 5, 2];
  smoothEma(data, 0.6);
  assert.deepEqual(data, [1, 5, 2]);
});

test('a weight outside [0, 1) is refused with a message naming it', () => {
  assert.throws(() => smoothEma([1], 1), /smoothing weight must be in \[0, 1\), got 1/);
  assert.throws(() => smoothEma([1], -0.1), /got -0.1/);
});
