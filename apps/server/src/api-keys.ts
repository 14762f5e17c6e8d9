import { type KeyScope, SwanlogError } from '@swanlog/protocol';
import { runIdSchema } from '@swanlog/protocol/schemas';
import { ulid } from 'ulid';
import { generateApiKey, KEY_PREFIX, sha256Hex } from './auth.js';
import { openSqliteStorage } from './storage/sqlite-storage.js';
import type { ApiKeyRecord } from './storage/storage.js';

export interface CreateApiKeyOptions {
  dataDir: string;
  workspace: string;
  /** Default `write`. */
  scope?: KeyScope;
}

/**
 * Creates an API key for `workspace` in the data directory's database and returns it; only its
 * sha256 is stored, so the key is shown this once. Works while a server runs on the directory.
 *
 * ```ts
 * const { key } = createApiKey({ dataDir: './data', workspace: 'team', scope: 'read' });
 * ```
 */
export function createApiKey(options: CreateApiKeyOptions): { id: string; key: string } {
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
  return withStorage(options.dataDir, (storage) => {
    const key = generateApiKey();
    const id = ulid().toLowerCase();
    storage.addApiKey({
      id,
      hash: sha256Hex(key),
      workspace: options.workspace,
      scope,
      createdAt: Date.now(),
    });
    return { id, key };
  });
}

/**
 * Revokes a key given by itself or by its id; a running server refuses it from its next request.
 * Returns false when no such key exists.
 */
export function revokeApiKey(options: { dataDir: string; keyOrId: string }): boolean {
  const target = options.keyOrId.startsWith(KEY_PREFIX) ? sha256Hex(options.keyOrId) : options.keyOrId;
  return withStorage(options.dataDir, (storage) => storage.revokeApiKey(target, Date.now()) as boolean);
}

/** Every key of the data directory (never the keys themselves). */
export function listApiKeys(options: { dataDir: string }): ApiKeyRecord[] {
  return withStorage(options.dataDir, (storage) => storage.listApiKeys() as ApiKeyRecord[]);
}

function withStorage<T>(dataDir: string, fn: (storage: ReturnType<typeof openSqliteStorage>) => T): T {
  const storage = openSqliteStorage({ dataDir });
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}
