import { createHash } from 'node:crypto';
import { type Adam, createAdam } from './adam.js';
import type { TrainConfig } from './load-config.js';
import { createLrScheduler, type LrScheduler } from './lr-scheduler.js';
import { type Dataset, makeDataset } from './make-dataset.js';
import { createMlp, type Mlp, runBatch } from './mlp.js';
import { createRng, type Rng } from './rng.js';
import type { TrainerState } from './trainer-state.js';

export interface EpochResult {
  /** The epoch just completed (1-based). */
  epoch: number;
  /** Mean training loss over the epoch's batches (each measured before its update). */
  trainLoss: number;
  /** The learning rate of the epoch's last batch. */
  lr: number;
}

export interface Evaluation {
  valLoss: number;
  valAcc: number;
}

/** Everything that changes while training; `snapshot()` and `restore()` move all of it. */
export interface Trainer {
  /** Epochs completed. */
  readonly epoch: number;
  readonly mlp: Mlp;
  trainEpoch(): EpochResult;
  evaluate(): Evaluation;
  snapshot(): TrainerState;
  restore(state: TrainerState): void;
  /** sha256 of the weights' bytes, to compare runs. */
  weightsHash(): string;
}

/**
 * A trainer for an MLP on a synthetic set: Adam, a per-step learning-rate schedule, and per-epoch
 * shuffling from a seeded Rng. Everything it draws comes from state that `snapshot()` captures, so a
 * restored trainer continues bit-identically to one that never stopped.
 */
export function createTrainer(config: TrainConfig): Trainer {
  const { data: d, training: t, optimizer: o, scheduler: s } = config;
  const all = makeDataset({
    kind: d.kind,
    classes: d.classes,
    size: d.trainSize + d.valSize,
    noise: d.noise,
    seed: d.seed,
  });
  const train = slice(all, 0, d.trainSize);
  const val = slice(all, d.trainSize, all.size);
  const rng = createRng(t.seed);
  const mlp = createMlp([2, ...config.model.hidden, d.classes], config.model.activation, rng);
  const adam = createAdam(mlp.params.length, {
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    weightDecay: o.weightDecay,
  });
  const scheduler = createLrScheduler({
    kind: s.kind,
    baseLr: o.lr,
    minLr: s.minLr,
    totalSteps: t.epochs * t.batchesPerEpoch,
    warmupSteps: s.warmupEpochs * t.batchesPerEpoch,
    decaySteps: s.stepEpochs * t.batchesPerEpoch,
    gamma: s.gamma,
  });
  const grads = new Float64Array(mlp.params.length);
  let epoch = 0;
  return {
    get epoch() {
      return epoch;
    },
    mlp,
    trainEpoch() {
      const result = trainOneEpoch({ mlp, adam, scheduler, rng, train, grads }, t);
      epoch += 1;
      return { epoch, ...result };
    },
    evaluate() {
      const all = Uint32Array.from({ length: val.size }, (_, i) => i);
      const { loss, correct } = runBatch(mlp, val, all);
      return { valLoss: loss, valAcc: correct / val.size };
    },
    snapshot: () => ({
      epoch,
      layers: [...mlp.layers],
      params: Float64Array.from(mlp.params),
      adam: { t: adam.state.t, m: Float64Array.from(adam.state.m), v: Float64Array.from(adam.state.v) },
      scheduler: { step: scheduler.state.step },
      rng: rng.getState(),
    }),
    restore(state) {
      if (state.layers.join(',') !== mlp.layers.join(',')) {
        throw new Error(`checkpoint has layers [${state.layers}] but the model has [${mlp.layers}]`);
      }
      epoch = state.epoch;
      mlp.params.set(state.params);
      adam.state.t = state.adam.t;
      adam.state.m.set(state.adam.m);
      adam.state.v.set(state.adam.v);
      scheduler.state.step = state.scheduler.step;
      rng.setState(state.rng);
    },
    weightsHash: () => createHash('sha256').update(new Uint8Array(mlp.params.buffer)).digest('hex'),
  };
}

interface Parts {
  mlp: Mlp;
  adam: Adam;
  scheduler: LrScheduler;
  rng: Rng;
  train: Dataset;
  grads: Float64Array;
}

function trainOneEpoch(p: Parts, t: TrainConfig['training']): { trainLoss: number; lr: number } {
  const n = p.train.size;
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  p.rng.shuffle(order);
  const batch = new Uint32Array(Math.min(t.batchSize, n));
  let total = 0;
  let lr = 0;
  for (let b = 0; b < t.batchesPerEpoch; b++) {
    // Batches walk the shuffled order, wrapping when an epoch asks for more than the set holds.
    for (let i = 0; i < batch.length; i++) batch[i] = order[(b * batch.length + i) % n]!;
    p.grads.fill(0);
    total += runBatch(p.mlp, p.train, batch, p.grads).loss;
    lr = p.scheduler.lr();
    p.adam.step(p.mlp.params, p.grads, lr);
    p.scheduler.advance();
  }
  return { trainLoss: total / t.batchesPerEpoch, lr };
}

function slice(d: Dataset, from: number, to: number): Dataset {
  return {
    x: d.x.subarray(2 * from, 2 * to),
    y: d.y.subarray(from, to),
    size: to - from,
    classes: d.classes,
  };
}
