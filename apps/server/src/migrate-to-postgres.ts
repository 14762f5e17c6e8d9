import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { checkDatabaseUrl } from './storage/open-storage.js';
import { createPool, migratePostgres, redactUrl } from './storage/postgres-storage.js';
import { openSqliteStorage, SQLITE_FILE } from './storage/sqlite-storage.js';

export interface MigrateToPostgresOptions {
  /** The SQLite server's data directory. */
  dataDir: string;
  /** An empty PostgreSQL database (`postgres://…`); its tables are made when missing. */
  databaseUrl: string;
}

export interface MigrateToPostgresResult {
  instanceId: string;
  experiments: number;
  chunks: number;
  apiKeys: number;
}

/**
 * Moves a SQLite server's data into an empty PostgreSQL database in one transaction, keeping its
 * `instanceId`, API keys, request keys, watermarks and sessions, so the sync records clients hold
 * stay valid against the servers that run on the database afterwards. Stop the SQLite server
 * first: writes it takes meanwhile are not moved.
 */
export async function migrateToPostgres(options: MigrateToPostgresOptions): Promise<MigrateToPostgresResult> {
  checkDatabaseUrl(options.databaseUrl);
  const dataDir = resolve(options.dataDir);
  // Brings an older data directory to the current SQLite schema first.
  (openSqliteStorage({ dataDir }) as { close(): void }).close();
  const sqlite = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
  const pool = createPool(options.databaseUrl, undefined, 1);
  try {
    await migratePostgres(pool);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await copyAll(sqlite, client, options.databaseUrl);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that broke has nothing to roll back; the original failure is the one to report.
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  } finally {
    sqlite.close();
    await pool.end();
  }
}

async function copyAll(
  sqlite: Database.Database,
  client: pg.PoolClient,
  url: string,
): Promise<MigrateToPostgresResult> {
  const q = (sql: string, params?: unknown[]) => client.query(sql, params);
  const held = (await q('SELECT (SELECT count(*) FROM experiments) + (SELECT count(*) FROM api_keys) AS n'))
    .rows[0].n as number;
  if (held > 0) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `the database ${redactUrl(url)} already holds experiments or keys`,
      {
        hint: 'migrate into an empty database (createdb swanlog), so no instance is merged into another',
      },
    );
  }
  const instanceId = sqlite
    .prepare("SELECT value FROM meta WHERE key = 'instance_id'")
    .pluck()
    .get() as string;
  await q("UPDATE meta SET value = $1 WHERE key = 'instance_id'", [instanceId]);
  const pks = new Map<number, number>();
  const experiments = sqlite.prepare('SELECT * FROM experiments ORDER BY pk').all() as Record<
    string,
    unknown
  >[];
  for (const e of experiments) {
    const row = await q(
      'INSERT INTO experiments (workspace, id, project, name, created_at, copied_from, request_key, source, tags, note, archived) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING pk',
      [
        e.workspace,
        e.id,
        e.project,
        e.name,
        e.created_at,
        e.copied_from,
        e.request_key,
        e.source ?? null,
        e.tags ?? '[]',
        e.note ?? '',
        e.archived === 1,
      ],
    );
    pks.set(e.pk as number, row.rows[0].pk as number);
  }
  for (const d of sqlite.prepare('SELECT * FROM deleted_experiments').all() as Record<string, unknown>[])
    await q('INSERT INTO deleted_experiments (workspace, id, deleted_at) VALUES ($1, $2, $3)', [
      d.workspace,
      d.id,
      d.deleted_at,
    ]);
  const pk = (exp: unknown) => pks.get(exp as number);
  for (const s of sqlite.prepare('SELECT * FROM sources').iterate() as IterableIterator<
    Record<string, unknown>
  >)
    await q('INSERT INTO sources (exp, source, watermark, session) VALUES ($1, $2, $3, $4)', [
      pk(s.exp),
      s.source,
      s.watermark,
      s.session,
    ]);
  let chunks = 0;
  const chunkRows = sqlite.prepare(
    'SELECT c.*, b.data AS blocks FROM chunks c LEFT JOIN chunk_blocks b ON b.chunk = c.id ORDER BY c.id',
  );
  for (const c of chunkRows.iterate() as IterableIterator<Record<string, unknown>>) {
    await q(
      'INSERT INTO chunks (exp, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data, blocks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [
        pk(c.exp),
        c.source,
        c.key,
        c.n,
        c.step_min,
        c.step_max,
        c.ts_min,
        c.ts_max,
        c.seq_min,
        c.seq_max,
        c.data,
        c.blocks,
      ],
    );
    chunks++;
  }
  for (const r of sqlite.prepare('SELECT * FROM rewinds').iterate() as IterableIterator<
    Record<string, unknown>
  >)
    await q('INSERT INTO rewinds (exp, source, seq, ts, step) VALUES ($1, $2, $3, $4, $5)', [
      pk(r.exp),
      r.source,
      r.seq,
      r.ts,
      r.step,
    ]);
  for (const r of sqlite.prepare('SELECT * FROM config_revisions').iterate() as IterableIterator<
    Record<string, unknown>
  >)
    await q('INSERT INTO config_revisions (exp, ts, source, patch) VALUES ($1, $2, $3, $4)', [
      pk(r.exp),
      r.ts,
      r.source,
      r.patch,
    ]);
  const keys = sqlite.prepare('SELECT * FROM api_keys').all() as Record<string, unknown>[];
  for (const k of keys)
    await q(
      'INSERT INTO api_keys (id, hash, workspace, scope, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [k.id, k.hash, k.workspace, k.scope, k.created_at, k.revoked_at],
    );
  for (const s of sqlite.prepare('SELECT * FROM dashboard_sessions').iterate() as IterableIterator<
    Record<string, unknown>
  >)
    await q('INSERT INTO dashboard_sessions (token_hash, key_id, expires_at) VALUES ($1, $2, $3)', [
      s.token_hash,
      s.key_id,
      s.expires_at,
    ]);
  return { instanceId, experiments: experiments.length, chunks, apiKeys: keys.length };
}
