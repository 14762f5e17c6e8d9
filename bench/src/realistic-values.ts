/**
 * Seeded values that look like what a training job logs, for the bench rows that measure wide runs,
 * the value codec and sync on real-looking data (the older rows log constants and straight lines).
 *
 * Every key gets a kind, and every value of a float32 kind is float32-precise, as `tensor.item()`
 * gives it (a float32 widened to a double):
 * - `loss`: exp decay towards a floor, with multiplicative noise;
 * - `acc`: saturates towards a ceiling, with additive noise, clamped to [0, 1];
 * - `lr`: linear warm-up then cosine decay, computed in double precision as a scheduler does;
 * - `grad_norm`: a slowly drifting level with log-normal-ish noise (per-layer gradient norms);
 * - `count`: an integer counter (epoch, tokens seen).
 * The same (keys, seed) gives the same values in every run.
 */
export type ValueKind = 'loss' | 'acc' | 'lr' | 'grad_norm' | 'count';

interface KeyModel {
  name: string;
  kind: ValueKind;
  a: number;
  b: number;
  c: number;
  noise: number;
}

/** A small, fast seeded generator (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The key names and kinds of a run with `count` keys: a few headline metrics, then per-layer and per-class ones. */
function keyModels(count: number, rand: () => number): KeyModel[] {
  const headline: [string, ValueKind][] = [
    ['train/loss', 'loss'],
    ['train/acc', 'acc'],
    ['val/loss', 'loss'],
    ['val/acc', 'acc'],
    ['lr', 'lr'],
    ['grad_norm', 'grad_norm'],
    ['epoch', 'count'],
    ['tokens', 'count'],
    ['train/loss_aux', 'loss'],
    ['throughput', 'grad_norm'],
  ];
  const names: [string, ValueKind][] = headline.slice(0, Math.min(count, headline.length));
  for (let i = 0; names.length < count; i++) {
    // Per-layer gradient and weight norms, then per-class accuracies, as wide models log them.
    const layer = Math.floor(i / 3);
    const which = i % 3;
    if (which === 0) names.push([`layers/${layer}/grad_norm`, 'grad_norm']);
    else if (which === 1) names.push([`layers/${layer}/weight_norm`, 'grad_norm']);
    else names.push([`val/acc_class_${layer}`, 'acc']);
  }
  return names.map(([name, kind]) => ({
    name,
    kind,
    a: 0.5 + rand() * 4, // start level / ceiling / peak lr scale / norm level
    b: 1e-4 + rand() * 1e-3, // decay rate
    c: rand() * 0.2, // floor
    noise: 0.01 + rand() * 0.1,
  }));
}

export class RealisticRun {
  readonly keys: string[];
  private readonly models: KeyModel[];
  private readonly rand: () => number;
  private readonly steps: number;

  /** `steps` is the run's planned length (the learning-rate schedule spans it). */
  constructor(keyCount: number, seed: number, steps = 10_000) {
    this.rand = mulberry32(seed);
    this.models = keyModels(keyCount, this.rand);
    this.keys = this.models.map((m) => m.name);
    this.steps = steps;
  }

  /** The values logged at `step`, as a new dict (a training loop builds one per step). */
  row(step: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.models) out[m.name] = this.value(m, step);
    return out;
  }

  /** The values of every key at `step`, written into `into` in key order. */
  fill(step: number, into: Float64Array): void {
    for (let k = 0; k < this.models.length; k++) into[k] = this.value(this.models[k]!, step);
  }

  private gauss(): number {
    // Sum of three uniforms: close enough to a normal for noise, and cheap.
    return (this.rand() + this.rand() + this.rand() - 1.5) * 2;
  }

  private value(m: KeyModel, step: number): number {
    switch (m.kind) {
      case 'loss':
        return Math.fround((m.a * Math.exp(-m.b * step) + m.c) * (1 + m.noise * this.gauss()));
      case 'acc': {
        const v = (1 - m.c * 0.5) * (1 - Math.exp(-m.b * 3 * step)) + m.noise * 0.3 * this.gauss();
        return Math.fround(Math.min(1, Math.max(0, v)));
      }
      case 'lr': {
        const warm = Math.max(1, Math.floor(this.steps * 0.05));
        const peak = 1e-3 * m.a;
        if (step < warm) return (peak * (step + 1)) / warm;
        const p = Math.min(1, (step - warm) / Math.max(1, this.steps - warm));
        return peak * 0.5 * (1 + Math.cos(Math.PI * p));
      }
      case 'grad_norm': {
        const level = m.a * (1 + 0.3 * Math.sin(step * m.b * 10));
        return Math.fround(level * Math.exp(m.noise * 3 * this.gauss()));
      }
      case 'count':
        return m.name === 'epoch' ? Math.floor(step / 500) : step * 4096;
    }
  }
}
