import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describeValue, isValidName, SwanlogError } from '@swanlog/protocol';
import Database from 'better-sqlite3';
import { ulid } from 'ulid';
import { decodeChunk, encodeChunk } from './chunk-codec.js';
import type { JsonObject } from './deep-merge.js';
import {
  chunkCodecFor,
  formatVersionOf,
  initWriterFile,
  openSwanlogFile,
  RUN_FILE,
  WRITERS_DIR,
} from './format.js';
import { type JournalMode, journalModeFor } from './journal-mode.js';
import { currentProcess, HEARTBEAT_INTERVAL_MS } from './liveness.js';
import { RunReader } from './run-reader.js';
import type { EndState } from './run-state.js';
import { wrapStorageError } from './sqlite-error.js';

/** Largest number of points in one chunk (a large flush is split into chunks of this size). */
export const MAX_CHUNK_POINTS = 65_536;
/**
 * Small chunks merge up to this size. Merging exists so that slow logging does not leave one row
 * per point; beyond a few thousand points a row's overhead is negligible, and merging further
 * would only rewrite points again (at 4,096 it still cost ~1.5% of a 100-key, 1,000 it/s loop).
 */
export const MERGE_LIMIT_POINTS = 1024;
/**
 * A flush also happens once this many points are buffered, whatever the interval: memory then
 * stays flat however fast a job logs (a second of a fast loop is ~7 M points, ~100-200 MB).
 */
export const MAX_BUFFERED_POINTS = 1_000_000;

export interface OpenRunWriterOptions {
  dir: string;
  /** True when this session resumes an existing run (recorded on its segment). */
  resumed: boolean;
  /** Rewind: supersede every earlier point with step > fromStep. */
  fromStep?: number;
  /** A config revision to record, deep-merged over the current config. */
  configPatch?: JsonObject;
  /** Milliseconds between flushes; 0 flushes on every append. Default 1000. */
  flushIntervalMs?: number;
  /** The clock starts above this too (a server's highest timestamp, when resuming from it). */
  minClock?: number;
}

interface StackEntry {
  id: number;
  n: number;
  stepMin: number;
  stepMax: number;
  tsMin: number;
  tsMax: number;
  seqMin: number;
  seqMax: number;
}

/**
 * The stack of a key with nothing left to merge. Never modified: a flush copies a key's stack
 * before it pushes onto it (a failed flush keeps the old one).
 */
const NO_STACK = Object.freeze([]) as unknown as StackEntry[];

class KeyBuffer {
  n = 0;
  calls = new Uint32Array(256);
  values = new Float64Array(256);
  /** Chunks of this session small enough to merge, smallest on top. */
  stack: StackEntry[] = NO_STACK;

  constructor(
    readonly name: string,
    readonly id: number,
  ) {}

  grow(): void {
    const calls = new Uint32Array(this.calls.length * 2);
    calls.set(this.calls);
    this.calls = calls;
    const values = new Float64Array(this.values.length * 2);
    values.set(this.values);
    this.values = values;
  }
}

/**
 * One writer session of a run: its own SQLite file under writers/, points buffered per key in
 * memory and committed as chunks at most `flushIntervalMs` apart (or on `flush()`).
 */
export class RunWriter {
  readonly dir: string;
  readonly runId: string;
  readonly source: string;
  readonly segment: string;
  /** The run's last visible step when this session opened (after its rewind). */
  readonly lastVisibleStepAtOpen: number | null;
  readonly path: string;

