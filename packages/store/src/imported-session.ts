import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import { ulid } from 'ulid';
import { encodeChunk } from './chunk-codec.js';
import type { JsonObject } from './deep-merge.js';
import {
  chunkCodecFor,
  formatVersionOf,
  initWriterFile,
  openSwanlogFile,
  RUN_FILE,
  WRITERS_DIR,
} from './format.js';
import { currentProcess } from './liveness.js';
import { RunReader } from './run-reader.js';
import type { EndState } from './run-state.js';
import { assertKey, MAX_CHUNK_POINTS } from './run-writer.js';
import { wrapStorageError } from './sqlite-error.js';

/**
 * Tables an imported session's writer file has beside the format's own (docs/format.md, "Imported
 * runs"): how far each source file was read, and the source's own time where the clock had to
 * move it.
 */
const IMPORT_SCHEMA = `
CREATE TABLE IF NOT EXISTS import_progress (file TEXT PRIMARY KEY, offset INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS source_times (seq INTEGER PRIMARY KEY, time REAL NOT NULL);
`;

/** One record read from another tracker's file: the values one call logged, or a rewind. */
export type ImportedRecord =
  | { kind: 'point'; step: number; time: number; values: Map<string, number> }
  | { kind: 'rewind'; step: number; time: number };

export interface ImportBatch {
  records: ImportedRecord[];
  /** Where reading stopped in each source file, committed with the records (so a retry reads on from there). */
  progress: ImportProgress[];
  /** How the source session ended as far as its file tells (default finished). */
  endState?: EndState;
}

export interface ImportProgress {
  /** The source file, relative to the source's root. */
  file: string;
  /** Bytes of the file consumed: the next import reads from here. */
  offset: number;
  /** The reader's state at `offset` (JSON), so reading resumes exactly. */
  state: string;
}

export interface ImportedSessionProgress extends ImportProgress {
  /** The writer session (its source ulid) that holds this file's records. */
  source: string;
}

export interface WriteResult {
  points: number;
  rewinds: number;
}

/**
 * A writer session that holds records imported from another tracker: each source session (a
 * TensorBoard event file, a W&B run directory) becomes one. Unlike RunWriter it takes the source's
 * own timestamps (clamped so the format's clock rules hold) and can be reopened to append what the
 * source wrote since, with the reading position committed in the same transaction as the points.
 */
export class ImportedSession {
  readonly dir: string;
  readonly runId: string;
  readonly source: string;
  private readonly db: Database.Database;
  private lastTs: number;
  private nextSeq: number;
  private readonly keyIds = new Map<string, number>();
  /** The chunk codec of the file's format: a run keeps the format it was made with. */
  private readonly codec: number;

  private constructor(init: { dir: string; runId: string; source: string; db: Database.Database }) {
    this.dir = init.dir;
    this.runId = init.runId;
    this.source = init.source;
    this.db = init.db;
    this.codec = chunkCodecFor(formatVersionOf(init.db));
    const row = this.db
      .prepare(
        `SELECT max(coalesce((SELECT max(ts_max) FROM chunks), 0), coalesce((SELECT max(ts) FROM rewinds), 0),
                CAST((SELECT value FROM meta WHERE key = 'created_at') AS INTEGER)) AS ts,
                max(coalesce((SELECT max(seq_max) FROM chunks), 0), coalesce((SELECT max(seq) FROM rewinds), 0)) AS seq`,
      )
      .get() as { ts: number; seq: number };
    this.lastTs = row.ts;
    this.nextSeq = row.seq + 1;
    for (const k of this.db.prepare('SELECT id, name FROM keys').all() as { id: number; name: string }[]) {
      this.keyIds.set(k.name, k.id);
    }
  }

  /**
   * Starts a new session in the run at `dir`. Its clock starts at the source's first time, or
   * just after everything already in the run when that is later, so a later source session
   * always orders after an earlier one.
   */
  static begin(dir: string, options: { firstTime: number; resumed: boolean }): ImportedSession {
    const abs = resolve(dir);
    const reader = RunReader.open(abs);
    let runDb: Database.Database | undefined;
    try {
      const clockStart = Math.max(Math.round(options.firstTime), reader.maxTs() + 1);
      const source = ulid();
      const path = join(abs, WRITERS_DIR, `${source}.sqlite`);
      runDb = openSwanlogFile(join(abs, RUN_FILE), { readonly: false, kind: 'run' });
      const formatVersion = formatVersionOf(runDb);
      const db = createImportFile(path, { runId: reader.meta.id, source, clockStart, formatVersion });
      const proc = currentProcess();
      runDb
        .prepare(
          `INSERT INTO sessions (source, segment, host, pid, pid_start, started_at, clock_start, resumed, from_step, ended_at, end_state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'finished')`,
        )
        .run(
          source,
          ulid(),
          proc.host,
          proc.pid,
          proc.pidStart,
          clockStart,
          clockStart,
          options.resumed ? 1 : 0,
          clockStart,
        );
      return new ImportedSession({ dir: abs, runId: reader.meta.id, source, db });
    } catch (error) {
      throw wrapStorageError(error, abs, 'import into');
    } finally {
      runDb?.close();
      reader.close();
    }
  }

