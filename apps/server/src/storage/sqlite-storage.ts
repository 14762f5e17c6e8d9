import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { type SessionInfo, SwanlogError } from '@swanlog/protocol';
import { decodeChunk, generateRunId } from '@swanlog/store';
import Database from 'better-sqlite3';
import { ulid } from 'ulid';
import { startBackgroundThread } from '../background-thread.js';
import { blocksFromBytes, blocksToBytes, summarizeBlocks } from '../block-summary.js';
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
  fromSummaryColumns,
  type KeyRow,
  SUMMARY_COLUMNS,
  type SummaryColumns,
  toExperiment,
  toKey,
  toSummary,
} from './storage-rows.js';

/** File name of the server database inside the data directory. */
export const SQLITE_FILE = 'server.sqlite';
/**
 * Bytes the write-ahead log may reach before a commit checkpoints it: an upload of that much
 * commits without a checkpoint inside it, which then runs once uploads pause (a 10^7-point,
 * 1,000-key sync, ~45 MB: 1.35 s -> 1.20 s, median of 6 alternated runs).
 */
const WAL_CAP_BYTES = 128 * 1024 * 1024;
/**
 * The page size of a new server database. Chunks of wide runs are ~4 KB each: with SQLite's
 * default 4 KiB pages every one spilled into an overflow page (a 1,000-key 10^7-point sync,
 * 10 alternated runs: 1,072 -> 965 ms). A database made before keeps its pages.
 */
const NEW_DATABASE_PAGE_SIZE = 16384;
/** Quiet time after an upload before the write-ahead log is checkpointed. */
const IDLE_CHECKPOINT_MS = 500;

/** Numbered migrations: `user_version` is the number applied. Append only. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE experiments (
     pk INTEGER PRIMARY KEY, workspace TEXT NOT NULL, id TEXT NOT NULL, project TEXT NOT NULL,
     name TEXT, created_at INTEGER NOT NULL, copied_from TEXT, request_key TEXT NOT NULL,
     UNIQUE (workspace, id), UNIQUE (workspace, request_key));
   CREATE INDEX experiments_by_project ON experiments (workspace, project, created_at);
   CREATE TABLE sources (
     exp INTEGER NOT NULL, source TEXT NOT NULL, watermark INTEGER NOT NULL, session TEXT NOT NULL,
     PRIMARY KEY (exp, source)) WITHOUT ROWID;
   CREATE TABLE chunks (
     id INTEGER PRIMARY KEY, exp INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL,
     n INTEGER NOT NULL, step_min INTEGER NOT NULL, step_max INTEGER NOT NULL,
     ts_min INTEGER NOT NULL, ts_max INTEGER NOT NULL, seq_min INTEGER NOT NULL, seq_max INTEGER NOT NULL,
     data BLOB NOT NULL);
   CREATE INDEX chunks_by_key ON chunks (exp, key, step_max);
   CREATE INDEX chunks_by_source ON chunks (exp, source, key, seq_max);
   CREATE TABLE rewinds (
     exp INTEGER NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, step INTEGER NOT NULL,
     PRIMARY KEY (exp, source, seq)) WITHOUT ROWID;
   CREATE TABLE config_revisions (
     exp INTEGER NOT NULL, ts INTEGER NOT NULL, source TEXT NOT NULL, patch TEXT NOT NULL,
     PRIMARY KEY (exp, ts, source)) WITHOUT ROWID;
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, workspace TEXT NOT NULL, scope TEXT NOT NULL,
     created_at INTEGER NOT NULL, revoked_at INTEGER);
   CREATE TABLE dashboard_sessions (
     token_hash TEXT PRIMARY KEY, key_id TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;`,
  // 2: block summaries of every chunk (apps/server/src/block-summary.ts), backfilled by `migrate`.
  `CREATE TABLE chunk_blocks (chunk INTEGER PRIMARY KEY, data BLOB NOT NULL);`,
  // 3: the origin of imported runs (JSON {kind, path, id}), NULL for the others.
  `ALTER TABLE experiments ADD COLUMN source TEXT;`,
  // 4: team metadata (tags as a JSON array, a note, archived), and tombstones of deleted experiments.
  `ALTER TABLE experiments ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE experiments ADD COLUMN note TEXT NOT NULL DEFAULT '';
   ALTER TABLE experiments ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE deleted_experiments (
     workspace TEXT NOT NULL, id TEXT NOT NULL, deleted_at INTEGER NOT NULL,
     PRIMARY KEY (workspace, id)) WITHOUT ROWID;`,
  // 5: every chunk's summary columns in an index of their own. A chunk row holds its data too, so
  // reading the summaries of an experiment (GET /sync, every run page and runs-table entry) from
  // the table walked a page or more per chunk: 10,000 chunks of a 1,000-key run, 36 -> 12 ms.
  `CREATE INDEX chunks_summary ON chunks (exp, id, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max);`,
];

export interface OpenSqliteStorageOptions {
  /** The data directory; the database is `<dataDir>/server.sqlite` (created when missing). */
  dataDir: string;
}

