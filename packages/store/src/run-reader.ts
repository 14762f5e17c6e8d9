import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import type Database from 'better-sqlite3';
import { ChunkDecodeError, decodeChunk } from './chunk-codec.js';
import { deepMerge, type JsonObject } from './deep-merge.js';
import { formatVersionOf, openSwanlogFile, RUN_FILE, readMeta, WRITERS_DIR } from './format.js';
import {
  type RunState,
  runState,
  type SessionRow,
  type SessionStateInput,
  sessionState,
} from './run-state.js';
import { wrapStorageError } from './sqlite-error.js';
import {
  buildSeries,
  type ChunkSummary,
  countSuperseded,
  lastVisibleStepOf,
  type RankedPoints,
  type Rewind,
  type Series,
} from './visible-series.js';

export type { Series } from './visible-series.js';

export interface RunMeta {
  id: string;
  project: string;
  workspace: string | null;
  name: string | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  copiedFrom: string | null;
  /** True when the directory was seeded without the run's history. */
  partial: boolean;
  /** For a partial directory: the server's last step when it was seeded. */
  seedLastStep: number | null;
  /** For a partial directory: the server's highest clock timestamp when it was seeded. */
  seedMaxTs: number;
  /** Where an imported run came from (`swanlog import`); null for runs swanlog wrote itself. */
  source: RunSource | null;
}

/** The origin of an imported run: the other tracker's kind, the path it was read from, its own run id. */
export interface RunSource {
  kind: string;
  path: string;
  id: string;
  /** Offsets added to the steps of source sessions whose steps restarted, by session (W&B directory). */
  stepOffsets?: Record<string, number>;
}

export interface Segment {
  id: string;
  source: string;
  host: string;
  pid: number;
  startedAt: number;
  endedAt: number | null;
  resumed: boolean;
  fromStep: number | null;
  state: RunState;
}

export interface ConfigRevision {
  revision: number;
  ts: number;
  source: string | null;
  patch: JsonObject;
}

export interface SeriesOptions {
  superseded?: boolean;
}

interface WriterFile {
  source: string;
  rank: number;
  db: Database.Database;
  keyIds: Map<string, number>;
  /** Highest key id read so far: new keys are read incrementally (a scan of keyIds would make reads O(keys²)). */
  maxKeyId: number;
}

/**
 * Read access to one run directory. Opens every file read-only, never writes, never migrates,
 * and works while writers are live: each call reads what is committed at that moment.
 */
export class RunReader {
  readonly dir: string;
  readonly meta: RunMeta;
  private readonly runDb: Database.Database;
  private readonly writers = new Map<string, WriterFile>();

  private readonly fileMode: true | 'auto';

  private constructor(dir: string, runDb: Database.Database, meta: RunMeta, fileMode: true | 'auto') {
    this.fileMode = fileMode;
    this.dir = dir;
    this.runDb = runDb;
    this.meta = meta;
  }

  /** The run's format version (docs/format.md "Versions"): 1 or 2. */
  get formatVersion(): number {
    return formatVersionOf(this.runDb);
  }

  /**
   * Opens a run directory. With `readonly: true` every file is opened read-only (copy uses this so
   * that not even a left-over -wal file of the original is folded); by default files that may be
   * written are opened read-write, so the last connection to close folds a left-over -wal file.
   */
  static open(dir: string, options: { readonly?: boolean } = {}): RunReader {
    const abs = resolve(dir);
    const path = join(abs, RUN_FILE);
    if (!existsSync(path)) {
      throw new SwanlogError('RUN_DIR_CORRUPT', `${abs} is not a swanlog run directory (no ${RUN_FILE})`, {
        hint: 'pass a run directory (run-<date>-<id>) or a run id with --logdir',
      });
    }
    const mode = options.readonly === true ? true : 'auto';
    const db = openSwanlogFile(path, { readonly: mode, kind: 'run' });
    try {
      return new RunReader(abs, db, parseMeta(readMeta(db), path), mode);
    } catch (error) {
      db.close();
      throw wrapStorageError(error, path, 'read');
    }
  }

  close(): void {
    this.releaseWriters();
    if (this.runDb.open) this.runDb.close();
  }

  /** Closes the writer files opened so far; later calls reopen them. */
  releaseWriters(): void {
    for (const w of this.writers.values()) w.db.close();
    this.writers.clear();
  }

