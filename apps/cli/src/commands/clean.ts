import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import {
  listRunDirs,
  RUN_FILE,
  RunReader,
  type RunState,
  readSyncRecords,
  resolveRunDir,
} from '@swanlog/store';
import { errorJson } from '../print.js';

export interface CleanOptions {
  cwd: string;
  logdir: string | undefined;
  defaultLogdir: string;
  /** Only runs that ended longer ago than this, e.g. `7d`, `12h`, `30m`. */
  olderThan?: string | undefined;
  /** Remove for real; without it, clean only lists what it would remove. */
  yes?: boolean | undefined;
  now?: number;
}

export interface CleanEntry {
  dir: string;
  id: string | null;
  state: RunState | null;
  /** ISO 8601 end of the last session, null while running or never ended. */
  endedAt: string | null;
  /** Experiments holding the whole run (complete sync or live records). */
  uploadedTo: { instanceId: string; experimentId: string; url: string }[];
  removable: boolean;
  /** Why the run is kept (null when removable). */
  keptBecause: string | null;
  removed: boolean;
}

export interface CleanResult {
  logdir: string;
  dryRun: boolean;
  runs: CleanEntry[];
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `swanlog clean`: the run directories that have ended (finished or aborted) and are completely
 * uploaded, removed with `yes`. Never a running, crashed or partly uploaded run.
 */
export function clean(options: CleanOptions): CleanResult {
  const logdir = resolve(options.cwd, options.logdir ?? options.defaultLogdir);
  if (!existsSync(logdir)) {
    throw new SwanlogError('NOT_FOUND', `log directory ${logdir} does not exist`, {
      hint: 'pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)',
    });
  }
  const minAge = options.olderThan === undefined ? 0 : parseDuration(options.olderThan);
  const now = options.now ?? Date.now();
  const runs = listRunDirs(logdir).map((dir) => assess(dir, minAge, now));
  if (options.yes) {
    for (const r of runs) {
      if (!r.removable) continue;
      rmSync(r.dir, { recursive: true, force: true });
      r.removed = true;
    }
  }
  return { logdir, dryRun: options.yes !== true, runs };
}

export function assess(dir: string, minAge: number, now: number): CleanEntry {
  const entry: CleanEntry = {
    dir,
    id: null,
    state: null,
    endedAt: null,
    uploadedTo: [],
    removable: false,
    keptBecause: null,
    removed: false,
  };
  let reader: RunReader | undefined;
  try {
    reader = RunReader.open(dir);
    entry.id = reader.meta.id;
    entry.state = reader.state();
    const rows = reader.sessionRows();
    const ended = rows.every((r) => r.ended_at !== null)
      ? Math.max(0, ...rows.map((r) => r.ended_at ?? 0))
      : null;
    const lastActivity = Math.max(ended ?? 0, ...rows.map((r) => Math.max(r.started_at, r.clock_start)));
    entry.endedAt = ended === null ? null : new Date(ended).toISOString();
    // A complete record written after the last session ended covers everything the run holds.
    entry.uploadedTo = readSyncRecords(dir)
      .filter(
        (r) => r.complete && (r.purpose === 'sync' || r.purpose === 'live') && r.updatedAt >= lastActivity,
      )
      .map((r) => ({ instanceId: r.instanceId, experimentId: r.experimentId, url: r.url }));
    entry.keptBecause = keepReason(entry.state, ended, entry.uploadedTo.length > 0, minAge, now);
    entry.removable = entry.keptBecause === null;
  } catch (error) {
    entry.keptBecause = `unreadable: error[${errorJson(error).code}]: ${errorJson(error).message}`;
  } finally {
    reader?.close();
  }
  return entry;
}

function keepReason(
  state: RunState,
  ended: number | null,
  uploaded: boolean,
  minAge: number,
  now: number,
): string | null {
  if (state === 'running') return 'running';
  if (state === 'crashed') return 'crashed (resume or sync it first)';
  if (ended === null) return 'not ended';
  if (!uploaded) return 'not completely uploaded (run `swanlog sync` first)';
  if (now - ended < minAge) return 'ended too recently for --older-than';
  return null;
}

/** `7d`, `12h`, `30m`, `45s`, `2w` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (m === null) {
    throw new SwanlogError('INVALID_OPTION', `--older-than ${JSON.stringify(text)} is not a duration`, {
      hint: 'use a number and a unit: 30m, 12h, 7d, 2w',
    });
  }
  return Number(m[1]) * UNITS[m[2]!]!;
}

export interface RmEntry {
  dir: string;
  id: string | null;
  removed: boolean;
  /** Why the run was kept (null when removed). */
  keptBecause: string | null;
}

/**
 * `swanlog rm <run...>`: removes run directories (given by path, directory name or id). Never a
 * run that is still being written; one not completely uploaded only with `force`. A target that
 * is not a run directory is an error entry, and the other targets are still handled.
 */
export function rm(options: {
  cwd: string;
  targets: string[];
  logdir: string;
  force?: boolean | undefined;
}): { runs: (RmEntry | { target: string; error: ReturnType<typeof errorJson> })[] } {
  const runs: (RmEntry | { target: string; error: ReturnType<typeof errorJson> })[] = [];
  for (const target of options.targets) {
    let dir: string;
    try {
      dir = resolveRunDir(target, options.logdir, options.cwd);
      if (!existsSync(join(dir, RUN_FILE))) {
        throw new SwanlogError('RUN_NOT_FOUND', `${dir} is not a run directory (it has no ${RUN_FILE})`, {
          hint: 'pass a run directory, its name or its run id (see `swanlog ls`)',
        });
      }
    } catch (error) {
      runs.push({ target, error: errorJson(error) });
      continue;
    }
    const a = assess(dir, 0, Date.now());
    const entry: RmEntry = { dir, id: a.id, removed: false, keptBecause: null };
    if (a.state === 'running') entry.keptBecause = 'still being written (a writer is alive): stop it first';
    else if (a.id === null) entry.keptBecause = a.keptBecause;
    else if (a.uploadedTo.length === 0 && options.force !== true)
      entry.keptBecause = 'not completely uploaded: run `swanlog sync` first, or pass --force to lose it';
    if (entry.keptBecause === null) {
      rmSync(dir, { recursive: true, force: true });
      entry.removed = true;
    }
    runs.push(entry);
  }
  return { runs };
}
