import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { listRunDirs, RunReader } from '@swanlog/store';
import { errorJson } from '../print.js';
import { listRun, type RunListing } from '../summarize-run.js';

export interface LsOptions {
  cwd: string;
  /** The logdir named on the command line, if any. */
  logdir: string | undefined;
  defaultLogdir: string;
}

export type LsEntry = RunListing | { dir: string; error: { code: string; message: string } };

/** Every run under the logdir; a damaged directory is an error entry and the others still list. */
export function ls(options: LsOptions): LsEntry[] {
  const logdir = resolve(options.cwd, options.logdir ?? options.defaultLogdir);
  if (options.logdir !== undefined && !existsSync(logdir)) {
    throw new SwanlogError('NOT_FOUND', `log directory ${logdir} does not exist`, {
      hint: 'pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)',
    });
  }
  return listRunDirs(logdir).map((dir) => {
    let reader: RunReader | undefined;
    try {
      reader = RunReader.open(dir);
      return listRun(reader);
    } catch (error) {
      return { dir, error: errorJson(error) };
    } finally {
      reader?.close();
    }
  });
}