  /** Reopens an imported session of the run at `dir` to append to it. */
  static reopen(dir: string, source: string): ImportedSession {
    const abs = resolve(dir);
    const reader = RunReader.open(abs);
    try {
      const path = join(abs, WRITERS_DIR, `${source}.sqlite`);
      const db = openSwanlogFile(path, { readonly: false, kind: 'writer' });
      db.exec(IMPORT_SCHEMA);
      return new ImportedSession({ dir: abs, runId: reader.meta.id, source, db });
    } catch (error) {
      throw wrapStorageError(error, abs, 'import into');
    } finally {
      reader.close();
    }
  }

  /**
   * Writes the batch's records and reading positions in one transaction: an import that stops
   * midway (killed, disk full) has written whole batches only, and the next one reads on from the
   * last committed position, so no record is written twice or lost.
   */
  write(batch: ImportBatch): WriteResult {
    const plan = this.plan(batch.records);
    try {
      this.db
        .transaction(() => {
          const insertKey = this.db.prepare('INSERT INTO keys (id, name) VALUES (?, ?)');
          for (const [name, id] of plan.newKeys) insertKey.run(id, name);
          const insertRewind = this.db.prepare('INSERT INTO rewinds (seq, ts, step) VALUES (?, ?, ?)');
          for (const r of plan.rewinds) insertRewind.run(r.seq, r.ts, r.step);
          const insertTime = this.db.prepare('INSERT INTO source_times (seq, time) VALUES (?, ?)');
          for (const [seq, time] of plan.sourceTimes) insertTime.run(seq, time);
          const insertChunk = this.db.prepare(
            'INSERT INTO chunks (key_id, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          );
          for (const [keyId, points] of plan.points) writeChunks(insertChunk, keyId, points, this.codec);
          this.db
            .prepare("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'points'")
            .run(plan.pointCount);
          const progress = this.db.prepare(
            'INSERT OR REPLACE INTO import_progress (file, offset, state) VALUES (?, ?, ?)',
          );
          for (const p of batch.progress) progress.run(p.file, p.offset, p.state);
        })
        .immediate();
    } catch (error) {
      throw wrapStorageError(error, join(this.dir, WRITERS_DIR, `${this.source}.sqlite`), 'import into');
    }
    for (const [name, id] of plan.newKeys) this.keyIds.set(name, id);
    this.lastTs = plan.lastTs;
    this.nextSeq = plan.nextSeq;
    this.recordEnd(batch.endState ?? 'finished');
    return { points: plan.pointCount, rewinds: plan.rewinds.length };
  }

  /** The session's clock: the last timestamp it holds (its start while it holds nothing). */
  get clock(): number {
    return this.lastTs;
  }

  close(): void {
    if (this.db.open) {
      this.db.pragma('journal_mode = DELETE');
      this.db.close();
    }
  }

  /** Assigns each record its clock (ts clamped non-decreasing, the next seq) and groups points by key. */
  private plan(records: ImportedRecord[]) {
    const newKeys = new Map<string, number>();
    const points = new Map<number, { steps: number[]; ts: number[]; seqs: number[]; values: number[] }>();
    const rewinds: { seq: number; ts: number; step: number }[] = [];
    const sourceTimes: [number, number][] = [];
    let lastTs = this.lastTs;
    let seq = this.nextSeq;
    let pointCount = 0;
    for (const record of records) {
      const own = Math.round(record.time);
      const ts = Number.isFinite(own) ? Math.max(own, lastTs) : lastTs;
      if (ts !== own && Number.isFinite(record.time)) sourceTimes.push([seq, record.time]);
      lastTs = ts;
      if (record.kind === 'rewind') {
        rewinds.push({ seq: seq++, ts, step: record.step });
        continue;
      }
      for (const [name, value] of record.values) {
        let id = this.keyIds.get(name) ?? newKeys.get(name);
        if (id === undefined) {
          assertKey(this.runId, name);
          id = this.keyIds.size + newKeys.size + 1;
          newKeys.set(name, id);
        }
        let p = points.get(id);
        if (p === undefined) points.set(id, (p = { steps: [], ts: [], seqs: [], values: [] }));
        p.steps.push(record.step);
        p.ts.push(ts);
        p.seqs.push(seq);
        p.values.push(value);
        pointCount++;
      }
      seq++;
    }
    return { newKeys, points, rewinds, sourceTimes, lastTs, nextSeq: seq, pointCount };
  }

  private recordEnd(state: EndState): void {
    const runDb = openSwanlogFile(join(this.dir, RUN_FILE), { readonly: false, kind: 'run' });
    try {
      runDb
        .prepare('UPDATE sessions SET ended_at = ?, end_state = ? WHERE source = ?')
        .run(this.lastTs, state, this.source);
    } catch (error) {
      throw wrapStorageError(error, join(this.dir, RUN_FILE), 'import into');
    } finally {
      runDb.close();
    }
  }
}

/** Where every imported session of the run at `dir` stopped reading its source files. */
export function readImportProgress(dir: string): ImportedSessionProgress[] {
  const abs = resolve(dir);
  const reader = RunReader.open(abs);
  const out: ImportedSessionProgress[] = [];
  try {
    for (const segment of reader.segments()) {
      const path = join(abs, WRITERS_DIR, `${segment.source}.sqlite`);
      if (!existsSync(path)) continue;
      const db = openSwanlogFile(path, { readonly: true, kind: 'writer' });
      try {
        const has = db
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'import_progress'")
          .get();
        if (has === undefined) continue;
        const rows = db.prepare('SELECT file, offset, state FROM import_progress').all() as ImportProgress[];
        for (const r of rows) out.push({ source: segment.source, ...r });
      } finally {
        db.close();
      }
    }
  } finally {
    reader.close();
  }
  return out;
}

function writeChunks(
  insert: Database.Statement,
  keyId: number,
  p: { steps: number[]; ts: number[]; seqs: number[]; values: number[] },
  codec: number,
): void {
  for (let off = 0; off < p.steps.length; off += MAX_CHUNK_POINTS) {
    const end = Math.min(off + MAX_CHUNK_POINTS, p.steps.length);
    const steps = Float64Array.from(p.steps.slice(off, end));
    const chunk = {
      steps,
      ts: Float64Array.from(p.ts.slice(off, end)),
      seqs: Float64Array.from(p.seqs.slice(off, end)),
      values: Float64Array.from(p.values.slice(off, end)),
    };
    const n = end - off;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const s of steps) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    insert.run(
      keyId,
      n,
      min,
      max,
      chunk.ts[0],
      chunk.ts[n - 1],
      chunk.seqs[0],
      chunk.seqs[n - 1],
      encodeChunk(chunk, n, codec),
    );
  }
}

