import { basename } from 'node:path';
import { isSwanlogError } from '@swanlog/protocol';
import { listRunDirs, RunReader, runIdOfDirName } from '@swanlog/store';
import type { RunProblem } from '../dashboard-types.js';

/**
 * Opens the run directory of `id` under `logdir` read-only for one request (the caller closes
 * it), or undefined. Of two directories of one id the newer (by creation time, then name) wins.
 */
export function openLocalRun(logdir: string, id: string): RunReader | undefined {
  let best: RunReader | undefined;
  for (const dir of listRunDirs(logdir)) {
    const named = runIdOfDirName(basename(dir));
    if (named !== undefined && named !== id) continue;
    const reader = tryOpen(dir);
    if (reader === undefined) continue;
    if (reader.meta.id === id && (best === undefined || reader.meta.createdAt >= best.meta.createdAt)) {
      best?.close();
      best = reader;
    } else {
      reader.close();
    }
  }
  return best;
}

/**
 * Visits every readable run directory under `logdir` (one reader at a time, closed after `visit`),
 * keeping for each run id only the newest directory. Directories that fail to open or to read are
 * reported as problems and skipped.
 */
export function eachLocalRun<T>(
  logdir: string,
  visit: (reader: RunReader) => T,
): { results: T[]; problems: RunProblem[] } {
  const problems: RunProblem[] = [];
  const newest = new Map<string, { createdAt: number; result: T }>();
  for (const dir of listRunDirs(logdir)) {
    try {
      const reader = RunReader.open(dir, { readonly: true });
      try {
        const result = visit(reader);
        const seen = newest.get(reader.meta.id);
        if (seen === undefined || reader.meta.createdAt >= seen.createdAt)
          newest.set(reader.meta.id, { createdAt: reader.meta.createdAt, result });
      } finally {
        reader.close();
      }
    } catch (error) {
      if (!isSwanlogError(error)) throw error;
      problems.push({ dir, code: error.code, message: error.message });
    }
  }
  const results = [...newest.values()].sort((a, b) => b.createdAt - a.createdAt).map((e) => e.result);
  return { results, problems };
}

function tryOpen(dir: string): RunReader | undefined {
  try {
    return RunReader.open(dir, { readonly: true });
  } catch (error) {
    if (isSwanlogError(error)) return undefined;
    throw error;
  }
}