/**
 * Opens (creating and migrating when needed) the SQLite storage of a data directory. Several
 * processes may open one directory at once (a running server and `swanlog server key create`).
 */
export function openSqliteStorage(options: OpenSqliteStorageOptions): Storage {
  const dir = resolve(options.dataDir);
  const path = join(dir, SQLITE_FILE);
  let db: Database.Database;
  try {
    mkdirSync(dir, { recursive: true });
    db = new Database(path);
  } catch (error) {
    throw new SwanlogError('SERVER_ERROR', `cannot open the server database ${path}: ${message(error)}`, {
      cause: error,
    });
  }
  try {
    db.pragma('busy_timeout = 10000');
    // Takes effect only while the file is empty (before journal_mode makes it a WAL database).
    db.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Checkpoints run when the server is idle (SqliteStorage.ingest), not inside the commit of an
    // upload that happens to pass SQLite's default 1,000 pages; this is the cap meanwhile.
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`wal_autocheckpoint = ${Math.ceil(WAL_CAP_BYTES / pageSize)}`);
    migrate(db);
    return new SqliteStorage(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new SwanlogError(
        'UNSUPPORTED_FORMAT',
        `server database is at version ${version}, newer than this server`,
        {
          hint: 'upgrade swanlog',
        },
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version < 2) backfillBlocks(db);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('instance_id', ulid());
  });
  apply.immediate();
}

/** Block summaries for the chunks stored before migration 2. */
function backfillBlocks(db: Database.Database): void {
  const insert = db.prepare('INSERT OR REPLACE INTO chunk_blocks (chunk, data) VALUES (?, ?)');
  const data = db.prepare('SELECT data FROM chunks WHERE id = ?').pluck();
  for (const id of db.prepare('SELECT id FROM chunks ORDER BY id').pluck().all() as number[]) {
    insert.run(id, blocksToBytes(summarizeBlocks(decodeChunk(data.get(id) as Buffer))));
  }
}