  sessionRows(): SessionRow[] {
    return this.guard(() =>
      cachedStatement(this.runDb, 'SELECT * FROM sessions ORDER BY started_at, source').all(),
    ) as SessionRow[];
  }

  segments(): Segment[] {
    return this.sessionRows().map((row) => ({
      id: row.segment,
      source: row.source,
      host: row.host,
      pid: row.pid,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      resumed: row.resumed === 1,
      fromStep: row.from_step,
      state: sessionState(row, row.end_state === null ? this.heartbeat(row.source) : undefined),
    }));
  }

  state(): RunState {
    return runState(
      this.sessionStates().map((s) => s.input),
      this.meta.createdAt,
    );
  }

  /**
   * Per session, what the run-state rule needs of it: whether its writer lives and, for a dead
   * session without a recorded end, its death time (its last durable write or heartbeat).
   */
  sessionStates(): { source: string; input: SessionStateInput }[] {
    return this.sessionRows().map((row) => {
      const base = { endState: row.end_state, clockStart: row.clock_start };
      if (row.end_state !== null)
        return {
          source: row.source,
          input: { ...base, alive: false, endedAt: row.ended_at ?? row.clock_start },
        };
      const alive = sessionState(row, this.heartbeat(row.source)) === 'running';
      return {
        source: row.source,
        input: { ...base, alive, endedAt: alive ? null : this.lastSignOf(row.source) },
      };
    });
  }

  /**
   * A session's last sign of life on the run's clock: the latest of its clock start, its heartbeat
   * and its last durable write. For a dead session without a recorded end, its death time.
   */
  lastSignOf(source: string): number {
    const row = this.sessionRows().find((r) => r.source === source);
    if (row === undefined) throw new Error(`no session ${source} in run ${this.meta.id}`);
    return Math.max(row.clock_start, this.heartbeat(source) ?? 0, this.lastWriteTs(source));
  }

  configRevisions(): ConfigRevision[] {
    const rows = this.guard(() =>
      cachedStatement(this.runDb, 'SELECT rev, ts, source, patch FROM config_revisions ORDER BY rev').all(),
    ) as { rev: number; ts: number; source: string | null; patch: string }[];
    return rows.map((r) => ({
      revision: r.rev,
      ts: r.ts,
      source: r.source,
      patch: JSON.parse(r.patch) as JsonObject,
    }));
  }

  config(): JsonObject {
    return this.configRevisions().reduce<JsonObject>((acc, r) => deepMerge(acc, r.patch), {});
  }

  /** Every metric key of the run, sorted. */
  keys(): string[] {
    const names = new Set<string>();
    for (const w of this.writerFiles()) for (const name of w.keyIds.keys()) names.add(name);
    return [...names].sort();
  }

  /** The highest clock timestamp anything in the run carries (0 for an empty run). */
  maxTs(): number {
    let max = this.meta.seedMaxTs;
    const row = this.guard(() =>
      this.runDb
        .prepare(
          'SELECT max(coalesce((SELECT max(clock_start) FROM sessions), 0), coalesce((SELECT max(ended_at) FROM sessions), 0), coalesce((SELECT max(ts) FROM config_revisions), 0)) AS m',
        )
        .get(),
    ) as { m: number };
    max = Math.max(max, row.m);
    for (const w of this.writerFiles()) {
      const r = this.guardFile(w, () =>
        w.db
          .prepare(
            'SELECT max(coalesce((SELECT max(ts_max) FROM chunks), 0), coalesce((SELECT max(ts) FROM rewinds), 0)) AS m',
          )
          .get(),
      ) as { m: number };
      max = Math.max(max, r.m);
    }
    return max;
  }

