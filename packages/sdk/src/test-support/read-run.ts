import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunReader, type RunState } from '@swanlog/store';
import { type ErrorCode, isSwanlogError, type SwanlogError } from '../index.js';

/** Opens the run directory, runs `fn` on a reader, and closes the reader. */
export function withReader<T>(dir: string | null, fn: (reader: RunReader) => T): T {
  assert.ok(dir !== null, 'the run has no directory');
  const reader = RunReader.open(dir);
  try {
    return fn(reader);
  } finally {
    reader.close();
  }
}

export interface PlainSeries {
  steps: number[];
  values: number[];
  superseded?: number[];
}

/** A key's series as plain arrays (visible points, or all points with their superseded marks). */
export function readSeries(dir: string | null, key: string, superseded = false): PlainSeries {
  return withReader(dir, (r) => {
    const s = r.series(key, { superseded });
    const out: PlainSeries = { steps: [...s.steps], values: [...s.values] };
    if (superseded) out.superseded = [...(s.superseded ?? [])];
    return out;
  });
}

export function readState(dir: string | null): RunState {
  return withReader(dir, (r) => r.state());
}

/** `start, start + 1, ..., end - 1`. */
export function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** Names of every `-wal` file in the run directory and its writers/ folder. */
export function walFiles(dir: string): string[] {
  return [dir, join(dir, 'writers')].flatMap((d) =>
    readdirSync(d)
      .filter((name) => name.endsWith('-wal'))
      .map((name) => join(d, name)),
  );
}

/** Asserts that `fn` throws a SwanlogError with `code`, and returns it for more checks. */
export function throwsCode(fn: () => unknown, code: ErrorCode): SwanlogError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a SwanlogError ${code}, but nothing was thrown`);
  assert.ok(isSwanlogError(caught), `expected a SwanlogError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected code ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}
