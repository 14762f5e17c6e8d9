import { SwanlogError } from '@swanlog/protocol';
import { chunkSeqRange } from '@swanlog/store';
import Database from 'better-sqlite3';
import type { KeyChunks, PendingChunk } from './cut-batches.js';

/** What a writer file holds beyond a watermark, read in one transaction. */
export interface WriterSnapshot {
  /** The chunks holding points with seq > the watermark, per key, in seq order (checked, not decoded). */
  keys: KeyChunks[];
  rewinds: { seq: number; ts: number; step: number }[];
  /** Highest seq of anything stored (points or rewinds); -1 when the writer holds nothing. */
  maxSeq: number;
  heartbeat: number | null;
  /** Ends the read transaction of a lazy snapshot and closes its file (a no-op otherwise). */
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
}

/**
 * Reads everything of `writers/<source>.sqlite` with seq > `after` inside one read transaction, so
 * a flush committing meanwhile cannot split what is read (every point up to maxSeq is in).
 *
 * With `lazy`, a file in WAL mode is read as a snapshot held open: the chunk rows now, each chunk's
 * bytes (read and checked) only when a batch needs them, all inside the same read transaction,
 * which `close()` ends. A reader in WAL mode never blocks the writer, so the first batch goes up
 * while the rest is still on disk. A file in rollback-journal mode (SWANLOG_NO_WAL) is read whole
 * at once, as without `lazy`: a read transaction held there would stall the writer's commits.
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
  try {
    const lazy = options.lazy === true && db.pragma('journal_mode', { simple: true }) === 'wal';
    const read = () => {
      const max = db
        .prepare(
          'SELECT max(coalesce((SELECT max(seq_max) FROM chunks), -1), coalesce((SELECT max(seq) FROM rewinds), -1)) AS m',
        )
        .get() as { m: number };
      const rows = db
        .prepare(
          `SELECT c.id AS id, k.name AS name, c.n AS n, c.seq_min AS seq_min, c.seq_max AS seq_max, length(c.data) AS bytes${lazy ? '' : ', c.data AS data'} FROM chunks c JOIN keys k ON k.id = c.key_id WHERE c.seq_max > ? ORDER BY c.key_id, c.seq_min`,
        )
        .all(after) as ChunkRow[];
      const rewinds = db
        .prepare('SELECT seq, ts, step FROM rewinds WHERE seq > ? ORDER BY seq')
        .all(after) as WriterSnapshot['rewinds'];
      const hb = db.prepare('SELECT ts FROM heartbeat WHERE id = 1').get() as { ts: number } | undefined;
      return { maxSeq: max.m, rows, rewinds, heartbeat: hb?.ts ?? null };
    };
    if (!lazy) {
      const { maxSeq, rows, rewinds, heartbeat } = db.transaction(read)();
      return { keys: collectKeys(rows, path), rewinds, maxSeq, heartbeat, close: () => {} };
    }
    db.exec('BEGIN');
    held = true;
    const { maxSeq, rows, rewinds, heartbeat } = read();
    const chunkData = db.prepare('SELECT data FROM chunks WHERE id = ?');
    const fetch = (row: ChunkRow) => () => {
      if (!db.open) throw new Error(`writer file ${path} was closed before chunk ${row.id} was read`);
      let data: Buffer | undefined;
      try {
        data = (chunkData.get(row.id) as { data: Buffer } | undefined)?.data;
      } catch (error) {
        throw unreadable(path, error);
      }
      if (data === undefined)
        throw damaged(row.name, path, `chunk row ${row.id} is gone from its read snapshot`);
      checkChunkRow(row, data, path);
      return data;
    };
    const keys = groupByKey(
      rows.map((row) => ({
        name: row.name,
        chunk: { n: row.n, seqMin: row.seq_min, seqMax: row.seq_max, bytes: row.bytes, fetch: fetch(row) },
      })),
    );
    return {
      keys,
      rewinds,
      maxSeq,
      heartbeat,
      close: () => {
        if (!db.open) return;
        try {
          db.exec('COMMIT');
        } finally {
          db.close();
        }
      },
    };
  } catch (error) {
    held = false;
    if (error instanceof SwanlogError) throw error;
    throw unreadable(path, error);
  } finally {
    if (!held && db.open) db.close();
  }
}

function unreadable(path: string, error: unknown): SwanlogError {
  return new SwanlogError('RUN_DIR_CORRUPT', `cannot read writer file ${path}: ${(error as Error).message}`, {
    hint: 'run `swanlog verify` on the run directory',
    cause: error,
  });
}

/** Groups the chunks by key (in seq order), checking each one's checksum, streams and seq range against its row. */
function collectKeys(rows: ChunkRow[], path: string): KeyChunks[] {
  return groupByKey(
    rows.map((row) => {
      const data = row.data!;
      checkChunkRow(row, data, path);
      return { name: row.name, chunk: { n: row.n, seqMin: row.seq_min, seqMax: row.seq_max, data } };
    }),
  );
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
