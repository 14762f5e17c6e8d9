import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { syncRequestKey } from './request-key.js';

describe('syncRequestKey', () => {
  test('is the first 40 hex characters of sha256(runId \\n createdAt \\n purpose)', () => {
    const expected = createHash('sha256').update('abc\n1700000000000\nsync').digest('hex').slice(0, 40);
    assert.equal(syncRequestKey('abc', 1700000000000, 'sync'), expected);
    assert.match(expected, /^[0-9a-f]{40}$/);
  });

  test('is deterministic per run and differs by run, creation time and purpose', () => {
    const a = syncRequestKey('run1', 1, 'sync');
    assert.equal(syncRequestKey('run1', 1, 'sync'), a);
    assert.notEqual(syncRequestKey('run2', 1, 'sync'), a);
    assert.notEqual(syncRequestKey('run1', 2, 'sync'), a);
    assert.notEqual(syncRequestKey('run1', 1, 'live'), a);
  });
});