  /** Per writer session (source), the highest sequence number it stored (-1: nothing yet). */
  sourceMaxSeqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.writerFiles()) {
      const r = this.guardFile(w, () =>
        w.db
          .prepare(
            'SELECT max(coalesce((SELECT max(seq_max) FROM chunks), -1), coalesce((SELECT max(seq) FROM rewinds), -1)) AS m',
          )
          .get(),
      ) as { m: number };
      out[w.source] = r.m;
    }
    return out;
  }

  /** Every rewind of the run, from all writers. */
  rewinds(): Rewind[] {
    const out: Rewind[] = [];
    for (const w of this.writerFiles()) {
      const rows = this.guardFile(w, () =>
        cachedStatement(w.db, 'SELECT seq, ts, step FROM rewinds').all(),
      ) as {
        seq: number;
        ts: number;
        step: number;
      }[];
      for (const r of rows) out.push({ ts: r.ts, rank: w.rank, seq: r.seq, step: r.step });
    }
    return out;
  }

  /**
   * The last visible step of the run (or of one key), answered from chunk summaries: only chunks
   * that straddle a rewind are decoded, so this costs no scan of the run's points.
   */
  lastVisibleStep(key?: string): number | null {
    const chunks: ChunkSummary[] = [];
    for (const w of this.writerFiles()) {
      const keyId = key === undefined ? undefined : w.keyIds.get(key);
      if (key !== undefined && keyId === undefined) continue;
      const sql =
        keyId === undefined
          ? 'SELECT id, step_max, ts_min, seq_min FROM chunks'
          : 'SELECT id, step_max, ts_min, seq_min FROM chunks WHERE key_id = ?';
      const rows = this.guardFile(w, () =>
        keyId === undefined ? cachedStatement(w.db, sql).all() : cachedStatement(w.db, sql).all(keyId),
      ) as { id: number; step_max: number; ts_min: number; seq_min: number }[];
      for (const r of rows) {
        chunks.push({
          rank: w.rank,
          stepMax: r.step_max,
          tsMin: r.ts_min,
          seqMin: r.seq_min,
          decode: () => this.decodeChunkRow(w, r.id),
        });
      }
    }
    return lastVisibleStepOf(chunks, this.rewinds());
  }

  /** The visible points of `key` in step order (and the superseded ones, marked, when asked). */
  series(key: string, options: SeriesOptions = {}): Series {
    return buildSeries(key, this.rawPoints(key), this.rewinds(), options.superseded === true);
  }

  /**
   * How many of the points each writer session (source) wrote with a seq in (after, upTo] are
   * superseded in the run's visible series now (sync reports this of what it uploaded). A key whose
   * chunk summaries show every step written once, in a run without rewinds, is not decoded.
   */
  supersededCount(ranges: Record<string, { after: number; upTo: number }>): number {
    const files = this.writerFiles();
    const byRank = files.map((w) => ranges[w.source]);
    const inRange = (rank: number, seq: number) => {
      const r = byRank[rank];
      return r !== undefined && seq > r.after && seq <= r.upTo;
    };
    const rewinds = this.rewinds();
    type Summary = {
      rank: number;
      n: number;
      step_min: number;
      step_max: number;
      seq_min: number;
      seq_max: number;
    };
    // One query per writer file for every key's chunk summaries (a 1,000-key run made 1,000).
    const byKey = new Map<string, Summary[]>();
    const keys = this.keys(); // first: it reads key rows added since the files were opened
    for (const w of files) {
      const names = new Map([...w.keyIds].map(([name, id]) => [id, name]));
      const rows = this.guardFile(w, () =>
        cachedStatement(w.db, 'SELECT key_id, n, step_min, step_max, seq_min, seq_max FROM chunks').all(),
      ) as (Omit<Summary, 'rank'> & { key_id: number })[];
      for (const { key_id, ...r } of rows) {
        const name = names.get(key_id);
        if (name === undefined) continue;
        const list = byKey.get(name);
        if (list === undefined) byKey.set(name, [{ rank: w.rank, ...r }]);
        else list.push({ rank: w.rank, ...r });
      }
    }
    let n = 0;
    for (const key of keys) {
      const chunks = byKey.get(key) ?? [];
      const touched = chunks.some((c) => {
        const r = byRank[c.rank];
        return r !== undefined && c.seq_max > r.after && c.seq_min <= r.upTo;
      });
      if (!touched || (rewinds.length === 0 && stepsWrittenOnce(chunks))) continue;
      n += countSuperseded(this.rawPoints(key), rewinds, inRange);
    }
    return n;
  }

  /** Number of stored points of the run, superseded ones included (from chunk summaries). */
  storedPointCount(): number {
    let total = 0;
    for (const w of this.writerFiles()) {
      const r = this.guardFile(w, () =>
        cachedStatement(w.db, 'SELECT coalesce(sum(n), 0) AS n FROM chunks').get(),
      ) as {
        n: number;
      };
      total += r.n;
    }
    return total;
  }

  private rawPoints(key: string): RankedPoints[] {
    const parts: RankedPoints[] = [];
    for (const w of this.writerFiles()) {
      const keyId = w.keyIds.get(key);
      if (keyId === undefined) continue;
      const rows = this.guardFile(w, () =>
        cachedStatement(w.db, 'SELECT id, data FROM chunks WHERE key_id = ? ORDER BY seq_min').all(keyId),
      ) as { id: number; data: Buffer }[];
      for (const row of rows) parts.push({ rank: w.rank, ...this.decode(w, row.id, row.data) });
    }
    return parts;
  }

  private decodeChunkRow(w: WriterFile, id: number): ReturnType<typeof decodeChunk> {
    const row = this.guardFile(w, () =>
      cachedStatement(w.db, 'SELECT data FROM chunks WHERE id = ?').get(id),
    ) as { data: Buffer } | undefined;
    if (row === undefined)
      throw new SwanlogError('RUN_DIR_CORRUPT', `chunk ${id} vanished from ${this.writerPath(w.source)}`);
    return this.decode(w, id, row.data);
  }

  private decode(w: WriterFile, id: number, data: Buffer): ReturnType<typeof decodeChunk> {
    try {
      return decodeChunk(data);
    } catch (error) {
      if (!(error instanceof ChunkDecodeError)) throw error;
      throw new SwanlogError(
        'RUN_DIR_CORRUPT',
        `chunk ${id} of ${this.writerPath(w.source)} is damaged: ${error.message}`,
        {
          hint: 'run `swanlog verify` on the run directory',
          cause: error,
        },
      );
    }
  }

  /** Writer files of every session, opened once; ranks follow sorted source ids. */
  writerFiles(): WriterFile[] {
    const sources = this.sessionRows()
      .map((r) => r.source)
      .sort();
    const out: WriterFile[] = [];
    sources.forEach((source, rank) => {
      let w = this.writers.get(source);
      if (w === undefined) {
        const path = this.writerPath(source);
        const db = openSwanlogFile(path, { readonly: this.fileMode, kind: 'writer' });
        this.checkOwner(db, path);
        w = { source, rank, db, keyIds: new Map(), maxKeyId: 0 };
        this.writers.set(source, w);
      }
      w.rank = rank;
      this.refreshKeys(w);
      out.push(w);
    });
    return out;
  }

  writerPath(source: string): string {
    return join(this.dir, WRITERS_DIR, `${source}.sqlite`);
  }

  /** The clock of the last durable write (point or rewind) of a session, 0 when none. */
  private lastWriteTs(source: string): number {
    const w = this.writerFiles().find((f) => f.source === source);
    if (w === undefined) return 0;
    const row = this.guardFile(w, () =>
      w.db
        .prepare(
          'SELECT max(coalesce((SELECT max(ts_max) FROM chunks), 0), coalesce((SELECT max(ts) FROM rewinds), 0)) AS m',
        )
        .get(),
    ) as { m: number };
    return row.m;
  }

  private heartbeat(source: string): number | undefined {
    const w = this.writerFiles().find((f) => f.source === source);
    if (w === undefined) return undefined;
    const row = this.guardFile(w, () =>
      cachedStatement(w.db, 'SELECT ts FROM heartbeat WHERE id = 1').get(),
    ) as { ts: number } | undefined;
    return row?.ts;
  }

  private refreshKeys(w: WriterFile): void {
    const rows = this.guardFile(w, () =>
      cachedStatement(w.db, 'SELECT id, name FROM keys WHERE id > ? ORDER BY id').all(w.maxKeyId),
    ) as {
      id: number;
      name: string;
    }[];
    for (const r of rows) {
      w.keyIds.set(r.name, r.id);
      w.maxKeyId = r.id;
    }
  }

  /**
   * A writer file belongs to one run: a file of another run (copied or linked into writers/) is
   * RUN_DIR_CORRUPT, never read as this run's points.
   */
  private checkOwner(db: Database.Database, path: string): void {
    let owner: string | undefined;
    let counts: {
      recorded: number | undefined;
      reachable: number;
      rows: number;
      complete: number;
      stored: number;
    };
    try {
      // One read transaction: a live writer's flush cannot land between the two reads.
      counts = db.transaction(() => {
        const meta = readMeta(db);
        owner = meta.get('run_id');
        const r = db
          .prepare('SELECT count(*) AS rows, count(n) AS complete, coalesce(sum(n), 0) AS stored FROM chunks')
          .get() as { rows: number; complete: number; stored: number };
        // The points a read finds the way series are read (key rows, then the key index) must be all
        // of them: a lost key row or index entry would otherwise drop a series without an error.
        const reachable = db
          .prepare(
            'SELECT coalesce(sum(c.n), 0) AS n FROM keys k JOIN chunks c INDEXED BY chunks_by_key ON c.key_id = k.id',
          )
          .pluck()
          .get() as number;
        const points = meta.get('points');
        return { recorded: points === undefined ? undefined : Number(points), reachable, ...r };
      })();
    } catch (error) {
      db.close();
      throw wrapStorageError(error, path, 'read');
    }
    if (owner !== this.meta.id) {
      db.close();
      throw new SwanlogError(
        'RUN_DIR_CORRUPT',
        `${path} belongs to run ${owner}, not to run ${this.meta.id}`,
        {
          hint: 'a writer file was copied or linked in from another run directory; move it back',
        },
      );
    }
    // Rows a damaged page hides (or blanks) would otherwise make a silently shorter series.
    if (
      counts.recorded !== counts.stored ||
      counts.complete !== counts.rows ||
      counts.reachable !== counts.stored
    ) {
      db.close();
      throw new SwanlogError(
        'RUN_DIR_CORRUPT',
        `${path} is damaged: the file records ${counts.recorded ?? 'no count of'} points, its chunks hold ${counts.stored}, ${counts.reachable} of them reachable by key`,
        { hint: 'run `swanlog verify` on the run directory; a copy made before the damage is unaffected' },
      );
    }
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw wrapStorageError(error, join(this.dir, RUN_FILE), 'read');
    }
  }

  private guardFile<T>(w: WriterFile, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw wrapStorageError(error, this.writerPath(w.source), 'read');
    }
  }
}

