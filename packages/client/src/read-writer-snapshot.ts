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
}

interface ChunkRow {
  name: string;
  n: number;
  seq_min: number;
  seq_max: number;
  data: Buffer;
}

/**
 * Reads everything of `writers/<source>.sqlite` with seq > `after` inside one read transaction, so
 * a flush committing meanwhile cannot split what is read (every point up to maxSeq is in).
 */
export function readWriterSnapshot(path: string, after: number): WriterSnapshot {
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
  try {
    const read = db.transaction(() => {
      const max = db
        .prepare(
          'SELECT max(coalesce((SELECT max(seq_max) FROM chunks), -1), coalesce((SELECT max(seq) FROM rewinds), -1)) AS m',
        )
        .get() as { m: number };
      const rows = db
        .prepare(
          'SELECT k.name AS name, c.n AS n, c.seq_min AS seq_min, c.seq_max AS seq_max, c.data AS data FROM chunks c JOIN keys k ON k.id = c.key_id WHERE c.seq_max > ? ORDER BY c.key_id, c.seq_min',
        )
        .all(after) as ChunkRow[];
      const rewinds = db
        .prepare('SELECT seq, ts, step FROM rewinds WHERE seq > ? ORDER BY seq')
        .all(after) as WriterSnapshot['rewinds'];
      const hb = db.prepare('SELECT ts FROM heartbeat WHERE id = 1').get() as { ts: number } | undefined;
      return { maxSeq: max.m, rows, rewinds, heartbeat: hb?.ts ?? null };
    });
    const { maxSeq, rows, rewinds, heartbeat } = read();
    return { keys: collectKeys(rows, path), rewinds, maxSeq, heartbeat };
  } catch (error) {
    if (error instanceof SwanlogError) throw error;
    throw new SwanlogError(
      'RUN_DIR_CORRUPT',
      `cannot read writer file ${path}: ${(error as Error).message}`,
      {
        hint: 'run `swanlog verify` on the run directory',
        cause: error,
      },
    );
  } finally {
    db.close();
  }
}

/** Groups the chunks by key (in seq order), checking each one's checksum, streams and seq range against its row. */
function collectKeys(rows: ChunkRow[], path: string): KeyChunks[] {
  const byKey = new Map<string, PendingChunk[]>();
  for (const row of rows) {
    let seqs: { n: number; first: number; last: number };
    try {
      seqs = chunkSeqRange(row.data);
    } catch (error) {
      throw damaged(row.name, path, (error as Error).message, error);
    }
    const { n } = seqs;
    // Batches are cut by the row's seq range: it must be the chunk's own.
    if (n !== row.n || seqs.first !== row.seq_min || seqs.last !== row.seq_max)
      throw damaged(
        row.name,
        path,
        `it holds ${n} points with seqs ${seqs.first}..${seqs.last}, its row says ${row.n} with ${row.seq_min}..${row.seq_max}`,
      );
    const chunk: PendingChunk = { n, seqMin: row.seq_min, seqMax: row.seq_max, data: row.data };
    const list = byKey.get(row.name);
    if (list === undefined) byKey.set(row.name, [chunk]);
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