  private readonly db: Database.Database;
  private readonly runDb: Database.Database;
  private readonly reader: RunReader;
  private readonly intervalMs: number;
  /** The chunk codec of the run's format (docs/format.md): 2, or 1 in a format-1 run. */
  private readonly codec: number;
  private readonly insertChunk: Database.Statement;
  private readonly insertKey: Database.Statement;
  private readonly selectChunk: Database.Statement;
  private readonly deleteChunk: Database.Statement;
  private readonly countPoints: Database.Statement;
  private readonly buffers = new Map<string, KeyBuffer>();
  private readonly newKeys: KeyBuffer[] = [];
  private dirty: KeyBuffer[] = [];
  private scratch: KeyBuffer[] = [];
  /** The last valid call's keys: scratch[k] is then the buffer of lastKeys[k]. */
  private lastKeys: string[] | null = null;
  /** The values of the call being taken, read once per key. */
  private scratchValues = new Float64Array(256);
  private chunkSteps = new Float64Array(0);
  private chunkTs = new Float64Array(0);
  private chunkSeqs = new Float64Array(0);
  private callSteps = new Float64Array(1024);
  private callTs = new Float64Array(1024);
  private windowCalls = 0;
  private buffered = 0;
  private windowSeqBase = 1;
  private calls = 0;
  private flushed = 0;
  private lastTs: number;
  private lastFlushAt: number;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: Worker | undefined;
  private timerError: unknown;
  /** A flush failed: the next one re-reads the fault-injection page cap (a test "frees space"). */
  private flushFailed = false;
  private heartbeatExited: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(init: {
    dir: string;
    runId: string;
    source: string;
    segment: string;
    path: string;
    db: Database.Database;
    runDb: Database.Database;
    reader: RunReader;
    clockStart: number;
    intervalMs: number;
    codec: number;
  }) {
    this.dir = init.dir;
    this.runId = init.runId;
    this.source = init.source;
    this.segment = init.segment;
    this.path = init.path;
    this.db = init.db;
    this.runDb = init.runDb;
    this.reader = init.reader;
    this.lastTs = init.clockStart;
    this.lastFlushAt = Date.now();
    this.intervalMs = init.intervalMs;
    this.codec = init.codec;
    this.insertChunk = this.db.prepare(
      'INSERT INTO chunks (key_id, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertKey = this.db.prepare('INSERT INTO keys (id, name) VALUES (?, ?)');
    this.selectChunk = this.db.prepare('SELECT data FROM chunks WHERE id = ?');
    this.deleteChunk = this.db.prepare('DELETE FROM chunks WHERE id = ?');
    this.countPoints = this.db.prepare(
      "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'points'",
    );
    this.lastVisibleStepAtOpen = this.reader.lastVisibleStep();
    // Holding other sessions' files open would keep their -wal files alive after they finish.
    this.reader.close();
  }

  /** Opens a new writer session on an existing run directory. */
  static open(options: OpenRunWriterOptions): RunWriter {
    const dir = resolve(options.dir);
    const reader = RunReader.open(dir);
    let runDb: Database.Database | undefined;
    let db: Database.Database | undefined;
    try {
      const mode = journalModeFor(dir);
      runDb = openSwanlogFile(join(dir, RUN_FILE), { readonly: false, kind: 'run' });
      setJournalMode(runDb, mode);
      const source = ulid();
      const segment = ulid();
      const clockStart = Math.max(Date.now(), reader.maxTs() + 1, (options.minClock ?? 0) + 1);
      const path = join(dir, WRITERS_DIR, `${source}.sqlite`);
      // A run keeps the format it was made with: a session of a format-1 run writes codec 1.
      const formatVersion = formatVersionOf(runDb);
      db = createWriterFile(path, { runId: reader.meta.id, source, mode, clockStart, formatVersion });
      if (options.fromStep !== undefined) {
        db.prepare('INSERT INTO rewinds (seq, ts, step) VALUES (0, ?, ?)').run(clockStart, options.fromStep);
      }
      registerSession(runDb, reader, { source, segment, clockStart, ...options });
      const writer = new RunWriter({
        dir,
        runId: reader.meta.id,
        source,
        segment,
        path,
        db,
        runDb,
        reader,
        clockStart,
        intervalMs: options.flushIntervalMs ?? 1000,
        codec: chunkCodecFor(formatVersion),
      });
      writer.start();
      return writer;
    } catch (error) {
      db?.close();
      runDb?.close();
      reader.close();
      throw wrapStorageError(error, dir, 'open a writer session in', {
        STORAGE_READ_ONLY: `a session writes its own file in ${join(dir, WRITERS_DIR)} and records itself in ${join(dir, RUN_FILE)}: remount the run directory read-write or make it writable for this user (reading it needs no write access)`,
        STORAGE_FULL: `free space on the volume of the run directory ${dir}, then start again; nothing stored was changed`,
      });
    }
  }

  /** Number of `append` calls whose points are committed to disk. */
  get flushedThrough(): number {
    return this.flushed;
  }

  /** Number of `append` calls made. */
  get appended(): number {
    return this.calls;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Buffers one call's values at `step`. Validates every key and value first, so a bad call
   * stores nothing. May flush inline when the flush interval has passed.
   */
  append(data: Record<string, number>, step: number): void {
    if (this.closed) {
      throw new SwanlogError('RUN_FINISHED', `run ${this.runId}: this writer session has ended`, {
        hint: `resume the run with init({ id: '${this.runId}', resume: 'must' }) to log more`,
      });
    }
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new SwanlogError(
        'INVALID_VALUE',
        `run ${this.runId}: step ${String(step)} is not a non-negative integer`,
        {
          hint: 'omit step to use the run counter, or pass an integer >= 0',
        },
      );
    }
    // Own keys only: `for...in` would also log enumerable properties inherited from a prototype.
    const keys = Object.keys(data);
    if (keys.length > this.scratchValues.length) this.scratchValues = new Float64Array(keys.length * 2);
    const values = this.scratchValues;
    // A training loop logs the same keys in the same order call after call: where the previous
    // (valid) call had this key at this position, its buffer is still in scratch, so no lookup.
    const last = this.lastKeys;
    this.lastKeys = null;
    let fresh = 0;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const value = data[key];
      if (typeof value !== 'number') throw invalidValue(this.runId, key, value);
      values[k] = value;
      if (last !== null && k < last.length && last[k] === key) continue;
      let buffer = this.buffers.get(key);
      if (buffer === undefined) {
        assertKey(this.runId, key);
        buffer = new KeyBuffer(key, this.buffers.size + 1 + fresh++);
      }
      this.scratch[k] = buffer;
    }
    if (fresh > 0) this.registerKeys(keys.length);
    this.lastKeys = keys;
    const now = Date.now();
    const ts = Math.max(now, this.lastTs);
    this.lastTs = ts;
    const call = this.windowCalls;
    if (call === this.callSteps.length) this.growCalls();
    this.callSteps[call] = step;
    this.callTs[call] = ts;
    this.windowCalls = call + 1;
    this.calls++;
    for (let k = 0; k < keys.length; k++) {
      const b = this.scratch[k]!;
      if (b.n === b.values.length) b.grow();
      if (b.n === 0) this.dirty.push(b);
      b.calls[b.n] = call;
      b.values[b.n++] = values[k]!;
    }
    this.buffered += keys.length;
    // A failed background flush is reported after the call is buffered, as an inline flush's is: a
    // log() that throws STORAGE_FULL has still taken its values (they wait in memory).
    if (this.timerError !== undefined) throw this.takeBackgroundError();
    if (now - this.lastFlushAt >= this.intervalMs || this.buffered >= MAX_BUFFERED_POINTS) this.flush();
  }

