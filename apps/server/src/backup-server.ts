import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import { ulid } from 'ulid';
import { openSqliteStorage, SQLITE_FILE } from './storage/sqlite-storage.js';

/**
 * Writes a consistent snapshot of a SQLite server's database to `out` with SQLite's online backup,
 * while the server runs and takes writes (a copy of the file could tear mid-commit). Refuses to
 * overwrite a file. For PostgreSQL, `pg_dump` is the tool (docs/api.md).
 */
export async function backupServer(options: { dataDir: string; out: string }): Promise<{ out: string }> {
  const dataDir = resolve(options.dataDir);
  const out = resolve(options.out);
  const path = join(dataDir, SQLITE_FILE);
  if (!existsSync(path))
    throw new SwanlogError('NOT_FOUND', `no server database in ${dataDir}`, {
      hint: `--data is the directory holding ${SQLITE_FILE}`,
    });
  if (existsSync(out))
    throw new SwanlogError('INVALID_OPTION', `${out} exists; a backup never overwrites a file`, {
      hint: 'give --out a new file name',
    });
  const db = new Database(path, { readonly: true });
  const partial = `${out}.partial`;
  try {
    db.pragma('busy_timeout = 10000');
    mkdirSync(dirname(out), { recursive: true });
    await db.backup(partial);
    renameSync(partial, out);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new SwanlogError('SERVER_ERROR', `backing up ${path} to ${out} failed: ${String(error)}`, {
      cause: error,
    });
  } finally {
    db.close();
  }
  return { out };
}

/**
 * Makes `dataDir` a server holding the backup `from`, with a new instance id: clients whose sync
 * records say "up to date" with the old instance compare watermarks again and send what the
 * backup lacks. The directory must not hold a server database yet (stop the server and move the
 * old one aside first).
 */
export function restoreServer(options: { dataDir: string; from: string }): { instanceId: string } {
  const dataDir = resolve(options.dataDir);
  const from = resolve(options.from);
  const path = join(dataDir, SQLITE_FILE);
  if (!existsSync(from)) throw new SwanlogError('NOT_FOUND', `no backup file ${from}`);
  if (existsSync(path))
    throw new SwanlogError('INVALID_OPTION', `${dataDir} already holds a server database`, {
      hint: `stop the server and move ${path} (and its -wal, -shm files) aside, or restore into a new directory`,
    });
  mkdirSync(dataDir, { recursive: true });
  const partial = `${path}.restoring`;
  const source = new Database(from, { readonly: true });
  try {
    // VACUUM INTO writes a clean copy, also from a backup whose own journal was left behind.
    source.prepare('VACUUM INTO ?').run(partial);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new SwanlogError('SERVER_ERROR', `cannot read the backup ${from}: ${String(error)}`, {
      cause: error,
    });
  } finally {
    source.close();
  }
  const db = new Database(partial);
  try {
    const instanceId = ulid();
    db.prepare("UPDATE meta SET value = ? WHERE key = 'instance_id'").run(instanceId);
  } finally {
    db.close();
  }
  renameSync(partial, path);
  // Applies any migration the backup's (older) schema lacks.
  const storage = openSqliteStorage({ dataDir });
  try {
    return { instanceId: storage.instanceId() as string };
  } finally {
    storage.close();
  }
}
