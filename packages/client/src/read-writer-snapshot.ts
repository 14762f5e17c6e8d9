import { SwanlogError } from '@swanlog/protocol';
import { chunkSeqRange } from '@swanlog/store';
import Database from 'better-sqlite3';
import type { KeyChunks, PendingChunk } from './cut-batches.js';

/** What a writer file holds beyond a watermark, read in one transaction. */
export interface WriterSnapshot {
  /** The chunks holding points with seq > the watermark, per key, in seq order (each checked when a batch first takes it). */
  keys: KeyChunks[];
  rewinds: { seq: number; ts: number; step: number }[];
  /** Highest seq of anything stored (points or rewinds); -1 when the writer holds nothing. */
  maxSeq: number;
  heartbeat: number | null;
  /**
   * Reads the bytes of every chunk not read yet and ends the read, for a staged snapshot (a
   * rollback-journal file read lazily, whose read must not be held); a no-op for any other.
   */
  settle(): void;
  /** Ends a lazy snapshot's read transaction and closes its file (a no-op for one read whole). */
  close(): void;
}

interface ChunkRow {
  id: number;
  name: string;
  n: number;
  seq_min: number;
  seq_max: number;
  bytes: number;
  data?: Buffer;
  /** A batch has taken the chunk (its bytes were read). */
  taken?: boolean;
}

/**
 * Reads everything of `writers/<source>.sqlite` with seq > `after` inside one read transaction, so
 * a flush committing meanwhile cannot split what is read (every point up to maxSeq is in). Each
 * chunk is checked (checksum, streams, and that it holds what its row says) when a batch first
 * takes it, so the first batch goes up before every chunk of a large run is checked.
 *
 * With `lazy`, a file in WAL mode (a live writer's) is read as a snapshot held open until
 * `close()`: the chunk rows now, each chunk's bytes when a batch needs them. A reader in WAL mode
 * never blocks the writer, and rows it merges away meanwhile stay in this snapshot. A file in
 * rollback-journal mode (a finished run's, or SWANLOG_NO_WAL) is read staged: the rows now, the
 * chunks of the first batch one by one as it is built, and every other chunk's bytes in one read
 * at `settle()`, which the upload calls as soon as that batch is on its way; so the first batch
 * goes up before a large run is read whole, and the read is held no longer than reading it whole
 * took (a read held there stalls a writer's commits). Without `lazy` the file is read whole.
 */
