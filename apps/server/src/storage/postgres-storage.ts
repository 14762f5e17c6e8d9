import { type ExperimentSource, type SessionInfo, SwanlogError } from '@swanlog/protocol';
import { generateRunId } from '@swanlog/store';
import pg from 'pg';
import { ulid } from 'ulid';
import { blocksFromBytes } from '../block-summary.js';
import { chunkRowData, chunksByKey, planChunkRows, pointCount } from '../ingest-chunk.js';
import type {
  ApiKeyRecord,
  ChunkRecord,
  ChunkSummaryRecord,
  ConfigRevisionRecord,
  CopyExperimentInput,
  CreateExperimentInput,
  CreateResult,
  ExperimentMetaPatch,
  ExperimentRecord,
  ExperimentRef,
  IngestChunk,
  IngestResult,
  IngestSource,
  NewApiKey,
  RewindRecord,
  SourceRecord,
  Storage,
} from './storage.js';
import {
  type ChunkRow,
  type ExperimentRow,
  type KeyRow,
  SUMMARY_COLUMNS,
  toExperiment,
  toKey,
  toSummary,
} from './storage-rows.js';

/**
 * Numbered migrations: `swanlog_migrations` holds the numbers applied. Append only. Step, time
 * and sequence ranges are `double precision`, as the points themselves are float64 (exact for
 * every integer up to 2^53); block summaries sit next to their chunk.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE experiments (
     pk bigserial PRIMARY KEY, workspace text NOT NULL, id text NOT NULL, project text NOT NULL,
     name text, created_at bigint NOT NULL, copied_from text, request_key text NOT NULL,
     UNIQUE (workspace, id), UNIQUE (workspace, request_key));
   CREATE INDEX experiments_by_project ON experiments (workspace, project, created_at);
   CREATE TABLE sources (
     exp bigint NOT NULL REFERENCES experiments (pk), source text NOT NULL,
     watermark bigint NOT NULL, session text,
     PRIMARY KEY (exp, source));
   CREATE TABLE chunks (
     id bigserial PRIMARY KEY, exp bigint NOT NULL REFERENCES experiments (pk),
     source text NOT NULL, key text NOT NULL, n integer NOT NULL,
     step_min double precision NOT NULL, step_max double precision NOT NULL,
     ts_min double precision NOT NULL, ts_max double precision NOT NULL,
     seq_min double precision NOT NULL, seq_max double precision NOT NULL,
     data bytea NOT NULL, blocks bytea);
   CREATE INDEX chunks_by_key ON chunks (exp, key, step_max);
   CREATE INDEX chunks_by_source ON chunks (exp, source, key, seq_max);
   CREATE TABLE rewinds (
     exp bigint NOT NULL, source text NOT NULL, seq double precision NOT NULL,
     ts double precision NOT NULL, step double precision NOT NULL,
     PRIMARY KEY (exp, source, seq));
   CREATE TABLE config_revisions (
     exp bigint NOT NULL, ts double precision NOT NULL, source text NOT NULL, patch text NOT NULL,
     PRIMARY KEY (exp, ts, source));
   CREATE TABLE api_keys (
     id text PRIMARY KEY, hash text NOT NULL UNIQUE, workspace text NOT NULL, scope text NOT NULL,
     created_at bigint NOT NULL, revoked_at bigint);
   CREATE TABLE dashboard_sessions (
     token_hash text PRIMARY KEY, key_id text NOT NULL, expires_at bigint NOT NULL);`,
  // 2: the origin of an imported run ({kind, path, id} as JSON), as the SQLite backend's migration 3.
  `ALTER TABLE experiments ADD COLUMN source text;`,
  // 3: team metadata and tombstones of deleted experiments, as the SQLite backend's migration 4.
  `ALTER TABLE experiments ADD COLUMN tags text NOT NULL DEFAULT '[]';
   ALTER TABLE experiments ADD COLUMN note text NOT NULL DEFAULT '';
   ALTER TABLE experiments ADD COLUMN archived boolean NOT NULL DEFAULT false;
   CREATE TABLE deleted_experiments (
     workspace text NOT NULL, id text NOT NULL, deleted_at bigint NOT NULL,
     PRIMARY KEY (workspace, id));`,
];

/** The advisory lock key migrations run under, so replicas starting at once migrate once. */
const MIGRATION_LOCK = 0x5357_4e4c_4f47; // "SWNLOG"
/** SQLSTATEs a transaction is retried on: serialization failure, deadlock detected. */
const RETRIED = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 20;
/** Default pool size per replica. */
const POOL_SIZE = 10;

