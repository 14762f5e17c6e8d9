import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from './rng.js';

test('an Rng restored from its saved state draws the same numbers', () => {
  const a = createRng(42);
  for (let i = 0; i < 17; i++) a.nextUint32();
  const saved = a.getState();
  const expected = Array.from({ length: 50 }, () => a.nextFloat());
  const b = createRng(1);
  b.setState(saved);
  assert.deepEqual(
    Array.from({ length: 50 }, () => b.nextFloat()),
    expected,
  );
});

test('seeds give different streams; draws are in range and roughly uniform', () => {
  assert.notDeepEqual(createRng(1).getState(), createRng(2).getState());
  const rng = createRng(7);
  const counts = new Array(4).fill(0);
  for (let i = 0; i < 40_000; i++) counts[rng.nextInt(4)]++;
  for (const c of counts) assert.ok(c > 9_000 && c < 11_000, `bucket count ${c}`);
  const order = Uint32Array.from({ length: 100 }, (_, i) => i);
  rng.shuffle(order);
  assert.deepEqual(
    [...order].sort((x, y) => x - y),
    [...Array(100).keys()],
  );
  assert.notDeepEqual([...order], [...Array(100).keys()]);
});

test('xoshiro128** matches its reference output', () => {
  // Reference: state {1, 2, 3, 4} -> first outputs of the C implementation by Blackman & Vigna.
  const rng = createRng(0);
  rng.setState([1, 2, 3, 4]);
  assert.deepEqual(
    Array.from({ length: 3 }, () => rng.nextUint32()),
    [11520, 0, 5927040],
  );
});
