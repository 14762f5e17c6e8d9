import { resolve } from 'node:path';
import { type CopyRunResult, copyRun, resolveRunDir } from '@swanlog/store';

export interface CopyOptions {
  cwd: string;
  target: string;
  /** Where the copy goes (default: next to the original). */
  into: string | undefined;
  logdir: string;
}

/** A new run directory with a new id and the same content; the original is not touched. */
export function copy(options: CopyOptions): CopyRunResult {
  const dir = resolveRunDir(options.target, options.logdir, options.cwd);
  return copyRun(dir, options.into === undefined ? {} : { logdir: resolve(options.cwd, options.into) });
}