class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private readonly s;
  private idleCheckpoint: NodeJS.Timeout | undefined;
  private readonly path: string;
  /** The checkpointing thread, started at the first checkpoint (short-lived openers never start it). */
  private checkpointer: Worker | undefined;
  /** A checkpoint is running on it; `again`: another was asked for meanwhile. */
  private checkpointing = false;
  private again = false;
  /** The thread failed: checkpoints run on this thread, as before there was one. */
  private checkpointerFailed = false;

  constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      instanceId: p("SELECT value FROM meta WHERE key = 'instance_id'").pluck(),
      experiment: p('SELECT * FROM experiments WHERE workspace = ? AND id = ?'),
      experimentByKey: p('SELECT * FROM experiments WHERE workspace = ? AND request_key = ?'),
      insertExperiment: p(
        'INSERT INTO experiments (workspace, id, project, name, created_at, copied_from, request_key, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      listAll: p('SELECT * FROM experiments WHERE workspace = ? ORDER BY created_at DESC, pk DESC'),
      listProject: p(
        'SELECT * FROM experiments WHERE workspace = ? AND project = ? ORDER BY created_at DESC, pk DESC',
      ),
      projects: p(
        'SELECT project AS name, count(*) AS experiments FROM experiments WHERE workspace = ? GROUP BY project ORDER BY project',
      ),
      sources: p('SELECT source, watermark, session FROM sources WHERE exp = ? ORDER BY source'),
      source: p('SELECT watermark, session FROM sources WHERE exp = ? AND source = ?'),
      upsertSource: p(
        'INSERT INTO sources (exp, source, watermark, session) VALUES (?, ?, ?, ?) ON CONFLICT (exp, source) DO UPDATE SET watermark = excluded.watermark, session = excluded.session',
      ),
      keys: p('SELECT DISTINCT key FROM chunks WHERE exp = ? ORDER BY key').pluck(),
      // Rows as arrays (fromSummaryColumns): building 10,000 row objects first cost as much as the query.
      summaries: p(`SELECT ${SUMMARY_COLUMNS} FROM chunks WHERE exp = ? ORDER BY id`).raw(),
      // One key's few rows through chunks_by_key (the planner would scan the covering index of every
      // key's summaries to save the sort).
      summariesOfKey: p(
        `SELECT ${SUMMARY_COLUMNS} FROM chunks INDEXED BY chunks_by_key WHERE exp = ? AND key = ? ORDER BY id`,
      ).raw(),
      chunksInRange: p(
        `SELECT ${SUMMARY_COLUMNS}, data FROM chunks WHERE exp = ? AND key = ? AND step_max >= ? AND step_min <= ? ORDER BY id`,
      ),
      chunkData: p('SELECT data FROM chunks WHERE exp = ? AND id = ?').pluck(),
      chunkBlocks: p(
        'SELECT b.data FROM chunk_blocks b JOIN chunks c ON c.id = b.chunk WHERE c.exp = ? AND b.chunk = ?',
      ).pluck(),
      upsertBlocks: p('INSERT OR REPLACE INTO chunk_blocks (chunk, data) VALUES (?, ?)'),
      // Its data is read only when points are appended to it (most large chunks take none).
      lastChunk: p(
        'SELECT id, n FROM chunks WHERE exp = ? AND source = ? AND key = ? ORDER BY seq_max DESC LIMIT 1',
      ),
      insertChunk: p(
        'INSERT INTO chunks (exp, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updateChunk: p(
        'UPDATE chunks SET n = ?, step_min = ?, step_max = ?, ts_min = ?, ts_max = ?, seq_min = ?, seq_max = ?, data = ? WHERE id = ?',
      ),
      allChunks: p(
        'SELECT c.*, b.data AS blocks FROM chunks c LEFT JOIN chunk_blocks b ON b.chunk = c.id WHERE c.exp = ? ORDER BY c.id',
      ),
      rewinds: p('SELECT source, seq, ts, step FROM rewinds WHERE exp = ? ORDER BY source, seq'),
      insertRewind: p('INSERT OR IGNORE INTO rewinds (exp, source, seq, ts, step) VALUES (?, ?, ?, ?, ?)'),
      insertRevision: p(
        'INSERT OR IGNORE INTO config_revisions (exp, ts, source, patch) VALUES (?, ?, ?, ?)',
      ),
      revisions: p('SELECT ts, source, patch FROM config_revisions WHERE exp = ? ORDER BY ts, source'),
      insertKey: p('INSERT INTO api_keys (id, hash, workspace, scope, created_at) VALUES (?, ?, ?, ?, ?)'),
      keyByHash: p('SELECT * FROM api_keys WHERE hash = ?'),
      revokeKey: p('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? OR hash = ?'),
      listKeys: p('SELECT * FROM api_keys ORDER BY created_at, id'),
      insertSession: p('INSERT INTO dashboard_sessions (token_hash, key_id, expires_at) VALUES (?, ?, ?)'),
      session: p(
        'SELECT k.* FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id WHERE s.token_hash = ? AND s.expires_at > ? AND k.revoked_at IS NULL',
      ),
      deleteSession: p('DELETE FROM dashboard_sessions WHERE token_hash = ?'),
      updateMeta: p(
        'UPDATE experiments SET name = ?, tags = ?, note = ?, archived = ? WHERE workspace = ? AND id = ?',
      ),
      deletedAt: p('SELECT deleted_at FROM deleted_experiments WHERE workspace = ? AND id = ?').pluck(),
      insertTombstone: p(
        'INSERT OR IGNORE INTO deleted_experiments (workspace, id, deleted_at) VALUES (?, ?, ?)',
      ),
      deleteExpiredSessions: p('DELETE FROM dashboard_sessions WHERE expires_at <= ?'),
    };
  }

  instanceId(): string {
    return this.s.instanceId.get() as string;
  }

  createExperiment(workspace: string, input: CreateExperimentInput): CreateResult {
    return this.db
      .transaction((): CreateResult => {
        const known = this.s.experimentByKey.get(workspace, input.requestKey) as ExperimentRow | undefined;
        if (known !== undefined) return { experiment: toExperiment(known), created: false };
        const id = this.pickId(workspace, input.requestedId, input.exactId === true);
        this.s.insertExperiment.run(
          workspace,
          id,
          input.project,
          input.name,
          input.createdAt,
          input.copiedFrom,
          input.requestKey,
          input.source == null ? null : JSON.stringify(input.source),
        );
        return { experiment: toExperiment(this.row({ workspace, id })), created: true };
      })
      .immediate();
  }

  getExperiment(ref: ExperimentRef): ExperimentRecord | undefined {
    const row = this.s.experiment.get(ref.workspace, ref.id) as ExperimentRow | undefined;
    return row === undefined ? undefined : toExperiment(row);
  }

  listExperiments(workspace: string, project?: string): ExperimentRecord[] {
    const rows = (
      project === undefined ? this.s.listAll.all(workspace) : this.s.listProject.all(workspace, project)
    ) as ExperimentRow[];
    return rows.map(toExperiment);
  }

  listProjects(workspace: string): { name: string; experiments: number }[] {
    return this.s.projects.all(workspace) as { name: string; experiments: number }[];
  }

  copyExperiment(ref: ExperimentRef, input: CopyExperimentInput): CreateResult {
    return this.db
      .transaction((): CreateResult => {
        const from = this.row(ref);
        const known = this.s.experimentByKey.get(ref.workspace, input.requestKey) as
          | ExperimentRow
          | undefined;
        if (known !== undefined) return { experiment: toExperiment(known), created: false };
        const id = this.pickId(ref.workspace, input.requestedId, false);
        const pk = Number(
          this.s.insertExperiment.run(
            ref.workspace,
            id,
            from.project,
            from.name,
            input.now,
            from.id,
            input.requestKey,
            from.source,
          ).lastInsertRowid,
        );
        for (const s of this.s.sources.all(from.pk) as {
          source: string;
          watermark: number;
          session: string;
        }[]) {
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
          this.s.upsertSource.run(pk, s.source, s.watermark, JSON.stringify(copied));
        }
        for (const c of this.s.allChunks.all(from.pk) as (Required<ChunkRow> & { blocks: Buffer | null })[]) {
          const copied = this.s.insertChunk.run(
            pk,
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
          );
          if (c.blocks !== null) this.s.upsertBlocks.run(copied.lastInsertRowid, c.blocks);
        }
        for (const r of this.s.rewinds.all(from.pk) as RewindRecord[])
          this.s.insertRewind.run(pk, r.source, r.seq, r.ts, r.step);
        for (const r of this.s.revisions.all(from.pk) as { ts: number; source: string; patch: string }[])
          this.s.insertRevision.run(pk, r.ts, r.source, r.patch);
        return { experiment: toExperiment(this.row({ workspace: ref.workspace, id })), created: true };
      })
      .immediate();
  }

  updateExperimentMeta(ref: ExperimentRef, patch: ExperimentMetaPatch): ExperimentRecord {
    return this.db
      .transaction((): ExperimentRecord => {
        const now = toExperiment(this.row(ref));
        this.s.updateMeta.run(
          patch.name === undefined ? now.name : patch.name,
          JSON.stringify(patch.tags ?? now.tags),
          patch.note ?? now.note,
          (patch.archived ?? now.archived) ? 1 : 0,
          ref.workspace,
          ref.id,
        );
        return toExperiment(this.row(ref));
      })
      .immediate();
  }

  deleteExperiment(ref: ExperimentRef, now: number): boolean {
    return this.db
      .transaction((): boolean => {
        const row = this.s.experiment.get(ref.workspace, ref.id) as ExperimentRow | undefined;
        if (row === undefined) return false;
        const pk = row.pk;
        this.db
          .prepare('DELETE FROM chunk_blocks WHERE chunk IN (SELECT id FROM chunks WHERE exp = ?)')
          .run(pk);
        this.db.prepare('DELETE FROM chunks WHERE exp = ?').run(pk);
        this.db.prepare('DELETE FROM sources WHERE exp = ?').run(pk);
        this.db.prepare('DELETE FROM rewinds WHERE exp = ?').run(pk);
        this.db.prepare('DELETE FROM config_revisions WHERE exp = ?').run(pk);
        this.db.prepare('DELETE FROM experiments WHERE pk = ?').run(pk);
        this.s.insertTombstone.run(ref.workspace, ref.id, now);
        return true;
      })
      .immediate();
  }

  deletedAt(ref: ExperimentRef): number | undefined {
    return this.s.deletedAt.get(ref.workspace, ref.id) as number | undefined;
  }

  vacuum(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.exec('VACUUM');
  }

  ingest(ref: ExperimentRef, sources: IngestSource[]): IngestResult {
    this.checkpointWhenIdle();
    return this.db
      .transaction((): IngestResult => {
        const { pk } = this.row(ref);
        const current = new Map<string, { watermark: number; session: SessionInfo }>();
        for (const s of this.s.sources.all(pk) as { source: string; watermark: number; session: string }[])
          current.set(s.source, { watermark: s.watermark, session: JSON.parse(s.session) as SessionInfo });
        const watermarkOf = (source: string) => current.get(source)?.watermark ?? -1;
        const conflict = sources.some((s) => {
          const w = watermarkOf(s.source);
          return w !== s.fromSeq && w < s.toSeq;
        });
        if (conflict) return { status: 'conflict', watermarks: watermarks(current) };
        let stored = 0;
        for (const s of sources) {
          const known = current.get(s.source);
          const apply = watermarkOf(s.source) === s.fromSeq && s.toSeq > s.fromSeq;
          const session =
            known === undefined || isNewer(s.session, known.session) ? s.session : known.session;
          const watermark = apply ? s.toSeq : watermarkOf(s.source);
          this.s.upsertSource.run(pk, s.source, watermark, JSON.stringify(session));
          current.set(s.source, { watermark, session });
          if (!apply) continue;
          for (const r of s.rewinds) this.s.insertRewind.run(pk, s.source, r.seq, r.ts, r.step);
          for (const [key, chunks] of chunksByKey(s.chunks))
            stored += this.storeChunks(pk, s.source, key, chunks);
        }
        return { status: 'stored', watermarks: watermarks(current), stored };
      })
      .immediate();
  }

  sources(ref: ExperimentRef): SourceRecord[] {
    const { pk } = this.row(ref);
    return (this.s.sources.all(pk) as { source: string; watermark: number; session: string }[]).map((s) => ({
      source: s.source,
      watermark: s.watermark,
      session: JSON.parse(s.session) as SessionInfo,
    }));
  }

  keys(ref: ExperimentRef): string[] {
    return this.s.keys.all(this.row(ref).pk) as string[];
  }

  chunkSummaries(ref: ExperimentRef, key?: string): ChunkSummaryRecord[] {
    const { pk } = this.row(ref);
    const rows = (
      key === undefined ? this.s.summaries.all(pk) : this.s.summariesOfKey.all(pk, key)
    ) as SummaryColumns[];
    return rows.map(fromSummaryColumns);
  }

  chunks(ref: ExperimentRef, key: string, range: { from?: number; to?: number } = {}): ChunkRecord[] {
    const { pk } = this.row(ref);
    const rows = this.s.chunksInRange.all(
      pk,
      key,
      range.from ?? 0,
      range.to ?? Number.MAX_SAFE_INTEGER,
    ) as Required<ChunkRow>[];
    return rows.map((r) => ({ ...toSummary(r), data: r.data }));
  }

  chunkData(ref: ExperimentRef, ids: number[]): Map<number, Uint8Array> {
    const { pk } = this.row(ref);
    const out = new Map<number, Uint8Array>();
    for (const id of ids) {
      const data = this.s.chunkData.get(pk, id) as Buffer | undefined;
      if (data !== undefined) out.set(id, data);
    }
    return out;
  }

  chunkBlocks(ref: ExperimentRef, ids: number[]): Map<number, Float64Array> {
    const { pk } = this.row(ref);
    const out = new Map<number, Float64Array>();
    for (const id of ids) {
      const data = this.s.chunkBlocks.get(pk, id) as Buffer | undefined;
      const blocks = data === undefined ? undefined : blocksFromBytes(data);
      if (blocks !== undefined) out.set(id, blocks);
    }
    return out;
  }

  rewinds(ref: ExperimentRef): RewindRecord[] {
    return this.s.rewinds.all(this.row(ref).pk) as RewindRecord[];
  }

  addConfigRevisions(ref: ExperimentRef, revisions: ConfigRevisionRecord[]): number {
    return this.db
      .transaction(() => {
        const { pk } = this.row(ref);
        let added = 0;
        for (const r of revisions)
          added += this.s.insertRevision.run(pk, r.ts, r.source ?? '', JSON.stringify(r.patch)).changes;
        return added;
      })
      .immediate();
  }

  configRevisions(ref: ExperimentRef): ConfigRevisionRecord[] {
    const rows = this.s.revisions.all(this.row(ref).pk) as { ts: number; source: string; patch: string }[];
    return rows.map((r) => ({
      ts: r.ts,
      source: r.source === '' ? null : r.source,
      patch: JSON.parse(r.patch) as Record<string, unknown>,
    }));
  }

  addApiKey(key: NewApiKey): void {
    this.s.insertKey.run(key.id, key.hash, key.workspace, key.scope, key.createdAt);
  }

  findApiKeyByHash(hash: string): (ApiKeyRecord & { hash: string }) | undefined {
    const row = this.s.keyByHash.get(hash) as KeyRow | undefined;
    return row === undefined ? undefined : { ...toKey(row), hash: row.hash };
  }

  revokeApiKey(idOrHash: string, now: number): boolean {
    return this.s.revokeKey.run(now, idOrHash, idOrHash).changes > 0;
  }

  listApiKeys(): ApiKeyRecord[] {
    return (this.s.listKeys.all() as KeyRow[]).map(toKey);
  }

  addDashboardSession(tokenHash: string, keyId: string, expiresAt: number): void {
    this.db.transaction(() => {
      this.s.deleteExpiredSessions.run(Date.now());
      this.s.insertSession.run(tokenHash, keyId, expiresAt);
    })();
  }

  findDashboardSession(tokenHash: string, now: number): ApiKeyRecord | undefined {
    const row = this.s.session.get(tokenHash, now) as KeyRow | undefined;
    return row === undefined ? undefined : toKey(row);
  }

  deleteDashboardSession(tokenHash: string): void {
    this.s.deleteSession.run(tokenHash);
  }

  close(): void {
    clearTimeout(this.idleCheckpoint);
    if (this.checkpointer !== undefined) {
      this.checkpointer.postMessage('stop');
      this.checkpointer = undefined;
    }
    if (this.db.open) this.db.close();
  }

  /** (Re)arms the checkpoint that runs once uploads pause. */
  private checkpointWhenIdle(): void {
    clearTimeout(this.idleCheckpoint);
    this.idleCheckpoint = setTimeout(() => this.checkpoint(), IDLE_CHECKPOINT_MS);
    this.idleCheckpoint.unref();
  }

  /** Asks the checkpointing thread for a PASSIVE checkpoint (one at a time; one more if asked meanwhile). */
  private checkpoint(): void {
    if (!this.db.open) return;
    if (this.checkpointerFailed) {
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // A checkpoint that cannot run now runs at the next commit past the cap.
      }
      return;
    }
    if (this.checkpointing) {
      this.again = true;
      return;
    }
    if (this.checkpointer === undefined) {
      const worker = startBackgroundThread(new URL('./checkpoint-worker.js', import.meta.url), {
        workerData: { path: this.path },
        onMessage: () => {
          this.checkpointing = false;
          if (this.again) {
            this.again = false;
            this.checkpoint();
          }
        },
        onEnd: (error) => {
          if (this.checkpointer === worker) this.checkpointer = undefined;
          this.checkpointing = false;
          if (error === undefined) return; // stopped by close()
          this.checkpointerFailed = true;
          this.checkpoint(); // the one asked for, here
          process.emitWarning(`the server database's checkpointing thread stopped: ${error.message}`, {
            code: 'SWANLOG_CHECKPOINT',
          });
        },
      });
      this.checkpointer = worker;
    }
    this.checkpointing = true;
    this.checkpointer.postMessage('checkpoint');
  }

  private row(ref: ExperimentRef): ExperimentRow {
    const row = this.s.experiment.get(ref.workspace, ref.id) as ExperimentRow | undefined;
    if (row === undefined) throw new SwanlogError('RUN_NOT_FOUND', `experiment ${ref.id} not found`);
    return row;
  }

  private pickId(workspace: string, requested: string | undefined, exact: boolean): string {
    // A deleted experiment's id is never given again: its old sync records must not find a stranger.
    const taken = (id: string) =>
      this.s.experiment.get(workspace, id) !== undefined || this.s.deletedAt.get(workspace, id) !== undefined;
    if (requested !== undefined && !taken(requested)) return requested;
    if (requested !== undefined && exact) {
      throw new SwanlogError(
        'RUN_EXISTS',
        `experiment ${requested} already exists in workspace ${workspace}`,
        {
          hint: 'pick another id, or drop exactId to get a fresh one',
        },
      );
    }
    let id = generateRunId();
    while (taken(id)) id = generateRunId();
    return id;
  }

  /** Stores a batch's chunks of one (source, key) as planChunkRows says; returns the points stored. */
  private storeChunks(pk: number, source: string, key: string, chunks: IngestChunk[]): number {
    const last = this.s.lastChunk.get(pk, source, key) as { id: number; n: number } | undefined;
    for (const plan of planChunkRows(last, chunks)) {
      const stored = plan.id === undefined ? undefined : (this.s.chunkData.get(pk, plan.id) as Buffer);
      const { columns: c, data, blocks } = chunkRowData(plan, stored);
      const columns = [c.n, c.stepMin, c.stepMax, c.tsMin, c.tsMax, c.seqMin, c.seqMax] as const;
      if (plan.id !== undefined) {
        this.s.updateChunk.run(...columns, data, plan.id);
        this.s.upsertBlocks.run(plan.id, blocks);
        continue;
      }
      const inserted = this.s.insertChunk.run(pk, source, key, ...columns, data);
      this.s.upsertBlocks.run(inserted.lastInsertRowid, blocks);
    }
    return chunks.reduce((n, c) => n + pointCount(c), 0);
  }
}

/** A session record replaces the stored one unless it is older (ended beats open, then later signs of life). */
function isNewer(next: SessionInfo, stored: SessionInfo): boolean {
  if ((next.endState === null) !== (stored.endState === null)) return next.endState !== null;
  const life = (s: SessionInfo) => Math.max(s.endedAt ?? 0, s.heartbeatAt ?? 0);
  return life(next) >= life(stored);
}

function watermarks(current: Map<string, { watermark: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [source, { watermark }] of [...current].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    out[source] = watermark;
  return out;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
