import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';

import { dirname, join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import type { JsonObject } from './deep-merge.js';
import { findRunDir, runDirName } from './find-run.js';
import { FORMAT_VERSION, RUN_FILE, RUN_SCHEMA, stampFormat } from './format.js';
import { currentProcess, isWriterAlive, type ProcessIdentity } from './liveness.js';
import type { RunSource } from './run-reader.js';
import { wrapStorageError } from './sqlite-error.js';

export interface CreateRunOptions {
  logdir: string;
  id: string;
  project: string;
  workspace: string | null;
  name: string | null;
  config?: JsonObject;
  copiedFrom?: string;
  /**
   * Seed of a partial directory made to resume a server's experiment on a machine that has none
   * of its history: the server's last step and highest clock timestamp.
   */
  seed?: { lastStep: number | null; maxTs: number };
  /** The origin of an imported run (meta `source_kind`, `source_path`, `source_id`). */
  source?: RunSource;
  /**
   * Clock of the initial config revision (default now). An import gives the source's start time,
   * so the config does not order after the points it brings, which keep their own times.
   */
  configTs?: number;
  /** The run's format version (default FORMAT_VERSION; 1 for runs an older swanlog must read). */
  formatVersion?: number;
}

export interface CreateRunResult {
  dir: string;
  /** False when another process claimed the id first and this call found its directory. */
  created: boolean;
}

const CLAIMS_DIR = '.swanlog/claims';
const CLAIM_WAIT_MS = 30_000;
const CLAIM_STALE_MS = 10_000;

/**
 * Creates a run directory for `id` under `logdir`, claiming the id with an exclusive create so
 * that two processes creating the same id end in one directory: the loser waits for the winner's
 * directory and returns it with `created: false`. The directory appears complete (built under a
 * temporary name, then renamed).
 */
export function createRun(options: CreateRunOptions): CreateRunResult {
  const logdir = resolve(options.logdir);
  const claim = claimRunId(logdir, options.id);
  if (typeof claim === 'object') return { dir: claim.existing, created: false };
  const dir = join(logdir, runDirName(options.id));
  buildRunDir(logdir, dir, claim, (tmp) => writeRunFile(join(tmp, RUN_FILE), options));
  return { dir, created: true };
}

/**
 * Claims `id` in `logdir`: returns the claim file's path when this process now owns the id, or
 * the directory of the run that already has it.
 */
export function claimRunId(logdir: string, id: string): string | { existing: string } {
  try {
    return claimIn(logdir, id);
  } catch (error) {
    throw wrapStorageError(error, logdir, 'create a run in', {
      STORAGE_READ_ONLY: `a new run needs to write in the log directory ${logdir}: remount it read-write, make it writable for this user, or point logdir (SWANLOG_LOGDIR) to a writable directory`,
    });
  }
}

function claimIn(logdir: string, id: string): string | { existing: string } {
  makeDirectory(join(logdir, CLAIMS_DIR));
  const claimPath = join(logdir, CLAIMS_DIR, id);
  for (;;) {
    const existing = findRunDir(logdir, id);
    if (existing !== undefined) return { existing };
    if (tryClaim(claimPath)) {
      // The previous holder may have finished (directory renamed, claim released) between our
      // look and our claim: look again now that nobody else can create the id.
      const created = findRunDir(logdir, id);
      if (created === undefined) return claimPath;
      rmSync(claimPath, { force: true });
      return { existing: created };
    }
    const found = waitForRunDir(logdir, id, claimPath);
    if (found !== undefined) return { existing: found };
  }
}

/**
 * `mkdir -p` that fails with the reason a directory cannot be made. Node's recursive mkdir answers
 * ENOENT when the missing parent cannot be created (read-only mount, no write permission).
 */
function makeDirectory(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(path).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
    makeDirectory(dirname(path));
    makeDirectory(path);
  }
}

/** Fills a temporary directory with `fill`, then renames it to `dir`; on failure gives the claim back. */
export function buildRunDir(
  logdir: string,
  dir: string,
  claimPath: string,
  fill: (tmp: string) => void,
): void {
  const tmp = join(logdir, `.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(join(tmp, 'writers'), { recursive: true });
    fill(tmp);
    renameSync(tmp, dir);
    // The directory now claims the id by its name; the claim file only guarded its creation.
    rmSync(claimPath, { force: true });
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(claimPath, { force: true });
    throw wrapStorageError(error, dir, 'create');
  }
}

function writeRunFile(path: string, options: CreateRunOptions): void {
  const db = new Database(path);
  try {
    stampFormat(db, options.formatVersion ?? FORMAT_VERSION);
    db.exec(RUN_SCHEMA);
    const now = Date.now();
    const insert = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      insert.run('format', String(options.formatVersion ?? FORMAT_VERSION));
      insert.run('id', options.id);
      insert.run('project', options.project);
      if (options.workspace !== null) insert.run('workspace', options.workspace);
      if (options.name !== null) insert.run('name', options.name);
      insert.run('created_at', String(now));
      if (options.copiedFrom !== undefined) insert.run('copied_from', options.copiedFrom);
      if (options.source !== undefined) {
        insert.run('source_kind', options.source.kind);
        insert.run('source_path', options.source.path);
        insert.run('source_id', options.source.id);
      }
      if (options.seed !== undefined) {
        insert.run('partial', '1');
        if (options.seed.lastStep !== null) insert.run('seed_last_step', String(options.seed.lastStep));
        insert.run('seed_max_ts', String(options.seed.maxTs));
      }
      if (options.config !== undefined && Object.keys(options.config).length > 0) {
        db.prepare('INSERT INTO config_revisions (rev, ts, source, patch) VALUES (1, ?, NULL, ?)').run(
          options.configTs ?? now,
          JSON.stringify(options.config),
        );
      }
    })();
  } finally {
    db.close();
  }
}

function tryClaim(claimPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(claimPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(currentProcess()));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Waits for the claim holder's directory. Creating one takes milliseconds, so a claim that is
 * older than CLAIM_STALE_MS, or whose holder died on this host, is stale (its creator died
 * mid-creation): it is removed and `undefined` returned so the caller claims again.
 */
function waitForRunDir(logdir: string, id: string, claimPath: string): string | undefined {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    const found = findRunDir(logdir, id);
    if (found !== undefined) return found;
    const holder = readClaim(claimPath);
    if (holder === undefined) return undefined;
    const deadHolder =
      holder !== 'pending' && holder.host === currentProcess().host && !isWriterAlive(holder, undefined);
    if (deadHolder || claimAge(claimPath) > CLAIM_STALE_MS) {
      if (findRunDir(logdir, id) !== undefined) continue;
      rmSync(claimPath, { force: true });
      return undefined;
    }
    Atomics.wait(sleeper, 0, 0, 20);
  }
  throw new SwanlogError(
    'CONFLICT',
    `run id ${id} is claimed in ${logdir} but its directory never appeared`,
    {
      hint: `if no other process is creating it, remove ${claimPath} and retry`,
    },
  );
}

function claimAge(claimPath: string): number {
  try {
    return Date.now() - statSync(claimPath).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** The claim's holder; 'pending' while the holder is still writing its identity. */
function readClaim(claimPath: string): ProcessIdentity | 'pending' | undefined {
  try {
    return JSON.parse(readFileSync(claimPath, 'utf8')) as ProcessIdentity;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return 'pending';
    throw error;
  }
}
