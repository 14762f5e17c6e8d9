// Helpers for the importer's tests: the committed TensorBoard fixtures, temp dirs, reading a run.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listRunDirs, RunReader } from '@swanlog/store';

/** The workspace root (this file runs from packages/import/dist/test-support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const TB_FIXTURES = join(REPO_ROOT, 'swanlog-fixtures', 'tensorboard');
export const TB_RUNS = join(TB_FIXTURES, 'runs');
/** The real files of other trackers beside the checkout (absent outside CI and the workplace). */
export const SAMPLES = join(REPO_ROOT, '..', 'shared', 'samples');

export type RefValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** EventAccumulator's view of each fixture run: tag → [step, value, wall_time] in TensorBoard's order. */
export function readReference(): Record<string, Record<string, [number, RefValue, number][]>> {
  return JSON.parse(readFileSync(join(TB_FIXTURES, 'reference.json'), 'utf8')).runs;
}

export function refNumber(v: RefValue): number {
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return v;
}

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'swanlog-import-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Copies the fixture runs to `dir`/runs (tests that change source files change the copy). */
export function copyTbRuns(dir: string): string {
  const to = join(dir, 'runs');
  cpSync(TB_RUNS, to, { recursive: true });
  return to;
}

export interface VisiblePoint {
  step: number;
  value: number;
  ts: number;
}

/** Every key's visible series of a run: key → points in step order. */
export function visibleSeries(dir: string): Record<string, VisiblePoint[]> {
  const reader = RunReader.open(dir);
  try {
    const out: Record<string, VisiblePoint[]> = {};
    for (const key of reader.keys()) {
      const s = reader.series(key);
      out[key] = Array.from(s.steps, (step, i) => ({ step, value: s.values[i]!, ts: s.ts[i]! }));
    }
    return out;
  } finally {
    reader.close();
  }
}

/** The run directory under `logdir` whose id is `id`. */
export function runDirOf(logdir: string, id: string): string {
  const dir = listRunDirs(logdir).find((d) => d.endsWith(`-${id}`));
  if (dir === undefined) throw new Error(`no run ${id} under ${logdir}`);
  return dir;
}

export const WANDB_FIXTURES = join(REPO_ROOT, 'swanlog-fixtures', 'wandb');
