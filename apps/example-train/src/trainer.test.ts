import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig, type TrainConfig } from './load-config.js';
import { createTrainer, type Trainer } from './trainer.js';
import { decodeTrainerState, encodeTrainerState } from './trainer-state.js';

const TEST_YAML = fileURLToPath(new URL('../configs/test.yaml', import.meta.url));

function testConfig(): TrainConfig {
  return parseConfig(readFileSync(TEST_YAML, 'utf8'), TEST_YAML, '/tmp');
}

/** Trains `epochs` more epochs and returns what each epoch showed. */
function trainFor(trainer: Trainer, epochs: number): string[] {
  const seen: string[] = [];
  for (let i = 0; i < epochs; i++) {
    const { epoch, trainLoss, lr } = trainer.trainEpoch();
    const { valLoss, valAcc } = trainer.evaluate();
    seen.push(`${epoch} ${trainLoss} ${valLoss} ${valAcc} ${lr}`);
  }
  return seen;
}

test('the MLP learns the spirals of the test config: the losses clearly drop and accuracy beats chance', () => {
  const config = testConfig();
  const trainer = createTrainer(config);
  const before = trainer.evaluate();
  const first = trainer.trainEpoch();
  for (let e = 2; e <= config.training.epochs; e++) trainer.trainEpoch();
  const last = trainer.trainEpoch();
  const after = trainer.evaluate();
  assert.ok(after.valLoss < 0.8 * before.valLoss, `val loss ${before.valLoss} -> ${after.valLoss}`);
  assert.ok(last.trainLoss < 0.8 * first.trainLoss, `train loss ${first.trainLoss} -> ${last.trainLoss}`);
  assert.ok(after.valAcc > 0.5, `val acc ${after.valAcc} (chance is 1/3)`);
});

test('the same config and seed train to the same weights; another seed does not', () => {
  const config = testConfig();
  const a = createTrainer(config);
  const b = createTrainer(config);
  trainFor(a, 3);
  trainFor(b, 3);
  assert.equal(a.weightsHash(), b.weightsHash());
  const c = createTrainer({ ...config, training: { ...config.training, seed: config.training.seed + 1 } });
  trainFor(c, 3);
  assert.notEqual(c.weightsHash(), a.weightsHash());
});

test('a trainer restored from encoded state continues bit-identically to one that never stopped', () => {
  const config = testConfig();
  const reference = createTrainer(config);
  const refSeen = trainFor(reference, 8);

  const first = createTrainer(config);
  const seenBefore = trainFor(first, 3);
  const bytes = encodeTrainerState(first.snapshot());
  trainFor(first, 2); // work lost with the crash: must not leak into the restored trainer

  const restored = createTrainer(config);
  restored.restore(decodeTrainerState(bytes, 'test'));
  assert.equal(restored.epoch, 3);
  const seenAfter = trainFor(restored, 5);
  assert.deepEqual([...seenBefore, ...seenAfter], refSeen);
  assert.equal(restored.weightsHash(), reference.weightsHash());
  assert.deepEqual(restored.snapshot(), reference.snapshot());
});

test('each part of the state matters: restoring without the Adam moments, the scheduler or the RNG diverges', () => {
  const config = testConfig();
  const reference = createTrainer(config);
  trainFor(reference, 6);
  const saved = createTrainer(config);
  trainFor(saved, 3);
  const state = decodeTrainerState(encodeTrainerState(saved.snapshot()), 'test');
  const fresh = createTrainer(config).snapshot();
  const broken = {
    adam: { ...state, adam: fresh.adam },
    scheduler: { ...state, scheduler: fresh.scheduler },
    rng: { ...state, rng: fresh.rng },
  };
  for (const [part, wrong] of Object.entries(broken)) {
    const t = createTrainer(config);
    t.restore(wrong);
    trainFor(t, 3);
    assert.notEqual(t.weightsHash(), reference.weightsHash(), `restoring without ${part} went unnoticed`);
  }
});