export interface OpenPostgresStorageOptions {
  /** `postgres://user@host:port/db`. */
  url: string;
  /** Schema the tables live in (created when missing); default: the URL's or database's search_path. */
  schema?: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
}

/**
 * Opens the PostgreSQL storage of a database, running the migrations it lacks under an advisory
 * lock. Any number of replicas may open one database at once: every one answers the same
 * `instanceId`, and all writes are transactions safe against each other.
 */
export async function openPostgresStorage(options: OpenPostgresStorageOptions): Promise<Storage> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new SwanlogError('INVALID_OPTION', `schema ${JSON.stringify(schema)} is not a plain name`);
  const pool = createPool(options.url, schema, options.poolSize ?? POOL_SIZE);
  try {
    await migratePostgres(pool, schema);
    const instanceId = (await pool.query("SELECT value FROM meta WHERE key = 'instance_id'")).rows[0]
      ?.value as string;
    return new PostgresStorage(pool, instanceId);
  } catch (error) {
    await pool.end();
    throw wrapError(error, options.url);
  }
}

/** A pool whose connections use `schema` and read int8 as numbers (every id and time fits 2^53). */
export function createPool(url: string, schema: string | undefined, max: number): pg.Pool {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === pg.types.builtins.INT8
        ? (v: string) => Number(v)
        : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection that breaks (the database restarted) is dropped by the pool; without a
  // listener the error would end the process.
  pool.on('error', () => {});
  return pool;
}

