import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openSwanlogFile, RUN_FILE } from './format.js';
import { syncRequestKey } from './request-key.js';
import { wrapStorageError } from './sqlite-error.js';

/**
 * Where a run directory was uploaded, per server (by the server's instance id, not its URL) and
 * per purpose: 'sync' (by `swanlog sync`), 'live' (by cloud mode) or 'copy' (the latest fresh
 * copy made by `sync --new` or by syncing a complete live run). Kept in run.sqlite so `swanlog ls`
 * can show sync status offline. The table is optional in format v1: readers that predate it ignore it.
 *
 * A record is valid only for the run id it was written for (`run_id`): a copied directory never
 * continues the original's experiment. Records written before `run_id` existed are judged by what
 * they hold (see `isOwnRecord`).
 */
export interface SyncRecord {
  instanceId: string;
  purpose: 'sync' | 'live' | 'copy';
  experimentId: string;
  /** The idempotency key the experiment was created with. */
  requestKey: string;
  /** Server URL used last (display only). */
  url: string;
  /** True when the server held every local point and session end at the last sync. */
  complete: boolean;
  uploadedPoints: number;
  /** ms since the epoch */
  updatedAt: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS sync_records (
  instance_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  experiment_id TEXT NOT NULL,
  request_key TEXT NOT NULL,
  url TEXT NOT NULL,
  complete INTEGER NOT NULL,
  uploaded_points INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  run_id TEXT,
  PRIMARY KEY (instance_id, purpose)
) WITHOUT ROWID`;

interface Row {
  instance_id: string;
  purpose: SyncRecord['purpose'];
  experiment_id: string;
  request_key: string;
  url: string;
  complete: number;
  uploaded_points: number;
  updated_at: number;
  /** Absent in tables written before it existed. */
  run_id?: string | null;
}

export interface ReadSyncRecordsOptions {
  /** Called for each record that was written for another run (a copy's inherited one); it is left out. */
  onForeign?: (record: SyncRecord & { runId: string | null }) => void;
}

/** The sync records of a run directory that belong to this run (none when it was never uploaded). */
export function readSyncRecords(runDir: string, options: ReadSyncRecordsOptions = {}): SyncRecord[] {
  const path = join(resolve(runDir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: 'auto', kind: 'run' });
  try {
    if (!hasTable(db)) return [];
    const run = runOf(db);
    const rows = db.prepare('SELECT * FROM sync_records ORDER BY instance_id, purpose').all() as Row[];
    const own: SyncRecord[] = [];
    for (const row of rows) {
      const record = toRecord(row);
      if (isOwnRecord(row.run_id ?? null, record, run)) own.push(record);
      else options.onForeign?.({ ...record, runId: row.run_id ?? null });
    }
    return own;
  } catch (error) {
    throw wrapStorageError(error, path, 'read the sync records of');
  } finally {
    db.close();
  }
}

interface RunIdentity {
  id: string;
  createdAt: number;
  copiedFrom: string | null;
}

/**
 * Whether a record was written for this run. With `run_id`: it must be this run's id. Without it
 * (written by an older swanlog): a run that is not a copy only ever received its own records;
 * in a copy, a sync or live record is its own when its request key is the one derived from the
 * copy's id and creation time, and anything else came with the copied files.
 */
function isOwnRecord(runId: string | null, record: SyncRecord, run: RunIdentity): boolean {
  if (runId !== null) return runId === run.id;
  if (run.copiedFrom === null) return true;
  if (record.purpose === 'copy') return false;
  return record.requestKey === syncRequestKey(run.id, run.createdAt, record.purpose);
}

function hasTable(db: Database.Database): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_records'").get() !==
    undefined
  );
}

function runOf(db: Database.Database): RunIdentity {
  const meta = new Map(
    (
      db.prepare("SELECT key, value FROM meta WHERE key IN ('id', 'created_at', 'copied_from')").all() as {
        key: string;
        value: string;
      }[]
    ).map((r) => [r.key, r.value]),
  );
  return {
    id: meta.get('id') ?? '',
    createdAt: Number(meta.get('created_at')),
    copiedFrom: meta.get('copied_from') ?? null,
  };
}

function toRecord(r: Row): SyncRecord {
  return {
    instanceId: r.instance_id,
    purpose: r.purpose,
    experimentId: r.experiment_id,
    requestKey: r.request_key,
    url: r.url,
    complete: r.complete === 1,
    uploadedPoints: r.uploaded_points,
    updatedAt: r.updated_at,
  };
}

/** Inserts or replaces the record for (instanceId, purpose), stamped with the run's id. */
export function writeSyncRecord(runDir: string, record: SyncRecord): void {
  const path = join(resolve(runDir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: false, kind: 'run' });
  try {
    db.exec(SCHEMA);
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('sync_records');
    if (!columns.includes('run_id')) db.exec('ALTER TABLE sync_records ADD COLUMN run_id TEXT');
    db.prepare(
      `INSERT OR REPLACE INTO sync_records
       (instance_id, purpose, experiment_id, request_key, url, complete, uploaded_points, updated_at, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.instanceId,
      record.purpose,
      record.experimentId,
      record.requestKey,
      record.url,
      record.complete ? 1 : 0,
      record.uploadedPoints,
      record.updatedAt,
      runOf(db).id,
    );
  } catch (error) {
    throw wrapStorageError(error, path, 'write the sync record of');
  } finally {
    db.close();
  }
}
