import { cpSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { buildRunDir, claimRunId } from './create-run.js';
import { runDirName } from './find-run.js';
import { type FileKind, openSwanlogFile, RUN_FILE, WRITERS_DIR } from './format.js';
import { generateRunId } from './run-id.js';
import { RunReader } from './run-reader.js';
import { wrapStorageError } from './sqlite-error.js';

export interface CopyRunOptions {
  /** Where the copy goes; default: next to the original. */
  logdir?: string;
}

export interface CopyRunResult {
  id: string;
  dir: string;
  copiedFrom: string;
}

/**
 * Copies a run directory, live or not, into a new run with a fresh id and the lineage recorded.
 * Each file is copied as a consistent SQLite snapshot (VACUUM INTO), the run file first, so the
 * copy never holds a torn write. Sessions open at copy time end as crashed in the copy, at their
 * last sign of life: nothing writes into it until it is resumed. The copy carries no sync records:
 * it was never uploaded. The original is never modified.
 */
export function copyRun(sourceDir: string, options: CopyRunOptions = {}): CopyRunResult {
  const src = resolve(sourceDir);
  const reader = RunReader.open(src, { readonly: true });
  const original = reader.meta.id;
  reader.close();
  const logdir = resolve(options.logdir ?? dirname(src));
  const id = generateRunId();
  const claim = claimRunId(logdir, id);
  if (typeof claim === 'object') throw new Error(`fresh run id ${id} already exists in ${logdir}`);
  const dir = join(logdir, runDirName(id));
  buildRunDir(logdir, dir, claim, (tmp) => {
    snapshot(join(src, RUN_FILE), join(tmp, RUN_FILE), 'run');
    const runDb = new Database(join(tmp, RUN_FILE));
    try {
      const setMeta = runDb.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      runDb.transaction(() => {
        setMeta.run('id', id);
        setMeta.run('copied_from', original);
        setMeta.run('created_at', String(Date.now()));
        // The original's uploads are not the copy's: its first sync makes an experiment of its own.
        runDb.exec('DROP TABLE IF EXISTS sync_records');
      })();
      const sources = runDb.prepare('SELECT source FROM sessions').pluck().all() as string[];
      for (const source of sources) {
        const to = join(tmp, WRITERS_DIR, `${source}.sqlite`);
        snapshot(join(src, WRITERS_DIR, `${source}.sqlite`), to, 'writer');
        const w = new Database(to);
        try {
          w.prepare("UPDATE meta SET value = ? WHERE key = 'run_id'").run(id);
        } finally {
          w.close();
        }
      }
      endOpenSessions(tmp, runDb);
    } finally {
      runDb.close();
    }
    for (const blobs of ['media', 'files']) {
      if (existsSync(join(src, blobs))) cpSync(join(src, blobs), join(tmp, blobs), { recursive: true });
    }
  });
  return { id, dir, copiedFrom: original };
}

/**
 * Sessions open in the snapshot end as crashed at their last sign of life in it (last durable
 * write or heartbeat), not at the copy time: the copy's state then reads as the original's did
 * (a dead session already followed by a later one stays followed), and nothing writes into the
 * copy until it is resumed.
 */
function endOpenSessions(tmp: string, runDb: Database.Database): void {
  const open = runDb.prepare('SELECT source FROM sessions WHERE end_state IS NULL').pluck().all() as string[];
  if (open.length === 0) return;
  const reader = RunReader.open(tmp, { readonly: true });
  let lastSigns: [string, number][];
  try {
    lastSigns = open.map((source) => [source, reader.lastSignOf(source)]);
  } finally {
    reader.close();
  }
  const end = runDb.prepare("UPDATE sessions SET end_state = 'crashed', ended_at = ? WHERE source = ?");
  runDb.transaction(() => {
    for (const [source, at] of lastSigns) end.run(at, source);
  })();
}

function snapshot(from: string, to: string, kind: FileKind): void {
  const db = openSwanlogFile(from, { readonly: true, kind });
  try {
    db.prepare('VACUUM INTO ?').run(to);
  } catch (error) {
    throw wrapStorageError(error, from, 'copy');
  } finally {
    db.close();
  }
}
