import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import { wrapStorageError } from './sqlite-error.js';

/** `PRAGMA application_id` of every swanlog file: "SWLG". */
export const APPLICATION_ID = 0x53574c47;
/**
 * Run-directory format version of new runs, stored as `PRAGMA user_version` in every file of a
 * run. Version 2 differs from 1 only in that its chunks may use chunk codec version 2.
 */
export const FORMAT_VERSION = 2;
/** The format versions this code reads (and writes into: a run keeps the version it was made with). */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];

/** The chunk codec version writers use in a run of format `version`. */
export function chunkCodecFor(version: number): number {
  return version >= 2 ? 2 : 1;
}

/** The format version of an open swanlog file (checked by openSwanlogFile). */
export function formatVersionOf(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
export const RUN_FILE = 'run.sqlite';
export const WRITERS_DIR = 'writers';

export type FileKind = 'run' | 'writer';

export const RUN_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sessions (
  source TEXT PRIMARY KEY,
  segment TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  pid_start TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  clock_start INTEGER NOT NULL,
  resumed INTEGER NOT NULL,
  from_step INTEGER,
  ended_at INTEGER,
  end_state TEXT
) WITHOUT ROWID;
CREATE TABLE config_revisions (
  rev INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  source TEXT,
  patch TEXT NOT NULL
);
`;

export const WRITER_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  key_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  step_min INTEGER NOT NULL,
  step_max INTEGER NOT NULL,
  ts_min INTEGER NOT NULL,
  ts_max INTEGER NOT NULL,
  seq_min INTEGER NOT NULL,
  seq_max INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX chunks_by_key ON chunks (key_id, seq_min);
CREATE INDEX chunks_by_step ON chunks (step_max, key_id, step_min, ts_min, seq_min);
CREATE TABLE rewinds (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, step INTEGER NOT NULL);
CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), ts INTEGER NOT NULL);
CREATE TABLE console (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL);
`;

export interface OpenFileOptions {
  /**
   * 'auto' (readers): read-write when the file and its directory are writable, so that the last
   * connection to close folds a left-over -wal file into the database; read-only otherwise (a
   * read-only mount or another user's run). A reader never writes data either way.
   */
  readonly: boolean | 'auto';
  kind: FileKind;
}

/**
 * Opens one swanlog SQLite file and checks that it is one of ours and of a version we read.
 * Foreign files are RUN_DIR_CORRUPT, newer versions UNSUPPORTED_FORMAT.
 */
export function openSwanlogFile(path: string, options: OpenFileOptions): Database.Database {
  let db: Database.Database;
  try {
    const readonly = options.readonly === 'auto' ? !isWritable(path) : options.readonly;
    db = openDatabase(path, readonly);
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CANTOPEN') {
      throw new SwanlogError('RUN_DIR_CORRUPT', `cannot open ${path}: the file is missing or unreadable`, {
        hint: 'is this a swanlog run directory? `swanlog ls <logdir>` lists the runs',
        cause: error,
      });
    }
    throw wrapStorageError(error, path, 'open');
  }
  try {
    db.pragma('busy_timeout = 10000');
    checkFormat(db, path, options.kind);
    return db;
  } catch (error) {
    db.close();
    throw wrapStorageError(error, path, 'read');
  }
}

function checkFormat(db: Database.Database, path: string, kind: FileKind): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID) {
    throw new SwanlogError('RUN_DIR_CORRUPT', `${path} is not a swanlog ${kind} file`, {
      hint: 'point the command at a run directory made by swanlog (run-<date>-<id>)',
    });
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (!READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new SwanlogError(
      'UNSUPPORTED_FORMAT',
      `${path} has run-directory format version ${version}; this swanlog reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')}`,
      { hint: version > FORMAT_VERSION ? 'upgrade swanlog to read this run' : 'this file is damaged' },
    );
  }
}

/** Writes the header fields that mark a new file as a swanlog file of format `version`. */
export function stampFormat(db: Database.Database, version: number = FORMAT_VERSION): void {
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${version}`);
}

export function readMeta(db: Database.Database): Map<string, string> {
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
  return new Map(rows.map((r) => [r.key, r.value]));
}

// better-sqlite3 reads this when its addon loads (at the first `new Database`): URI file names
// let a read-only WAL-mode file be opened as immutable (see openDatabase).
process.env.SQLITE_USE_URI ??= '1';

/**
 * Opens a database file. A WAL-mode file in a directory we cannot write (a read-only mount, another
 * user's run) cannot be opened read-only when SQLite cannot create its -shm file; when no -wal
 * file holds data, nothing can be missed, so it is opened as immutable instead.
 */
function openDatabase(path: string, readonly: boolean): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: true });
    db.pragma('application_id'); // SQLite opens lazily: the first read meets the -shm problem
    return db;
  } catch (error) {
    db?.close();
    const code = String((error as { code?: unknown }).code);
    const walBytes = fileSize(`${path}-wal`);
    if (!readonly || walBytes > 0 || !(code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN'))
      throw error;
    if (fileSize(path) < 0) throw error;
    return new Database(`${pathToFileURL(path).href}?immutable=1`, { readonly: true, fileMustExist: true });
  }
}

/** Size of a file, -1 when it does not exist. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw error;
  }
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Writes a new writer file's format stamp, schema (plus `extraSchema`) and meta rows in one
 * transaction, so a reader never sees a writer file without its meta.
 */
export function initWriterFile(
  db: Database.Database,
  init: { runId: string; source: string; clockStart: number; formatVersion: number },
  extraSchema?: string,
): void {
  db.transaction(() => {
    stampFormat(db, init.formatVersion);
    db.exec(WRITER_SCHEMA);
    if (extraSchema !== undefined) db.exec(extraSchema);
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run('format', String(init.formatVersion));
    meta.run('run_id', init.runId);
    meta.run('source', init.source);
    meta.run('created_at', String(init.clockStart));
    meta.run('points', '0');
  })();
}
