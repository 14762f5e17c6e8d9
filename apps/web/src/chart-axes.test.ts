import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clippedRange, formatDuration, parseXMode } from './chart-axes.js';

test('durations read as a person writes them', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(0.25), '250ms');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(720), '12m');
  assert.equal(formatDuration(750), '12m30s');
  assert.equal(formatDuration(7200), '2h');
  assert.equal(formatDuration(3900), '1h05');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3d4h');
});

test('an unknown x mode is the step', () => {
  assert.equal(parseXMode('wall'), 'wall');
  assert.equal(parseXMode('relative'), 'relative');
  assert.equal(parseXMode('bogus'), 'step');
  assert.equal(parseXMode(null), 'step');
});

test('the clipped range leaves a spike out and keeps the bulk of the values', () => {
  const values = [1000, ...Array.from({ length: 99 }, (_, i) => 1 + (i % 10) / 10)];
  const r = clippedRange(values)!;
  assert.ok(r.max < 10 && r.max >= 1.9, `max ${r.max}`);
  assert.ok(r.min <= 1, `min ${r.min}`);
  // Nothing to clip: a straight line, or too few values.
  assert.equal(clippedRange(Array.from({ length: 50 }, (_, i) => i)), null);
  assert.equal(clippedRange([1, 1000]), null);
});

test('on a log axis the range is taken in log space and skips values <= 0', () => {
  const values = [0, -1, 1e6, ...Array.from({ length: 40 }, (_, i) => 10 ** -(i % 4))];
  const r = clippedRange(values, true)!;
  assert.ok(r.max < 1e6 && r.max >= 1, `max ${r.max}`);
  assert.ok(r.min > 0 && r.min <= 1e-3, `min ${r.min}`);
});
