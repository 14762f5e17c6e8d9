import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { ChunkDecodeError, decodeChunk } from './chunk-codec.js';
import { openSwanlogFile, RUN_FILE, readMeta, WRITERS_DIR } from './format.js';
import { RunReader } from './run-reader.js';
import { wrapStorageError } from './sqlite-error.js';

export interface VerifyReport {
  dir: string;
  id: string;
  ok: true;
  sessions: number;
  keys: number;
  chunks: number;
  /** Stored points, superseded ones included. */
  points: number;
  /** Harmless oddities, e.g. a writer file left by a session that died while opening. */
  warnings: string[];
}

interface ChunkRow {
  id: number;
  key_id: number;
  n: number;
  step_min: number;
  step_max: number;
  ts_min: number;
  ts_max: number;
  seq_min: number;
  seq_max: number;
  data: Buffer;
}

/**
 * Checks a run directory end to end: SQLite integrity of every file, format and ownership of each
 * writer file, and every chunk decoded against its checksum and summary. Throws the first
 * problem as a SwanlogError (RUN_DIR_CORRUPT / UNSUPPORTED_FORMAT).
 */
export function verifyRun(runDir: string): VerifyReport {
  const dir = resolve(runDir);
  const reader = RunReader.open(dir);
  try {
    quickCheck(join(dir, RUN_FILE), 'run');
    const sessions = reader.sessionRows();
    const known = new Set(sessions.map((s) => `${s.source}.sqlite`));
    const warnings = listWriterFiles(dir)
      .filter((name) => !known.has(name))
      .map(
        (name) =>
          `${join(WRITERS_DIR, name)} belongs to no session (a writer that died while opening); it is ignored`,
      );
    let chunks = 0;
    let points = 0;
    for (const s of sessions) {
      const counts = verifyWriter(join(dir, WRITERS_DIR, `${s.source}.sqlite`), reader.meta.id);
      chunks += counts.chunks;
      points += counts.points;
    }
    const keys = reader.keys();
    for (const key of keys) reader.series(key, { superseded: true });
    reader.lastVisibleStep();
    reader.config();
    return {
      dir,
      id: reader.meta.id,
      ok: true,
      sessions: sessions.length,
      keys: keys.length,
      chunks,
      points,
      warnings,
    };
  } finally {
    reader.close();
  }
}

function listWriterFiles(dir: string): string[] {
  try {
    return readdirSync(join(dir, WRITERS_DIR)).filter((n) => n.endsWith('.sqlite'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function quickCheck(path: string, kind: 'run' | 'writer'): void {
  const db = openSwanlogFile(path, { readonly: true, kind });
  try {
    const result = db.pragma('quick_check', { simple: true });
    if (result !== 'ok')
      throw new SwanlogError('RUN_DIR_CORRUPT', `${path} fails SQLite's integrity check: ${result}`);
  } catch (error) {
    throw wrapStorageError(error, path, 'check');
  } finally {
    db.close();
  }
}

function verifyWriter(path: string, runId: string): { chunks: number; points: number } {
  quickCheck(path, 'writer');
  const db = openSwanlogFile(path, { readonly: true, kind: 'writer' });
  try {
    const owner = readMeta(db).get('run_id');
    if (owner !== runId) {
      throw new SwanlogError('RUN_DIR_CORRUPT', `${path} belongs to run ${owner}, not to run ${runId}`, {
        hint: 'a writer file was moved between run directories; move it back',
      });
    }
    const keyIds = new Set(db.prepare('SELECT id FROM keys').pluck().all() as number[]);
    let chunks = 0;
    let points = 0;
    for (const row of db.prepare('SELECT * FROM chunks').iterate() as IterableIterator<ChunkRow>) {
      const problem = chunkProblem(row, keyIds);
      if (problem !== undefined) {
        throw new SwanlogError('RUN_DIR_CORRUPT', `chunk ${row.id} of ${path} is damaged: ${problem}`, {
          hint: 'the run cannot be trusted past this point; `swanlog export --all` shows what still reads',
        });
      }
      chunks++;
      points += row.n;
    }
    return { chunks, points };
  } catch (error) {
    throw wrapStorageError(error, path, 'check');
  } finally {
    db.close();
  }
}

function chunkProblem(row: ChunkRow, keyIds: Set<number>): string | undefined {
  if (!keyIds.has(row.key_id)) return `unknown key id ${row.key_id}`;
  let p: ReturnType<typeof decodeChunk>;
  try {
    p = decodeChunk(row.data);
  } catch (error) {
    if (error instanceof ChunkDecodeError) return error.message;
    throw error;
  }
  const n = p.steps.length;
  if (n !== row.n) return `holds ${n} points, its row says ${row.n}`;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of p.steps) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (min !== row.step_min || max !== row.step_max) return 'steps disagree with its summary';
  if (p.ts[0] !== row.ts_min || p.ts[n - 1] !== row.ts_max) return 'timestamps disagree with its summary';
  if (p.seqs[0] !== row.seq_min || p.seqs[n - 1] !== row.seq_max)
    return 'sequence numbers disagree with its summary';
  return undefined;
}
