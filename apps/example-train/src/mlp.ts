import type { Rng } from './rng.js';

export type Activation = 'tanh' | 'relu';

/**
 * A multi-layer perceptron with all its weights in one Float64Array (per layer: a row-major
 * [out × in] matrix, then the bias), so the optimizer and checkpoints handle one flat array.
 */
export interface Mlp {
  /** Layer widths, input first, classes last, e.g. [2, 32, 32, 3]. */
  layers: number[];
  activation: Activation;
  params: Float64Array;
}

export interface BatchResult {
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** How many predictions were right. */
  correct: number;
}

/** A new MLP with He/Xavier-scaled gaussian weights drawn from `rng` and zero biases. */
export function createMlp(layers: number[], activation: Activation, rng: Rng): Mlp {
  const params = new Float64Array(paramCount(layers));
  let offset = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const fanIn = layers[l]!;
    const fanOut = layers[l + 1]!;
    const scale = activation === 'relu' ? Math.sqrt(2 / fanIn) : Math.sqrt(1 / fanIn);
    for (let i = 0; i < fanIn * fanOut; i++) params[offset + i] = scale * rng.nextNormal();
    offset += fanIn * fanOut + fanOut;
  }
  return { layers, activation, params };
}

export function paramCount(layers: number[]): number {
  let n = 0;
  for (let l = 0; l + 1 < layers.length; l++) n += layers[l]! * layers[l + 1]! + layers[l + 1]!;
  return n;
}

/**
 * Forward pass over the examples `indices` of (x, y); when `grads` is given, adds the gradient of
 * the mean loss to it (backpropagation).
 */
export function runBatch(
  mlp: Mlp,
  data: { x: Float64Array; y: Uint8Array },
  indices: ArrayLike<number>,
  grads?: Float64Array,
): BatchResult {
  const { layers } = mlp;
  const inputs = layers[0]!;
  const depth = layers.length - 1;
  const acts: Float64Array[] = layers.map((w) => new Float64Array(w));
  const deltas: Float64Array[] = layers.map((w) => new Float64Array(w));
  const offsets = layerOffsets(layers);
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < indices.length; b++) {
    const idx = indices[b]!;
    for (let i = 0; i < inputs; i++) acts[0]![i] = data.x[idx * inputs + i]!;
    for (let l = 0; l < depth; l++) forwardLayer(mlp, offsets[l]!, acts[l]!, acts[l + 1]!, l + 1 < depth);
    const label = data.y[idx]!;
    const out = acts[depth]!;
    const { logLoss, predicted } = softmaxInPlace(out, label);
    loss += logLoss;
    if (predicted === label) correct++;
    if (grads === undefined) continue;
    // d(mean loss)/d(logits) = (softmax - onehot) / batch
    const top = deltas[depth]!;
    for (let k = 0; k < out.length; k++) top[k] = (out[k]! - (k === label ? 1 : 0)) / indices.length;
    for (let l = depth - 1; l >= 0; l--) {
      backwardLayer(
        mlp,
        { offset: offsets[l]!, input: acts[l]!, delta: deltas[l + 1]!, below: deltas[l]! },
        grads,
        l > 0,
      );
    }
  }
  return { loss: loss / indices.length, correct };
}

function layerOffsets(layers: number[]): number[] {
  const out: number[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    out.push(offset);
    offset += layers[l]! * layers[l + 1]! + layers[l + 1]!;
  }
  return out;
}

function forwardLayer(
  mlp: Mlp,
  offset: number,
  input: Float64Array,
  output: Float64Array,
  hidden: boolean,
): void {
  const p = mlp.params;
  const fanIn = input.length;
  const bias = offset + fanIn * output.length;
  for (let o = 0; o < output.length; o++) {
    let sum = p[bias + o]!;
    const row = offset + o * fanIn;
    for (let i = 0; i < fanIn; i++) sum += p[row + i]! * input[i]!;
    output[o] = !hidden ? sum : mlp.activation === 'tanh' ? Math.tanh(sum) : Math.max(sum, 0);
  }
}

/** Turns logits into probabilities in place; returns -log p(label) and the argmax. */
function softmaxInPlace(out: Float64Array, label: number): { logLoss: number; predicted: number } {
  let max = Number.NEGATIVE_INFINITY;
  let predicted = 0;
  for (let k = 0; k < out.length; k++) {
    if (out[k]! > max) {
      max = out[k]!;
      predicted = k;
    }
  }
  let sum = 0;
  for (let k = 0; k < out.length; k++) sum += Math.exp(out[k]! - max);
  const logLoss = Math.log(sum) - (out[label]! - max);
  for (let k = 0; k < out.length; k++) out[k] = Math.exp(out[k]! - max) / sum;
  return { logLoss, predicted };
}

interface LayerGrad {
  offset: number;
  /** The layer's input activations (after the previous layer's nonlinearity). */
  input: Float64Array;
  /** d loss / d this layer's pre-activation outputs. */
  delta: Float64Array;
  /** Filled with d loss / d the previous layer's pre-activation outputs. */
  below: Float64Array;
}

function backwardLayer(mlp: Mlp, g: LayerGrad, grads: Float64Array, propagate: boolean): void {
  const p = mlp.params;
  const fanIn = g.input.length;
  const fanOut = g.delta.length;
  const bias = g.offset + fanIn * fanOut;
  if (propagate) g.below.fill(0);
  for (let o = 0; o < fanOut; o++) {
    const d = g.delta[o]!;
    const row = g.offset + o * fanIn;
    grads[bias + o] = grads[bias + o]! + d;
    for (let i = 0; i < fanIn; i++) {
      grads[row + i] = grads[row + i]! + d * g.input[i]!;
      if (propagate) g.below[i] = g.below[i]! + d * p[row + i]!;
    }
  }
  if (!propagate) return;
  for (let i = 0; i < fanIn; i++) {
    const a = g.input[i]!;
    const slope = mlp.activation === 'tanh' ? 1 - a * a : a > 0 ? 1 : 0;
    g.below[i] = g.below[i]! * slope;
  }
}
