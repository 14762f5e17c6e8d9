import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSwanlogError } from '@swanlog/protocol';
import { decodeTrainerState, encodeTrainerState, type TrainerState } from './trainer-state.js';

const state: TrainerState = {
  epoch: 4,
  layers: [2, 3, 2],
  params: Float64Array.from([0.1, -0, 1e-310, Number.NaN, Number.POSITIVE_INFINITY, -1 / 3]),
  adam: {
    t: 40,
    m: Float64Array.from([1, 2, 3, 4, 5, 6]),
    v: Float64Array.from([Math.PI, 0, 0, 0, 0, 2 ** -1074]),
  },
  scheduler: { step: 40 },
  rng: [1, 0xffffffff, 0, 123456789],
};

test('a trainer state round-trips bit for bit (negative zero, subnormals, NaN included)', () => {
  const back = decodeTrainerState(encodeTrainerState(state), 'mem');
  assert.deepEqual(back, state);
  assert.ok(Object.is(back.params[1], -0));
  assert.deepEqual(Buffer.from(back.params.buffer), Buffer.from(state.params.buffer));
});

test('a truncated or foreign blob is CHECKPOINT_CORRUPT naming its source', () => {
  const bytes = encodeTrainerState(state);
  for (const bad of [bytes.subarray(0, bytes.length - 8), Buffer.from('{"not":"ours"}'), new Uint8Array(2)]) {
    assert.throws(
      () => decodeTrainerState(bad, '/ckpt/step_4.ckpt'),
      (e) => isSwanlogError(e, 'CHECKPOINT_CORRUPT') && e.message.includes('/ckpt/step_4.ckpt'),
    );
  }
});