/** Applies the migrations the database lacks, under the advisory lock, and makes its instance id once. */
export async function migratePostgres(pool: pg.Pool, schema?: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS swanlog_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
    );
    const applied = (await client.query('SELECT coalesce(max(version), 0) AS v FROM swanlog_migrations'))
      .rows[0].v as number;
    if (applied > MIGRATIONS.length) {
      throw new SwanlogError(
        'UNSUPPORTED_FORMAT',
        `server database is at version ${applied}, newer than this server`,
        { hint: 'upgrade swanlog' },
      );
    }
    for (let v = applied; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query('INSERT INTO swanlog_migrations (version, applied_at) VALUES ($1, $2)', [
        v + 1,
        Date.now(),
      ]);
    }
    await client.query(
      "INSERT INTO meta (key, value) VALUES ('instance_id', $1) ON CONFLICT (key) DO NOTHING",
      [ulid()],
    );
    await client.query('COMMIT');
  } catch (error) {
    // A connection that broke has nothing to roll back; the original failure is the one to report.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/** Thrown inside a transaction to roll it back and answer `value`. */
class Rollback<T> {
  constructor(readonly value: T) {}
}

class PostgresStorage implements Storage {
  constructor(
    private readonly pool: pg.Pool,
    private readonly id: string,
  ) {}

  instanceId(): string {
    return this.id;
  }

  async createExperiment(workspace: string, input: CreateExperimentInput): Promise<CreateResult> {
    const q: Query = (sql, params) => this.pool.query(sql, params);
    return this.insertExperiment(q, workspace, input, input.exactId === true);
  }

  async getExperiment(ref: ExperimentRef): Promise<ExperimentRecord | undefined> {
    const row = await this.find(ref);
    return row === undefined ? undefined : toExperiment(row);
  }

  async listExperiments(workspace: string, project?: string): Promise<ExperimentRecord[]> {
    const rows =
      project === undefined
        ? await this.pool.query(
            'SELECT * FROM experiments WHERE workspace = $1 ORDER BY created_at DESC, pk DESC',
            [workspace],
          )
        : await this.pool.query(
            'SELECT * FROM experiments WHERE workspace = $1 AND project = $2 ORDER BY created_at DESC, pk DESC',
            [workspace, project],
          );
    return (rows.rows as ExperimentRow[]).map(toExperiment);
  }

  async listProjects(workspace: string): Promise<{ name: string; experiments: number }[]> {
    const rows = await this.pool.query(
      'SELECT project AS name, count(*) AS experiments FROM experiments WHERE workspace = $1 GROUP BY project ORDER BY project COLLATE "C"',
      [workspace],
    );
    return rows.rows as { name: string; experiments: number }[];
  }

  async copyExperiment(ref: ExperimentRef, input: CopyExperimentInput): Promise<CreateResult> {
    // One snapshot of the original, so a copy taken during an upload holds whole batches.
    return this.transaction('REPEATABLE READ', async (q) => {
      const from = await this.row(q, ref);
      const result = await this.insertExperiment(
        q,
        ref.workspace,
        {
          requestKey: input.requestKey,
          requestedId: input.requestedId,
          project: from.project,
          name: from.name,
          createdAt: input.now,
          copiedFrom: from.id,
          source: from.source === null ? null : (JSON.parse(from.source) as ExperimentSource),
        },
        false,
      );
      if (!result.created) return result;
      const pk = (await this.row(q, { workspace: ref.workspace, id: result.experiment.id })).pk;
      const sources = await q(
        'SELECT source, watermark, session FROM sources WHERE exp = $1 ORDER BY source',
        [from.pk],
      );
      for (const s of sources.rows as { source: string; watermark: number; session: string | null }[]) {
        if (s.session === null) continue;
        const session = JSON.parse(s.session) as SessionInfo;
        // An open session ends in the copy at its last sign of life the server saw, as the
        // run-state rule dates a death, so the copy reads as the original did.
        const copied =
          session.endState === null
            ? {
                ...session,
                endState: 'crashed' as const,
                endedAt: Math.max(session.clockStart, session.heartbeatAt ?? 0),
              }
            : session;
        await q('INSERT INTO sources (exp, source, watermark, session) VALUES ($1, $2, $3, $4)', [
          pk,
          s.source,
          s.watermark,
          JSON.stringify(copied),
        ]);
      }
      await q(
        'INSERT INTO chunks (exp, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data, blocks) SELECT $1, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data, blocks FROM chunks WHERE exp = $2 ORDER BY id',
        [pk, from.pk],
      );
      await q(
        'INSERT INTO rewinds (exp, source, seq, ts, step) SELECT $1, source, seq, ts, step FROM rewinds WHERE exp = $2',
        [pk, from.pk],
      );
      await q(
        'INSERT INTO config_revisions (exp, ts, source, patch) SELECT $1, ts, source, patch FROM config_revisions WHERE exp = $2',
        [pk, from.pk],
      );
      return result;
    });
  }

  async ingest(ref: ExperimentRef, sources: IngestSource[]): Promise<IngestResult> {
    return this.transaction('READ COMMITTED', async (q) => {
      const { pk } = await this.row(q, ref);
      const names = [...new Set(sources.map((s) => s.source))].sort();
      // Every source of the batch gets its row first and is locked (in name order, so two batches
      // never wait on each other in a cycle): the watermark check and advance below then hold
      // against a batch of the same source arriving through another replica at the same moment.
      await q(
        'INSERT INTO sources (exp, source, watermark, session) SELECT $1, s, -1, NULL FROM unnest($2::text[]) AS s ORDER BY s ON CONFLICT DO NOTHING',
        [pk, names],
      );
      await q(
        'SELECT source FROM sources WHERE exp = $1 AND source = ANY($2::text[]) ORDER BY source FOR UPDATE',
        [pk, names],
      );
      const current = new Map<string, { watermark: number; session: SessionInfo | null }>();
      for (const s of (await q('SELECT source, watermark, session FROM sources WHERE exp = $1', [pk]))
        .rows as { source: string; watermark: number; session: string | null }[])
        current.set(s.source, {
          watermark: s.watermark,
          session: s.session === null ? null : (JSON.parse(s.session) as SessionInfo),
        });
      const watermarkOf = (source: string) => current.get(source)?.watermark ?? -1;
      const conflict = sources.some((s) => {
        const w = watermarkOf(s.source);
        return w !== s.fromSeq && w < s.toSeq;
      });
      // The rows made above for new sources go with the rollback.
      if (conflict) throw new Rollback<IngestResult>({ status: 'conflict', watermarks: watermarks(current) });
      let stored = 0;
      for (const s of sources) {
        const known = current.get(s.source)?.session ?? null;
        const apply = watermarkOf(s.source) === s.fromSeq && s.toSeq > s.fromSeq;
        const session = known === null || isNewer(s.session, known) ? s.session : known;
        const watermark = apply ? s.toSeq : watermarkOf(s.source);
        await q('UPDATE sources SET watermark = $3, session = $4 WHERE exp = $1 AND source = $2', [
          pk,
          s.source,
          watermark,
          JSON.stringify(session),
        ]);
        current.set(s.source, { watermark, session });
        if (!apply) continue;
        for (const r of s.rewinds)
          await q(
            'INSERT INTO rewinds (exp, source, seq, ts, step) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
            [pk, s.source, r.seq, r.ts, r.step],
          );
        for (const [key, chunks] of chunksByKey(s.chunks))
          stored += await storeChunks(q, pk, s.source, key, chunks);
      }
      return { status: 'stored', watermarks: watermarks(current), stored };
    });
  }

  async sources(ref: ExperimentRef): Promise<SourceRecord[]> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT source, watermark, session FROM sources WHERE exp = $1 AND session IS NOT NULL ORDER BY source COLLATE "C"',
      [pk],
    );
    return (rows.rows as { source: string; watermark: number; session: string }[]).map((s) => ({
      source: s.source,
      watermark: s.watermark,
      session: JSON.parse(s.session) as SessionInfo,
    }));
  }

  async keys(ref: ExperimentRef): Promise<string[]> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT key FROM chunks WHERE exp = $1 GROUP BY key ORDER BY key COLLATE "C"',
      [pk],
    );
    return rows.rows.map((r: { key: string }) => r.key);
  }

  async chunkSummaries(ref: ExperimentRef, key?: string): Promise<ChunkSummaryRecord[]> {
    const { pk } = await this.row(this.q, ref);
    const rows =
      key === undefined
        ? await this.pool.query(`SELECT ${SUMMARY_COLUMNS} FROM chunks WHERE exp = $1 ORDER BY id`, [pk])
        : await this.pool.query(
            `SELECT ${SUMMARY_COLUMNS} FROM chunks WHERE exp = $1 AND key = $2 ORDER BY id`,
            [pk, key],
          );
    return (rows.rows as ChunkRow[]).map(toSummary);
  }

  async chunks(
    ref: ExperimentRef,
    key: string,
    range: { from?: number; to?: number } = {},
  ): Promise<ChunkRecord[]> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      `SELECT ${SUMMARY_COLUMNS}, data FROM chunks WHERE exp = $1 AND key = $2 AND step_max >= $3 AND step_min <= $4 ORDER BY id`,
      [pk, key, range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER],
    );
    return (rows.rows as Required<ChunkRow>[]).map((r) => ({ ...toSummary(r), data: r.data }));
  }

  async chunkData(ref: ExperimentRef, ids: number[]): Promise<Map<number, Uint8Array>> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT id, data FROM chunks WHERE exp = $1 AND id = ANY($2::bigint[])',
      [pk, ids],
    );
    const byId = new Map((rows.rows as { id: number; data: Buffer }[]).map((r) => [r.id, r.data]));
    const out = new Map<number, Uint8Array>();
    for (const id of ids) {
      const data = byId.get(id);
      if (data !== undefined) out.set(id, data);
    }
    return out;
  }

  async chunkBlocks(ref: ExperimentRef, ids: number[]): Promise<Map<number, Float64Array>> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT id, blocks FROM chunks WHERE exp = $1 AND id = ANY($2::bigint[]) AND blocks IS NOT NULL',
      [pk, ids],
    );
    const byId = new Map((rows.rows as { id: number; blocks: Buffer }[]).map((r) => [r.id, r.blocks]));
    const out = new Map<number, Float64Array>();
    for (const id of ids) {
      const data = byId.get(id);
      const blocks = data === undefined ? undefined : blocksFromBytes(data);
      if (blocks !== undefined) out.set(id, blocks);
    }
    return out;
  }

  async rewinds(ref: ExperimentRef): Promise<RewindRecord[]> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT source, seq, ts, step FROM rewinds WHERE exp = $1 ORDER BY source COLLATE "C", seq',
      [pk],
    );
    return rows.rows as RewindRecord[];
  }

  async addConfigRevisions(ref: ExperimentRef, revisions: ConfigRevisionRecord[]): Promise<number> {
    return this.transaction('READ COMMITTED', async (q) => {
      const { pk } = await this.row(q, ref);
      let added = 0;
      for (const r of revisions) {
        const result = await q(
          'INSERT INTO config_revisions (exp, ts, source, patch) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [pk, r.ts, r.source ?? '', JSON.stringify(r.patch)],
        );
        added += result.rowCount ?? 0;
      }
      return added;
    });
  }

  async configRevisions(ref: ExperimentRef): Promise<ConfigRevisionRecord[]> {
    const { pk } = await this.row(this.q, ref);
    const rows = await this.pool.query(
      'SELECT ts, source, patch FROM config_revisions WHERE exp = $1 ORDER BY ts, source COLLATE "C"',
      [pk],
    );
    return (rows.rows as { ts: number; source: string; patch: string }[]).map((r) => ({
      ts: r.ts,
      source: r.source === '' ? null : r.source,
      patch: JSON.parse(r.patch) as Record<string, unknown>,
    }));
  }

  async addApiKey(key: NewApiKey): Promise<void> {
    await this.pool.query(
      'INSERT INTO api_keys (id, hash, workspace, scope, created_at) VALUES ($1, $2, $3, $4, $5)',
      [key.id, key.hash, key.workspace, key.scope, key.createdAt],
    );
  }

  async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | undefined> {
    const row = (await this.pool.query('SELECT * FROM api_keys WHERE hash = $1', [hash])).rows[0] as
      | KeyRow
      | undefined;
    return row === undefined ? undefined : { ...toKey(row), hash: row.hash };
  }

  async revokeApiKey(idOrHash: string, now: number): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 OR hash = $2',
      [now, idOrHash],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.pool.query('SELECT * FROM api_keys ORDER BY created_at, id COLLATE "C"');
    return (rows.rows as KeyRow[]).map(toKey);
  }

  async addDashboardSession(tokenHash: string, keyId: string, expiresAt: number): Promise<void> {
    await this.transaction('READ COMMITTED', async (q) => {
      await q('DELETE FROM dashboard_sessions WHERE expires_at <= $1', [Date.now()]);
      await q('INSERT INTO dashboard_sessions (token_hash, key_id, expires_at) VALUES ($1, $2, $3)', [
        tokenHash,
        keyId,
        expiresAt,
      ]);
    });
  }

  async findDashboardSession(tokenHash: string, now: number): Promise<ApiKeyRecord | undefined> {
    const row = (
      await this.pool.query(
        'SELECT k.* FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL',
        [tokenHash, now],
      )
    ).rows[0] as KeyRow | undefined;
    return row === undefined ? undefined : toKey(row);
  }

  async deleteDashboardSession(tokenHash: string): Promise<void> {
    await this.pool.query('DELETE FROM dashboard_sessions WHERE token_hash = $1', [tokenHash]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private readonly q: Query = (sql, params) => this.pool.query(sql, params);

  /**
   * Runs `fn` in one transaction, again from the start on a serialization failure or a deadlock
   * (another replica's transaction won), so those never reach a client as a 500.
   */
  private async transaction<T>(
    isolation: 'READ COMMITTED' | 'REPEATABLE READ',
    fn: (q: Query) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const q: Query = (sql, params) => client.query(sql, params);
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const value = await fn(q);
        await client.query('COMMIT');
        return value;
      } catch (error) {
        // A connection that broke has nothing to roll back; the original failure is the one to report.
        await client.query('ROLLBACK').catch(() => undefined);
        if (error instanceof Rollback) return error.value as T;
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !RETRIED.has(code) || attempt >= MAX_ATTEMPTS) throw error;
      } finally {
        client.release();
      }
      // Jittered, growing pauses so the transactions that collided do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 10)));
    }
  }

  async updateExperimentMeta(ref: ExperimentRef, patch: ExperimentMetaPatch): Promise<ExperimentRecord> {
    return this.transaction('READ COMMITTED', async (q) => {
      const now = toExperiment(
        (
          await q('SELECT * FROM experiments WHERE workspace = $1 AND id = $2 FOR UPDATE', [
            ref.workspace,
            ref.id,
          ])
        ).rows[0] ?? (await this.row(q, ref)),
      );
      const row = (
        await q(
          'UPDATE experiments SET name = $1, tags = $2, note = $3, archived = $4 WHERE workspace = $5 AND id = $6 RETURNING *',
          [
            patch.name === undefined ? now.name : patch.name,
            JSON.stringify(patch.tags ?? now.tags),
            patch.note ?? now.note,
            patch.archived ?? now.archived,
            ref.workspace,
            ref.id,
          ],
        )
      ).rows[0] as ExperimentRow;
      return toExperiment(row);
    });
  }

  async deleteExperiment(ref: ExperimentRef, now: number): Promise<boolean> {
    return this.transaction('READ COMMITTED', async (q) => {
      const row = (
        await q('SELECT pk FROM experiments WHERE workspace = $1 AND id = $2 FOR UPDATE', [
          ref.workspace,
          ref.id,
        ])
      ).rows[0] as { pk: number } | undefined;
      if (row === undefined) return false;
      await q('DELETE FROM chunks WHERE exp = $1', [row.pk]);
      await q('DELETE FROM sources WHERE exp = $1', [row.pk]);
      await q('DELETE FROM rewinds WHERE exp = $1', [row.pk]);
      await q('DELETE FROM config_revisions WHERE exp = $1', [row.pk]);
      await q('DELETE FROM experiments WHERE pk = $1', [row.pk]);
      await q(
        'INSERT INTO deleted_experiments (workspace, id, deleted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [ref.workspace, ref.id, now],
      );
      return true;
    });
  }

  async deletedAt(ref: ExperimentRef): Promise<number | undefined> {
    const row = (
      await this.q('SELECT deleted_at FROM deleted_experiments WHERE workspace = $1 AND id = $2', [
        ref.workspace,
        ref.id,
      ])
    ).rows[0] as { deleted_at: number } | undefined;
    return row?.deleted_at;
  }

  async vacuum(): Promise<void> {
    await this.q('VACUUM');
  }

  private async find(ref: ExperimentRef, q: Query = this.q): Promise<ExperimentRow | undefined> {
    return (await q('SELECT * FROM experiments WHERE workspace = $1 AND id = $2', [ref.workspace, ref.id]))
      .rows[0] as ExperimentRow | undefined;
  }

  private async row(q: Query, ref: ExperimentRef): Promise<ExperimentRow> {
    const row = await this.find(ref, q);
    if (row === undefined) throw new SwanlogError('RUN_NOT_FOUND', `experiment ${ref.id} not found`);
    return row;
  }

  /**
   * The experiment of `input.requestKey`, made when it does not exist. The request key is a unique
   * constraint: of two replicas creating with one key at once, one inserts and the other finds
   * its row, never a second experiment.
   */
  private async insertExperiment(
    q: Query,
    workspace: string,
    input: CreateExperimentInput,
    exact: boolean,
  ): Promise<CreateResult> {
    const byKey = async () =>
      (
        await q('SELECT * FROM experiments WHERE workspace = $1 AND request_key = $2', [
          workspace,
          input.requestKey,
        ])
      ).rows[0] as ExperimentRow | undefined;
    const known = await byKey();
    if (known !== undefined) return { experiment: toExperiment(known), created: false };
    let id = input.requestedId;
    // A deleted experiment's id is never given again: its old sync records must not find a stranger.
    const tombstone = async (id: string) =>
      (await q('SELECT 1 FROM deleted_experiments WHERE workspace = $1 AND id = $2', [workspace, id])).rows
        .length > 0;
    if (
      id !== undefined &&
      ((await this.find({ workspace, id }, q)) !== undefined || (await tombstone(id)))
    ) {
      if (exact) throw runExists(workspace, id);
      id = undefined;
    }
    for (;;) {
      const inserted = (
        await q(
          'INSERT INTO experiments (workspace, id, project, name, created_at, copied_from, request_key, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING *',
          [
            workspace,
            id ?? generateRunId(),
            input.project,
            input.name,
            input.createdAt,
            input.copiedFrom,
            input.requestKey,
            input.source == null ? null : JSON.stringify(input.source),
          ],
        )
      ).rows[0] as ExperimentRow | undefined;
      if (inserted !== undefined) return { experiment: toExperiment(inserted), created: true };
      const raced = await byKey();
      if (raced !== undefined) return { experiment: toExperiment(raced), created: false };
      // The id was taken between the check and the insert.
      if (exact && id !== undefined) throw runExists(workspace, id);
      id = undefined;
    }
  }
}

