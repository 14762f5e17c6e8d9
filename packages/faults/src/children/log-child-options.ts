import type { InitOptions } from 'swanlog';

/** Options of `children/log-child.js`, passed as one JSON argument. */
export interface LogChildOptions {
  init: InitOptions;
  /** Number of log() calls (the child then finishes, or stays alive when finish is false). */
  calls: number;
  keys: string[];
  /** Explicit steps: the i-th call logs at startStep + i * stride; default the run's counter. */
  startStep?: number;
  stride?: number;
  /** Calls between two yields to the event loop (timers, the flusher, a report line). */
  burst?: number;
  /** Milliseconds slept at each yield (0: setImmediate). */
  sleepMs?: number;
  /** Added to every value (tells writers apart). */
  valueOffset?: number;
  finish?: boolean;
  /** Print `ready`, then wait until this file exists before init (starts writers together). */
  startGate?: string;
}

/** The value the child logs at `step` for its `keyIndex`-th key: the parent recomputes it. */
export function childValue(step: number, keyIndex: number, offset = 0): number {
  return step * 1000 + keyIndex + offset + 0.25;
}
