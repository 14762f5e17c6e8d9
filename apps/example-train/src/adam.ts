export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 for plain Adam. */
  weightDecay: number;
}

/** What Adam carries from one step to the next; all of it goes into a checkpoint. */
export interface AdamState {
  /** Steps taken, for the bias correction. */
  t: number;
  /** First moment (mean of gradients). */
  m: Float64Array;
  /** Second moment (mean of squared gradients). */
  v: Float64Array;
}

export interface Adam {
  readonly options: AdamOptions;
  readonly state: AdamState;
  /** Updates `params` in place from `grads` with learning rate `lr`. */
  step(params: Float64Array, grads: Float64Array, lr: number): void;
}

/** Adam (Kingma & Ba) with optional decoupled weight decay, for `size` parameters. */
export function createAdam(size: number, options: AdamOptions): Adam {
  const state: AdamState = { t: 0, m: new Float64Array(size), v: new Float64Array(size) };
  const { beta1, beta2, eps, weightDecay } = options;
  return {
    options,
    state,
    step(params, grads, lr) {
      state.t += 1;
      const c1 = 1 - beta1 ** state.t;
      const c2 = 1 - beta2 ** state.t;
      const { m, v } = state;
      for (let i = 0; i < params.length; i++) {
        const g = grads[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * g;
        v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
        const update = m[i]! / c1 / (Math.sqrt(v[i]! / c2) + eps);
        params[i] = params[i]! - lr * (update + weightDecay * params[i]!);
      }
    },
  };
}
