import { SwanlogError } from '@swanlog/protocol';
import { openPostgresStorage } from './postgres-storage.js';
import { openSqliteStorage } from './sqlite-storage.js';
import type { Storage } from './storage.js';

/** Where a server keeps its data: a SQLite data directory or a PostgreSQL database. */
export type StorageLocation =
  | { dataDir: string; databaseUrl?: undefined }
  | { databaseUrl: string; dataDir?: undefined };

/** Opens (creating and migrating when needed) the storage at `location`. */
export async function openStorage(location: StorageLocation): Promise<Storage> {
  if (location.databaseUrl !== undefined) {
    checkDatabaseUrl(location.databaseUrl);
    return openPostgresStorage({ url: location.databaseUrl });
  }
  return openSqliteStorage({ dataDir: location.dataDir });
}

/** INVALID_OPTION unless `url` is a postgres:// or postgresql:// URL. */
export function checkDatabaseUrl(url: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new SwanlogError(
      'INVALID_OPTION',
      `database ${JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'))} is not a postgres:// URL`,
      {
        hint: 'give --database postgres://user@host:port/db (or --data <dir> for the embedded SQLite)',
      },
    );
  }
}
