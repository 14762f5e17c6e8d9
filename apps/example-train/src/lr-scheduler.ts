export type ScheduleKind = 'cosine' | 'step' | 'constant';

export interface LrSchedulerOptions {
  kind: ScheduleKind;
  baseLr: number;
  /** Cosine: the floor the rate anneals to at `totalSteps`. */
  minLr: number;
  /** Cosine: the optimizer steps over which it anneals. */
  totalSteps: number;
  /** Linear warmup from 0 over this many steps (all kinds). */
  warmupSteps: number;
  /** Step decay: multiply by `gamma` every `decaySteps` steps. */
  decaySteps: number;
  gamma: number;
}

/** The scheduler's state: how many optimizer steps it has seen. Saved in checkpoints. */
export interface LrSchedulerState {
  step: number;
}

export interface LrScheduler {
  readonly state: LrSchedulerState;
  /** The learning rate for the current step. */
  lr(): number;
  /** Moves to the next optimizer step. */
  advance(): void;
}

/** A per-optimizer-step learning-rate schedule: cosine annealing, step decay or constant, with warmup. */
export function createLrScheduler(options: LrSchedulerOptions): LrScheduler {
  const state: LrSchedulerState = { step: 0 };
  return {
    state,
    lr: () => scheduledLr(options, state.step),
    advance: () => {
      state.step += 1;
    },
  };
}

function scheduledLr(o: LrSchedulerOptions, step: number): number {
  if (step < o.warmupSteps) return (o.baseLr * (step + 1)) / o.warmupSteps;
  switch (o.kind) {
    case 'constant':
      return o.baseLr;
    case 'step':
      return o.baseLr * o.gamma ** Math.floor(step / Math.max(1, o.decaySteps));
    case 'cosine': {
      const span = Math.max(1, o.totalSteps - o.warmupSteps);
      const progress = Math.min(1, (step - o.warmupSteps) / span);
      return o.minLr + ((o.baseLr - o.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
    }
  }
}
