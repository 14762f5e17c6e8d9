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

/**
 * The value the child logs at `step` for its `keyIndex`-th key: the parent recomputes it. The
 * fraction is a hash of (step, key), so values do not compress (a chunk stays ~8 bytes per point
 * in either codec) and a disk-full trial's page cap is reached as quickly in format 2 as in 1.
 */
export function childValue(step: number, keyIndex: number, offset = 0): number {
  const h = Math.imul((step ^ Math.imul(keyIndex + 1, 0x9e3779b9)) >>> 0, 0x85ebca6b) >>> 0;
  return step * 1000 + keyIndex + offset + h / 2 ** 33;
}
