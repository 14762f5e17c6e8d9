import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { listRunDirs, listSwanlabRunDirs, RunReader } from '@swanlog/store';
import { errorJson } from '../print.js';
import { listRun, type RunListing } from '../summarize-run.js';

export interface LsOptions {
  cwd: string;
  /** The logdir named on the command line, if any. */
  logdir: string | undefined;
  defaultLogdir: string;
}

export type LsEntry =
  | RunListing
  | { dir: string; error: { code: string; message: string } }
  | ForeignRunListing;

/** A run another tracker keeps in the log directory (SwanLab's folders share its layout). */
export interface ForeignRunListing {
  dir: string;
  kind: 'swanlab';
  id: string;
  /** The swanlog run it was imported into, if any. */
  importedAs: string | null;
}

/** Every run under the logdir; a damaged directory is an error entry and the others still list. */
export function ls(options: LsOptions): LsEntry[] {
  const logdir = resolve(options.cwd, options.logdir ?? options.defaultLogdir);
  if (options.logdir !== undefined && !existsSync(logdir)) {
    throw new SwanlogError('NOT_FOUND', `log directory ${logdir} does not exist`, {
      hint: 'pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)',
    });
  }
  const runs: LsEntry[] = listRunDirs(logdir).map((dir) => {
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
  const imported = new Map<string, string>();
  for (const r of runs) {
    if ('source' in r && r.source?.kind === 'swanlab' && r.copiedFrom === null)
      imported.set(r.source.id, r.id);
  }
  for (const s of listSwanlabRunDirs(logdir)) {
    runs.push({ dir: s.dir, kind: 'swanlab', id: s.id, importedAs: imported.get(s.id) ?? null });
  }
  return runs;
}