/**
 * Stores a batch's chunks of one (source, key) as the SQLite backend does (planChunkRows). The
 * source's row is locked by the caller.
 */
async function storeChunks(
  q: Query,
  pk: number,
  source: string,
  key: string,
  chunks: IngestChunk[],
): Promise<number> {
  const last = (
    await q(
      `SELECT ${SUMMARY_COLUMNS}, data FROM chunks WHERE exp = $1 AND source = $2 AND key = $3 ORDER BY seq_max DESC LIMIT 1`,
      [pk, source, key],
    )
  ).rows[0] as Required<ChunkRow> | undefined;
  for (const plan of planChunkRows(last, chunks)) {
    const { columns: c, data, blocks } = chunkRowData(plan, plan.id === undefined ? undefined : last!.data);
    const columns = [c.n, c.stepMin, c.stepMax, c.tsMin, c.tsMax, c.seqMin, c.seqMax];
    if (plan.id !== undefined) {
      await q(
        'UPDATE chunks SET n = $1, step_min = $2, step_max = $3, ts_min = $4, ts_max = $5, seq_min = $6, seq_max = $7, data = $8, blocks = $9 WHERE id = $10',
        [...columns, data, blocks, plan.id],
      );
      continue;
    }
    await q(
      'INSERT INTO chunks (exp, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data, blocks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [pk, source, key, ...columns, data, blocks],
    );
  }
  return chunks.reduce((n, ch) => n + pointCount(ch), 0);
}

