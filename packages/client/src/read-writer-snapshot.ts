import { SwanlogError } from '@swanlog/protocol';
import { decodeChunk } from '@swanlog/store';
import Database from 'better-sqlite3';
import type { KeyPoints } from './cut-batches.js';

/** What a writer file holds beyond a watermark, read in one transaction. */
export interface WriterSnapshot {
  /** Points with seq > the watermark, per key, in seq order. */
  keys: KeyPoints[];
  rewinds: { seq: number; ts: number; step: number }[];
  /** Highest seq of anything stored (points or rewinds); -1 when the writer holds nothing. */
  maxSeq: number;
  heartbeat: number | null;
}

interface ChunkRow {
  name: string;
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
          'SELECT k.name AS name, c.data AS data FROM chunks c JOIN keys k ON k.id = c.key_id WHERE c.seq_max > ? ORDER BY c.key_id, c.seq_min',
        )
        .all(after) as ChunkRow[];
      const rewinds = db
        .prepare('SELECT seq, ts, step FROM rewinds WHERE seq > ? ORDER BY seq')
        .all(after) as WriterSnapshot['rewinds'];
      const hb = db.prepare('SELECT ts FROM heartbeat WHERE id = 1').get() as { ts: number } | undefined;
      return { maxSeq: max.m, rows, rewinds, heartbeat: hb?.ts ?? null };
    });
    const { maxSeq, rows, rewinds, heartbeat } = read();
    return { keys: collectKeys(rows, after, path), rewinds, maxSeq, heartbeat };
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

/** Decodes the chunks (grouped by key, in seq order) and keeps the points with seq > after. */
function collectKeys(rows: ChunkRow[], after: number, path: string): KeyPoints[] {
  const byKey = new Map<string, ReturnType<typeof decodeChunk>[]>();
  for (const row of rows) {
    let decoded: ReturnType<typeof decodeChunk>;
    try {
      decoded = decodeChunk(row.data);
    } catch (error) {
      throw new SwanlogError(
        'RUN_DIR_CORRUPT',
        `a chunk of key ${JSON.stringify(row.name)} in ${path} is damaged: ${(error as Error).message}`,
        { hint: 'run `swanlog verify` on the run directory', cause: error },
      );
    }
    const list = byKey.get(row.name);
    if (list === undefined) byKey.set(row.name, [decoded]);
    else list.push(decoded);
  }
  const out: KeyPoints[] = [];
  for (const [key, parts] of byKey) {
    // Seqs grow within a chunk, so the points past the watermark are a suffix of each chunk.
    const starts = parts.map((p) => firstAfter(p.seqs, after));
    let n = 0;
    parts.forEach((p, i) => {
      n += p.seqs.length - starts[i]!;
    });
    if (n === 0) continue;
    const k: KeyPoints = {
      key,
      steps: new Float64Array(n),
      values: new Float64Array(n),
      ts: new Float64Array(n),
      seqs: new Float64Array(n),
    };
    let at = 0;
    parts.forEach((p, i) => {
      const from = starts[i]!;
      // TypedArray.set copies bytes, so NaN payloads and -0 stay exact.
      k.steps.set(p.steps.subarray(from), at);
      k.values.set(p.values.subarray(from), at);
      k.ts.set(p.ts.subarray(from), at);
      k.seqs.set(p.seqs.subarray(from), at);
      at += p.seqs.length - from;
    });
    out.push(k);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function firstAfter(seqs: Float64Array, after: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