export function readWriterSnapshot(
  path: string,
  after: number,
  options: { lazy?: boolean } = {},
): WriterSnapshot {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
  } catch (error) {
    throw new SwanlogError(
      'RUN_DIR_CORRUPT',
      `cannot open writer file ${path}: ${(error as Error).message}`,
      {
        hint: 'run `swanlog verify` on the run directory',
        cause: error,
      },
    );
  }
  let held = false;
  let staged = false;
  try {
    if (options.lazy === true) {
      held = db.pragma('journal_mode', { simple: true }) === 'wal';
      staged = !held;
    }
    const inParts = held || staged;
    const read = () => {
      const max = db
        .prepare(
          'SELECT max(coalesce((SELECT max(seq_max) FROM chunks), -1), coalesce((SELECT max(seq) FROM rewinds), -1)) AS m',
        )
        .get() as { m: number };
      const rows = db
        .prepare(
          `SELECT c.id AS id, k.name AS name, c.n AS n, c.seq_min AS seq_min, c.seq_max AS seq_max, length(c.data) AS bytes${inParts ? '' : ', c.data AS data'} FROM chunks c JOIN keys k ON k.id = c.key_id WHERE c.seq_max > ? ORDER BY c.key_id, c.seq_min`,
        )
        .all(after) as ChunkRow[];
      const rewinds = db
        .prepare('SELECT seq, ts, step FROM rewinds WHERE seq > ? ORDER BY seq')
        .all(after) as WriterSnapshot['rewinds'];
      const hb = db.prepare('SELECT ts FROM heartbeat WHERE id = 1').get() as { ts: number } | undefined;
      return { maxSeq: max.m, rows, rewinds, heartbeat: hb?.ts ?? null };
    };
    let snapshot: ReturnType<typeof read>;
    if (inParts) {
      db.exec('BEGIN');
      snapshot = read();
    } else snapshot = db.transaction(read)();
    const { maxSeq, rows, rewinds, heartbeat } = snapshot;
    const chunkData = inParts ? db.prepare('SELECT data FROM chunks WHERE id = ?') : undefined;
    let settled = !staged;
    const take = (row: ChunkRow) => () => {
      let data = row.data;
      row.taken = true;
      if (data === undefined && chunkData !== undefined) {
        if (!db.open) throw new Error(`writer file ${path} was closed before chunk ${row.id} was read`);
        try {
          data = (chunkData.get(row.id) as { data: Buffer } | undefined)?.data;
        } catch (error) {
          throw unreadable(path, error);
        }
        // Inside a held snapshot rows do not change: one gone is damage, not a writer.
        if (data === undefined)
          throw damaged(row.name, path, `chunk row ${row.id} is gone from its read snapshot`);
      }
      checkChunkRow(row, data!, path);
      row.data = undefined; // the chunk keeps its bytes from here on
      return data!;
    };
    const keys = groupByKey(
      rows.map((row) => ({
        name: row.name,
        chunk: { n: row.n, seqMin: row.seq_min, seqMax: row.seq_max, bytes: row.bytes, fetch: take(row) },
      })),
    );
    const close = () => {
      if (!db.open) return;
      try {
        if (db.inTransaction) db.exec('COMMIT');
      } finally {
        db.close();
      }
    };
    return {
      keys,
      rewinds,
      maxSeq,
      heartbeat,
      settle: () => {
        if (settled) return;
        settled = true;
        const left = new Map(rows.filter((r) => !r.taken).map((r) => [r.id, r]));
        try {
          if (left.size > 0) {
            if (!db.open) throw new Error(`writer file ${path} was closed before its chunks were read`);
            const all = db.prepare('SELECT id, data FROM chunks WHERE seq_max > ?');
            for (const { id, data } of all.iterate(after) as IterableIterator<{ id: number; data: Buffer }>) {
              const row = left.get(id);
              if (row !== undefined) row.data = data;
            }
          }
        } catch (error) {
          close();
          throw error instanceof SwanlogError ? error : unreadable(path, error);
        }
        close();
        // Inside the read snapshot rows do not change: one gone is damage, not a writer.
        for (const row of left.values())
          if (row.data === undefined)
            throw damaged(row.name, path, `chunk row ${row.id} is gone from its read snapshot`);
      },
      close,
    };
  } catch (error) {
    held = false;
    staged = false;
    if (error instanceof SwanlogError) throw error;
    throw unreadable(path, error);
  } finally {
    if (!held && !staged && db.open) db.close();
  }
}

function unreadable(path: string, error: unknown): SwanlogError {
  return new SwanlogError('RUN_DIR_CORRUPT', `cannot read writer file ${path}: ${(error as Error).message}`, {
    hint: 'run `swanlog verify` on the run directory',
    cause: error,
  });
}

/** Fails with RUN_DIR_CORRUPT unless the chunk's bytes are sound and hold what its row says (batches are cut by the row's seq range). */
function checkChunkRow(row: ChunkRow, data: Buffer, path: string): void {
  let seqs: { n: number; first: number; last: number };
  try {
    seqs = chunkSeqRange(data);
  } catch (error) {
    throw damaged(row.name, path, (error as Error).message, error);
  }
  if (seqs.n !== row.n || seqs.first !== row.seq_min || seqs.last !== row.seq_max)
    throw damaged(
      row.name,
      path,
      `it holds ${seqs.n} points with seqs ${seqs.first}..${seqs.last}, its row says ${row.n} with ${row.seq_min}..${row.seq_max}`,
    );
}

function groupByKey(entries: { name: string; chunk: PendingChunk }[]): KeyChunks[] {
  const byKey = new Map<string, PendingChunk[]>();
  for (const { name, chunk } of entries) {
    const list = byKey.get(name);
    if (list === undefined) byKey.set(name, [chunk]);
    else list.push(chunk);
  }
  return [...byKey]
    .map(([key, chunks]) => ({ key, chunks }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function damaged(key: string, path: string, why: string, cause?: unknown): SwanlogError {
  return new SwanlogError(
    'RUN_DIR_CORRUPT',
    `a chunk of key ${JSON.stringify(key)} in ${path} is damaged: ${why}`,
    {
      hint: 'run `swanlog verify` on the run directory',
      cause,
    },
  );
}
