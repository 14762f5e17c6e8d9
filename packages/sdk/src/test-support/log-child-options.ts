import type { InitOptions } from '../options.js';

/** Options of the test child `log-child.js`, passed as one JSON argument. */
export interface LogChildOptions {
  init: InitOptions;
  steps: number;
  keys?: string[];
  /** Explicit first step; default: the run's counter. */
  startStep?: number;
  /** With startStep: the i-th call logs at startStep + i * stride (default 1). */
  stride?: number;
  reportEvery?: number;
  /** Milliseconds to sleep between calls (lets timers and signals run). */
  sleepMs?: number;
  finish?: boolean;
  /**
   * Install a SIGTERM handler of the user's (before init) that keeps the process alive; 'once'
   * installs it with process.once, as graceful-shutdown code often does.
   */
  userSigtermHandler?: boolean | 'once';
  /** Value written for step s and key k: s * 1000 + keyIndex + offset. */
  valueOffset?: number;
  /** Print `ready`, then wait until this file exists before init (starts many children at once). */
  startGate?: string;
  /** After this many calls print `held` and wait until `holdGate` exists before going on. */
  holdAt?: number;
  holdGate?: string;
}

/** One JSON line printed by the child. */
export interface LogChildLine {
  event:
    | 'ready'
    | 'started'
    | 'progress'
    | 'held'
    | 'finished'
    | 'flushed'
    | 'user-sigterm'
    | 'after-sigterm';
  id?: string;
  dir?: string;
  step?: number;
  logged?: number;
  flushedThrough?: number;
}