/** A session record replaces the stored one unless it is older (ended beats open, then later signs of life). */
function isNewer(next: SessionInfo, stored: SessionInfo): boolean {
  if ((next.endState === null) !== (stored.endState === null)) return next.endState !== null;
  const life = (s: SessionInfo) => Math.max(s.endedAt ?? 0, s.heartbeatAt ?? 0);
  return life(next) >= life(stored);
}

/** The watermarks of the sources that have a session (rows made for a rolled-back batch do not). */
function watermarks(
  current: Map<string, { watermark: number; session: SessionInfo | null }>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [source, { watermark, session }] of [...current].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  ))
    if (session !== null) out[source] = watermark;
  return out;
}

function runExists(workspace: string, id: string): SwanlogError {
  return new SwanlogError('RUN_EXISTS', `experiment ${id} already exists in workspace ${workspace}`, {
    hint: 'pick another id, or drop exactId to get a fresh one',
  });
}

/** A failure to reach or set up the database, named by its URL without the password. */
function wrapError(error: unknown, url: string): unknown {
  if (error instanceof SwanlogError) return error;
  return new SwanlogError(
    'SERVER_ERROR',
    `cannot open the server database ${redactUrl(url)}: ${error instanceof Error ? error.message : String(error)}`,
    {
      hint: 'check --database (postgres://user@host:port/db) and that PostgreSQL accepts connections',
      cause: error,
    },
  );
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return 'the given database URL';
  }
}