function createImportFile(
  path: string,
  init: { runId: string; source: string; clockStart: number; formatVersion: number },
): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    initWriterFile(db, init, IMPORT_SCHEMA);
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === undefined) throw error;
    throw new SwanlogError('RUN_DIR_CORRUPT', `cannot create ${path}`, {
      hint: 'check that the run directory is writable',
      cause: error,
    });
  }
}

/**
 * Records in the run's origin the step offset given to each source session whose steps restarted
 * (a W&B run continued offline restarts `_step` at 0): `source_step_offsets` in meta, JSON.
 */
export function recordStepOffsets(dir: string, offsets: Record<string, number>): void {
  const path = join(resolve(dir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: false, kind: 'run' });
  try {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('source_step_offsets', ?)").run(
      JSON.stringify(offsets),
    );
  } catch (error) {
    throw wrapStorageError(error, path, 'import into');
  } finally {
    db.close();
  }
}

/**
 * Adds a config revision an imported source recorded after the run began (W&B's
 * `wandb.config.update`, a SwanLab run resumed with another config): `patch` merged at clock `ts`,
 * attributed to the import session `source`. A revision already there (same session and patch,
 * from an import that stopped before recording its reading position) is not added twice.
 * Returns whether a revision was added.
 */
export function recordImportedConfig(
  dir: string,
  revision: { ts: number; source: string; patch: JsonObject },
): boolean {
  if (Object.keys(revision.patch).length === 0) return false;
  const path = join(resolve(dir), RUN_FILE);
  const db = openSwanlogFile(path, { readonly: false, kind: 'run' });
  const patch = JSON.stringify(revision.patch);
  try {
    return db
      .transaction(() => {
        const seen = db
          .prepare('SELECT 1 FROM config_revisions WHERE source = ? AND patch = ?')
          .get(revision.source, patch);
        if (seen !== undefined) return false;
        db.prepare(
          'INSERT INTO config_revisions (rev, ts, source, patch) VALUES ((SELECT coalesce(max(rev), 0) + 1 FROM config_revisions), ?, ?, ?)',
        ).run(Math.round(revision.ts), revision.source, patch);
        return true;
      })
      .immediate();
  } catch (error) {
    throw wrapStorageError(error, path, 'import into');
  } finally {
    db.close();
  }
}
