import { type KeyScope, SwanlogError } from '@swanlog/protocol';
import { runIdSchema } from '@swanlog/protocol/schemas';
import { ulid } from 'ulid';
import { generateApiKey, KEY_PREFIX, sha256Hex } from './auth.js';
import { checkDatabaseUrl } from './storage/open-storage.js';
import { openPostgresStorage } from './storage/postgres-storage.js';
import { openSqliteStorage } from './storage/sqlite-storage.js';
import type { ApiKeyRecord, MaybePromise, Storage } from './storage/storage.js';

/** The data directory (SQLite, answered synchronously) or a PostgreSQL database (a promise). */
export type KeyStoreLocation = { dataDir: string } | { databaseUrl: string };

export type CreateApiKeyOptions = KeyStoreLocation & {
  workspace: string;
  /** Default `write`. */
  scope?: KeyScope;
};

/**
 * Creates an API key for `workspace` in the data directory's (or database's) storage and returns
 * it; only its sha256 is stored, so the key is shown this once. Works while servers run on it.
 *
 * ```ts
 * const { key } = createApiKey({ dataDir: './data', workspace: 'team', scope: 'read' });
 * const { key: k2 } = await createApiKey({ databaseUrl: 'postgres://swanlog@db/swanlog', workspace: 'team' });
 * ```
 */
export function createApiKey(options: CreateApiKeyOptions & { dataDir: string }): { id: string; key: string };
export function createApiKey(
  options: CreateApiKeyOptions & { databaseUrl: string },
): Promise<{ id: string; key: string }>;
export function createApiKey(options: CreateApiKeyOptions): MaybePromise<{ id: string; key: string }> {
  const scope = options.scope ?? 'write';
  if (scope !== 'read' && scope !== 'write')
    throw new SwanlogError('INVALID_OPTION', `scope ${JSON.stringify(scope)} is neither read nor write`);
  if (!runIdSchema.safeParse(options.workspace).success) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `workspace ${JSON.stringify(options.workspace)} is not a valid name`,
      {
        hint: 'a workspace is 1-64 characters of letters, digits, "_" and "-"',
      },
    );
  }
  const key = generateApiKey();
  const id = ulid().toLowerCase();
  return withStorage(options, (storage) =>
    then(
      storage.addApiKey({
        id,
        hash: sha256Hex(key),
        workspace: options.workspace,
        scope,
        createdAt: Date.now(),
      }),
      () => ({ id, key }),
    ),
  );
}

/**
 * Revokes a key given by itself or by its id; a running server (every replica on a database)
 * refuses it from its next request. Answers false when no such key exists.
 */
export function revokeApiKey(options: { dataDir: string; keyOrId: string }): boolean;
export function revokeApiKey(options: { databaseUrl: string; keyOrId: string }): Promise<boolean>;
export function revokeApiKey(options: KeyStoreLocation & { keyOrId: string }): MaybePromise<boolean> {
  const target = options.keyOrId.startsWith(KEY_PREFIX) ? sha256Hex(options.keyOrId) : options.keyOrId;
  return withStorage(options, (storage) => storage.revokeApiKey(target, Date.now()));
}

/** Every key of the data directory or database (never the keys themselves). */
export function listApiKeys(options: { dataDir: string }): ApiKeyRecord[];
export function listApiKeys(options: { databaseUrl: string }): Promise<ApiKeyRecord[]>;
export function listApiKeys(options: KeyStoreLocation): MaybePromise<ApiKeyRecord[]> {
  return withStorage(options, (storage) => storage.listApiKeys());
}

/** Runs `fn` on the location's storage and closes it; synchronous for SQLite, as it always was. */
function withStorage<T>(
  location: KeyStoreLocation,
  fn: (storage: Storage) => MaybePromise<T>,
): MaybePromise<T> {
  if ('databaseUrl' in location) {
    checkDatabaseUrl(location.databaseUrl);
    return openPostgresStorage({ url: location.databaseUrl }).then(async (storage) => {
      try {
        return await fn(storage);
      } finally {
        await storage.close();
      }
    });
  }
  const storage = openSqliteStorage({ dataDir: location.dataDir });
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}

/** `next(value)` now for a value, after it for a promise. */
function then<T, U>(value: MaybePromise<T>, next: (value: T) => U): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