/**
 * True when the chunks' step ranges do not overlap and each chunk holds as many points as its
 * range has integer steps (so no step twice): every (key, step) was then written once.
 */
function stepsWrittenOnce(chunks: { n: number; step_min: number; step_max: number }[]): boolean {
  const sorted = [...chunks].sort((a, b) => a.step_min - b.step_min);
  let last = Number.NEGATIVE_INFINITY;
  for (const c of sorted) {
    if (c.step_min <= last || c.step_max - c.step_min + 1 !== c.n) return false;
    last = c.step_max;
  }
  return true;
}

function parseMeta(meta: Map<string, string>, path: string): RunMeta {
  const id = meta.get('id');
  const createdAt = Number(meta.get('created_at'));
  if (id === undefined || !Number.isFinite(createdAt)) {
    throw new SwanlogError('RUN_DIR_CORRUPT', `${path} lacks the run's id or creation time`, {
      hint: 'run `swanlog verify` on the run directory',
    });
  }
  return {
    id,
    project: meta.get('project') ?? '',
    workspace: meta.get('workspace') ?? null,
    name: meta.get('name') ?? null,
    createdAt,
    copiedFrom: meta.get('copied_from') ?? null,
    partial: meta.get('partial') === '1',
    seedLastStep: meta.has('seed_last_step') ? Number(meta.get('seed_last_step')) : null,
    seedMaxTs: Number(meta.get('seed_max_ts') ?? 0),
    source: parseSource(meta),
  };
}

function parseSource(meta: Map<string, string>): RunSource | null {
  const kind = meta.get('source_kind');
  const id = meta.get('source_id');
  if (kind === undefined || id === undefined) return null;
  const offsets = meta.get('source_step_offsets');
  const source: RunSource = { kind, path: meta.get('source_path') ?? '', id };
  if (offsets !== undefined) source.stepOffsets = JSON.parse(offsets) as Record<string, number>;
  return source;
}

/**
 * Prepared statements per open file, reused: a reader answering a run of 100,000 keys one key at
 * a time prepared the same few statements 100,000 times each (most of an export's time). A file
 * closed and opened again is a new handle, with statements of its own.
 */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function cachedStatement(db: Database.Database, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (byText === undefined) statements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (stmt === undefined) byText.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}
