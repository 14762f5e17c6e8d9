import { join, resolve } from 'node:path';
import { openSwanlogFile, RUN_FILE } from './format.js';
import { wrapStorageError } from './sqlite-error.js';

/**
 * Where a run directory was uploaded, per server (by the server's instance id, not its URL) and
 * per purpose: 'sync' (by `swanlog sync`), 'live' (by cloud mode) or 'copy' (the latest fresh
 * copy made by `sync --new` or by syncing a complete live run). Kept in run.sqlite so `swanlog ls`
 * can show sync status offline. The table is optional in format v1: readers that predate it ignore it.
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
}

/** Every sync record of a run directory (none when it was never uploaded). */
export function readSyncRecords(runDir: string): SyncRecord[] {
  const path = join(resolve(runDir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: 'auto', kind: 'run' });
  try {
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_records'")
      .get();
    if (exists === undefined) return [];
    const rows = db.prepare('SELECT * FROM sync_records ORDER BY instance_id, purpose').all() as Row[];
    return rows.map((r) => ({
      instanceId: r.instance_id,
      purpose: r.purpose,
      experimentId: r.experiment_id,
      requestKey: r.request_key,
      url: r.url,
      complete: r.complete === 1,
      uploadedPoints: r.uploaded_points,
      updatedAt: r.updated_at,
    }));
  } catch (error) {
    throw wrapStorageError(error, path, 'read the sync records of');
  } finally {
    db.close();
  }
}

/** Inserts or replaces the record for (instanceId, purpose). */
export function writeSyncRecord(runDir: string, record: SyncRecord): void {
  const path = join(resolve(runDir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: false, kind: 'run' });
  try {
    db.exec(SCHEMA);
    db.prepare(
      `INSERT OR REPLACE INTO sync_records
       (instance_id, purpose, experiment_id, request_key, url, complete, uploaded_points, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.instanceId,
      record.purpose,
      record.experimentId,
      record.requestKey,
      record.url,
      record.complete ? 1 : 0,
      record.uploadedPoints,
      record.updatedAt,
    );
  } catch (error) {
    throw wrapStorageError(error, path, 'write the sync record of');
  } finally {
    db.close();
  }
}