  /**
   * Commits every buffered point in one transaction. Throws STORAGE_FULL / STORAGE_READ_ONLY and
   * then has written nothing and kept the buffers, so a later flush writes each point once.
   */
  flush(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.windowCalls === 0) {
      this.lastFlushAt = now;
      this.timerError = undefined;
      return;
    }
    const stacks = new Map<KeyBuffer, StackEntry[]>();
    try {
      if (this.flushFailed) applyFaultLimit(this.db, true);
      this.db
        .transaction(() => {
          for (const b of this.newKeys) this.insertKey.run(b.id, b.name);
          let points = 0;
          for (const b of this.dirty) {
            const stack = [...b.stack];
            this.writeKey(b, stack);
            // A key whose chunks are all past merging (a wide run's: 1,000 points a flush) keeps
            // the shared empty stack, not an array of its own per flush that outlives it.
            stacks.set(b, stack.length === 0 ? NO_STACK : stack);
            points += b.n;
          }
          // The file's own record of how many points it holds: readers check it against the chunks,
          // so rows a damaged page hides are an error, not a silently shorter series.
          this.countPoints.run(points);
        })
        .immediate();
    } catch (error) {
      this.lastFlushAt = now;
      this.flushFailed = true;
      throw wrapStorageError(error, this.path, 'write points to', {
        STORAGE_FULL: `free space on the volume of the run directory ${this.dir} (or point SWANLOG_LOGDIR to a larger one), then call flush() or finish() again: the ${this.buffered} points not yet written are kept in memory until then, and every point written before is intact`,
      });
    }
    this.flushFailed = false;
    this.timerError = undefined;
    for (const [b, stack] of stacks) {
      b.stack = stack;
      b.n = 0;
    }
    this.newKeys.length = 0;
    this.dirty = [];
    this.windowSeqBase += this.windowCalls;
    this.windowCalls = 0;
    this.buffered = 0;
    this.flushed = this.calls;
    this.lastFlushAt = now;
  }

  /** Flushes, records how the session ended, and closes every file. Synchronous (exit handlers). */
  close(state: EndState): void {
    if (this.closed) return;
    let failure: unknown;
    try {
      this.flush();
    } catch (error) {
      failure = error;
    }
    this.heartbeat?.terminate();
    this.heartbeat = undefined;
    try {
      this.recordEnd(failure === undefined ? state : 'crashed');
    } catch (error) {
      failure ??= wrapStorageError(error, join(this.dir, RUN_FILE), 'record the end of');
    }
    this.shutDown();
    if (failure !== undefined) throw failure;
  }

  private recordEnd(state: EndState): void {
    this.runDb
      .prepare('UPDATE sessions SET end_state = ?, ended_at = ? WHERE source = ?')
      .run(state, Math.max(Date.now(), this.lastTs), this.source);
  }

  private shutDown(): void {
    this.closed = true;
    clearInterval(this.timer);
    releaseAndClose(this.db);
    releaseAndClose(this.runDb);
  }

  /**
   * Like close(), but first lets the heartbeat thread close its connection, so no -wal file stays
   * behind. Unlike close(), a storage failure (STORAGE_FULL) leaves the session open with its
   * buffers and heartbeat: the session has not ended, so finish() can be called again once there
   * is space, and append() still takes points meanwhile.
   */
  async finish(state: EndState): Promise<void> {
    if (this.closed) return;
    this.flush();
    const heartbeat = this.heartbeat;
    this.heartbeat = undefined;
    if (heartbeat !== undefined) {
      heartbeat.ref(); // keep the process alive until the thread has closed its connection
      heartbeat.postMessage('stop');
      await this.heartbeatExited;
    }
    if (this.closed) return; // close() ran meanwhile (an exit handler)
    try {
      this.flush(); // what was logged while the heartbeat stopped
      this.recordEnd(state);
    } catch (error) {
      this.startHeartbeat();
      throw wrapStorageError(error, join(this.dir, RUN_FILE), 'record the end of', {
        STORAGE_FULL: `every point is written; free space on the volume of the run directory ${this.dir}, then call finish() again to record that the run finished`,
      });
    }
    this.shutDown();
  }

  /** A storage failure met by the background flush timer, if any (cleared when read). */
  takeBackgroundError(): unknown {
    const error = this.timerError;
    this.timerError = undefined;
    return error;
  }

  private start(): void {
    this.db.prepare('INSERT OR REPLACE INTO heartbeat (id, ts) VALUES (1, ?)').run(Date.now());
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => this.backgroundFlush(), this.intervalMs);
      this.timer.unref();
    }
    this.startHeartbeat();
  }

  private startHeartbeat(): void {
    this.heartbeat = new Worker(new URL('./heartbeat-worker.js', import.meta.url), {
      workerData: { path: this.path, intervalMs: HEARTBEAT_INTERVAL_MS },
    });
    const worker = this.heartbeat;
    this.heartbeatExited = new Promise((done) => worker.once('exit', () => done()));
    // The heartbeat only ages when its thread fails (file gone, disk full): never let that end training.
    this.heartbeat.on('error', (error) => {
      process.emitWarning(
        `run ${this.runId}: the heartbeat stopped (${error.message}); readers on other hosts may see this run as crashed`,
        { code: 'SWANLOG_HEARTBEAT' },
      );
    });
    this.heartbeat.unref();
  }

  private backgroundFlush(): void {
    try {
      this.flush();
    } catch (error) {
      // Kept for the next log()/finish() to report; the buffers are kept and retried.
      this.timerError = error;
    }
  }

  /** Registers the call's new keys once the whole call is known to be valid. */
  private registerKeys(count: number): void {
    for (let i = 0; i < count; i++) {
      const b = this.scratch[i]!;
      if (this.buffers.has(b.name)) continue;
      this.buffers.set(b.name, b);
      this.newKeys.push(b);
    }
  }

  private growCalls(): void {
    const steps = new Float64Array(this.callSteps.length * 2);
    steps.set(this.callSteps);
    this.callSteps = steps;
    const ts = new Float64Array(this.callTs.length * 2);
    ts.set(this.callTs);
    this.callTs = ts;
  }

  private writeKey(b: KeyBuffer, stack: StackEntry[]): void {
    // One set of column arrays for every key of the flush (encodeChunk copies what it takes).
    const size = Math.min(b.n, MAX_CHUNK_POINTS);
    if (this.chunkSteps.length < size) {
      const cap = Math.min(MAX_CHUNK_POINTS, Math.max(size, this.chunkSteps.length * 2));
      this.chunkSteps = new Float64Array(cap);
      this.chunkTs = new Float64Array(cap);
      this.chunkSeqs = new Float64Array(cap);
    }
    const steps = this.chunkSteps;
    const ts = this.chunkTs;
    const seqs = this.chunkSeqs;
    for (let off = 0; off < b.n; off += MAX_CHUNK_POINTS) {
      const m = Math.min(MAX_CHUNK_POINTS, b.n - off);
      let stepMin = Number.POSITIVE_INFINITY;
      let stepMax = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < m; i++) {
        const call = b.calls[off + i]!;
        const s = this.callSteps[call]!;
        steps[i] = s;
        ts[i] = this.callTs[call]!;
        seqs[i] = this.windowSeqBase + call;
        if (s < stepMin) stepMin = s;
        if (s > stepMax) stepMax = s;
      }
      const values = b.values.subarray(off, off + m);
      const points = {
        steps: steps.subarray(0, m),
        values,
        ts: ts.subarray(0, m),
        seqs: seqs.subarray(0, m),
      };
      const entry = this.insert(b.id, points, m, stepMin, stepMax);
      stack.push(entry);
      this.mergeTop(b.id, stack);
    }
  }

  private insert(
    keyId: number,
    points: { steps: Float64Array; values: Float64Array; ts: Float64Array; seqs: Float64Array },
    n: number,
    stepMin: number,
    stepMax: number,
  ): StackEntry {
    const data = encodeChunk(points, n, this.codec);
    const e = {
      n,
      stepMin,
      stepMax,
      tsMin: points.ts[0]!,
      tsMax: points.ts[n - 1]!,
      seqMin: points.seqs[0]!,
      seqMax: points.seqs[n - 1]!,
    };
    const info = this.insertChunk.run(keyId, n, stepMin, stepMax, e.tsMin, e.tsMax, e.seqMin, e.seqMax, data);
    return { id: Number(info.lastInsertRowid), ...e };
  }

  /** Merges equal-or-smaller neighbours (a binary counter), so slow logging does not leave a row per point. */
  private mergeTop(keyId: number, stack: StackEntry[]): void {
    while (stack.length >= 2) {
      const top = stack[stack.length - 1]!;
      const prev = stack[stack.length - 2]!;
      if (prev.n > top.n || prev.n + top.n > MERGE_LIMIT_POINTS) break;
      const a = decodeChunk((this.selectChunk.get(prev.id) as { data: Buffer }).data);
      const b = decodeChunk((this.selectChunk.get(top.id) as { data: Buffer }).data);
      const merged = {
        steps: concat(a.steps, b.steps),
        values: concat(a.values, b.values),
        ts: concat(a.ts, b.ts),
        seqs: concat(a.seqs, b.seqs),
      };
      this.deleteChunk.run(prev.id);
      this.deleteChunk.run(top.id);
      const entry = this.insert(
        keyId,
        merged,
        prev.n + top.n,
        Math.min(prev.stepMin, top.stepMin),
        Math.max(prev.stepMax, top.stepMax),
      );
      stack.splice(stack.length - 2, 2, entry);
    }
    while (stack.length > 0 && stack[0]!.n * 2 > MERGE_LIMIT_POINTS) stack.shift();
  }
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function createWriterFile(
  path: string,
  init: { runId: string; source: string; mode: JournalMode; clockStart: number; formatVersion: number },
): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 10000');
    // Chunks are blobs of up to ~700 KB: large pages cut the per-page work of writing them.
    db.pragma('page_size = 16384');
    setJournalMode(db, init.mode);
    db.pragma('synchronous = NORMAL');
    applyFaultLimit(db);
    initWriterFile(db, init);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function registerSession(
  runDb: Database.Database,
  reader: RunReader,
  s: { source: string; segment: string; clockStart: number } & OpenRunWriterOptions,
): void {
  const proc = currentProcess();
  const dead = reader.segments().filter((seg) => seg.state === 'crashed' && seg.endedAt === null);
  runDb
    .transaction(() => {
      const end = runDb.prepare(
        "UPDATE sessions SET end_state = 'crashed', ended_at = ? WHERE source = ? AND end_state IS NULL",
      );
      for (const seg of dead) end.run(s.clockStart - 1, seg.source);
      runDb
        .prepare(
          `INSERT INTO sessions (source, segment, host, pid, pid_start, started_at, clock_start, resumed, from_step)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          s.source,
          s.segment,
          proc.host,
          proc.pid,
          proc.pidStart,
          Date.now(),
          s.clockStart,
          s.resumed ? 1 : 0,
          s.fromStep ?? null,
        );
      if (s.configPatch !== undefined && Object.keys(s.configPatch).length > 0) {
        runDb
          .prepare(
            'INSERT INTO config_revisions (rev, ts, source, patch) VALUES ((SELECT coalesce(max(rev), 0) + 1 FROM config_revisions), ?, ?, ?)',
          )
          .run(s.clockStart, s.source, JSON.stringify(s.configPatch));
      }
    })
    .immediate();
  reader.releaseWriters();
  for (const seg of dead) settleWriterFile(reader.writerPath(seg.source));
}

/** SQLite's default max_page_count: no cap. */
const UNCAPPED_PAGES = 4_294_967_294;

/**
 * Fault injection for the fault suite (`pnpm test:faults`) and tests: SWANLOG_FAULT_MAX_PAGES caps
 * a new writer file at that many pages, so the disk is "full" without a real full disk. After a
 * failed flush the next one reads it again (`retry`), so raising or unsetting it "frees space".
 */
function applyFaultLimit(db: Database.Database, retry = false): void {
  const raw = process.env.SWANLOG_FAULT_MAX_PAGES;
  if (raw === undefined || raw === '') {
    if (retry) db.pragma(`max_page_count = ${UNCAPPED_PAGES}`);
    return;
  }
  const pages = Number(raw);
  if (!Number.isSafeInteger(pages) || pages < 1) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `SWANLOG_FAULT_MAX_PAGES=${JSON.stringify(raw)} is not a page count`,
      {
        hint: 'unset it; it exists only for the fault-injection suite',
      },
    );
  }
  db.pragma(`max_page_count = ${pages}`);
}

/** Folds a dead session's -wal file into its database, so the run reads cleanly on read-only mounts. */
function settleWriterFile(path: string): void {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (error) {
    // A file we cannot open for writing stays as it is; readers still read it.
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_')) return;
    throw error;
  }
  releaseAndClose(db);
}

function setJournalMode(db: Database.Database, mode: JournalMode): void {
  try {
    db.pragma(`journal_mode = ${mode === 'wal' ? 'WAL' : 'DELETE'}`);
  } catch (error) {
    // Another connection holds the file in the other mode; it stays usable as it is.
    if (!isBusy(error)) throw error;
  }
}

/** Leaves the file in rollback-journal mode when this is its last connection (no -wal behind, read-only mounts open it). */
function releaseAndClose(db: Database.Database): void {
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = DELETE');
  } catch (error) {
    // Leaving WAL mode writes the -wal into the database; on a full disk the file stays in WAL
    // mode, complete, and the next writer or a reader with write access folds it.
    if (!isBusy(error) && !isFull(error)) throw error;
  } finally {
    db.close();
  }
}

function isFull(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_FULL';
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Throws INVALID_VALUE unless `key` is 1-255 characters, well-formed, without control characters. */
export function assertKey(runId: string, key: string): void {
  if (!isValidName(key)) {
    throw new SwanlogError(
      'INVALID_VALUE',
      `run ${runId}: metric key ${JSON.stringify(key)} is not a valid key`,
      {
        hint: 'a key is 1-255 characters of well-formed text (no lone surrogate) without control characters, e.g. "train/loss"',
      },
    );
  }
}

function invalidValue(runId: string, key: string, value: unknown): SwanlogError {
  return new SwanlogError(
    'INVALID_VALUE',
    `run ${runId}: value of key ${JSON.stringify(key)} is ${describeValue(value)}; log() takes numbers`,
    { hint: 'convert the value to a number (NaN and Infinity are fine), or log it as config instead' },
  );
}
